"""The store's entry point: opening a ledger (the handshake, upgrades) and running units of work in it.

:class:`Store` owns an engine; :meth:`Store.writing` runs a function inside
one write transaction (a unit of work that commits only if the function
returns, retried as a whole on a lock or serialization failure) and
:meth:`Store.reading` inside a read-only one. :class:`UnitOfWork` holds
one repository per area (the modules beside this one), where rows become
domain values; none of them decides anything.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection, Engine, inspect, select
from sqlalchemy.exc import DBAPIError

from wonledger.domain.errors import AlreadyExists, DatabaseReadOnly, NotALedger
from wonledger.domain.model import Leg, StoredTx
from wonledger.store import tables as t
from wonledger.store.engine import READ_ONLY, asks_for_standby, database_exists, make_engine, read_only_storage, safe_url, sqlite_path
from wonledger.store.failures import Unavailable, WaitPolicy, storage_error, unavailable_reason, wait_db_s, with_retries
from wonledger.store.schema import LEDGER_ID_META, OLDER_REVISIONS, SCHEMA_HEAD, UNSIGNED_META

if TYPE_CHECKING:
    from wonledger.store.controls import Controls
    from wonledger.store.holds import Holds
    from wonledger.store.journal import Journal, JournalPage
    from wonledger.store.records import Records
    from wonledger.store.registry import Registry
    from wonledger.store.statements import AccountLeg, StatementReads


T = TypeVar("T")

GENESIS_HASH = "0" * 64
#: The operator's public key (base64url), kept for people to read and pin elsewhere; verify never trusts it from here.
OPERATOR_META = "operator_key"
#: The PostgreSQL advisory lock (per database) that `init`s of one database queue on: one makes it a ledger, the others see one.
CREATE_LOCK = 0x776F6E6C6564  # "wonled"


class _Upgrade:
    """The handshake found an older ledger: upgrade it outside the transaction, then run the work again."""


_UPGRADE = _Upgrade()


class Store:
    """One ledger database. Opening one connects to nothing: the first unit of
    work checks, in its own transaction, that the database is a wonledger
    ledger of a schema this code knows (the handshake), so a command that
    reads once opens one database transaction in all."""

    def __init__(self, url: str, engine: Engine, read_only: bool = False) -> None:
        self.url = url
        self.engine = engine
        #: a SQLite file on storage that may not be written: it is read, and every write is refused at once
        self.read_only = read_only
        #: how long a transaction waits out an unavailable database (a failover), and whom it tells
        self.wait = WaitPolicy(wait_db_s())
        self._ledger_id: str | None = None
        self._schema: str | None = None
        #: the revision this ledger was upgraded from when it was opened (derived tables then need rebuilding)
        self.upgraded_from: str | None = None
        #: what the handshake found that needs work before the ledger is used (a revision to migrate from, an unsigned registry)
        self._needs: tuple[str | None, bool] | None = None
        #: run once, outside any transaction, after an upgrade: the layer above freezes the registry, rebuilds controls
        self.on_upgrade: Callable[[Store, bool], None] | None = None
        #: the connection of this thread's snapshot (see :meth:`snapshot`), if it holds one
        self._pinned = threading.local()

    # -- opening ---------------------------------------------------------
    @classmethod
    def open(cls, url: str) -> Store:
        """An existing wonledger database (checked by its first unit of work, or by :meth:`check`)."""
        if not database_exists(url):
            raise NotALedger(f"no ledger at {url}", hint="init")
        read_only = read_only_storage(url)
        return cls(url, make_engine(url, read_only), read_only)

    @classmethod
    def create(cls, url: str, ledger_id: str, wait: WaitPolicy | None = None) -> Store:
        """Create the schema with the migrations and name the ledger."""
        store = cls(url, make_engine(url))
        if wait is not None:
            store.wait = wait
        try:
            store._create(ledger_id)
        except BaseException:
            store.dispose()  # a refused or failed creation keeps no connection open
            raise
        return store

    def _create(self, ledger_id: str) -> None:
        """Migrate an empty database and name the ledger, in one transaction (retried whole, like any other).

        On PostgreSQL the transaction first takes an advisory lock, so that
        `init`s run at once on one database queue there: the first makes the
        ledger, the others then find it (not a half-made schema, nor a
        duplicate key of a type the first is creating).
        """
        url = safe_url(self.url)

        def create(conn: Connection) -> None:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({CREATE_LOCK})")
            existing = set(inspect(conn).get_table_names())
            if "meta" in existing or "journal" in existing:
                made = conn.execute(select(t.meta.c.value).where(t.meta.c.key == LEDGER_ID_META)).scalar() if "meta" in existing else None
                if made == ledger_id:
                    return  # this very transaction, whose commit was cut off on its way, landed: it is done
                raise AlreadyExists(f"{url} already holds a ledger{f' ({made})' if made else ''}", hint="other-db")
            if existing - {"alembic_version"}:
                raise NotALedger(f"{url} holds other tables; wonledger needs an empty database")
            self._migrate_on(conn)
            conn.execute(t.meta.insert(), [{"key": LEDGER_ID_META, "value": ledger_id}])
            conn.execute(t.head.insert(), [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])

        def attempt() -> None:
            try:
                self._in_transaction(create, write=True)
            except DBAPIError as exc:
                if "file is not a database" in str(exc.orig):
                    raise NotALedger(f"{url} is not a database; wonledger needs an empty database or a new file") from None
                raise

        with_retries(attempt, self.url, self.wait)
        self._ledger_id, self._schema = ledger_id, SCHEMA_HEAD

    def migrate(self) -> None:
        """Bring the schema to the newest migration, in one transaction."""
        with_retries(lambda: self._in_transaction(self._migrate_on, write=True), self.url, self.wait)

    @staticmethod
    def _migrate_on(conn: Connection) -> None:
        from importlib import resources

        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(resources.files("wonledger.store") / "migrations"))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")

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
            if unavailable_reason(exc) is None and any(s in text for s in ("file is not a database", "no such table", "does not exist", "no such column")):
                raise NotALedger(f"{safe_url(self.url)} is not a wonledger database") from None
            raise  # the unit of work's retries judge the rest (a connection lost is waited out)
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

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Inside, every read of this thread (:meth:`reading` and the streams) sees one snapshot of the database.

        ``verify`` reads the journal page by page and then every table: without
        one snapshot, entries a writer commits in between would make the
        tables disagree with the journal it replayed (so a checkpoint taken
        while a batch commits would refuse, or vouch for what was not
        checked). One read-only transaction: deferred on SQLite (WAL keeps
        its snapshot), REPEATABLE READ on PostgreSQL. Writers are not held up.
        """
        if getattr(self._pinned, "conn", None) is not None:
            yield
            return
        self.check()
        # An outage when the snapshot begins is waited out; one in the middle ends it (DB_UNAVAILABLE): a snapshot cannot
        # go on over another connection, so the caller starts again (Ledger.verify does, within the same wait).
        conn = with_retries(self.engine.connect, self.url, self.wait, write=False)
        options: dict[str, object] = {READ_ONLY: True}
        if conn.dialect.name != "sqlite":
            options["isolation_level"] = "REPEATABLE READ"
        conn = conn.execution_options(**options)
        try:
            with conn.begin():
                self._pinned.conn = conn
                try:
                    yield
                finally:
                    self._pinned.conn = None
        except DBAPIError as exc:
            raise storage_error(exc, self.url) from None
        finally:
            conn.close()

    def _in_transaction(self, work: Callable[[Connection], T], write: bool) -> T:
        """``work`` in one transaction that commits when it returns; what a retry must know is raised as :class:`Unavailable`.

        A connection that fails during COMMIT leaves the work's fate unknown
        (``cut_off``); a write a server refuses as read-only is asked, on the
        same connection, whether that server is a standby now: a primary
        demoted by a failover is waited out, a database set read-only is not.
        """
        committing = False
        with self._connect(write) as conn:
            try:
                with conn.begin():
                    done = work(conn)
                    committing = True
                return done
            except DBAPIError as exc:
                reason = unavailable_reason(exc) or ("the connection was lost" if exc.connection_invalidated else None)
                if committing and write and reason is not None:
                    raise Unavailable(exc, reason, cut_off=True) from None
                if getattr(exc.orig, "sqlstate", None) == "25006" and self._is_standby(conn):
                    raise Unavailable(exc, "the server is a standby now (a primary demoted by a failover)") from None
                raise

    def _is_standby(self, conn: Connection) -> bool:
        """Whether the server of ``conn`` is in recovery (a standby), when the URL asked for a server that writes."""
        if conn.dialect.name != "postgresql" or asks_for_standby(self.url):
            return False
        try:
            return bool(conn.exec_driver_sql("SELECT pg_is_in_recovery()").scalar())
        except DBAPIError:
            return True  # the connection went down with the question: a failover, most likely; waiting will tell

    def refresh_statistics(self) -> None:
        """After a bulk load, have PostgreSQL's planner count the journal and legs again (SQLite: nothing to do).

        Autovacuum analyzes a table only a minute or more after a tenth of it
        changed; until then the planner believes the journal is as small as
        before the batch and reads an account's history by fetching all of
        its remaining legs and sorting them for every page (a million-entry
        history read a page at a time then costs the square of its length).
        Counting is a hint to the planner and changes no row: if it cannot
        be done now (a lost connection, a server gone to standby, tables of
        another owner), the batch that was written stands and autovacuum does
        it later.
        """
        if self.read_only or not self.url.startswith("postgresql"):
            return

        def analyze(conn: Connection) -> None:
            conn.exec_driver_sql("ANALYZE journal, legs")

        try:
            self._in_transaction(analyze, write=True)
        except (DBAPIError, Unavailable):
            return

    # -- transactions ----------------------------------------------------
    def writing(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run ``work`` in one write transaction; all of it commits or none."""
        if self.read_only:
            raise DatabaseReadOnly(
                f"{sqlite_path(self.url)} is read-only here (the file, its directory or its filesystem may not be written): "
                "it answers reads; nothing was written"
            )
        return self._unit(work, write=True)

    def reading(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run ``work`` in one read-only transaction (on SQLite a deferred BEGIN: it never waits for a writer)."""
        return self._unit(work, write=False)

    def _unit(self, work: Callable[[UnitOfWork], T], write: bool) -> T:
        pinned = getattr(self._pinned, "conn", None)
        if pinned is not None and not write:
            try:
                return work(UnitOfWork(pinned))  # inside a snapshot: its one transaction
            except DBAPIError as exc:
                raise storage_error(exc, self.url) from None

        def run(conn: Connection) -> T | _Upgrade:
            if self._schema is None and self._handshake(conn):
                return _UPGRADE
            return work(UnitOfWork(conn))

        def attempt() -> T | _Upgrade:
            try:
                return self._in_transaction(run, write)
            except DBAPIError as exc:
                # Before the handshake, a file that is no database fails as soon as the connection is set up.
                if self._schema is None and "file is not a database" in str(exc.orig):
                    raise NotALedger(f"{safe_url(self.url)} is not a wonledger database") from None
                raise

        done = with_retries(attempt, self.url, self.wait, write)
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
                def read_page(uow: UnitOfWork, a: int = after) -> list[AccountLeg]:
                    return uow.statements.account_legs(account, name, a, since, until, batch, upto_seq, with_memo)

                rows = self.reading(read_page)
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
            def read_page(uow: UnitOfWork, after: int = last) -> list[tuple[int, str]]:
                return uow.journal.hashes_after(after, upto, batch)

            rows = self.reading(read_page)
            if not rows:
                return
            yield from rows
            last = rows[-1][0]

    def stream_journal(self, batch: int = 2000) -> Iterator[tuple[StoredTx, tuple[Leg, ...]]]:
        """Every journal entry with its stored legs, in sequence order, in bounded memory (decoded as verify reads them)."""
        last = 0
        while True:
            def read_page(uow: UnitOfWork, after: int = last) -> list[tuple[StoredTx, tuple[Leg, ...]]]:
                return uow.journal.journal_after(after, batch)

            rows = self.reading(read_page)
            if not rows:
                return
            yield from rows
            last = rows[-1][0].seq


    def journal_pages(self, batch: int = 2000) -> Iterator[JournalPage]:
        """Every journal row and its legs in sequence order, in pages of ``batch`` not yet decoded (verify's workers decode them)."""
        last = 0
        while True:
            def read_page(uow: UnitOfWork, after: int = last) -> JournalPage:
                return uow.journal.page_after(after, batch)

            page = self.reading(read_page)
            if not page.rows:
                return
            yield page
            last = page.last_seq


class UnitOfWork:
    """One database transaction, and the repositories that read and write in it, one per area.

    ``registry`` (participants, keys, assets, issuers, accounts), ``journal``
    (entries, legs, the chain head, history pages), ``holds``, ``controls``
    (the control tables), ``statements`` (booked legs and totals on
    accounts) and ``records`` (quotes, refusals, checkpoints, meta).
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._locking = conn.dialect.name != "sqlite"  # SQLite's BEGIN IMMEDIATE already excludes writers

    # Each area's module is imported when a unit of work first uses it: a `balance`
    # reads the registry and the journal's head, and builds none of the others.
    @cached_property
    def registry(self) -> Registry:
        from wonledger.store.registry import Registry

        return Registry(self.conn, self._locking)

    @cached_property
    def journal(self) -> Journal:
        from wonledger.store.journal import Journal

        return Journal(self.conn, self._locking)

    @cached_property
    def holds(self) -> Holds:
        from wonledger.store.holds import Holds

        return Holds(self.conn, self._locking)

    @cached_property
    def controls(self) -> Controls:
        from wonledger.store.controls import Controls

        return Controls(self.conn, self._locking)

    @cached_property
    def statements(self) -> StatementReads:
        from wonledger.store.statements import StatementReads

        return StatementReads(self.conn, self._locking)

    @cached_property
    def records(self) -> Records:
        from wonledger.store.records import Records

        return Records(self.conn, self._locking)
