"""The control tables: quotes taken (``quote_uses``), counted outflows, conversions and cross-border movements.

The book appends the rows a chunk's accepted transactions add and reads the
figures the next chunk needs (:meth:`Controls.control_figures`), as plain
values: the rulebook's loader (``wonledger.rulebook.loader``) makes its
state of them. A rebuild replaces the tables whole; verify reads them back.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select

from wonledger.domain.model import ControlFigures, ControlKeys, ControlTables
from wonledger.store import tables as t
from wonledger.store.rows import Repository, chunks, lock_head


class Controls(Repository):
    """The control tables, inside one unit of work."""

    def outflow_totals(self, year: int) -> dict[str, int]:
        query = (
            select(t.outflows.c.participant, func.sum(t.outflows.c.usd_minor))
            .where(t.outflows.c.year == year)
            .group_by(t.outflows.c.participant)
        )
        return {p: int(total) for p, total in self.conn.execute(query)}

    def append_control_rows(self, rows: ControlTables) -> None:
        """Persist what the controls' effects of accepted transactions add (the rulebook's ``ControlRows``)."""
        if rows.quote_uses:
            self.conn.execute(t.quote_uses.insert(), [{"quote_id": q, "tx_id": tx} for q, tx in rows.quote_uses])
        if rows.outflows:
            self.conn.execute(
                t.outflows.insert(),
                [{"seq": seq, "participant": p, "year": year, "usd_minor": usd} for seq, p, year, usd in rows.outflows],
            )
        if rows.conversions:
            self.conn.execute(
                t.conversions.insert(),
                [{"seq": seq, "at": at, "asset": asset, "amount_out": out} for seq, at, asset, out in rows.conversions],
            )
        if rows.travel:
            self.conn.execute(
                t.travel_movements.insert(),
                [{"seq": seq, "at": at, "originator": o, "beneficiary": b, "usd_minor": usd} for seq, at, o, b, usd in rows.travel],
            )

    def control_figures(self, keys: ControlKeys) -> ControlFigures:
        """The control figures a chunk needs (``keys``), read inside its write transaction."""
        outflows: dict[tuple[str, int], int] = {}
        if keys.limited and keys.years:
            for part in chunks(sorted(keys.limited)):
                query = (
                    select(t.outflows.c.participant, t.outflows.c.year, func.sum(t.outflows.c.usd_minor))
                    .where(t.outflows.c.participant.in_(part), t.outflows.c.year.in_(sorted(keys.years)))
                    .group_by(t.outflows.c.participant, t.outflows.c.year)
                )
                outflows.update(((p, y), int(total)) for p, y, total in self.conn.execute(query))
        used: dict[str, str] = {}
        for part in chunks(sorted(keys.quotes)):
            query = select(t.quote_uses.c.quote_id, t.quote_uses.c.tx_id).where(t.quote_uses.c.quote_id.in_(part))
            used.update((r.quote_id, r.tx_id) for r in self.conn.execute(query))
        conversions: list[tuple[str, int]] = []
        path: list[tuple[str, int]] = []
        supply, before = 0, 0
        if keys.watched is not None:
            query = select(t.conversions.c.at, t.conversions.c.amount_out).where(
                t.conversions.c.asset == keys.watched, t.conversions.c.at > keys.breaker_since
            )
            conversions = [(r.at, r.amount_out) for r in self.conn.execute(query)]
            supply, path, before = self.supply_path(keys.watched, keys.breaker_since)
        travel: dict[tuple[str, str], list[tuple[str, int]]] = {}
        for part in chunks(sorted(keys.originators)):
            query = select(t.travel_movements).where(
                t.travel_movements.c.originator.in_(part), t.travel_movements.c.at > keys.travel_since
            )
            for r in self.conn.execute(query):
                travel.setdefault((r.originator, r.beneficiary), []).append((r.at, r.usd_minor))
        return ControlFigures(
            outflows=tuple(outflows.items()),
            conversions=tuple(conversions),
            supply=supply,
            supply_path=tuple(path),
            supply_before=before,
            travel=tuple((pair, tuple(moves)) for pair, moves in travel.items()),
            used_quotes=tuple(used.items()),
        )

    def supply_path(self, asset: str, since: str) -> tuple[int, list[tuple[str, int]], int]:
        """Stablecoin ``asset``'s posted supply now, (commit time, supply after) of each change since ``since``, and the supply before those.

        Read from the journal's booked legs on its issuer's issuance account.
        """
        issuance = self.conn.execute(
            select(t.accounts)
            .select_from(t.accounts.join(t.assets, t.assets.c.code == t.accounts.c.asset))
            .where(t.accounts.c.asset == asset, t.accounts.c.owner == t.assets.c.issuer, t.accounts.c.flags.like("%issuance%"))
        ).first()
        if issuance is None:
            return 0, [], 0
        supply = issuance.debits_posted - issuance.credits_posted
        query = (
            select(t.journal.c.seq, t.journal.c.at, t.legs.c.debit, t.legs.c.credit, t.legs.c.amount)
            .select_from(t.legs.join(t.journal, t.journal.c.seq == t.legs.c.seq))
            .where(
                or_(t.legs.c.debit == issuance.id, t.legs.c.credit == issuance.id),
                t.legs.c.pending.is_(False),
                t.journal.c.at > since,
            )
            .order_by(t.journal.c.seq)
        )
        changes: list[tuple[str, int]] = []
        last_seq = None
        for r in self.conn.execute(query):
            change = (r.amount if r.debit == issuance.id else 0) - (r.amount if r.credit == issuance.id else 0)
            if r.seq == last_seq:
                changes[-1] = (r.at, changes[-1][1] + change)
            else:
                changes.append((r.at, change))
            last_seq = r.seq
        path: list[tuple[str, int]] = []
        after = supply
        for at, change in reversed(changes):
            if change:
                path.append((at, after))
            after -= change
        path.reverse()
        return supply, path, after

    def replace_control_rows(self, rows: ControlTables) -> None:
        """Replace the control tables with ``rows`` (a rebuild after an upgrade)."""
        lock_head(self.conn, self.locking)  # queue behind the book's writers
        for table in (t.outflows, t.conversions, t.travel_movements, t.quote_uses):
            self.conn.execute(table.delete())
        self.append_control_rows(rows)
        # An earlier wonledger kept where the controls start to judge here; every replay now derives it from the journal.
        self.conn.execute(t.meta.delete().where(t.meta.c.key == "controls_from_seq"))

    def control_rows(self) -> ControlTables:
        """Every stored row of the control tables (what ``verify`` compares with its replay)."""
        quoted = self.conn.execute(select(t.quote_uses.c.quote_id, t.quote_uses.c.tx_id))
        return ControlTables(
            quote_uses=tuple((r.quote_id, r.tx_id) for r in quoted),
            outflows=tuple((r.seq, r.participant, r.year, r.usd_minor) for r in self.conn.execute(select(t.outflows))),
            conversions=tuple((r.seq, r.at, r.asset, r.amount_out) for r in self.conn.execute(select(t.conversions))),
            travel=tuple((r.seq, r.at, r.originator, r.beneficiary, r.usd_minor) for r in self.conn.execute(select(t.travel_movements))),
        )
