"""Reading and writing the ledger's tables; rows become domain values here.

:class:`Store` owns an engine; :meth:`Store.writing` runs a function inside
one write transaction (a unit of work that commits only if the function
returns, retried as a whole on a lock or serialization failure) and
:meth:`Store.reading` inside a read-only one. :class:`UnitOfWork` has the
queries the book needs; it never decides anything.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection, Engine, Table, bindparam, delete, func, inspect, or_, select, union, update
from sqlalchemy.exc import DBAPIError

from wonledger.domain.errors import AlreadyExists, NotALedger, StorageError
from wonledger.domain.model import Account, HoldState, KeyRecord, Leg, Participant, Quote, Refusal, Signature
from wonledger.domain.money import Asset
from wonledger.store import tables as t
from wonledger.store.engine import (
    READ_ONLY,
    database_exists,
    make_engine,
    safe_url,
    storage_error,
    with_retries,
)

if TYPE_CHECKING:  # the control figures' types; read and written here only by writers and verify, which import them
    from wonledger.rulebook.controls import ControlKeys, ControlRows, ControlState
    from wonledger.rulebook.policy import FlowPolicy

T = TypeVar("T")

#: The newest migration; a database at another revision is not opened.
SCHEMA_HEAD = "0005"
#: Earlier revisions this wonledger upgrades when it opens them.
OLDER_REVISIONS = ("0001", "0002", "0003", "0004")
GENESIS_HASH = "0" * 64
#: Bound parameters per IN (...) list, well under SQLite's limit.
_IN_CHUNK = 500
#: The meta rows the handshake reads: this ledger's id, and the mark of a registry kept outside the journal (before 0004).
LEDGER_ID_META = "ledger_id"
UNSIGNED_META = "registry_unsigned"
#: The operator's public key (base64url), kept for people to read and pin elsewhere; verify never trusts it from here.
OPERATOR_META = "operator_key"


class _Upgrade:
    """The handshake found an older ledger: upgrade it outside the transaction, then run the work again."""


_UPGRADE = _Upgrade()


def _in_transaction(engine: Engine, work: Callable[[UnitOfWork], T]) -> T:
    with engine.begin() as conn:
        return work(UnitOfWork(conn))


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


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """A journal row, as verify and `tx show` read it."""

    seq: int
    id: str
    kind: str
    ref: str | None
    at: str
    body: str
    signatures: str
    digest: str
    hash: str


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


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    seq: int
    root: str
    at: str
    signature: str
    operator_key: str


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


class Store:
    """One ledger database. Opening one connects to nothing: the first unit of
    work checks, in its own transaction, that the database is a wonledger
    ledger of a schema this code knows (the handshake), so a command that
    reads once opens one database transaction in all."""

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine
        self._ledger_id: str | None = None
        self._schema: str | None = None
        #: the revision this ledger was upgraded from when it was opened (derived tables then need rebuilding)
        self.upgraded_from: str | None = None
        #: what the handshake found that needs work before the ledger is used (a revision to migrate from, an unsigned registry)
        self._needs: tuple[str | None, bool] | None = None
        #: run once, outside any transaction, after an upgrade: the layer above freezes the registry, rebuilds controls
        self.on_upgrade: Callable[[Store, bool], None] | None = None

    # -- opening ---------------------------------------------------------
    @classmethod
    def open(cls, url: str) -> Store:
        """An existing wonledger database (checked by its first unit of work, or by :meth:`check`)."""
        if not database_exists(url):
            raise NotALedger(f"no ledger at {url}", hint="init")
        return cls(url, make_engine(url))

    @classmethod
    def create(cls, url: str, ledger_id: str) -> Store:
        """Create the schema with the migrations and name the ledger."""
        store = cls(url, make_engine(url))
        try:
            store._create(ledger_id)
        except BaseException:
            store.dispose()  # a refused or failed creation keeps no connection open
            raise
        return store

    def _create(self, ledger_id: str) -> None:
        store, url = self, self.url
        try:
            with store.engine.connect() as conn:
                existing = set(inspect(conn).get_table_names())
        except DBAPIError as exc:
            if "file is not a database" in str(exc.orig):
                raise NotALedger(f"{url} is not a database; wonledger needs an empty database or a new file") from None
            raise storage_error(exc, self.url) from None
        if "meta" in existing or "journal" in existing:
            raise AlreadyExists(f"{url} already holds a ledger", hint="other-db")
        if existing - {"alembic_version"}:
            raise NotALedger(f"{url} holds other tables; wonledger needs an empty database")
        store.migrate()

        def name(uow: UnitOfWork) -> None:
            uow.conn.execute(t.meta.insert(), [{"key": "ledger_id", "value": ledger_id}])
            uow.conn.execute(t.head.insert(), [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])

        with_retries(lambda: _in_transaction(self.engine, name))
        self._ledger_id, self._schema = ledger_id, SCHEMA_HEAD

    def migrate(self) -> None:
        from importlib import resources

        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(resources.files("wonledger.store") / "migrations"))
        try:
            with self.engine.begin() as conn:
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        except DBAPIError as exc:
            raise storage_error(exc, self.url) from None

    def check(self) -> None:
        """Check now that this is a wonledger ledger (else :class:`NotALedger`), upgrading it if it is an older one.

        Once checked, nothing more is read: the first unit of work checks it in any case."""
        if self._schema is None:
            self.reading(lambda uow: None)

    @property
    def ledger_id(self) -> str:
        if self._ledger_id is None:
            self.check()
        assert self._ledger_id is not None
        return self._ledger_id

    @property
    def schema(self) -> str:
        if self._schema is None:
            self.check()
        assert self._schema is not None
        return self._schema

    def _handshake(self, conn: Connection) -> bool:
        """Inside the first unit of work: is this a ledger we know? True when it must be upgraded first."""
        try:
            revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            facts = dict(conn.execute(select(t.meta.c.key, t.meta.c.value).where(t.meta.c.key.in_((LEDGER_ID_META, UNSIGNED_META)))).all())
        except DBAPIError as exc:
            text = str(exc.orig).lower()
            if "file is not a database" in text or "no such table" in text or "does not exist" in text or "no such column" in text:
                raise NotALedger(f"{safe_url(self.url)} is not a wonledger database") from None
            raise storage_error(exc, self.url) from None
        ledger_id = facts.get(LEDGER_ID_META)
        if ledger_id is None:
            raise NotALedger(f"{safe_url(self.url)} is not a wonledger database (no ledger id)")
        if revision not in OLDER_REVISIONS and revision != SCHEMA_HEAD:
            # Never guess at a schema we do not know: a newer one may keep money where this code does not look.
            raise NotALedger(
                f"{safe_url(self.url)} has schema {revision}, from a newer or different wonledger; this one knows "
                f"{', '.join((*OLDER_REVISIONS, SCHEMA_HEAD))}: open it with the wonledger that made it (nothing was changed)"
            )
        self._ledger_id = ledger_id
        if revision in OLDER_REVISIONS or UNSIGNED_META in facts:
            self._needs = (revision if revision in OLDER_REVISIONS else None, UNSIGNED_META in facts)
            return True
        self._schema = revision
        return False

    def _upgrade(self) -> None:
        """Bring an older ledger up to date (outside any transaction), then let the layer above finish it."""
        assert self._needs is not None
        older, unsigned = self._needs
        self._needs = None
        if older is not None:
            self.migrate()  # a ledger made by an earlier wonledger: bring its schema up to date
            self.upgraded_from = older
        self._schema = SCHEMA_HEAD
        if self.on_upgrade is not None:
            self.on_upgrade(self, unsigned or older is not None)

    def dispose(self) -> None:
        self.engine.dispose()

    def _connect(self, write: bool) -> Connection:
        return self.engine.connect() if write else self.engine.connect().execution_options(**{READ_ONLY: True})

    # -- transactions ----------------------------------------------------
    def writing(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run ``work`` in one write transaction; all of it commits or none."""
        return self._unit(work, write=True)

    def reading(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run ``work`` in one read-only transaction (on SQLite a deferred BEGIN: it never waits for a writer)."""
        return self._unit(work, write=False)

    def _unit(self, work: Callable[[UnitOfWork], T], write: bool) -> T:
        def attempt() -> T | _Upgrade:
            checked = self._schema is not None
            try:
                with self._connect(write) as conn, conn.begin():
                    if not checked and self._handshake(conn):
                        return _UPGRADE
                    return work(UnitOfWork(conn))
            except DBAPIError as exc:
                # Before the handshake, a file that is no database fails as soon as the connection is set up.
                if not checked and "file is not a database" in str(exc.orig):
                    raise NotALedger(f"{safe_url(self.url)} is not a wonledger database") from None
                raise

        done = with_retries(attempt, self.url)
        if isinstance(done, _Upgrade):
            self._upgrade()
            return self._unit(work, write)
        return done

    def stream_account_legs(
        self, account: str, since: str | None = None, until: str | None = None, upto_seq: int | None = None, batch: int = 5000,
        with_memo: bool = False,
    ) -> Iterator[AccountLeg]:
        """The booked (not held) legs on ``account`` with ``since <= at < until`` and seq <= ``upto_seq``, in journal order.

        Its debits and its credits are read as two streams, each along its own index, and merged:
        one query with ``debit = a OR credit = a`` would sort what remains of the account on every page.
        """

        def side(name: str) -> Iterator[AccountLeg]:
            after = 0
            while True:
                rows = self.reading(lambda uow, a=after: uow.account_legs(account, name, a, since, until, batch, upto_seq, with_memo))
                if len(rows) == batch:  # the page may end inside a transaction: leave that one for the next page
                    rows = [r for r in rows if r.seq != rows[-1].seq]
                if not rows:
                    return
                yield from rows
                after = rows[-1].seq

        return heapq.merge(side("debit"), side("credit"), key=lambda leg: (leg.seq, leg.idx))

    def stream_hashes(self, upto: int, batch: int = 20000) -> Iterator[tuple[int, str]]:
        """(seq, hash) of journal entries 1..``upto``, in order, in bounded memory."""
        last = 0
        while last < upto:
            rows = self.reading(lambda uow, after=last: uow.hashes_after(after, upto, batch))
            if not rows:
                return
            yield from rows
            last = rows[-1][0]

    def stream_journal(self, batch: int = 2000) -> Iterator[tuple[StoredEntry, tuple[Leg, ...]]]:
        """Every journal entry with its stored legs, in sequence order, in bounded memory."""
        last = 0
        while True:
            rows = self.reading(lambda uow, after=last: uow.journal_after(after, batch))
            if not rows:
                return
            yield from rows
            last = rows[-1][0].seq


class UnitOfWork:
    """Queries inside one database transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.locking = conn.dialect.name != "sqlite"  # SQLite's BEGIN IMMEDIATE already excludes writers

    # -- registry --------------------------------------------------------
    def ledger_id(self) -> str:
        return self.conn.execute(select(t.meta.c.value).where(t.meta.c.key == "ledger_id")).scalar_one()

    def participants(self) -> list[Participant]:
        rows = self.conn.execute(select(t.participants).order_by(t.participants.c.id))
        return [_participant(r) for r in rows]

    def participant(self, pid: str) -> Participant | None:
        row = self.conn.execute(select(t.participants).where(t.participants.c.id == pid)).first()
        return _participant(row) if row else None

    def participants_by_id(self, ids: Iterable[str]) -> dict[str, Participant]:
        found: dict[str, Participant] = {}
        for part in _chunks(sorted(set(ids))):
            for row in self.conn.execute(select(t.participants).where(t.participants.c.id.in_(part))):
                found[row.id] = _participant(row)
        return found

    def key_histories(self, ids: Iterable[str]) -> dict[str, list[KeyRecord]]:
        """Each named participant's keys, oldest first."""
        found: dict[str, list[KeyRecord]] = {}
        keys = t.participant_keys
        for part in _chunks(sorted(set(ids))):
            query = select(keys).where(keys.c.participant.in_(part)).order_by(keys.c.participant, keys.c.valid_from)
            for r in self.conn.execute(query):
                found.setdefault(r.participant, []).append(KeyRecord(r.participant, bytes(r.public_key), r.valid_from, r.retired_at, r.reason))
        return found

    def add_participant(self, p: Participant, at: str = "1970-01-01T00:00:00.000000Z") -> None:
        """Register ``p``; its key is its current key from ``at`` on."""
        self.conn.execute(
            t.participants.insert(),
            [{"id": p.id, "kind": p.kind, "jurisdiction": p.jurisdiction, "resident": p.resident, "public_key": p.public_key, "registrar": p.registrar}],
        )
        self.conn.execute(
            t.participant_keys.insert(),
            [{"participant": p.id, "public_key": p.public_key, "valid_from": at, "retired_at": None, "reason": None}],
        )

    def key_history(self, participant: str | None = None) -> list[KeyRecord]:
        """Every key each participant has had (or one participant's), oldest first."""
        query = select(t.participant_keys).order_by(t.participant_keys.c.participant, t.participant_keys.c.valid_from)
        if participant is not None:
            query = query.where(t.participant_keys.c.participant == participant)
        return [
            KeyRecord(r.participant, bytes(r.public_key), r.valid_from, r.retired_at, r.reason)
            for r in self.conn.execute(query)
        ]

    def current_keys(self, participants: Iterable[str]) -> dict[str, bytes]:
        """The registered key of each named participant (what signs from now on)."""
        found: dict[str, bytes] = {}
        for part in _chunks(sorted(set(participants))):
            query = select(t.participants.c.id, t.participants.c.public_key).where(t.participants.c.id.in_(part))
            found.update((r.id, bytes(r.public_key)) for r in self.conn.execute(query))
        return found

    def append_registry(
        self,
        participants: Sequence[Participant],
        new_keys: Sequence[KeyRecord],
        retired_keys: Sequence[KeyRecord],
        assets: Sequence[Asset],
        issuers: Sequence[tuple[str, str, str]],
        accounts: Sequence[Account],
    ) -> None:
        """Write what registry entries of a chunk registered (before the chunk's counters)."""
        keys = t.participant_keys
        if participants:
            self.conn.execute(
                t.participants.insert(),
                [{"id": p.id, "kind": p.kind, "jurisdiction": p.jurisdiction, "resident": p.resident, "public_key": p.public_key, "registrar": p.registrar} for p in participants],
            )
        for k in retired_keys:
            self.conn.execute(
                update(keys).where(keys.c.participant == k.participant, keys.c.public_key == k.public_key).values(retired_at=k.retired_at, reason=k.reason)
            )
        if new_keys:
            self.conn.execute(
                keys.insert(),
                [{"participant": k.participant, "public_key": k.public_key, "valid_from": k.valid_from, "retired_at": None, "reason": None} for k in new_keys],
            )
            current = {k.participant: k.public_key for k in new_keys}
            for pid, key in current.items():
                self.conn.execute(update(t.participants).where(t.participants.c.id == pid).values(public_key=key))
        for a in assets:
            self.add_asset(a)
        if issuers:
            self.conn.execute(t.issuers.insert(), [{"asset": a, "issuer": i, "registered_at": at} for a, i, at in issuers])
        for account in accounts:
            self.add_account(account)

    def replace_key(self, participant: str, new_key: bytes, at: str, reason: str) -> None:
        """Retire ``participant``'s current key at ``at`` for ``reason``; ``new_key`` signs from ``at`` on."""
        keys = t.participant_keys
        self.conn.execute(
            update(keys)
            .where(keys.c.participant == participant, keys.c.retired_at.is_(None))
            .values(retired_at=at, reason=reason)
        )
        self.conn.execute(
            keys.insert(), [{"participant": participant, "public_key": new_key, "valid_from": at, "retired_at": None, "reason": None}]
        )
        self.conn.execute(update(t.participants).where(t.participants.c.id == participant).values(public_key=new_key))

    def last_entry_at(self) -> str | None:
        """The commit time of the newest journal entry."""
        return self.conn.execute(select(t.journal.c.at).order_by(t.journal.c.seq.desc()).limit(1)).scalar()

    def assets(self) -> list[Asset]:
        return [_asset(r) for r in self.conn.execute(select(t.assets).order_by(t.assets.c.code))]

    def asset(self, code: str) -> Asset | None:
        row = self.conn.execute(select(t.assets).where(t.assets.c.code == code)).first()
        return _asset(row) if row else None

    def add_asset(self, a: Asset) -> None:
        self.conn.execute(
            t.assets.insert(),
            [{"code": a.code, "currency": a.currency, "kind": a.kind, "exponent": a.exponent, "issuer": a.issuer}],
        )

    def issuers(self) -> dict[str, str]:
        """Registered stablecoins and their issuers: asset code → participant id."""
        return {r.asset: r.issuer for r in self.conn.execute(select(t.issuers.c.asset, t.issuers.c.issuer))}

    def add_issuer(self, asset: str, issuer: str, at: str) -> None:
        self.conn.execute(t.issuers.insert(), [{"asset": asset, "issuer": issuer, "registered_at": at}])

    # -- accounts --------------------------------------------------------
    def add_account(self, a: Account) -> None:
        self.conn.execute(
            t.accounts.insert(),
            [
                {
                    "id": a.id,
                    "owner": a.owner,
                    "asset": a.asset,
                    "flags": ",".join(sorted(a.flags)),
                    "label": a.label,
                    "debits_posted": 0,
                    "credits_posted": 0,
                    "debits_pending": 0,
                    "credits_pending": 0,
                }
            ],
        )

    def accounts(self, ids: Iterable[str], lock: bool = False) -> dict[str, Account]:
        """The named accounts; with ``lock``, row locks taken in account-id order."""
        found: dict[str, Account] = {}
        wanted = sorted(set(ids))
        for part in _chunks(wanted):
            query = select(t.accounts).where(t.accounts.c.id.in_(part)).order_by(t.accounts.c.id)
            if lock and self.locking:
                query = query.with_for_update()
            for row in self.conn.execute(query):
                found[row.id] = _account(row)
        return found

    def reserve_and_issuance_accounts(self, issuers: Iterable[str]) -> list[str]:
        """Ids of the reserve accounts and stablecoin issuance accounts of ``issuers``."""
        wanted = sorted(set(issuers))
        if not wanted:
            return []
        query = (
            select(t.accounts.c.id)
            .select_from(t.accounts.join(t.assets, t.assets.c.code == t.accounts.c.asset))
            .where(
                t.accounts.c.owner.in_(wanted),
                or_(t.accounts.c.flags.like("%reserve%"), (t.assets.c.kind == "stablecoin") & t.accounts.c.flags.like("%issuance%")),
            )
        )
        return list(self.conn.execute(query).scalars())

    def all_accounts(self, owner: str | None = None, asset: str | None = None) -> list[Account]:
        query = select(t.accounts).order_by(t.accounts.c.id)
        if owner is not None:
            query = query.where(t.accounts.c.owner == owner)
        if asset is not None:
            query = query.where(t.accounts.c.asset == asset)
        return [_account(r) for r in self.conn.execute(query)]

    # -- journal ---------------------------------------------------------
    def head(self, lock: bool = False) -> tuple[int, str]:
        query = select(t.head.c.seq, t.head.c.hash).where(t.head.c.id == 1)
        if lock and self.locking:
            query = query.with_for_update()
        row = self.conn.execute(query).one()
        return row.seq, row.hash

    def entries_by_id(self, ids: Iterable[str]) -> dict[str, EntryInfo]:
        found: dict[str, EntryInfo] = {}
        for part in _chunks(sorted(set(ids))):
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

    def holds(self, ids: Iterable[str]) -> dict[str, HoldState]:
        found: dict[str, HoldState] = {}
        for part in _chunks(sorted(set(ids))):
            query = (
                select(t.holds.c.id, t.holds.c.status, t.holds.c.expires_at, t.holds.c.finished_by, t.journal.c.seq, t.journal.c.at)
                .select_from(t.holds.join(t.journal, t.journal.c.id == t.holds.c.id))
                .where(t.holds.c.id.in_(part))
            )
            rows = list(self.conn.execute(query))
            legs = self._legs_of([r.seq for r in rows])
            for r in rows:
                found[r.id] = HoldState(r.id, r.seq, r.status, r.expires_at, legs.get(r.seq, ()), r.finished_by, r.at)
        return found

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

    def reversed_refs(self, refs: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for part in _chunks(sorted(set(refs))):
            query = select(t.journal.c.ref).where(t.journal.c.kind == "reversal", t.journal.c.ref.in_(part))
            found.update(self.conn.execute(query).scalars())
        return found

    def entry_legs(self, ids: Iterable[str]) -> dict[str, tuple[str, tuple[Leg, ...]]]:
        """kind and legs of committed transactions by id (what a reversal mirrors)."""
        found: dict[str, tuple[str, tuple[Leg, ...]]] = {}
        for part in _chunks(sorted(set(ids))):
            rows = list(self.conn.execute(select(t.journal.c.id, t.journal.c.seq, t.journal.c.kind).where(t.journal.c.id.in_(part))))
            legs = self._legs_of([r.seq for r in rows])
            for r in rows:
                found[r.id] = (r.kind, legs.get(r.seq, ()))
        return found

    def _legs_of(self, seqs: Sequence[int]) -> dict[int, tuple[Leg, ...]]:
        grouped: dict[int, list[Leg]] = {}
        for part in _chunks(sorted(set(seqs))):
            query = select(t.legs).where(t.legs.c.seq.in_(part)).order_by(t.legs.c.seq, t.legs.c.idx)
            for r in self.conn.execute(query):
                grouped.setdefault(r.seq, []).append(Leg(r.debit, r.credit, r.asset, r.amount))
        return {seq: tuple(legs) for seq, legs in grouped.items()}

    def _insert_many(self, table: Table, rows: list[tuple[object, ...]]) -> None:
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

    # -- quotes and capital-flow controls ----------------------------------
    def add_quote(self, q: Quote) -> None:
        self.conn.execute(
            t.quotes.insert(),
            [
                {
                    "id": q.quote_id,
                    "dealer": q.dealer,
                    "sell_asset": q.sell_asset,
                    "buy_asset": q.buy_asset,
                    "sell_amount": q.sell_amount,
                    "fee": q.fee,
                    "buy_amount": q.buy_amount,
                    "rate": q.rate,
                    "source": q.source,
                    "created_at": q.created_at,
                    "expires_at": q.expires_at,
                    "used_by": None,
                }
            ],
        )

    def quote(self, quote_id: str) -> Quote | None:
        row = self.conn.execute(select(t.quotes).where(t.quotes.c.id == quote_id)).first()
        return _quote(row) if row else None

    def outflow_total(self, participant: str, year: int) -> int:
        """``participant``'s counted outflow in ``year``, in USD cents."""
        query = select(func.coalesce(func.sum(t.outflows.c.usd_minor), 0)).where(
            t.outflows.c.participant == participant, t.outflows.c.year == year
        )
        return int(self.conn.execute(query).scalar_one())

    def outflow_totals(self, year: int) -> dict[str, int]:
        query = (
            select(t.outflows.c.participant, func.sum(t.outflows.c.usd_minor))
            .where(t.outflows.c.year == year)
            .group_by(t.outflows.c.participant)
        )
        return {p: int(total) for p, total in self.conn.execute(query)}

    def net_conversions_since(self, asset: str, since: str) -> int:
        """Net conversions out of ``asset`` committed after ``since`` (minor units; inflows negative)."""
        query = select(func.coalesce(func.sum(t.conversions.c.amount_out), 0)).where(
            t.conversions.c.asset == asset, t.conversions.c.at > since
        )
        return int(self.conn.execute(query).scalar_one())

    def append_controls(
        self,
        quote_uses: Sequence[tuple[str, str]],
        outflows: Sequence[tuple[int, str, int, int]],
        conversions: Sequence[tuple[int, str, str, int]],
        rejections: Sequence[Refusal],
    ) -> None:
        """What the controls keep beside the journal: quotes taken, outflows, conversions, and refusals."""
        if quote_uses:
            self.conn.execute(
                update(t.quotes).where(t.quotes.c.id == bindparam("quote_id")).values(used_by=bindparam("tx")),
                [{"quote_id": q, "tx": tx} for q, tx in quote_uses],
            )
        if outflows:
            self.conn.execute(
                t.outflows.insert(),
                [{"seq": seq, "participant": p, "year": year, "usd_minor": usd} for seq, p, year, usd in outflows],
            )
        if conversions:
            self.conn.execute(
                t.conversions.insert(),
                [{"seq": seq, "at": at, "asset": asset, "amount_out": out} for seq, at, asset, out in conversions],
            )
        if rejections:
            self.conn.execute(
                t.rejections.insert(),
                [
                    {"at": r.at, "who": r.who[:256], "tx_id": r.tx_id, "kind": r.kind, "what": r.what, "code": r.code, "message": r.message}
                    for r in rejections
                ],
            )

    def append_control_rows(self, rows: ControlRows) -> None:
        """Persist what the controls' effects of accepted transactions add (``ControlEffect.rows``)."""
        self.append_controls(rows.quote_uses, rows.outflows, rows.conversions, ())
        if rows.travel:
            self.conn.execute(
                t.travel_movements.insert(),
                [{"seq": seq, "at": at, "originator": o, "beneficiary": b, "usd_minor": usd} for seq, at, o, b, usd in rows.travel],
            )

    def control_state(self, keys: ControlKeys, policy: FlowPolicy) -> ControlState:
        """The control state a chunk needs (``keys``), read inside its write transaction."""
        outflows: dict[tuple[str, int], int] = {}
        if keys.limited and keys.years:
            for part in _chunks(sorted(keys.limited)):
                query = (
                    select(t.outflows.c.participant, t.outflows.c.year, func.sum(t.outflows.c.usd_minor))
                    .where(t.outflows.c.participant.in_(part), t.outflows.c.year.in_(sorted(keys.years)))
                    .group_by(t.outflows.c.participant, t.outflows.c.year)
                )
                outflows.update(((p, y), int(total)) for p, y, total in self.conn.execute(query))
        quotes: dict[str, Quote | None] = {}
        used: dict[str, str] = {}
        for part in _chunks(sorted(keys.quotes)):
            for row in self.conn.execute(select(t.quotes).where(t.quotes.c.id.in_(part))):
                quotes[row.id] = _quote(row)
                if row.used_by is not None:
                    used[row.id] = row.used_by
        conversions: list[tuple[str, int]] = []
        supply, path, before = 0, [], 0
        if keys.watched is not None:
            query = select(t.conversions.c.at, t.conversions.c.amount_out).where(
                t.conversions.c.asset == keys.watched, t.conversions.c.at > keys.breaker_since
            )
            conversions = [(r.at, r.amount_out) for r in self.conn.execute(query)]
            supply, path, before = self.supply_path(keys.watched, keys.breaker_since)
        travel: dict[tuple[str, str], list[tuple[str, int]]] = {}
        for part in _chunks(sorted(keys.originators)):
            query = select(t.travel_movements).where(
                t.travel_movements.c.originator.in_(part), t.travel_movements.c.at > keys.travel_since
            )
            for r in self.conn.execute(query):
                travel.setdefault((r.originator, r.beneficiary), []).append((r.at, r.usd_minor))
        from wonledger.rulebook.controls import ControlState

        return ControlState(
            outflows=outflows,
            conversions=conversions,
            supply=supply,
            supply_path=path,
            supply_before=before,
            travel=travel,
            quotes=quotes,
            used_quotes=used,
            policy=policy,
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

    def replace_control_rows(self, rows: ControlRows, judged_after: int) -> None:
        """Replace the control tables with ``rows`` (a rebuild after an upgrade); ``verify`` judges entries after seq ``judged_after``."""
        self.head(lock=True)  # queue behind the book's writers
        for table in (t.outflows, t.conversions, t.travel_movements):
            self.conn.execute(table.delete())
        self.conn.execute(update(t.quotes).values(used_by=None))
        self.append_control_rows(rows)
        self.conn.execute(t.meta.delete().where(t.meta.c.key == "controls_from_seq"))
        self.set_meta("controls_from_seq", str(judged_after))

    def all_quotes(self) -> dict[str, Quote | None]:
        """Every stored quote by id (what a replay of the controls checks quoted exchanges against)."""
        return {r.id: _quote(r) for r in self.conn.execute(select(t.quotes))}

    def control_rows(self) -> ControlRows:
        """Every stored row of the control tables (what ``verify`` compares with its replay)."""
        from wonledger.rulebook.controls import ControlRows

        rows = ControlRows()
        quoted = self.conn.execute(select(t.quotes.c.id, t.quotes.c.used_by).where(t.quotes.c.used_by.is_not(None)))
        rows.quote_uses = [(r.id, r.used_by) for r in quoted]
        rows.outflows = [(r.seq, r.participant, r.year, r.usd_minor) for r in self.conn.execute(select(t.outflows))]
        rows.conversions = [(r.seq, r.at, r.asset, r.amount_out) for r in self.conn.execute(select(t.conversions))]
        rows.travel = [(r.seq, r.at, r.originator, r.beneficiary, r.usd_minor) for r in self.conn.execute(select(t.travel_movements))]
        return rows

    def rejections(self, limit: int | None = None, code: str | None = None) -> list[Refusal]:
        """Refusals, newest first."""
        query = select(t.rejections).order_by(t.rejections.c.id.desc())
        if code is not None:
            query = query.where(t.rejections.c.code == code)
        if limit is not None:
            query = query.limit(limit)
        return [Refusal(r.at, r.who, r.tx_id, r.kind, r.what, r.code, r.message) for r in self.conn.execute(query)]

    # -- reading the journal ---------------------------------------------
    def entry(self, tx_id: str) -> tuple[StoredEntry, tuple[Leg, ...], str] | None:
        row = self.conn.execute(select(t.journal).where(t.journal.c.id == tx_id)).first()
        if row is None:
            return None
        entry = _stored(row)
        status = self.conn.execute(select(t.holds.c.status).where(t.holds.c.id == tx_id)).scalar() or "posted"
        return entry, self._legs_of([entry.seq]).get(entry.seq, ()), status

    def journal_after(self, seq: int, limit: int) -> list[tuple[StoredEntry, tuple[Leg, ...]]]:
        # verify reads every row through here: the rows are fetched at once and their columns taken
        # by position, in StoredEntry's and Leg's field order (a third of the time of row by row, by name).
        j, lg = t.journal.c, t.legs.c
        query = select(j.seq, j.id, j.kind, j.ref, j.at, j.body, j.signatures, j.digest, j.hash).where(j.seq > seq).order_by(j.seq).limit(limit)
        rows = [StoredEntry(*r) for r in self.conn.execute(query).all()]
        if not rows:
            return []
        legs: dict[int, list[Leg]] = {}
        query = select(lg.seq, lg.debit, lg.credit, lg.asset, lg.amount).where(lg.seq > seq, lg.seq <= rows[-1].seq).order_by(lg.seq, lg.idx)
        for leg_seq, debit, credit, asset, amount in self.conn.execute(query).all():
            found = legs.get(leg_seq)
            if found is None:
                found = legs[leg_seq] = []
            found.append(Leg(debit, credit, asset, amount))
        no_legs: tuple[Leg, ...] = ()
        return [(e, tuple(legs[e.seq]) if e.seq in legs else no_legs) for e in rows]

    def history(self, account: str, limit: int | None = None) -> list[tuple[StoredEntry, tuple[Leg, ...], str]]:
        """Entries that touched ``account``, oldest first (the newest ``limit``).

        Those with a leg on it, and the voids and expiries of its holds, which
        have no legs but release what the hold had reserved.
        """
        touching = or_(t.legs.c.debit == account, t.legs.c.credit == account)
        with_legs = select(t.legs.c.seq.label("seq")).where(touching)
        held_ids = select(t.journal.c.id).join(t.legs, t.legs.c.seq == t.journal.c.seq).where(touching, t.legs.c.pending.is_(True))
        releases = select(t.journal.c.seq.label("seq")).where(t.journal.c.kind.in_(("void", "expire")), t.journal.c.ref.in_(held_ids))
        both = union(with_legs, releases).subquery()
        seqs_query = select(both.c.seq).order_by(both.c.seq.desc())
        if limit is not None:
            seqs_query = seqs_query.limit(limit)
        seqs = sorted(self.conn.execute(seqs_query).scalars())
        out = []
        legs = self._legs_of(seqs)
        for part in _chunks(seqs):
            query = (
                select(t.journal, t.holds.c.status.label("hold_status"))
                .select_from(t.journal.outerjoin(t.holds, t.holds.c.id == t.journal.c.id))
                .where(t.journal.c.seq.in_(part))
                .order_by(t.journal.c.seq)
            )
            for r in self.conn.execute(query):
                out.append((_stored(r), legs.get(r.seq, ()), r.hold_status or "posted"))
        return out

    def hold_rows(self) -> dict[str, tuple[str, str, str | None]]:
        """Every hold: status, expiry and the entry that ended it."""
        rows = self.conn.execute(select(t.holds.c.id, t.holds.c.status, t.holds.c.expires_at, t.holds.c.finished_by))
        return {r.id: (r.status, r.expires_at, r.finished_by) for r in rows}

    def issuer_rows(self) -> dict[str, str]:
        return self.issuers()

    def hold_states(self) -> dict[str, str]:
        return {r.id: r.status for r in self.conn.execute(select(t.holds.c.id, t.holds.c.status))}

    # -- statements, trial balance and proofs -----------------------------
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
        for part in _chunks(sorted(set(tx_ids))):
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

    def keys_at(self, participants: Iterable[str], at: str) -> dict[str, bytes]:
        """Each participant's public key as it was at ``at`` (from the key history), else its current one."""
        wanted = sorted(set(participants))
        found: dict[str, bytes] = {}
        for part in _chunks(wanted):
            query = select(t.participant_keys.c.participant, t.participant_keys.c.public_key).where(
                t.participant_keys.c.participant.in_(part),
                t.participant_keys.c.valid_from <= at,
                or_(t.participant_keys.c.retired_at.is_(None), t.participant_keys.c.retired_at > at),
            )
            found.update((r.participant, bytes(r.public_key)) for r in self.conn.execute(query))
            current = select(t.participants.c.id, t.participants.c.public_key).where(t.participants.c.id.in_(part))
            for r in self.conn.execute(current):
                found.setdefault(r.id, bytes(r.public_key))
        return found

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

    def meta(self, key: str) -> str | None:
        return self.conn.execute(select(t.meta.c.value).where(t.meta.c.key == key)).scalar()

    def delete_meta(self, key: str) -> None:
        self.conn.execute(delete(t.meta).where(t.meta.c.key == key))

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(t.meta.insert(), [{"key": key, "value": value}])

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        row = self.conn.execute(select(t.checkpoints).order_by(t.checkpoints.c.seq.desc()).limit(1)).first()
        return StoredCheckpoint(row.seq, row.root, row.at, row.signature, row.operator_key) if row else None

    def checkpoints(self) -> list[StoredCheckpoint]:
        rows = self.conn.execute(select(t.checkpoints).order_by(t.checkpoints.c.seq))
        return [StoredCheckpoint(r.seq, r.root, r.at, r.signature, r.operator_key) for r in rows]

    def add_checkpoint(self, c: StoredCheckpoint) -> None:
        self.conn.execute(
            t.checkpoints.insert(),
            [{"seq": c.seq, "root": c.root, "at": c.at, "signature": c.signature, "operator_key": c.operator_key}],
        )

    def counts(self) -> tuple[int, int]:
        transactions = self.conn.execute(select(func.count()).select_from(t.journal)).scalar_one()
        accounts = self.conn.execute(select(func.count()).select_from(t.accounts)).scalar_one()
        return transactions, accounts

    # -- what people look up (the CLI's lists and views) ------------------
    def issuer_registrations(self) -> list[tuple[str, str, str]]:
        """(asset, issuer, registered_at) of every registered stablecoin issuer, by asset."""
        query = select(t.issuers.c.asset, t.issuers.c.issuer, t.issuers.c.registered_at).order_by(t.issuers.c.asset)
        return [(r.asset, r.issuer, r.registered_at) for r in self.conn.execute(query)]

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
        legs = self._legs_of([r.seq for r in rows])
        return [HoldState(r.id, r.seq, r.status, r.expires_at, legs.get(r.seq, ()), r.finished_by) for r in rows]

    def reversals_of(self, ids: Iterable[str]) -> dict[str, str]:
        """For each of ``ids`` that was reversed: the id of the reversal."""
        found: dict[str, str] = {}
        for part in _chunks(sorted(set(ids))):
            query = select(t.journal.c.ref, t.journal.c.id).where(t.journal.c.kind == "reversal", t.journal.c.ref.in_(part))
            found.update((r.ref, r.id) for r in self.conn.execute(query))
        return found

    def _touching_seqs(self, account: str, since: str | None, until: str | None):  # type: ignore[no-untyped-def]
        """The seqs of entries on ``account`` (legs, and the voids and expiries of its holds), as a subquery."""
        touching = or_(t.legs.c.debit == account, t.legs.c.credit == account)
        with_legs = select(t.legs.c.seq.label("seq")).where(touching)
        held_ids = select(t.journal.c.id).join(t.legs, t.legs.c.seq == t.journal.c.seq).where(touching, t.legs.c.pending.is_(True))
        releases = select(t.journal.c.seq.label("seq")).where(t.journal.c.kind.in_(("void", "expire")), t.journal.c.ref.in_(held_ids))
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

        def in_period(query):  # type: ignore[no-untyped-def]
            if since is not None:
                query = query.where(t.journal.c.at >= since)
            if until is not None:
                query = query.where(t.journal.c.at < until)
            return query

        found: set[int] = set()
        for side in (t.legs.c.debit, t.legs.c.credit):
            query = select(t.legs.c.seq).join(t.journal, t.journal.c.seq == t.legs.c.seq).where(side == account, t.legs.c.seq > after_seq)
            found.update(self.conn.execute(in_period(query).order_by(t.legs.c.seq).limit(page)).scalars())
        with_legs = sorted(found)[:page]
        upto = with_legs[-1] if len(with_legs) == page else None
        # Voids and expiries in the page's range of seqs (a range scan of the journal), then which of their holds are on the account.
        candidates = select(t.journal.c.seq, t.journal.c.ref).where(t.journal.c.seq > after_seq, t.journal.c.kind.in_(("void", "expire")))
        if upto is not None:
            candidates = candidates.where(t.journal.c.seq <= upto)
        releases = {seq: ref for seq, ref in self.conn.execute(in_period(candidates))}
        if releases:
            ours: set[str] = set()
            for part in _chunks(sorted(set(releases.values()))):
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
    ) -> list[tuple[StoredEntry, tuple[Leg, ...], str]]:
        """At most ``page`` entries on ``account`` after ``after_seq`` in [since, until), oldest first."""
        seqs = self._page_seqs(account, after_seq, since, until, page)
        if not seqs:
            return []
        legs = self._legs_of(seqs)
        out = []
        for part in _chunks(seqs):
            rows = (
                select(t.journal, t.holds.c.status.label("hold_status"))
                .select_from(t.journal.outerjoin(t.holds, t.holds.c.id == t.journal.c.id))
                .where(t.journal.c.seq.in_(part))
                .order_by(t.journal.c.seq)
            )
            out.extend((_stored(r), legs.get(r.seq, ()), r.hold_status or "posted") for r in self.conn.execute(rows))
        return out


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    items = list(items)
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


def _participant(row) -> Participant:  # type: ignore[no-untyped-def]
    return Participant(row.id, row.kind, row.jurisdiction, bool(row.resident), bytes(row.public_key), row.registrar or "")


def _asset(row) -> Asset:  # type: ignore[no-untyped-def]
    return Asset(row.code, row.currency, row.kind, row.exponent, row.issuer)


def _account(row) -> Account:  # type: ignore[no-untyped-def]
    return Account(
        id=row.id,
        owner=row.owner,
        asset=row.asset,
        flags=frozenset(f for f in row.flags.split(",") if f),
        label=row.label,
        debits_posted=row.debits_posted,
        credits_posted=row.credits_posted,
        debits_pending=row.debits_pending,
        credits_pending=row.credits_pending,
    )


def _quote(row) -> Quote:  # type: ignore[no-untyped-def]
    return Quote(
        quote_id=row.id,
        dealer=row.dealer,
        sell_asset=row.sell_asset,
        buy_asset=row.buy_asset,
        sell_amount=row.sell_amount,
        fee=row.fee,
        buy_amount=row.buy_amount,
        rate=row.rate,
        source=row.source,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_by=row.used_by,
    )


def _stored(row) -> StoredEntry:  # type: ignore[no-untyped-def]
    return StoredEntry(row.seq, row.id, row.kind, row.ref, row.at, row.body, row.signatures, row.digest, row.hash)


def signatures_json(signatures: Iterable[Signature]) -> str:
    return json.dumps([s.to_wire() for s in signatures], separators=(",", ":"))



