"""Suggestions for names people mistype: "no participant alcie; did you mean alice?".

Only consulted after a lookup has failed, so a correct name costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable


def did_you_mean(name: str, candidates: Iterable[str], n: int = 3) -> str:
    """``"; did you mean X?"`` (or ``"X or Y"``) for the closest known names, else ``""``."""
    import difflib  # only after a lookup failed

    pool = list(dict.fromkeys(candidates))
    close = difflib.get_close_matches(name, pool, n=n, cutoff=0.6)
    if not close:
        # case slips ("krws", "Alice") are not always close by ratio
        close = [c for c in pool if c.lower() == name.lower()][:n]
    if not close:
        return ""
    return "; did you mean " + (close[0] if len(close) == 1 else ", ".join(close[:-1]) + " or " + close[-1]) + "?"
