"""The trial balance: per asset, total debits against total credits over every account, and both against the journal.

Account counters are what every balance is read from; the journal's legs
are what they must add up to. A :class:`TrialBalance` is ``ok`` when, for
every asset, posted debits = posted credits = the journal's booked legs,
and the same for pending holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from wonledger.book.session import AuditSession

__all__ = ["TrialBalance", "TrialBalanceRow", "trial_balance"]


@dataclass(frozen=True, slots=True)
class TrialBalanceRow:
    asset: str
    accounts: int
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    journal_posted: int  # what the journal's booked legs add up to
    journal_pending: int  # what its pending holds add up to

    @property
    def balanced(self) -> bool:
        return self.debits_posted == self.credits_posted == self.journal_posted and (
            self.debits_pending == self.credits_pending == self.journal_pending
        )

    def to_json(self) -> dict[str, object]:
        return {
            "asset": self.asset,
            "accounts": self.accounts,
            "debits_posted": self.debits_posted,
            "credits_posted": self.credits_posted,
            "debits_pending": self.debits_pending,
            "credits_pending": self.credits_pending,
            "journal_posted": self.journal_posted,
            "journal_pending": self.journal_pending,
            "balanced": self.balanced,
        }


@dataclass(frozen=True, slots=True)
class TrialBalance:
    """One row per asset, by code; iterating it gives the rows (as the list it once was did)."""

    rows: tuple[TrialBalanceRow, ...]

    @property
    def ok(self) -> bool:
        return all(r.balanced for r in self.rows)

    def __iter__(self) -> Iterator[TrialBalanceRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> TrialBalanceRow:
        return self.rows[index]

    def to_json(self) -> dict[str, object]:
        """As ``report trial-balance --json`` prints it."""
        return {"balanced": self.ok, "assets": [r.to_json() for r in self.rows]}


def trial_balance(session: AuditSession) -> TrialBalance:
    """Per asset, over every account: total debits against total credits, and both against the journal."""
    session.expire_due()  # a hold past its timeout is released first: the counters and the journal then agree on it
    accounts, journal, assets = session.read(lambda uow: (uow.registry.all_accounts(), uow.statements.booked_totals_by_asset(), uow.registry.assets()))
    totals: dict[str, list[int]] = {a.code: [0, 0, 0, 0, 0] for a in assets}
    for a in accounts:
        t = totals.setdefault(a.asset, [0, 0, 0, 0, 0])
        t[0] += 1
        t[1] += a.debits_posted
        t[2] += a.credits_posted
        t[3] += a.debits_pending
        t[4] += a.credits_pending
    for code in journal:
        totals.setdefault(code, [0, 0, 0, 0, 0])
    return TrialBalance(
        tuple(
            TrialBalanceRow(code, n, dp, cp, dq, cq, *journal.get(code, (0, 0)))
            for code, (n, dp, cp, dq, cq) in sorted(totals.items())
        )
    )
