"""Figures of a sample of times to credit: percentiles by nearest rank, shares within a limit.

Nearest rank keeps every figure an actual observed time (whole seconds), so
a median or p95 printed by the demo is the time of one real payment in it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction


def percentile(values: Sequence[int], share: Fraction) -> int:
    """The nearest-rank percentile: the smallest value with at least ``share`` of the sample at or below it."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def share_within(values: Sequence[int], limit_s: int) -> Fraction:
    if not values:
        raise ValueError("no values")
    return Fraction(sum(1 for v in values if v <= limit_s), len(values))


def percent(share: Fraction) -> str:
    """``Fraction(3, 4)`` → ``"75%"`` (whole percent, rounded half up)."""
    return f"{math.floor(share * 100 + Fraction(1, 2))}%"


def duration(seconds: int) -> str:
    """``93784`` → ``"1 d 2 h 03 min"``, ``125`` → ``"2 min 05 s"``, ``9`` → ``"9 s"``."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h {minutes:02d} min"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"
