"""The holds table: holds still pending, their expiry, and what ended them.

Readers see a hold past its timeout as released (:meth:`Holds.released`)
before the book's next write voids it. A conditional hold's condition,
partner and travel data are read from its journal body (the signed bytes),
never kept beside it: the journal is their only copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import or_, select

from wonledger.domain.model import Account, HoldState, Tx
from wonledger.domain.wire import loads, parse_tx
from wonledger.store import tables as t
from wonledger.store.rows import Repository, chunks, legs_of


class Holds(Repository):
    """Holds, inside one unit of work."""

    def holds(self, ids: Iterable[str]) -> dict[str, HoldState]:
        found: dict[str, HoldState] = {}
        for part in chunks(sorted(set(ids))):
            query = (
                select(
                    t.holds.c.id, t.holds.c.status, t.holds.c.expires_at, t.holds.c.finished_by, t.journal.c.seq, t.journal.c.at,
                    t.journal.c.body,
                )
                .select_from(t.holds.join(t.journal, t.journal.c.id == t.holds.c.id))
                .where(t.holds.c.id.in_(part))
            )
            rows = list(self.conn.execute(query))
            legs = legs_of(self.conn, [r.seq for r in rows])
            for r in rows:
                # Bodies are canonical JSON: an unescaped `"quote":{` is the member itself, never text inside a string.
                quoted = '"quote":{' in r.body
                hold = HoldState(r.id, r.seq, r.status, r.expires_at, legs.get(r.seq, ()), r.finished_by, r.at, quoted)
                if '"condition":{' in r.body:
                    tx = parse_tx(loads(r.body))
                    hold = replace(hold, condition=tx.condition, partner=tx.partner, travel=tx.travel)
                found[r.id] = hold
        return found

    def conditionals(self, account: str | None = None, ids: Sequence[str] | None = None) -> list[tuple[HoldState, Tx, str | None]]:
        """Conditional holds (those with a leg on ``account``, or those of ``ids``), oldest first.

        Each with its transaction as signed (condition, deadline, partner, quote,
        travel) and, once fulfilled, the preimage its fulfil published.
        """
        # Bodies are canonical JSON: an unescaped `"condition":{` is the member itself, never text inside a string.
        query = (
            select(t.holds.c.id, t.holds.c.status, t.holds.c.expires_at, t.holds.c.finished_by, t.journal.c.seq, t.journal.c.at, t.journal.c.body)
            .select_from(t.holds.join(t.journal, t.journal.c.id == t.holds.c.id))
            .where(t.journal.c.body.like('%"condition":{%'))
            .order_by(t.journal.c.seq)
        )
        if account is not None:
            query = query.where(t.journal.c.seq.in_(select(t.legs.c.seq).where(or_(t.legs.c.debit == account, t.legs.c.credit == account))))
        rows: list[Any] = []
        for part in chunks(sorted(set(ids))) if ids is not None else [None]:
            rows.extend(self.conn.execute(query if part is None else query.where(t.holds.c.id.in_(part))))
        legs = legs_of(self.conn, [r.seq for r in rows])
        ends = [r.finished_by for r in rows if r.status == "fulfilled" and r.finished_by]
        preimages: dict[str, str | None] = {}
        for part in chunks(sorted(ends)):
            for end in self.conn.execute(select(t.journal.c.id, t.journal.c.body).where(t.journal.c.id.in_(part))):
                preimages[end.id] = parse_tx(loads(end.body), journal=True).preimage
        out = []
        for r in sorted(rows, key=lambda r: r.seq):
            tx = parse_tx(loads(r.body))
            hold = HoldState(
                r.id, r.seq, r.status, r.expires_at, legs.get(r.seq, ()), r.finished_by, r.at, tx.quote is not None,
                condition=tx.condition, partner=tx.partner, travel=tx.travel,
            )
            out.append((hold, tx, preimages.get(r.finished_by) if r.finished_by else None))
        return out

    def released(self, accounts: list[Account], now: str) -> list[Account]:
        """``accounts`` with every hold past its timeout at ``now`` released, as the next write will record it.

        Reads never write: a hold that timed out stays pending in the tables
        until the book's next write voids it, but no reader sees it as held.
        """
        if not accounts:
            return accounts
        query = (
            select(t.legs.c.debit, t.legs.c.credit, t.legs.c.amount)
            .select_from(t.holds.join(t.journal, t.journal.c.id == t.holds.c.id).join(t.legs, t.legs.c.seq == t.journal.c.seq))
            .where(t.holds.c.status == "pending", t.holds.c.expires_at <= now)
        )
        held: dict[str, list[int]] = {}
        for r in self.conn.execute(query):
            held.setdefault(r.debit, [0, 0])[0] += r.amount
            held.setdefault(r.credit, [0, 0])[1] += r.amount
        if not held:
            return accounts
        return [
            replace(a, debits_pending=a.debits_pending - held[a.id][0], credits_pending=a.credits_pending - held[a.id][1]) if a.id in held else a
            for a in accounts
        ]

    def expired_holds(self, now: str, limit: int = 1000) -> list[str]:
        query = (
            select(t.holds.c.id)
            .where(t.holds.c.status == "pending", t.holds.c.expires_at <= now)
            .order_by(t.holds.c.expires_at, t.holds.c.id)
            .limit(limit)
        )
        return list(self.conn.execute(query).scalars())

    def hold_rows(self) -> dict[str, tuple[str, str, str | None]]:
        """Every hold: status, expiry and the entry that ended it."""
        rows = self.conn.execute(select(t.holds.c.id, t.holds.c.status, t.holds.c.expires_at, t.holds.c.finished_by))
        return {r.id: (r.status, r.expires_at, r.finished_by) for r in rows}

    def pending_holds(self, account: str | None = None) -> list[HoldState]:
        """Holds still pending, soonest expiry first (those with a leg on ``account`` only, when given)."""
        query = (
            select(t.holds.c.id, t.holds.c.status, t.holds.c.expires_at, t.holds.c.finished_by, t.journal.c.seq)
            .select_from(t.holds.join(t.journal, t.journal.c.id == t.holds.c.id))
            .where(t.holds.c.status == "pending")
            .order_by(t.holds.c.expires_at, t.holds.c.id)
        )
        if account is not None:
            on_account = select(t.legs.c.seq).where(or_(t.legs.c.debit == account, t.legs.c.credit == account))
            query = query.where(t.journal.c.seq.in_(on_account))
        rows = list(self.conn.execute(query))
        legs = legs_of(self.conn, [r.seq for r in rows])
        return [HoldState(r.id, r.seq, r.status, r.expires_at, legs.get(r.seq, ()), r.finished_by) for r in rows]
