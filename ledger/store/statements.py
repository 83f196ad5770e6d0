"""What statements, matching, the trial balance and proofs read of the booked legs on an account.

Only booked legs count here (a pending hold's legs are not on a statement).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from wonledger.store import tables as t
from wonledger.store.rows import Repository, chunks


@dataclass(frozen=True, slots=True)
class AccountLeg:
    """One leg on an account as a statement shows it: which entry, which leg, when."""

    seq: int
    idx: int
    tx_id: str
    kind: str
    at: str
    debit: str
    credit: str
    asset: str
    amount: int
    memo: str = ""  # the transaction's memo, for the statement's remittance information


def _memo(body: str) -> str:
    """The memo of a stored transaction body (its canonical JSON), "" when it has none."""
    memo = json.loads(body).get("memo", "")
    return memo if isinstance(memo, str) else ""


class StatementReads(Repository):
    """Booked legs and totals on accounts, inside one unit of work."""

    def account_legs(
        self,
        account: str,
        side: str,
        after_seq: int,
        since: str | None,
        until: str | None,
        limit: int,
        upto_seq: int | None = None,
        with_memo: bool = False,
    ) -> list[AccountLeg]:
        """A page of the booked legs debiting (``side="debit"``) or crediting ``account`` after ``after_seq``.

        ``with_memo`` reads each transaction's memo too (a statement shows it; matching does not need it).
        """
        column = t.legs.c.debit if side == "debit" else t.legs.c.credit
        memo = [t.journal.c.body] if with_memo else []
        query = (
            select(t.legs, t.journal.c.id.label("tx_id"), t.journal.c.kind, t.journal.c.at, *memo)
            .select_from(t.legs.join(t.journal, t.journal.c.seq == t.legs.c.seq))
            .where(column == account, t.legs.c.pending.is_(False), t.legs.c.seq > after_seq)
            .order_by(t.legs.c.seq, t.legs.c.idx)
            .limit(limit)
        )
        if side != "debit":
            query = query.where(t.legs.c.debit != account)  # a leg on both sides is read once, with the debits
        if since is not None:
            query = query.where(t.journal.c.at >= since)
        if until is not None:
            query = query.where(t.journal.c.at < until)
        if upto_seq is not None:
            query = query.where(t.legs.c.seq <= upto_seq)
        return [
            AccountLeg(r.seq, r.idx, r.tx_id, r.kind, r.at, r.debit, r.credit, r.asset, r.amount, _memo(r.body) if with_memo else "")
            for r in self.conn.execute(query)
        ]

    def account_legs_of(self, account: str, tx_ids: Iterable[str]) -> list[AccountLeg]:
        """The booked legs on ``account`` of the named transactions."""
        found: list[AccountLeg] = []
        for part in chunks(sorted(set(tx_ids))):
            query = (
                select(t.legs, t.journal.c.id.label("tx_id"), t.journal.c.kind, t.journal.c.at)
                .select_from(t.legs.join(t.journal, t.journal.c.seq == t.legs.c.seq))
                .where(
                    t.journal.c.id.in_(part),
                    or_(t.legs.c.debit == account, t.legs.c.credit == account),
                    t.legs.c.pending.is_(False),
                )
                .order_by(t.legs.c.seq, t.legs.c.idx)
            )
            found.extend(
                AccountLeg(r.seq, r.idx, r.tx_id, r.kind, r.at, r.debit, r.credit, r.asset, r.amount)
                for r in self.conn.execute(query)
            )
        return found

    def account_leg_span(self, account: str, since: str | None, until: str | None, upto_seq: int) -> tuple[str | None, str | None, int]:
        """The commit times of the first and last booked legs on ``account`` in the period, and how many there are."""
        query = (
            select(func.min(t.journal.c.at), func.max(t.journal.c.at), func.count())
            .select_from(t.legs.join(t.journal, t.journal.c.seq == t.legs.c.seq))
            .where(or_(t.legs.c.debit == account, t.legs.c.credit == account), t.legs.c.pending.is_(False), t.legs.c.seq <= upto_seq)
        )
        if since is not None:
            query = query.where(t.journal.c.at >= since)
        if until is not None:
            query = query.where(t.journal.c.at < until)
        first, last, count = self.conn.execute(query).one()
        return first, last, int(count)

    def account_posted_before(self, account: str, before: str | None, upto_seq: int | None = None) -> tuple[int, int]:
        """(debits, credits) booked on ``account`` before ``before`` (all of them when None), up to ``upto_seq``."""
        sums = []
        for side in (t.legs.c.debit, t.legs.c.credit):
            query = (
                select(func.coalesce(func.sum(t.legs.c.amount), 0))
                .select_from(t.legs.join(t.journal, t.journal.c.seq == t.legs.c.seq))
                .where(side == account, t.legs.c.pending.is_(False))
            )
            if before is not None:
                query = query.where(t.journal.c.at < before)
            if upto_seq is not None:
                query = query.where(t.legs.c.seq <= upto_seq)
            sums.append(int(self.conn.execute(query).scalar_one()))
        return sums[0], sums[1]

    def booked_totals_by_asset(self) -> dict[str, tuple[int, int]]:
        """Per asset, from the journal's legs: (amount booked, amount held by holds still pending)."""
        booked = select(t.legs.c.asset, func.sum(t.legs.c.amount)).where(t.legs.c.pending.is_(False)).group_by(t.legs.c.asset)
        held = (
            select(t.legs.c.asset, func.sum(t.legs.c.amount))
            .select_from(t.legs.join(t.journal, t.journal.c.seq == t.legs.c.seq).join(t.holds, t.holds.c.id == t.journal.c.id))
            .where(t.legs.c.pending.is_(True), t.holds.c.status == "pending")
            .group_by(t.legs.c.asset)
        )
        out: dict[str, list[int]] = {}
        for asset, total in self.conn.execute(booked):
            out.setdefault(asset, [0, 0])[0] = int(total)
        for asset, total in self.conn.execute(held):
            out.setdefault(asset, [0, 0])[1] = int(total)
        return {asset: (b, h) for asset, (b, h) in out.items()}
