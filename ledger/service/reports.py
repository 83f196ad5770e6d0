"""`ledger.reports`: how the ledger stands as a whole: trial balance, refusals, residents' outflows, the run breaker.

Read-only views; none of them holds a rule (the rules are the rulebook's,
applied by the book).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from wonledger.domain.model import REGISTRY_KINDS, Refusal
from wonledger.domain.timestamps import iso, parse_iso

if TYPE_CHECKING:
    from wonledger.audit.reports import TrialBalance
    from wonledger.service.facade import Ledger


@dataclass(frozen=True, slots=True)
class ResidentOutflow:
    """One limited resident's outflow in a year, in USD cents."""

    participant: str
    used: int
    limit: int

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


@dataclass(frozen=True, slots=True)
class BreakerStatus:
    """The run breaker on conversions out of ``asset`` as of ``at``."""

    asset: str
    at: str
    window_s: int
    #: the window is (window_start, at]
    window_start: str
    net_out: int
    #: the denominator: the least supply since the window began
    supply: int
    threshold: int
    #: when no conversion out fits in the window: the time room opens again (else None)
    halted_until: str | None
    #: the last conversion the breaker refused (from the record of refusals; refusals change no control state)
    last_refused: str | None


class Reports:
    """Trial balance, refusals, outflows, the breaker (``ledger.reports``)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def trial_balance(self) -> TrialBalance:
        from wonledger.audit import operations as audit  # imported when used, like verify

        return audit.trial_balance(self._ledger._audit_session())

    def rejections(self, limit: int | None = None, code: str | None = None) -> list[Refusal]:
        """Refusals by the ledger's rules, newest first: who, what, code, when."""
        return self._ledger._store.reading(lambda uow: uow.records.rejections(limit, code))

    def outflows(self, year: int | None = None) -> tuple[int, list[ResidentOutflow]]:
        """Each limited resident's counted outflow in ``year`` (default: this year in Seoul), in USD cents."""
        ledger = self._ledger
        policy = ledger._book.flow_policy
        now = ledger.clock()
        limited = [p for p in ledger.registry.participants() if policy.is_limited(p)]
        if year is None:
            year = now.astimezone(ZoneInfo(policy.timezone["KR"])).year
        totals = ledger._store.reading(lambda uow: uow.controls.outflow_totals(year))
        return year, [ResidentOutflow(p.id, totals.get(p.id, 0), policy.outflow_limit_usd) for p in limited]

    def breaker(self) -> BreakerStatus:
        """Where the run breaker stands now: net conversions out in the window against the least supply in it."""
        from wonledger.rulebook.controls import ControlKeys

        ledger = self._ledger
        policy = ledger._book.flow_policy
        watched = ledger.registry.asset(policy.breaker_asset)
        now = iso(ledger.clock())
        keys = ControlKeys(watched=watched.code, breaker_since=iso(parse_iso(now) - timedelta(seconds=policy.breaker_window_s)))
        from wonledger.rulebook.loader import control_state
        state, refused = ledger._store.reading(lambda uow: (control_state(uow.controls.control_figures(keys), policy), uow.records.rejections(limit=1, code="RUN_BREAKER")))
        view = ledger._book.controls.status(state, now)
        return BreakerStatus(
            asset=watched.code,
            at=now,
            window_s=policy.breaker_window_s,
            window_start=view.window_start,
            net_out=view.net_out,
            supply=view.supply,
            threshold=view.threshold,
            halted_until=view.closed_until,
            last_refused=refused[0].at if refused else None,
        )

    def funding_ids(self) -> list[str]:
        """Ids of the entries that move money (not registry entries, not the genesis)."""
        return [e.id for e, _ in self._ledger._store.stream_journal() if e.kind not in REGISTRY_KINDS and e.kind != "genesis"]


__all__ = ["BreakerStatus", "Reports", "ResidentOutflow"]
