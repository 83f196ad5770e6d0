"""`Ledger`: the public face of one wonledger database and its key store.

Everything the CLI does goes through here, and so can any Python program::

    from wonledger import Ledger
    with Ledger.open("sqlite:///wonledger.db", keys="wonledger-keys") as lg:
        lg.payments.transfer("alice:dKRW.hanriver", "seoul-exports:dKRW.hanriver", 1000)

`Ledger` holds what belongs to the ledger as a whole (opening it, submitting
signed transactions, reading the journal, verifying it); the commands are
grouped by area in resources, each a small class in its own module:
``ledger.registry``, ``ledger.payments``, ``ledger.holds``,
``ledger.stablecoins``, ``ledger.crossborder``, ``ledger.statements``,
``ledger.proofs``, ``ledger.reports``, and ``ledger.names`` for what a person
typed (accounts by owner, amounts as text).

A command is one read and at most one write. The read (one
:class:`~wonledger.service.names.Lookups`, one read transaction's lookups)
resolves what a person typed, builds the transaction and finds who must sign
it and their current keys; the transaction is signed outside any database
transaction with the keys of those parties and goes through the book's one
submit path; the receipt carries the entry, so showing it reads nothing back.
The book, the store and the key store stay private.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from wonledger.domain.errors import AlreadyExists, DatabaseUnavailable, DuplicateConflict, LedgerError, UnknownAccount, UnknownTransaction
from wonledger.domain.model import Account, SignedTx, Tx
from wonledger.domain.money import Asset
from wonledger.domain.timestamps import iso, utc_now
from wonledger.service.defaults import DEFAULT_DB, DEFAULT_KEYS
from wonledger.service.names import Lookups
from wonledger.store import OPERATOR_META, Store, UnitOfWork, WaitPolicy, database_exists, safe_url, sqlite_path, wait_db_s

if TYPE_CHECKING:
    from wonledger.audit.anchors import Anchor
    from wonledger.audit.verify import VerifyReport
    from wonledger.book.ingest import IngestResult
    from wonledger.book.session import AuditSession
    from wonledger.book.writer import Book, Outcome
    from wonledger.domain.model import Leg, Participant, StoredTx
    from wonledger.domain.records import JournalEntry, Quote, Receipt
    from wonledger.domain.signing import KeyStore
    from wonledger.service.crossborder import CrossBorder
    from wonledger.service.holds import Holds
    from wonledger.service.names import Names
    from wonledger.service.partners import Partners
    from wonledger.service.payments import Payments
    from wonledger.service.proofs import Proofs
    from wonledger.service.registry import Registry
    from wonledger.service.reports import Reports
    from wonledger.service.stablecoins import Stablecoins
    from wonledger.service.statements import Statements

T = TypeVar("T")

#: A batch posting this many lines has PostgreSQL count the journal again when it ends (ANALYZE samples some
#: 30,000 rows, a fraction of a second; the batch took tens of seconds): see :meth:`Store.refresh_statistics`.
BULK_LOAD = 5_000


@dataclass(frozen=True, slots=True)
class Info:
    ledger: str
    db: str
    schema: str
    transactions: int
    accounts: int
    #: the operator's public key (base64url) as this ledger stores it; pin it where you keep it, not from here
    operator_key: str | None = None


class Ledger:
    """One ledger: its store, its book and the key store that signs for its users (all three private)."""

    def __init__(self, store: Store, keys: KeyStore | str | os.PathLike[str], clock: Callable[[], datetime] = utc_now) -> None:
        self._store = store
        self.clock = clock
        self._key_source = keys
        self._writer: Book | None = None
        #: assets by code, as read (an asset never changes once registered)
        self._assets: dict[str, Asset] = {}
        self._resources: dict[str, object] = {}

    # The book (rules, policy, signature workers) and the key store (cryptography) are made
    # on first use: a command that only reads imports neither.
    @property
    def _book(self) -> Book:
        if self._writer is None:
            from wonledger.book.writer import Book

            self._writer = Book(self._store, self.clock)
        return self._writer

    @property
    def _keys(self) -> KeyStore:
        if isinstance(self._key_source, (str, os.PathLike)):
            from wonledger.domain.signing import KeyStore

            self._key_source = KeyStore(self._key_source)
        return self._key_source

    def _audit_session(self) -> AuditSession:
        """What the audit, statements and key changes work through: this ledger's parts, the book and keys made on first use.

        Every call into ``wonledger.audit`` and ``flows.keys`` passes here; they never see the facade.
        """
        from wonledger.book.session import AuditSession

        def resolve_account(uow: UnitOfWork, name: str) -> Account:
            return Lookups(uow, iso(self.clock()), self._assets).resolve(name)

        def participant(uow: UnitOfWork, pid: str) -> Participant:
            return Lookups(uow, iso(self.clock()), self._assets).participant(pid)

        return AuditSession(
            store=self._store,
            clock=self.clock,
            keys=lambda: self._keys,
            record=lambda work: self._book.record(work),
            submit=lambda signed: self._book.submit(signed),
            expire_due=lambda: self._book.expire_due(),
            resolve_account=resolve_account,
            participant=participant,
            registry_policy=lambda: self._book.registry_policy,
        )

    # -- opening ---------------------------------------------------------
    @classmethod
    def open(
        cls,
        url: str = DEFAULT_DB,
        keys: str | os.PathLike[str] = DEFAULT_KEYS,
        clock: Callable[[], datetime] = utc_now,
        check_now: bool = True,
        wait_db: float | None = None,
        on_wait: Callable[[str | None, float, float], None] | None = None,
    ) -> Ledger:
        """Open the ledger at ``url``; :class:`NotALedger` if it is none (or of a schema this wonledger does not know).

        With ``check_now=False`` nothing connects yet: the check runs inside the
        first read or write, in its transaction, so a command that reads once
        opens one database transaction (the CLI opens ledgers this way). A
        ledger from an earlier wonledger is upgraded when it is first used.

        A database that is unavailable for now (a failover, a restart) is
        waited out for up to ``wait_db`` seconds per outage (default: the
        environment's ``WONLEDGER_WAIT_DB``, else 60; 0 does not wait), every
        transaction retried whole; ``on_wait(reason, seconds_waited, wait_db)``
        hears why before each pause, and ``on_wait(None, seconds_waited,
        wait_db)`` when the database is back. Past the bound:
        :class:`DatabaseUnavailable`.
        """
        store = Store.open(url)
        store.wait = WaitPolicy(wait_db_s(wait_db), on_wait)
        ledger = cls(store, keys, clock)
        store.on_upgrade = ledger._finish_upgrade
        if check_now:
            try:
                store.check()
            except BaseException:
                ledger.close()
                raise
        return ledger

    def _finish_upgrade(self, store: Store, registry_unsigned: bool) -> None:
        """After the store brought an older ledger's schema up to date: what the journal must now say of it."""
        from wonledger.book.upgrade import freeze_registry

        frozen = registry_unsigned and freeze_registry(self._book)  # a ledger from before signed registry entries (ledger.upgrade)
        if frozen or store.upgraded_from is not None:
            # (a freeze refused once, then done when the ledger is opened again, still needs its controls rebuilt)
            # The capital-flow rules changed with schemas 0005 and 0006: rebuild what they derive from the journal.
            from wonledger.book.upgrade import rebuild_controls

            rebuild_controls(self._book)

    @classmethod
    def create(
        cls,
        url: str = DEFAULT_DB,
        keys: str | os.PathLike[str] = DEFAULT_KEYS,
        world: str = "default",
        clock: Callable[[], datetime] = utc_now,
        ledger_id: str | None = None,
        wait_db: float | None = None,
        on_wait: Callable[[str | None, float, float], None] | None = None,
    ) -> Ledger:
        """Create the schema, load ``world`` and sign its funding; all or nothing (``wait_db``, ``on_wait``: as :meth:`open`).

        On a database another process is making a ledger of at the same
        moment, one creation wins; the others are :class:`AlreadyExists`.
        """
        from wonledger.domain.signing import KeyStore
        from wonledger.flows.world import world_data, world_entries

        data = world_data(world)
        path = sqlite_path(url)
        existed = database_exists(url) if path else True
        store: Store | None = None
        try:
            store = Store.create(url, ledger_id or f"wl-{secrets.token_hex(6)}", WaitPolicy(wait_db_s(wait_db), on_wait))
            ledger = cls(store, KeyStore(keys), clock)
            entries = world_entries(store.ledger_id, ledger._keys, data, ledger._book.registry_policy)
            for outcome in ledger._book.submit_many(entries) if entries else ():
                if isinstance(outcome, LedgerError):
                    raise outcome
            from wonledger.audit import operations as audit  # here: commands that never audit never import it

            audit.ensure_operator_key(ledger._audit_session())  # signs checkpoints (ledger.audit)
        except BaseException as exc:
            if store is not None:
                store.dispose()
            if path and not existed and not isinstance(exc, AlreadyExists):
                _remove_sqlite(path)  # (a file another `init` made meanwhile is its ledger, not ours to remove)
            raise
        return ledger

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._store.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def id(self) -> str:
        return self._store.ledger_id

    def info(self) -> Info:
        """Counts and the operator's public key, in one read."""
        (transactions, accounts), operator = self._store.reading(lambda uow: (uow.records.counts(), uow.records.meta(OPERATOR_META)))
        return Info(self.id, safe_url(self._store.url), self._store.schema, transactions, accounts, operator)

    # -- the resources: commands by area -----------------------------------
    def _resource(self, name: str, make: Callable[[Ledger], T]) -> T:
        found = self._resources.get(name)
        if found is None:
            found = self._resources[name] = make(self)
        return found  # type: ignore[return-value]

    @property
    def names(self) -> Names:
        """Accounts, amounts, quotes as a person names them, each resolved in one read."""
        from wonledger.service.names import Names

        return self._resource("names", Names)

    @property
    def registry(self) -> Registry:
        """Participants, assets, accounts, stablecoin issuers and participants' keys."""
        from wonledger.service.registry import Registry

        return self._resource("registry", Registry)

    @property
    def payments(self) -> Payments:
        """Transfers, domestic payments, deposits and withdrawals of tokens, reversals."""
        from wonledger.service.payments import Payments

        return self._resource("payments", Payments)

    @property
    def holds(self) -> Holds:
        """Posting and voiding holds; which are pending and when they expire."""
        from wonledger.service.holds import Holds

        return self._resource("holds", Holds)

    @property
    def stablecoins(self) -> Stablecoins:
        """Minting and redeeming stablecoins at par; supply against reserves."""
        from wonledger.service.stablecoins import Stablecoins

        return self._resource("stablecoins", Stablecoins)

    @property
    def crossborder(self) -> CrossBorder:
        """The dealer's quotes, swaps between stablecoins, sends abroad."""
        from wonledger.service.crossborder import CrossBorder

        return self._resource("crossborder", CrossBorder)

    @property
    def statements(self) -> Statements:
        """Account statements (camt.053, CSV) and reconciliation against a bank's."""
        from wonledger.service.statements import Statements

        return self._resource("statements", Statements)

    @property
    def proofs(self) -> Proofs:
        """Signed checkpoints, inclusion and consistency proofs, the operator's key."""
        from wonledger.service.proofs import Proofs

        return self._resource("proofs", Proofs)

    @property
    def partners(self) -> Partners:
        """The other ledgers this one settles with, by their operators' signed cards (docs/crossledger.md)."""
        from wonledger.service.partners import Partners

        return self._resource("partners", Partners)

    @property
    def reports(self) -> Reports:
        """Trial balance, refusals, residents' outflows, the run breaker."""
        from wonledger.service.reports import Reports

        return self._resource("reports", Reports)

    # -- one read, one write: what the resources build on -------------------
    def _read(self, work: Callable[[Lookups], T]) -> T:
        """Run ``work`` over the lookups of one read transaction (see :class:`Lookups`)."""
        now = iso(self.clock())
        return self._store.reading(lambda uow: work(Lookups(uow, now, self._assets)))

    def _submit_built(self, build: Callable[[Lookups], tuple[Tx, Iterable[str] | None, Quote | None]]) -> Receipt:
        """A command's one read and one write.

        ``build`` makes the transaction in one read and names who signs it
        (None: whoever the rules say must) and the fresh quote it takes, if
        any. The signers' current keys go to the book from the same read; the
        transaction is signed outside any database transaction and submitted,
        the fresh quote signed by its dealer and stored as an offer in the same write.
        """

        def read(names: Lookups) -> tuple[Tx, frozenset[str], Quote | None]:
            tx, signers, offer = build(names)
            return tx, self._signers_with_keys(names, tx, signers), offer

        tx, signers, offer = self._read(read)
        records: tuple[Callable[[UnitOfWork], object], ...] = ()
        if offer is not None:
            from wonledger.flows.crossborder import signed_offer

            signed = signed_offer(self.id, offer, self._keys)  # the dealer signs its offer, as it signs the exchange
            records = (lambda uow: uow.records.add_quote(signed),)
        return self.submit(self.sign(tx, signers), records)

    def _signers_with_keys(self, names: Lookups, tx: Tx, signers: Iterable[str] | None = None) -> frozenset[str]:
        """``signers`` (or everyone the rules say must sign ``tx``), their current keys handed to the book, which checks them again under its lock."""
        from wonledger.rulebook.rules import required_signers

        named = frozenset(signers) if signers is not None else required_signers(tx, names, self._book.registry_policy)
        self._book.remember_keys(names.uow.registry.current_keys(named))
        return named

    # -- signing and submitting -------------------------------------------
    def sign(self, tx: Tx, signers: Iterable[str] | None = None) -> SignedTx:
        """Sign ``tx`` with the keys of ``signers`` (by default, everyone the rules say must sign it)."""
        from wonledger.domain.signing import tx_bytes

        if signers is None:
            signers = self._read(lambda names: self._signers_with_keys(names, tx))
        payload = tx_bytes(tx)
        signatures = tuple(self._keys.sign(s, payload) for s in sorted(set(signers)))
        return SignedTx(tx=tx, signatures=signatures, canonical=payload)

    def submit(self, signed: SignedTx, records: Sequence[Callable[[UnitOfWork], object]] = ()) -> Receipt:
        """Submit through the book; a flow retried with the same id returns its first receipt.

        A flow opens the accounts it needs only when they are missing, so its
        retry (same id, same terms) carries no ``opens`` the second time: it is
        the same transaction, and it gets the original receipt. ``records``
        are written in the same database transaction (see :meth:`Book.submit`).
        """
        from wonledger.domain.records import JournalEntry, Receipt  # (a read-only command never builds these)

        try:
            receipt = self._book.submit(signed, records)
        except DatabaseUnavailable as exc:
            raise DatabaseUnavailable(
                f"{exc.message}. The transaction's id is {signed.tx.id}: submitting it again with that id posts it at most once",
                hint="same-id" if exc.hint == "wait-longer" else exc.hint,
            ) from None
        except DuplicateConflict:
            found = self._store.reading(lambda uow: uow.journal.entry(signed.tx.id))
            if found is not None:
                first = journal_entry(found[0], found[2])
                if replace(first.tx, opens=()) == replace(signed.tx, opens=()) and first.tx.opens and not signed.tx.opens:
                    return Receipt(first.tx.id, first.seq, first.hash, first.at, first.status, duplicate=True)
            raise
        if receipt.duplicate:
            return receipt  # what the journal holds may carry other signatures: read it to show it
        return replace(receipt, entry=JournalEntry(receipt.seq, receipt.at, signed.tx, signed.signatures, signed.canonical, receipt.hash, receipt.status))

    def submit_many(self, batch: Sequence[SignedTx]) -> list[Outcome]:
        return self._book.submit_many(batch)

    def ingest(self, lines: Iterable[bytes | str], progress: Callable[[int], None] | None = None) -> IngestResult:
        """Submit a batch of JSON lines in chunks (see :mod:`wonledger.book.ingest`)."""
        from wonledger.book.ingest import ingest

        self._store.check()  # an empty batch, too, is refused by a database that is no ledger
        result = ingest(self._book, lines, progress=progress)
        if result.posted >= BULK_LOAD:
            self._store.refresh_statistics()  # the planner must know the journal grew before the next read of it
        return result

    # -- reading the journal ---------------------------------------------
    def balances(self, names: Sequence[str] = ()) -> list[Account]:
        """Accounts by id, or all of an owner's by its name (every account when ``names`` is empty), in one read.

        The assets are read in the same transaction (an asset never changes), so
        showing the amounts in major units reads nothing more.
        """

        def read(found_names: Lookups) -> list[Account]:
            found_names.all_assets()
            uow, now = found_names.uow, found_names.now
            if not names:
                return uow.holds.released(uow.registry.all_accounts(None, None), now)
            found: list[Account] = []
            for name in names:
                if ":" in name:
                    found.append(found_names.account(name))
                    continue
                owned = uow.holds.released(uow.registry.all_accounts(name, None), now)
                if not owned:
                    found_names.participant(name)
                    raise UnknownAccount(f"{name} has no accounts")
                found.extend(owned)
            return found

        return self._read(read)

    def transaction(self, tx_id: str) -> JournalEntry:
        now = iso(self.clock())
        found = self._store.reading(lambda uow: (uow.journal.entry(tx_id), uow.holds.holds([tx_id])))
        if found[0] is None:
            raise UnknownTransaction(f"no transaction {tx_id}")
        stored, _legs, status = found[0]
        hold = found[1].get(tx_id)
        if hold is not None and hold.status == "pending" and hold.expires_at <= now:
            # past its timeout (a conditional hold: its deadline): released, and voided (expired) by the next write
            status = "expired" if hold.condition is not None else "voided"
        return journal_entry(stored, status)

    def history(
        self, account_id: str, since: str | None = None, until: str | None = None, limit: int | None = None, *, page: int = 500
    ) -> Iterator[JournalEntry]:
        """Entries on ``account_id`` in [since, until) (ISO 8601 times), oldest first; the newest ``limit`` when given.

        Read ``page`` entries at a time, each page in its own read, so memory
        stays flat however long the history (``list(...)`` it to keep it).
        The account is checked now, not when the first entry is asked for.
        """
        self._read(lambda names: names.account(account_id))
        return self._history_pages(account_id, since, until, limit, page)

    def _history_pages(self, account_id: str, since: str | None, until: str | None, limit: int | None, page: int) -> Iterator[JournalEntry]:
        after = 0
        if limit is not None:
            after = self._store.reading(lambda uow: uow.journal.history_first_seq(account_id, since, until, limit))
        left = limit
        while left is None or left > 0:
            size = page if left is None else min(page, left)
            def read_page(uow: UnitOfWork, after: int = after, size: int = size) -> list[tuple[StoredTx, tuple[Leg, ...], str]]:
                return uow.journal.history_page(account_id, after, since, until, size)

            rows = self._store.reading(read_page)
            if not rows:
                return
            for stored, _legs, status in rows:
                yield journal_entry(stored, status)
            after = rows[-1][0].seq
            if left is not None:
                left -= len(rows)

    def verify(self, progress: Callable[[int], None] | None = None, anchor: Anchor | None = None) -> VerifyReport:
        """Replay and check everything; with ``anchor``, also hold the ledger to what the user trusts (ledger.anchors).

        The replay reads one snapshot of the database; a failover in the middle
        of it ends that snapshot, so it starts again from the beginning, for as
        long as this ledger waits for its database.
        """
        import time

        from wonledger.audit.anchors import verify_anchored  # imported when used: most commands never verify

        give_up_at = time.monotonic() + self._store.wait.seconds
        while True:
            try:
                return verify_anchored(self._audit_session().store, anchor, progress)
            except DatabaseUnavailable:
                if time.monotonic() >= give_up_at:
                    raise


def journal_entry(stored: StoredTx, status: str) -> JournalEntry:
    """A stored journal row as the :class:`JournalEntry` it holds (the store decoded it)."""
    return stored.entry(status)


def _remove_sqlite(path: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            Path(path + suffix).unlink()
        except FileNotFoundError:
            pass


def make_participant_key(keys: str | os.PathLike[str], participant: str) -> bytes:
    """Make ``participant``'s key pair in the key directory ``keys``; returns the public key (the private key stays in its file)."""
    from wonledger.domain.signing import KeyStore
    from wonledger.service.registry import make_key

    return make_key(KeyStore(keys), participant)


def parse_public_key(text: str) -> bytes:
    """An Ed25519 public key as people pass it: 43 characters of base64url."""
    from wonledger.domain.signing import unb64url
    from wonledger.domain.wire import _public_key

    return unb64url(_public_key(text.strip(), "public key"))


__all__ = ["DEFAULT_DB", "DEFAULT_KEYS", "Info", "Ledger", "make_participant_key", "parse_public_key"]
