"""The simulated clock the demo's ledger runs on.

The ledger reads the time from whatever clock it was opened with; the demo
gives it this one and moves it forward to each event before submitting the
event's transaction, so every journal entry is stamped with simulated time.
It refuses to go backwards, because the journal's times never do.
"""

from __future__ import annotations

from datetime import UTC, datetime

from wonledger.domain.errors import BadInput


class SimulatedClock:
    """A clock that shows the time it was last moved to (aware, UTC)."""

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start)

    def __call__(self) -> datetime:
        return self._now

    def advance_to(self, moment: datetime) -> None:
        moment = _aware(moment)
        if moment < self._now:
            raise BadInput(f"the simulated clock cannot go back from {self._now.isoformat()} to {moment.isoformat()}")
        self._now = moment


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise BadInput(f"{moment.isoformat()} has no time zone; the ledger's clock is aware")
    return moment.astimezone(UTC)
