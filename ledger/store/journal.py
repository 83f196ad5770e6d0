"""The journal: appending a chunk of entries, the chain head, and reading entries back.

Every row read back leaves here decoded (:func:`~wonledger.store.rows.stored_tx`):
a :class:`~wonledger.domain.model.StoredTx` carrying its signed transaction.
History pages read the entries on one account, each query bounded by its page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Table, bindparam, or_, select, union, update

from wonledger.domain.errors import StorageError
from wonledger.domain.model import GENESIS, REGISTRY_KINDS, Account, Leg, StoredTx
from wonledger.store import tables as t
from wonledger.store.rows import Repository, chunks, legs_of, lock_head, stored_row, stored_tx


@dataclass(frozen=True, slots=True)
class EntryInfo:
    """What the book needs to know of a committed transaction by id."""

    id: str
    seq: int
    kind: str
    at: str
    digest: str
    hash: str
    status: str


@dataclass(slots=True)
class NewEntry:
    """A row the book appends, with its legs."""

    seq: int
    id: str
    kind: str
    ref: str | None
    at: str
    body: str
    signatures: str
    digest: str
    hash: str
    legs: tuple[Leg, ...]
    pending: bool


@dataclass(frozen=True, slots=True)
class JournalPage:
    """Journal rows as read, before they are decoded: what ``verify`` hands its worker processes.

    Decoding (parsing each body and signature list) is most of the cost of
    reading the journal back, so verify's workers decode the pages with
    :meth:`entries` while the process that replays goes on; a page pickles
    as the plain tuples it holds. ``rows``: (seq, id, kind, ref, at, body,
    signatures, digest, hash) in seq order; ``legs``: each seq's stored legs
    as (debit, credit, asset, amount), in leg order.
    """

    rows: tuple[tuple[int, str, str, str | None, str, str, str, str, str], ...]
    legs: dict[int, tuple[tuple[str, str, str, int], ...]]

    def entries(self) -> list[tuple[StoredTx, tuple[tuple[str, str, str, int], ...]]]:
        """Each row decoded as verify reads it (see :func:`~wonledger.store.rows.stored_tx`), with its legs as stored."""
        return [(stored_tx(*row, strict=True), self.legs.get(row[0], ())) for row in self.rows]

    @property
    def last_seq(self) -> int:
        return self.rows[-1][0] if self.rows else 0

    def split(self, size: int) -> list[JournalPage]:
        """The page in pages of at most ``size`` rows, in order (so that every core gets a part)."""
        parts = []
        for start in range(0, len(self.rows), size):
            rows = self.rows[start : start + size]
            parts.append(JournalPage(rows, {row[0]: self.legs[row[0]] for row in rows if row[0] in self.legs}))
        return parts


class Journal(Repository):
    """The journal and its legs, inside one unit of work."""

    def last_entry_at(self) -> str | None:
        """The commit time of the newest journal entry."""
        return self.conn.execute(select(t.journal.c.at).order_by(t.journal.c.seq.desc()).limit(1)).scalar()

    def head(self, lock: bool = False) -> tuple[int, str]:
        """The chain head: the last entry's seq and hash (``lock``: held against other writers)."""
        return lock_head(self.conn, lock and self.locking)

    def entries_by_id(self, ids: Iterable[str]) -> dict[str, EntryInfo]:
        found: dict[str, EntryInfo] = {}
        for part in chunks(sorted(set(ids))):
            query = (
                select(
                    t.journal.c.id,
                    t.journal.c.seq,
                    t.journal.c.kind,
                    t.journal.c.at,
                    t.journal.c.digest,
                    t.journal.c.hash,
                    t.holds.c.status,
                )
                .select_from(t.journal.outerjoin(t.holds, t.holds.c.id == t.journal.c.id))
                .where(t.journal.c.id.in_(part))
            )
            for row in self.conn.execute(query):
                found[row.id] = EntryInfo(row.id, row.seq, row.kind, row.at, row.digest, row.hash, row.status or "posted")
        return found

    def reversed_refs(self, refs: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for part in chunks(sorted(set(refs))):
            query = select(t.journal.c.ref).where(t.journal.c.kind == "reversal", t.journal.c.ref.in_(part))
            found.update(self.conn.execute(query).scalars())
        return found

    def first_registry_entry(self, before_seq: int | None = None) -> tuple[int, str] | None:
        """(seq, id) of the first signed registry entry or genesis (a registry kind, or an entry opening accounts), before ``before_seq`` if given."""
        j = t.journal.c
        # Bodies are canonical JSON: an unescaped `"opens":[` appears only as the member itself, never inside a string.
        query = select(j.seq, j.id).where(or_(j.kind.in_((*REGISTRY_KINDS, GENESIS)), j.body.like('%"opens":[%')))
        if before_seq is not None:
            query = query.where(j.seq < before_seq)
        row = self.conn.execute(query.order_by(j.seq).limit(1)).first()
        return (row.seq, row.id) if row is not None else None

    def entry_legs(self, ids: Iterable[str]) -> dict[str, tuple[str, tuple[Leg, ...]]]:
        """kind and legs of committed transactions by id (what a reversal mirrors)."""
        found: dict[str, tuple[str, tuple[Leg, ...]]] = {}
        for part in chunks(sorted(set(ids))):
            rows = list(self.conn.execute(select(t.journal.c.id, t.journal.c.seq, t.journal.c.kind).where(t.journal.c.id.in_(part))))
            legs = legs_of(self.conn, [r.seq for r in rows])
            for r in rows:
                found[r.id] = (r.kind, legs.get(r.seq, ()))
        return found

    def _insert_many(self, table: Table, rows: Sequence[tuple[object, ...]]) -> None:
        """Rows in the table's column order, handed to the driver's executemany in one call.

        For a chunk of journal rows and legs, SQLAlchemy's per-row parameter
        processing costs about as much as the insert itself; these columns are
        plain text, integers and a boolean, which both drivers take as they are.
        """
        marker = "?" if self.conn.dialect.paramstyle == "qmark" else "%s"
        columns = ", ".join(c.name for c in table.columns)
        self.conn.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) VALUES ({', '.join([marker] * len(table.columns))})", rows)

    def append(
        self,
        entries: Sequence[NewEntry],
        accounts: Sequence[Account],
        new_holds: Sequence[tuple[str, str]],
        finished_holds: Sequence[tuple[str, str, str]],
        head: tuple[int, str],
    ) -> None:
        """Write a chunk: journal rows, legs, holds, changed counters, new head."""
        if not entries:
            return
        self._insert_many(t.journal, [(e.seq, e.id, e.kind, e.ref, e.at, e.body, e.signatures, e.digest, e.hash) for e in entries])
        leg_rows = [
            (e.seq, i, leg.debit, leg.credit, leg.asset, leg.amount, e.pending)
            for e in entries
            for i, leg in enumerate(e.legs)
        ]
        if leg_rows:
            self._insert_many(t.legs, leg_rows)
        if new_holds:
            self.conn.execute(
                t.holds.insert(),
                [{"id": hid, "status": "pending", "expires_at": exp, "finished_by": None} for hid, exp in new_holds],
            )
        if finished_holds:
            self.conn.execute(
                update(t.holds)
                .where(t.holds.c.id == bindparam("hold_id"))
                .values(status=bindparam("new_status"), finished_by=bindparam("by")),
                [{"hold_id": hid, "new_status": status, "by": by} for hid, status, by in finished_holds],
            )
        if accounts:
            self.conn.execute(
                update(t.accounts)
                .where(t.accounts.c.id == bindparam("account_id"))
                .values(
                    debits_posted=bindparam("dp"),
                    credits_posted=bindparam("cp"),
                    debits_pending=bindparam("dq"),
                    credits_pending=bindparam("cq"),
                ),
                [
                    {
                        "account_id": a.id,
                        "dp": a.debits_posted,
                        "cp": a.credits_posted,
                        "dq": a.debits_pending,
                        "cq": a.credits_pending,
                    }
                    for a in accounts
                ],
            )
        result = self.conn.execute(update(t.head).where(t.head.c.id == 1).values(seq=head[0], hash=head[1]))
        if result.rowcount != 1:
            raise StorageError("the chain head is missing")

    def entry(self, tx_id: str, strict: bool = False) -> tuple[StoredTx, tuple[Leg, ...], str] | None:
        """Entry ``tx_id`` with its stored legs and its status (``strict``: decoded as verify reads it, see :func:`stored_tx`)."""
        row = self.conn.execute(select(t.journal).where(t.journal.c.id == tx_id)).first()
        if row is None:
            return None
        entry = stored_row(row, strict)
        status = self.conn.execute(select(t.holds.c.status).where(t.holds.c.id == tx_id)).scalar() or "posted"
        return entry, legs_of(self.conn, [entry.seq]).get(entry.seq, ()), status

    def journal_after(self, seq: int, limit: int) -> list[tuple[StoredTx, tuple[Leg, ...]]]:
        """The next ``limit`` entries after ``seq`` with their stored legs, decoded for verify's replay (see :func:`stored_tx`)."""
        # verify reads every row through here: the rows are fetched at once and their columns taken
        # by position, in stored_tx's and Leg's argument order (a third of the time of row by row, by name).
        j, lg = t.journal.c, t.legs.c
        query = select(j.seq, j.id, j.kind, j.ref, j.at, j.body, j.signatures, j.digest, j.hash).where(j.seq > seq).order_by(j.seq).limit(limit)
        rows = [stored_tx(*r, strict=True) for r in self.conn.execute(query).all()]
        if not rows:
            return []
        legs: dict[int, list[Leg]] = {}
        query = select(lg.seq, lg.debit, lg.credit, lg.asset, lg.amount).where(lg.seq > seq, lg.seq <= rows[-1].seq).order_by(lg.seq, lg.idx)
        # SQLAlchemy's stubs type a select of five columns as a row of nothing (Row[*tuple[Never, ...]]): say what they hold
        leg_seq: int
        debit: str
        credit: str
        asset: str
        amount: int
        for leg_seq, debit, credit, asset, amount in self.conn.execute(query).all():
            found = legs.get(leg_seq)
            if found is None:
                found = legs[leg_seq] = []
            found.append(Leg(debit, credit, asset, amount))
        no_legs: tuple[Leg, ...] = ()
        return [(e, tuple(legs[e.seq]) if e.seq in legs else no_legs) for e in rows]

    def page_after(self, seq: int, limit: int) -> JournalPage:
        """The next ``limit`` journal rows after ``seq`` with their stored legs, not yet decoded (see :class:`JournalPage`)."""
        j, lg = t.journal.c, t.legs.c
        query = select(j.seq, j.id, j.kind, j.ref, j.at, j.body, j.signatures, j.digest, j.hash).where(j.seq > seq).order_by(j.seq).limit(limit)
        rows = tuple(tuple(r) for r in self.conn.execute(query).all())
        if not rows:
            return JournalPage((), {})
        legs: dict[int, list[tuple[str, str, str, int]]] = {}
        query = select(lg.seq, lg.debit, lg.credit, lg.asset, lg.amount).where(lg.seq > seq, lg.seq <= rows[-1][0]).order_by(lg.seq, lg.idx)
        # SQLAlchemy's stubs type a select of five columns as a row of nothing: say what they hold
        leg_seq: int
        debit: str
        credit: str
        asset: str
        amount: int
        for leg_seq, debit, credit, asset, amount in self.conn.execute(query).all():
            legs.setdefault(leg_seq, []).append((debit, credit, asset, amount))
        return JournalPage(rows, {s: tuple(found) for s, found in legs.items()})

    def history(self, account: str, limit: int | None = None) -> list[tuple[StoredTx, tuple[Leg, ...], str]]:
        """Entries that touched ``account``, oldest first (the newest ``limit``).

        Those with a leg on it, and the voids and expiries of its holds, which
        have no legs but release what the hold had reserved.
        """
        touching = or_(t.legs.c.debit == account, t.legs.c.credit == account)
        with_legs = select(t.legs.c.seq.label("seq")).where(touching)
        held_ids = select(t.journal.c.id).join(t.legs, t.legs.c.seq == t.journal.c.seq).where(touching, t.legs.c.pending.is_(True))
        releases = select(t.journal.c.seq.label("seq")).where(t.journal.c.kind.in_(("void", "expire", "reject")), t.journal.c.ref.in_(held_ids))
        both = union(with_legs, releases).subquery()
        seqs_query = select(both.c.seq).order_by(both.c.seq.desc())
        if limit is not None:
            seqs_query = seqs_query.limit(limit)
        seqs = sorted(self.conn.execute(seqs_query).scalars())
        out = []
        legs = legs_of(self.conn, seqs)
        for part in chunks(seqs):
            query = (
                select(t.journal, t.holds.c.status.label("hold_status"))
                .select_from(t.journal.outerjoin(t.holds, t.holds.c.id == t.journal.c.id))
                .where(t.journal.c.seq.in_(part))
                .order_by(t.journal.c.seq)
            )
            for r in self.conn.execute(query):
                out.append((stored_row(r), legs.get(r.seq, ()), r.hold_status or "posted"))
        return out

    def hashes_after(self, seq: int, upto: int, limit: int) -> list[tuple[int, str]]:
        query = (
            select(t.journal.c.seq, t.journal.c.hash)
            .where(t.journal.c.seq > seq, t.journal.c.seq <= upto)
            .order_by(t.journal.c.seq)
            .limit(limit)
        )
        return [(r.seq, r.hash) for r in self.conn.execute(query)]

    def entry_hash(self, seq: int) -> str | None:
        return self.conn.execute(select(t.journal.c.hash).where(t.journal.c.seq == seq)).scalar()

    def reversals_of(self, ids: Iterable[str]) -> dict[str, str]:
        """For each of ``ids`` that was reversed: the id of the reversal."""
        found: dict[str, str] = {}
        for part in chunks(sorted(set(ids))):
            query = select(t.journal.c.ref, t.journal.c.id).where(t.journal.c.kind == "reversal", t.journal.c.ref.in_(part))
            found.update((r.ref, r.id) for r in self.conn.execute(query))
        return found

    def _touching_seqs(self, account: str, since: str | None, until: str | None):
        """The seqs of entries on ``account`` (legs, and the voids and expiries of its holds), as a subquery."""
        touching = or_(t.legs.c.debit == account, t.legs.c.credit == account)
        with_legs = select(t.legs.c.seq.label("seq")).where(touching)
        held_ids = select(t.journal.c.id).join(t.legs, t.legs.c.seq == t.journal.c.seq).where(touching, t.legs.c.pending.is_(True))
        releases = select(t.journal.c.seq.label("seq")).where(t.journal.c.kind.in_(("void", "expire", "reject")), t.journal.c.ref.in_(held_ids))
        both = union(with_legs, releases).subquery()
        query = select(both.c.seq).select_from(both.join(t.journal, t.journal.c.seq == both.c.seq))
        if since is not None:
            query = query.where(t.journal.c.at >= since)
        if until is not None:
            query = query.where(t.journal.c.at < until)
        return query, both

    def history_first_seq(self, account: str, since: str | None, until: str | None, newest: int) -> int:
        """The seq just before the ``newest`` last entries on ``account`` in [since, until) (0: from the start)."""
        query, both = self._touching_seqs(account, since, until)
        found = self.conn.execute(query.order_by(both.c.seq.desc()).offset(newest).limit(1)).scalar()
        return int(found) if found is not None else 0

    def _page_seqs(self, account: str, after_seq: int, since: str | None, until: str | None, page: int) -> list[int]:
        """The next ``page`` seqs on ``account`` after ``after_seq`` in [since, until), each query bounded by the page.

        Legs are found through the (debit, seq) and (credit, seq) indexes from
        ``after_seq`` on; the voids and expiries of the account's holds (which
        carry no legs) are looked for only among the entries up to the last of
        those, or to the end on the last page. So every page costs about its own
        size, and a history of a million entries is not read a million times.
        """

        def in_period(query):
            if since is not None:
                query = query.where(t.journal.c.at >= since)
            if until is not None:
                query = query.where(t.journal.c.at < until)
            return query

        found: set[int] = set()
        for side in (t.legs.c.debit, t.legs.c.credit):
            query = select(t.legs.c.seq).where(side == account, t.legs.c.seq > after_seq)
            if since is not None or until is not None:  # only a period needs the journal's times; without, the index alone answers
                query = query.join(t.journal, t.journal.c.seq == t.legs.c.seq)
            found.update(self.conn.execute(in_period(query).order_by(t.legs.c.seq).limit(page)).scalars())
        with_legs = sorted(found)[:page]
        upto = with_legs[-1] if len(with_legs) == page else None
        # Voids and expiries in the page's range of seqs (a range scan of the journal), then which of their holds are on the account.
        candidates = select(t.journal.c.seq, t.journal.c.ref).where(t.journal.c.seq > after_seq, t.journal.c.kind.in_(("void", "expire", "reject")))
        if upto is not None:
            candidates = candidates.where(t.journal.c.seq <= upto)
        releases = dict(self.conn.execute(in_period(candidates)).all())  # rows, not the result: dict() would take a result for a mapping
        if releases:
            ours: set[str] = set()
            for part in chunks(sorted(set(releases.values()))):
                holds = (
                    select(t.journal.c.id).join(t.legs, t.legs.c.seq == t.journal.c.seq)
                    .where(t.journal.c.id.in_(part), or_(t.legs.c.debit == account, t.legs.c.credit == account))
                )
                ours.update(self.conn.execute(holds).scalars())
            found = set(with_legs).union(seq for seq, ref in releases.items() if ref in ours)
            return sorted(found)[:page]
        return with_legs

    def history_page(
        self, account: str, after_seq: int, since: str | None, until: str | None, page: int
    ) -> list[tuple[StoredTx, tuple[Leg, ...], str]]:
        """At most ``page`` entries on ``account`` after ``after_seq`` in [since, until), oldest first."""
        seqs = self._page_seqs(account, after_seq, since, until, page)
        if not seqs:
            return []
        legs = legs_of(self.conn, seqs)
        out: list[tuple[StoredTx, tuple[Leg, ...], str]] = []
        for part in chunks(seqs):
            rows = (
                select(t.journal, t.holds.c.status.label("hold_status"))
                .select_from(t.journal.outerjoin(t.holds, t.holds.c.id == t.journal.c.id))
                .where(t.journal.c.seq.in_(part))
                .order_by(t.journal.c.seq)
            )
            out.extend((stored_row(r), legs.get(r.seq, ()), r.hold_status or "posted") for r in self.conn.execute(rows))
        return out
