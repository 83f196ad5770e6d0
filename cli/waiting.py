"""What a person at a terminal is told while a command waits out an unavailable database (a failover, a restart).

The library waits (``Ledger.open(..., wait_db=..., on_wait=...)``) and says
why before each pause; this turns that into a line on stderr now and then:
the first once the wait has lasted a second (a blip is not worth a line),
then every few seconds, and one when the database is back. Scripts, whose
stderr is no terminal, are told nothing until the command ends: with its
usual output, or with ``DB_UNAVAILABLE`` (exit 75) past the bound.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

#: Carriage return and "erase to the end of the line" (ANSI), so that a line never lands on the end of a progress bar.
CLEAR_LINE = "\r\x1b[K"
#: Seconds of waiting before the first line, and between two lines.
FIRST_AFTER_S = 1.0
EVERY_S = 5.0


def terminal_reporter() -> Callable[[str | None, float, float], None] | None:
    """An ``on_wait(reason, waited, bound)`` that tells a terminal, or None when stderr is no terminal."""
    if not sys.stderr.isatty():
        return None
    # From the start of a cleared line: a progress bar being drawn there (submit's) is wiped, and redrawn below.
    return WaitLines(lambda line: click.echo(CLEAR_LINE + line, err=True))


class WaitLines:
    """Lines about one command's waits, for ``write(line)``."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write
        self._next_at = FIRST_AFTER_S
        self._told = False

    def __call__(self, reason: str | None, waited: float, bound: float) -> None:
        if reason is None:
            if self._told:
                self.write(f"wonledger: the database is back after {waited:.0f} s; going on")
            self._next_at, self._told = FIRST_AFTER_S, False
            return
        if waited < self._next_at:
            return
        if not self._told:
            self.write(f"wonledger: waiting for the database: {reason}; trying again for up to {bound:g} s (--wait-db)")
        else:
            self.write(f"wonledger: still waiting for the database ({waited:.0f} s): {reason}")
        self._told = True
        self._next_at = waited + EVERY_S
