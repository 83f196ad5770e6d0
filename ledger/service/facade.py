"""`Ledger`: the public face of one wonledger database and its key store.

Everything the CLI does goes through here, and so can any Python program::

    from wonledger import Ledger
    with Ledger.open("sqlite:///wonledger.db", keys="wonledger-keys") as lg:
        lg.transfer("alice:dKRW.hanriver", "seoul-exports:dKRW.hanriver", 1000)

A command is one read and at most one write. The read (:class:`_Names`, one
read transaction's lookups) resolves what a person typed (account ids or
owners, amounts as :class:`~ledger.money.TypedAmount`), builds the
transaction and finds who must sign it and their current keys; the
transaction is signed outside any database transaction with the keys of
those parties and goes through the book's one submit path; the receipt
carries the entry, so showing it reads nothing back.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO, TypeVar
from zoneinfo import ZoneInfo

from wonledger.domain.timestamps import iso, parse_iso, utc_now
from wonledger.domain.errors import (
    AlreadyExists,
    DuplicateConflict,
    AssetMismatch,
    BadInput,
    KeyUnavailable,
    LedgerError,
    UnknownAccount,
    UnknownAsset,
    UnknownParticipant,
    UnknownTransaction,
)
from wonledger.domain.model import (
    PARTICIPANT_PATTERN,
    RESERVE,
    Account,
    AccountSpec,
    JournalEntry,
    KeyRecord,
    Leg,
    Participant,
    Quote,
    Receipt,
    Refusal,
    SignedTx,
    Travel,
    Tx,
    account_id,
    check_id,
)
from wonledger.domain.money import Asset, TypedAmount, format_amount, parse_amount
from wonledger.domain.names import did_you_mean
from wonledger.store import OPERATOR_META, Store, UnitOfWork, database_exists, safe_url, sqlite_path

if TYPE_CHECKING:
    from wonledger.audit import operations as audit
    from wonledger.book.session import AuditSession
    from wonledger.book.writer import Book, Outcome
    from wonledger.book.ingest import IngestResult
    from wonledger.flows.keys import KeyChange
    from wonledger.domain.signing import KeyStore
    from wonledger.audit.anchors import Anchor
    from wonledger.audit.proofs import Checkpoint
    from wonledger.statements import VerifyReport

T = TypeVar("T")

DEFAULT_DB = "sqlite:///wonledger.db"
DEFAULT_KEYS = "wonledger-keys"


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


@dataclass(frozen=True, slots=True)
class PendingHold:
    """A hold still pending: its legs and when it expires (ISO 8601 UTC)."""

    id: str
    seq: int
    expires_at: str
    legs: tuple[Leg, ...]


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
    """One ledger: its store, its book and the key store that signs for its users."""

    def __init__(self, store: Store, keys: KeyStore | str | os.PathLike[str], clock: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self.clock = clock
        self._keys = keys
        self._book: Book | None = None
        #: assets by code, as read (an asset never changes once registered)
        self._assets: dict[str, Asset] = {}

    # The book (rules, policy, signature workers) and the key store (cryptography) are made
    # on first use: a command that only reads imports neither.
    @property
    def book(self) -> Book:
        if self._book is None:
            from wonledger.book.writer import Book

            self._book = Book(self.store, self.clock)
        return self._book

    @property
    def keys(self) -> KeyStore:
        if isinstance(self._keys, (str, os.PathLike)):
            from wonledger.domain.signing import KeyStore

            self._keys = KeyStore(self._keys)
        return self._keys

    # -- opening ---------------------------------------------------------
    @classmethod
    def open(
        cls,
        url: str = DEFAULT_DB,
        keys: str | os.PathLike[str] = DEFAULT_KEYS,
        clock: Callable[[], datetime] = utc_now,
        check_now: bool = True,
    ) -> Ledger:
        """Open the ledger at ``url``; :class:`NotALedger` if it is none (or of a schema this wonledger does not know).

        With ``check_now=False`` nothing connects yet: the check runs inside the
        first read or write, in its transaction, so a command that reads once
        opens one database transaction (the CLI opens ledgers this way). A
        ledger from an earlier wonledger is upgraded when it is first used.
        """
        store = Store.open(url)
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

        if registry_unsigned:
            freeze_registry(self.book)  # a ledger from before signed registry entries (ledger.upgrade)
        if store.upgraded_from is not None:
            # The capital-flow rules changed with schema 0005: rebuild what they derive from the journal.
            from wonledger.book.upgrade import rebuild_controls

            rebuild_controls(self.book)

    @classmethod
    def create(
        cls,
        url: str = DEFAULT_DB,
        keys: str | os.PathLike[str] = DEFAULT_KEYS,
        world: str = "default",
        clock: Callable[[], datetime] = utc_now,
        ledger_id: str | None = None,
    ) -> Ledger:
        """Create the schema, load ``world`` and sign its funding; all or nothing."""
        from wonledger.domain.signing import KeyStore
        from wonledger.flows.world import world_data, world_entries

        data = world_data(world)
        path = sqlite_path(url)
        existed = database_exists(url) if path else True
        store: Store | None = None
        try:
            store = Store.create(url, ledger_id or f"wl-{secrets.token_hex(6)}")
            ledger = cls(store, KeyStore(keys), clock)
            entries = world_entries(store.ledger_id, ledger.keys, data, ledger.book.registry_policy)
            for outcome in ledger.book.submit_many(entries) if entries else ():
                if isinstance(outcome, LedgerError):
                    raise outcome
            from wonledger.audit import operations as audit  # here: commands that never audit never import it

            audit.ensure_operator_key(ledger._audit_session())  # signs checkpoints (ledger.audit)
        except BaseException:
            if store is not None:
                store.dispose()
            if path and not existed:
                _remove_sqlite(path)
            raise
        return ledger

    def close(self) -> None:
        if self._book is not None:
            self._book.close()
        self.store.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def id(self) -> str:
        return self.store.ledger_id

    def funding_ids(self) -> list[str]:
        """Ids of the entries that move money (not registry entries)."""
        from wonledger.domain.model import REGISTRY_KINDS

        return [e.id for e, _ in self.store.stream_journal() if e.kind not in REGISTRY_KINDS and e.kind != "genesis"]

    def info(self) -> Info:
        """Counts and the operator's public key, in one read."""
        (transactions, accounts), operator = self.store.reading(lambda uow: (uow.records.counts(), uow.records.meta(OPERATOR_META)))
        return Info(self.id, safe_url(self.store.url), self.store.schema, transactions, accounts, operator)

    # -- registry --------------------------------------------------------
    def participants(self) -> list[Participant]:
        return self.store.reading(lambda uow: uow.registry.participants())

    def participant(self, pid: str) -> Participant:
        return self._read(lambda names: names.participant(pid))

    def _read(self, work: Callable[[_Names], T]) -> T:
        """Run ``work`` over the names of one read transaction (see :class:`_Names`)."""
        now = iso(self.clock())
        return self.store.reading(lambda uow: work(_Names(uow, now, self._assets)))

    def add_participant(self, pid: str, kind: str, jurisdiction: str, resident: bool = True, by: str | None = None) -> Participant:
        """Register a participant, vouched for by ``by`` (default: its regulator, or for a customer the first bank of its jurisdiction).

        The participant's key is its own: made in the key store if it has none
        there, and registered with the entry, which it signs with that key.
        """
        from wonledger.flows.registry import registration_tx
        from wonledger.flows.world import default_registrar, participant_key

        check_id(pid, "participant id", PARTICIPANT_PATTERN)
        if by is not None:
            check_id(by, "registrar", PARTICIPANT_PATTERN)
        if self.store.reading(lambda uow: uow.registry.participant(pid)) is not None:
            raise AlreadyExists(f"participant {pid} already exists")
        Participant(pid, kind, jurisdiction, resident, b"")  # check the fields before making a key
        if by is None:
            banks = sorted(p.id for p in self.participants() if p.kind == "bank" and p.jurisdiction == jurisdiction)
            by = default_registrar(kind, jurisdiction, pid, self.book.registry_policy, banks)
        made_here = not self.keys.has(pid)
        tx = registration_tx(self.id, pid, kind, jurisdiction, resident, participant_key(self.keys, pid), by)
        try:
            self.submit(self.sign(tx, [pid, by]))
        except BaseException:
            if made_here:
                self.keys.path(pid).unlink(missing_ok=True)  # a refused registration leaves no key behind
            raise
        return self.participant(pid)

    def rotate_key(self, pid: str) -> KeyChange:
        """``pid`` replaces its key with a new one made in the key store (needs the current key there)."""
        from wonledger.flows.keys import rotate_key

        return rotate_key(self._audit_session(), pid)

    def revoke_key(self, pid: str, public_key: bytes, by: str | None = None) -> KeyChange:
        """``pid``'s registrar (or ``by``) retires its key and installs ``public_key``, which ``pid`` made itself."""
        from wonledger.flows.keys import revoke_key

        return revoke_key(self._audit_session(), pid, public_key, by)

    def new_key(self, pid: str) -> bytes:
        """Make ``pid``'s key pair in the key store (as ``pid`` does on its own machine); returns the public key."""
        from wonledger.domain.signing import public_bytes

        check_id(pid, "participant id", PARTICIPANT_PATTERN)
        if self.keys.has(pid):
            raise AlreadyExists(f"{self.keys.path(pid)} already holds a key for {pid}")
        return public_bytes(self.keys.create(pid))

    def add_asset(self, asset: Asset) -> Asset:
        """Register an asset that is not a stablecoin (its issuer and the issuer's regulator sign)."""
        from wonledger.flows.registry import asset_tx

        self.submit(self.sign(asset_tx(self.id, asset)))
        return self.asset(asset.code)

    def key_history(self, pid: str) -> list[KeyRecord]:
        """Every key ``pid`` has had, oldest first, with when each could sign."""
        from wonledger.flows.keys import key_history

        return key_history(self.store, pid)

    def assets(self) -> list[Asset]:
        return self.store.reading(lambda uow: uow.registry.assets())

    def asset(self, code: str) -> Asset:
        known = self._assets.get(code)  # an asset never changes once registered
        return known if known is not None else self._read(lambda names: names.asset(code))

    def accounts(self, owner: str | None = None, asset: str | None = None) -> list[Account]:
        """Accounts as they stand now: a hold past its timeout reads as released (the next write voids it)."""
        now = iso(self.clock())
        return self.store.reading(lambda uow: uow.holds.released(uow.registry.all_accounts(owner, asset), now))

    def account(self, account_id: str) -> Account:
        return self._existing_account(account_id)

    def balances(self, names: Sequence[str] = ()) -> list[Account]:
        """Accounts by id, or all of an owner's by its name (every account when ``names`` is empty), in one read.

        The assets are read in the same transaction (an asset never changes), so
        showing the amounts in major units reads nothing more.
        """

        def read(names_: _Names) -> list[Account]:
            names_.all_assets()
            if not names:
                return names_.uow.holds.released(names_.uow.registry.all_accounts(None, None), names_.now)
            found: list[Account] = []
            for name in names:
                if ":" in name:
                    found.append(names_.account(name))
                    continue
                owned = names_.uow.holds.released(names_.uow.registry.all_accounts(name, None), names_.now)
                if not owned:
                    names_.participant(name)
                    raise UnknownAccount(f"{name} has no accounts")
                found.extend(owned)
            return found

        return self._read(read)

    def _existing_account(self, account_id: str) -> Account:
        return self._read(lambda names: names.account(account_id))

    def open_account(self, owner: str, asset: str, label: str = "", reserve: bool = False) -> Account:
        """Open ``owner:asset[:label]`` by a signed entry (the owner signs; a bank for its deposit token, the central bank for wholesale money)."""
        from wonledger.flows.registry import open_tx

        check_id(owner, "owner", PARTICIPANT_PATTERN)
        if label:
            check_id(label, "label", PARTICIPANT_PATTERN)
        self.participant(owner)
        self.asset(asset)
        spec = AccountSpec(owner, asset, label, reserve)
        if self.store.reading(lambda uow: uow.registry.accounts([spec.id])):
            raise AlreadyExists(f"account {spec.id} already exists")
        self.submit(self.sign(open_tx(self.id, (spec,))))
        return self.account(spec.id)

    def resolve_account(self, name: str, asset: str | None = None) -> Account:
        """An account by id (``owner:asset[:label]``) or by owner and asset."""
        return self._read(lambda names: names.resolve(name, asset))

    # -- signing and submitting -------------------------------------------
    def sign(self, tx: Tx, signers: Iterable[str] | None = None) -> SignedTx:
        """Sign ``tx`` with the keys of ``signers`` (by default, everyone the rules say must sign it)."""
        from wonledger.domain.signing import tx_bytes

        if signers is None:
            signers = self.required_signers(tx)
        payload = tx_bytes(tx)
        signatures = tuple(self.keys.sign(s, payload) for s in sorted(set(signers)))
        return SignedTx(tx=tx, signatures=signatures, canonical=payload)

    def _submit_built(self, build: Callable[[_Names], tuple[Tx, Iterable[str] | None, Quote | None]]) -> Receipt:
        """A command's one read and one write.

        ``build`` makes the transaction in one read and names who signs it
        (None: whoever the rules say must) and the fresh quote it takes, if
        any. The signers' current keys go to the book from the same read; the
        transaction is signed outside any database transaction and submitted,
        the fresh quote stored as an offer in the same write.
        """

        def read(names: _Names) -> tuple[Tx, frozenset[str], Quote | None]:
            tx, signers, offer = build(names)
            return tx, self._signers_with_keys(names.uow, tx, signers), offer

        tx, signers, offer = self._read(read)
        records = () if offer is None else (lambda uow: uow.records.add_quote(offer),)
        return self.submit(self.sign(tx, signers), records)

    def _signers_with_keys(self, uow: UnitOfWork, tx: Tx, signers: Iterable[str] | None = None) -> frozenset[str]:
        """``signers`` (or everyone the rules say must sign ``tx``), their current keys handed to the book, which checks them again under its lock."""
        from wonledger.rulebook.rules import required_signers

        named = frozenset(signers) if signers is not None else required_signers(tx, _Lookup(uow), self.book.registry_policy)
        self.book.remember_keys(uow.registry.current_keys(named))
        return named

    def required_signers(self, tx: Tx) -> frozenset[str]:
        """Who must sign ``tx`` as the ledger stands (:func:`ledger.rules.required_signers`)."""
        return self.store.reading(lambda uow: self._signers_with_keys(uow, tx))

    def submit(self, signed: SignedTx, records: Sequence[Callable[[UnitOfWork], object]] = ()) -> Receipt:
        """Submit through the book; a flow retried with the same id returns its first receipt.

        A flow opens the accounts it needs only when they are missing, so its
        retry (same id, same terms) carries no ``opens`` the second time: it is
        the same transaction, and it gets the original receipt. ``records``
        are written in the same database transaction (see :meth:`Book.submit`).
        """
        try:
            receipt = self.book.submit(signed, records)
        except DuplicateConflict:
            found = self.store.reading(lambda uow: uow.journal.entry(signed.tx.id))
            if found is not None:
                first = _journal_entry(found[0], found[2])
                if replace(first.tx, opens=()) == replace(signed.tx, opens=()) and first.tx.opens and not signed.tx.opens:
                    return Receipt(first.tx.id, first.seq, first.hash, first.at, first.status, duplicate=True)
            raise
        if receipt.duplicate:
            return receipt  # what the journal holds may carry other signatures: read it to show it
        return replace(receipt, entry=JournalEntry(receipt.seq, receipt.at, signed.tx, signed.signatures, signed.canonical, receipt.hash, receipt.status))

    def submit_many(self, batch: Sequence[SignedTx]) -> list[Outcome]:
        return self.book.submit_many(batch)

    def ingest(self, lines: Iterable[bytes | str], progress: Callable[[int], None] | None = None) -> IngestResult:
        """Submit a batch of JSON lines in chunks (see :mod:`ledger.ingest`)."""
        from wonledger.book.ingest import ingest

        self.store.check()  # an empty batch, too, is refused by a database that is no ledger
        return ingest(self.book, lines, progress=progress)

    # -- flows -------------------------------------------------------------
    def transfer(
        self,
        debit: str,
        credit: str,
        amount: int | TypedAmount,
        *,
        tx_id: str | None = None,
        memo: str = "",
        hold_timeout_s: int | None = None,
    ) -> Receipt:
        """Move ``amount`` between two accounts (a hold when a timeout is given).

        ``debit`` and ``credit`` are account ids, or owners with one account in
        the asset; ``amount`` is minor units, or a :class:`TypedAmount` as a
        person typed it. Everything is looked up in one read, and the
        transaction is written in one write: two database transactions.
        """
        from wonledger.flows import hold_tx, transfer_tx

        def build(names: _Names) -> tuple[Tx, list[str], None]:
            source, target, minor = names.pair(debit, credit, amount)
            if hold_timeout_s is not None:
                tx = hold_tx(self.id, source.id, target.id, source.asset, minor, hold_timeout_s, tx_id=tx_id, memo=memo)
            else:
                tx = transfer_tx(self.id, source.id, target.id, source.asset, minor, tx_id=tx_id, memo=memo)
            travel = names.travel(source, target.owner, target.id)
            return (replace(tx, travel=travel) if travel is not None else tx), [source.owner], None

        return self._submit_built(build)

    # -- tokenized deposits -------------------------------------------------
    def deposit_token(self, bank: str) -> Asset:
        """The deposit token ``bank`` issues."""
        return self._read(lambda names: names.deposit_token(bank))

    def deposit(self, owner: str, amount: int | TypedAmount, bank: str, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """``bank`` tokenizes ``amount`` of ``owner``'s deposit (opening the token account if needed)."""
        from wonledger.flows import deposit_tx

        def build(names: _Names) -> tuple[Tx, None, None]:
            token = names.deposit_token(bank)
            tx = deposit_tx(self.id, bank, token.code, account_id(owner, token.code), names.minor(amount, token), tx_id=tx_id, memo=memo)
            return names.opening(tx, [AccountSpec(owner, token.code)]), None, None

        return self._submit_built(build)

    def withdraw(self, owner: str, amount: int | TypedAmount, bank: str, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """``owner`` turns ``amount`` of ``bank``'s token back into an ordinary deposit."""
        from wonledger.flows import withdraw_tx

        def build(names: _Names) -> tuple[Tx, list[str], None]:
            token = names.deposit_token(bank)
            holder = names.account(account_id(owner, token.code))
            return withdraw_tx(self.id, bank, token.code, holder.id, names.minor(amount, token), tx_id=tx_id, memo=memo), [owner], None

        return self._submit_built(build)

    def resolve_payment(self, payer: str, payee: str, amount: str) -> tuple[Account, Account, int]:
        """The deposit-token accounts a payment runs between, and its amount in minor units (one read)."""
        typed = TypedAmount.parse(amount)
        return self._read(lambda names: names.payment(payer, payee, typed))

    def pay(self, payer: str, payee: str, amount: int | TypedAmount, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """A domestic payment between two deposit-token accounts; across banks it settles in wholesale CBDC.

        ``payer`` and ``payee`` are deposit-token accounts, or residents by name
        (the payer's account that can pay it, the payee's in the same currency).
        """
        from wonledger.flows import pay_tx
        from wonledger.rulebook.policy import DEPOSIT_TOKEN

        def build(names: _Names) -> tuple[Tx, None, None]:
            source, target, minor = names.payment(payer, payee, amount)
            payer_token, payee_token = names.asset(source.asset), names.asset(target.asset)
            if payer_token.kind != DEPOSIT_TOKEN or payee_token.kind != DEPOSIT_TOKEN:
                raise AssetMismatch("a payment runs between deposit-token accounts")
            if payer_token.currency != payee_token.currency:
                raise AssetMismatch(f"{source.id} holds {payer_token.currency} but {target.id} holds {payee_token.currency}")
            settlement = [a for a in names.all_assets() if a.kind == "wholesale_cbdc" and a.currency == payer_token.currency]
            if len(settlement) != 1:
                raise UnknownAsset(f"no wholesale central-bank money in {payer_token.currency} to settle between banks")
            tx = pay_tx(
                self.id, source.id, payer_token.code, payer_token.issuer, target.id, payee_token.code, payee_token.issuer,
                settlement[0].code, minor, tx_id=tx_id, memo=memo,
            )
            return tx, None, None

        return self._submit_built(build)

    # -- stablecoins --------------------------------------------------------
    def register_issuer(self, issuer: str, code: str, currency: str, by: str | None = None) -> Asset:
        """Register ``issuer`` for stablecoin ``code``, signed by the issuer and its regulator (or ``by``), if the policy admits its kind."""
        from wonledger.flows.registry import issuer_tx

        registered = self.issuers()
        if code in registered:
            raise AlreadyExists(f"{registered[code]} is already registered for {code}")
        tx = issuer_tx(self.id, issuer, code, currency.upper())
        signers = None if by is None else [issuer, by]
        self.submit(self.sign(tx, signers))
        return self.asset(code)

    def issuers(self) -> dict[str, str]:
        return self.store.reading(lambda uow: uow.registry.issuers())

    def mint(self, code: str, amount: int | TypedAmount, holder: str, pay_with: str, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """``holder`` pays ``pay_with`` deposit tokens into the reserve and receives ``amount`` of ``code`` at par."""
        from wonledger.flows import mint_tx

        def build(names: _Names) -> tuple[Tx, None, None]:
            coin, backing = names.coin_and_backing(code, pay_with)
            tx = mint_tx(self.id, coin, backing, holder, names.minor(amount, coin), tx_id=tx_id, memo=memo)
            return names.opening(tx, [AccountSpec(holder, coin.code), AccountSpec(coin.issuer, backing.code, "reserve", True)]), None, None

        return self._submit_built(build)

    def redeem(self, code: str, amount: int | TypedAmount, holder: str, to_asset: str, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """``holder`` returns ``amount`` of ``code`` and receives ``to_asset`` from the reserve at par."""
        from wonledger.flows import redeem_tx

        def build(names: _Names) -> tuple[Tx, None, None]:
            coin, backing = names.coin_and_backing(code, to_asset)
            tx = redeem_tx(self.id, coin, backing, holder, names.minor(amount, coin), tx_id=tx_id, memo=memo)
            return names.opening(tx, [AccountSpec(holder, backing.code), AccountSpec(coin.issuer, backing.code, "reserve", True)]), None, None

        return self._submit_built(build)

    def supply_report(self) -> list[dict[str, object]]:
        """Per stablecoin: supply, reserve (in the coin's minor units) and what the reserve is held in."""
        assets = {a.code: a for a in self.assets()}
        accounts = self.accounts()
        rows = []
        for code, issuer in sorted(self.issuers().items()):
            coin = assets[code]
            issuance = next(a for a in accounts if a.id == account_id(issuer, code))
            supply = -issuance.balance + issuance.debits_pending
            held = [a for a in accounts if a.owner == issuer and RESERVE in a.flags and assets[a.asset].currency == coin.currency]
            reserve = sum(a.available * 10**coin.exponent // 10 ** assets[a.asset].exponent for a in held)
            ratio = None if supply == 0 else str((Decimal(reserve) / Decimal(supply)).quantize(Decimal("0.0001")))
            rows.append({
                "asset": code, "issuer": issuer, "supply": supply, "reserve": reserve,
                "reserve_assets": [a.asset for a in held], "ratio": ratio,
            })
        return rows

    # -- cross-border ---------------------------------------------------------
    def quote(self, sell: str, buy: str, amount: int | TypedAmount) -> Quote:
        """The dealer's firm quote for selling ``amount`` of ``sell`` for ``buy`` (stored as an offer)."""
        quote = self._read(lambda names: self._quote_in(names, None, sell, buy, amount))
        self.book.record(lambda uow: uow.records.add_quote(quote))
        return quote

    def stored_quote(self, quote_id: str) -> Quote:
        found = self.store.reading(lambda uow: uow.records.quote(quote_id))
        if found is None:
            raise BadInput(f"no quote {quote_id}", hint="quote")
        return found

    def _quote_in(self, names: _Names, quote_id: str | None, sell: str, buy: str, amount: int | TypedAmount) -> Quote:
        """The stored quote ``quote_id`` if its terms are these, else (no id) a fresh offer, not stored yet."""
        from wonledger.flows.crossborder import make_quote

        policy = self.book.flow_policy
        sell_asset, buy_asset = names.asset(sell), names.asset(buy)
        minor = names.minor(amount, sell_asset)
        if quote_id is None:
            names.participant(policy.dealer)
            names.account(account_id(policy.dealer, buy_asset.code))
            return make_quote(policy, sell_asset, buy_asset, minor, names.now)
        quote = names.uow.records.quote(quote_id)
        if quote is None:
            raise BadInput(f"no quote {quote_id}", hint="quote")
        if (quote.sell_asset, quote.buy_asset, quote.sell_amount) != (sell, buy, minor):
            exponent = names.asset(quote.sell_asset).exponent
            raise BadInput(
                f"quote {quote_id} sells {format_amount(quote.sell_amount, exponent)} {quote.sell_asset} for {quote.buy_asset}, "
                f"not {format_amount(minor, sell_asset.exponent)} {sell} for {buy}"
            )
        return quote

    def swap(
        self,
        owner: str,
        amount: int | TypedAmount,
        sell: str,
        buy: str,
        *,
        quote_id: str | None = None,
        tx_id: str | None = None,
        memo: str = "",
        hold_timeout_s: int | None = None,
    ) -> Receipt:
        """``owner`` sells ``amount`` of stablecoin ``sell`` to the dealer for ``buy``: both legs or neither.

        With ``hold_timeout_s`` both legs are held under one timeout; `post` settles both, `void` (or the
        timeout) releases both. One read (the quote too), then one write.
        """
        from wonledger.flows.crossborder import swap_tx

        def build(names: _Names) -> tuple[Tx, None, Quote | None]:
            names.participant(owner)
            quote = self._quote_in(names, quote_id, sell, buy, amount)
            tx = names.opening(swap_tx(self.id, quote, owner, tx_id=tx_id, memo=memo, hold_timeout_s=hold_timeout_s), [AccountSpec(owner, buy)])
            return tx, None, quote if quote_id is None else None

        return self._submit_built(build)

    def send(
        self,
        sender: str,
        recipient: str,
        amount: int | TypedAmount,
        deliver: str,
        *,
        quote_id: str | None = None,
        tx_id: str | None = None,
        memo: str = "",
    ) -> Receipt:
        """Cross-border: ``sender``'s won deposit tokens → the won stablecoin at par → PvP → ``deliver`` to ``recipient``.

        One atomic transaction signed by the sender, the stablecoin's issuer and the dealer;
        ``amount`` is in minor units of the sender's currency (or as typed: "1,000,000", "1,000,000 KRW"),
        and the recipient gets exactly the quote's ``buy_amount``. It carries originator and
        beneficiary data from the registry. One read (the quote too), then one write.
        """
        from wonledger.flows.crossborder import send_tx

        policy = self.book.flow_policy

        def build(names: _Names) -> tuple[Tx, None, Quote | None]:
            bridge, target = names.asset(policy.bridge), names.asset(deliver)
            minor = names.send_amount(amount, bridge)
            source = names.deposit_account_for(sender, bridge.currency, minor)
            token = names.asset(source.asset)
            receiver = names.participant(recipient)
            quote = None if target.code == bridge.code else self._quote_in(names, quote_id, bridge.code, target.code, minor)
            travel = names.travel(source, receiver.id, account_id(receiver.id, target.code))
            tx = send_tx(self.id, source.id, token, bridge, recipient, target, minor, quote, travel, tx_id=tx_id, memo=memo)
            tx = names.opening(
                tx, [AccountSpec(sender, bridge.code), AccountSpec(recipient, target.code), AccountSpec(bridge.issuer, token.code, "reserve", True)]
            )
            return tx, None, quote if quote_id is None else None

        return self._submit_built(build)

    def parse_send_amount(self, text: str) -> int:
        """A send's amount as typed: in the bridge stablecoin's currency ("1,000,000", "1,000,000 KRW" or "... KRWS")."""
        typed = TypedAmount.parse(text)
        return self._read(lambda names: names.send_amount(typed, names.asset(self.book.flow_policy.bridge)))

    def rejections(self, limit: int | None = None, code: str | None = None) -> list[Refusal]:
        """Refusals by the ledger's rules, newest first: who, what, code, when."""
        return self.store.reading(lambda uow: uow.records.rejections(limit, code))

    def outflows(self, year: int | None = None) -> tuple[int, list[ResidentOutflow]]:
        """Each limited resident's counted outflow in ``year`` (default: this year in Seoul), in USD cents."""
        policy = self.book.flow_policy
        now = self.clock()
        limited = [p for p in self.participants() if policy.is_limited(p)]
        if year is None:
            year = now.astimezone(ZoneInfo(policy.timezone["KR"])).year
        totals = self.store.reading(lambda uow: uow.controls.outflow_totals(year))
        return year, [ResidentOutflow(p.id, totals.get(p.id, 0), policy.outflow_limit_usd) for p in limited]

    def breaker(self) -> BreakerStatus:
        """Where the run breaker stands now: net conversions out in the window against the least supply in it."""
        from wonledger.rulebook.controls import ControlKeys

        policy = self.book.flow_policy
        watched = self.asset(policy.breaker_asset)
        now = iso(self.clock())
        keys = ControlKeys(watched=watched.code, breaker_since=iso(parse_iso(now) - timedelta(seconds=policy.breaker_window_s)))
        from wonledger.rulebook.loader import control_state
        state, refused = self.store.reading(lambda uow: (control_state(uow.controls.control_figures(keys), policy), uow.records.rejections(limit=1, code="RUN_BREAKER")))
        view = self.book.controls.status(state, now)
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

    def post(self, hold_id: str, amount: int | TypedAmount | None = None, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """Post a pending hold, fully or (one-leg holds) partly; the rest is released."""
        from wonledger.flows import post_tx

        def build(names: _Names) -> tuple[Tx, frozenset[str], None]:
            legs = names.hold_legs(hold_id)
            for leg in legs:
                names.asset(leg.asset)  # known when the receipt is shown
            minor = amount
            if isinstance(amount, TypedAmount):
                if len(legs) != 1:
                    raise BadInput(f"hold {hold_id} has {len(legs)} legs; post it whole")
                minor = names.minor(amount, names.asset(legs[0].asset))
            return post_tx(self.id, hold_id, legs, minor, tx_id=tx_id, memo=memo), self._finishers(names, legs), None

        return self._submit_built(build)

    def void(self, hold_id: str, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        from wonledger.flows import void_tx

        def build(names: _Names) -> tuple[Tx, frozenset[str], None]:
            legs = names.hold_legs(hold_id)
            return void_tx(self.id, hold_id, tx_id=tx_id, memo=memo), self._finishers(names, legs), None

        return self._submit_built(build)

    def reverse(self, original_id: str, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """Undo a posted transaction with a new one moving its legs back."""
        from wonledger.rulebook.controls import reversed_travel
        from wonledger.flows import reversal_tx

        entry = self.transaction(original_id)
        if not entry.tx.legs or entry.tx.kind == "hold":
            raise BadInput(f"{original_id} is a {entry.tx.kind}; only transfers and posts are reversed (void a hold instead)")
        tx = reversal_tx(self.id, original_id, entry.tx.legs, tx_id=tx_id, memo=memo)
        # Value moving back across a border is a movement too: the original's beneficiary now sends to its originator.
        tx = replace(tx, travel=reversed_travel(entry.tx.travel))
        return self.submit(self.sign(tx))

    def _finishers(self, names: _Names, held: Sequence[Leg]) -> frozenset[str]:
        """Who signs a post or void: the hold's debtors when their keys are here, else its creditors."""
        accounts = names.uow.registry.accounts({a for leg in held for a in (leg.debit, leg.credit)})
        debtors = frozenset(accounts[leg.debit].owner for leg in held)
        creditors = frozenset(accounts[leg.credit].owner for leg in held)
        for side in (debtors, creditors):
            if all(self.keys.has(p) for p in side):
                return side
        raise KeyUnavailable(
            f"finishing a hold needs the keys of {', '.join(sorted(debtors))} or of "
            f"{', '.join(sorted(creditors))} in {self.keys.directory}"
        )

    # -- reading the journal ---------------------------------------------
    def transaction(self, tx_id: str) -> JournalEntry:
        now = iso(self.clock())
        found = self.store.reading(lambda uow: (uow.journal.entry(tx_id), uow.holds.holds([tx_id])))
        if found[0] is None:
            raise UnknownTransaction(f"no transaction {tx_id}")
        stored, _legs, status = found[0]
        hold = found[1].get(tx_id)
        if hold is not None and hold.status == "pending" and hold.expires_at <= now:
            status = "voided"  # past its timeout: released, and voided by the next write
        return _journal_entry(stored, status)

    def released_by(self, post: JournalEntry) -> tuple[Leg, ...]:
        """What post ``post`` gave back of its hold (a partial post releases the rest)."""
        from wonledger.domain.model import released_by_post

        return released_by_post(self.transaction(post.tx.ref).tx.legs, post.tx.legs) if post.tx.kind == "post" and post.tx.ref else ()

    def history(self, account_id: str, limit: int | None = None) -> list[JournalEntry]:
        self.account(account_id)
        rows = self.store.reading(lambda uow: uow.journal.history(account_id, limit))
        return [_journal_entry(stored, status) for stored, _legs, status in rows]

    def verify(self, progress: Callable[[int], None] | None = None, anchor: Anchor | None = None) -> VerifyReport:
        """Replay and check everything; with ``anchor``, also hold the ledger to what the user trusts (ledger.anchors)."""
        from wonledger.audit.anchors import verify_anchored  # imported when used: most commands never verify

        return verify_anchored(self.store, anchor, progress)

    # -- reconciliation and audit proofs (see ledger.audit) ----------------
    def statement(
        self, account: str, fmt: str, out: TextIO, since: str | None = None, until: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> audit.StatementSummary:
        """Write ``account``'s camt.053 or CSV statement for the dates [since, until] to ``out``."""
        from wonledger.audit import operations as audit  # imported when used, like verify

        return audit.write_statement(self._audit_session(), account, fmt, out, since, until, progress)

    def reconcile(
        self,
        stream: BinaryIO,
        account: str | None,
        tolerance_days: int = 1,
        progress: Callable[[int], None] | None = None,
        **options: Any,
    ) -> audit.ReconcileReport:
        """Match a statement file (camt.052/053/054, MT940 or CSV, streamed) against ``account``'s legs.

        ``options``: ``all_statements``, ``statement_account``, ``account_map`` (see :func:`ledger.audit.reconcile`).
        """
        from wonledger.audit import operations as audit  # imported when used, like verify

        return audit.reconcile(self._audit_session(), stream, account, tolerance_days, progress, **options)

    def trial_balance(self) -> audit.TrialBalance:
        from wonledger.audit import operations as audit  # imported when used, like verify

        return audit.trial_balance(self._audit_session())

    def checkpoint(self, since: Checkpoint | None = None) -> tuple[Checkpoint, bool]:
        """Sign a checkpoint at the journal's head, only if the journal verifies (and extends ``since``, when given).

        Returns it and whether it is new.
        """
        from wonledger.audit import operations as audit  # imported when used, like verify

        return audit.make_checkpoint(self._audit_session(), since)

    def operator_key(self) -> str | None:
        """The operator's public key (base64url) as this ledger stores it; pin it where you keep it, not from here."""
        return self.store.reading(lambda uow: uow.records.meta(OPERATOR_META))

    def previous_checkpoint(self, before: int) -> Checkpoint | None:
        """The latest stored checkpoint covering fewer than ``before`` entries, if any."""
        from wonledger.audit import operations as audit

        return audit.previous_checkpoint(self._audit_session(), before)

    def consistency(self, old: Checkpoint, new: Checkpoint) -> dict[str, object]:
        """RFC 9162's consistency proof from checkpoint ``old`` to ``new`` (check it with ``verify_consistency``)."""
        from wonledger.audit import operations as audit

        return audit.consistency(self._audit_session(), old, new)

    def proof(self, tx_id: str) -> dict[str, object]:
        """``tx_id``'s inclusion proof against the latest checkpoint, as JSON (check with ``verify_proof``)."""
        from wonledger.audit import operations as audit  # imported when used, like verify

        return audit.build_proof(self._audit_session(), tx_id)

    def _audit_session(self) -> AuditSession:
        """What the audit, statements and key changes work through: this ledger's parts, the book and keys made on first use."""
        from wonledger.book.session import AuditSession

        def resolve_account(uow: UnitOfWork, name: str) -> Account:
            return _Names(uow, iso(self.clock()), self._assets).resolve(name)

        def participant(uow: UnitOfWork, pid: str) -> Participant:
            return _Names(uow, iso(self.clock()), self._assets).participant(pid)

        return AuditSession(
            store=self.store,
            clock=self.clock,
            keys=lambda: self.keys,
            record=lambda work: self.book.record(work),
            submit=lambda signed: self.book.submit(signed),
            expire_due=lambda: self.book.expire_due(),
            resolve_account=resolve_account,
            participant=participant,
            registry_policy=lambda: self.book.registry_policy,
        )

    def parse_amount(self, text: str, asset: str) -> int:
        """Major units as typed ("12.50", "12.50 HKDS") → minor units of ``asset``."""
        return TypedAmount.parse(text).minor_units(self.asset(asset))

    def resolve_pair(self, source: str, destination: str, amount: str) -> tuple[Account, Account, int]:
        """Two accounts and an amount as a person names them, for a transfer (one read)."""
        typed = TypedAmount.parse(amount)

        return self._read(lambda names: names.pair(source, destination, typed))

    def expire_due(self) -> int:
        return self.book.expire_due()

    # -- views for people: lists, holds, reversals, streamed history ----------
    # (small read-only helpers the CLI's listings use; no rule lives here)
    def issuer_registrations(self) -> list[tuple[str, str, str]]:
        """(asset, issuer, registered_at) of every registered stablecoin issuer."""
        return self.store.reading(lambda uow: uow.registry.issuer_registrations())

    def pending_holds(self, account: str | None = None) -> list[PendingHold]:
        """Holds still pending (on ``account``, when given), soonest expiry first."""
        self.book.expire_due()  # a hold past its timeout is not pending
        if account is not None:
            self._existing_account(account)
        rows = self.store.reading(lambda uow: uow.holds.pending_holds(account))
        return [PendingHold(h.id, h.seq, h.expires_at, h.legs) for h in rows]

    def hold_expiry(self, hold_id: str) -> str | None:
        """When hold ``hold_id`` expires (or expired), None when it is no hold."""
        found = self.store.reading(lambda uow: uow.holds.holds([hold_id])).get(hold_id)
        return found.expires_at if found is not None else None

    def reversals_of(self, ids: Iterable[str]) -> dict[str, str]:
        """For each of ``ids`` that a reversal undid: the reversal's id."""
        return self.store.reading(lambda uow: uow.journal.reversals_of(ids))

    def history_stream(
        self, account_id: str, since: str | None = None, until: str | None = None, limit: int | None = None, page: int = 500
    ) -> Iterator[JournalEntry]:
        """Entries on ``account_id`` in [since, until) (ISO 8601 times), oldest first; the newest ``limit`` when given.

        Read ``page`` entries at a time, each page in its own read, so memory
        stays flat however long the history.
        """
        self.account(account_id)
        after = 0
        if limit is not None:
            after = self.store.reading(lambda uow: uow.journal.history_first_seq(account_id, since, until, limit))
        left = limit
        while left is None or left > 0:
            size = page if left is None else min(page, left)
            rows = self.store.reading(lambda uow: uow.journal.history_page(account_id, after, since, until, size))
            if not rows:
                return
            for stored, _legs, status in rows:
                yield _journal_entry(stored, status)
            after = rows[-1][0].seq
            if left is not None:
                left -= len(rows)


class _Names:
    """The accounts, assets and participants of one read transaction, as people name them.

    Unknown names raise with a "did you mean" read in the same transaction;
    assets are cached across reads (``assets``) because an asset never
    changes once registered.
    """

    def __init__(self, uow: UnitOfWork, now: str, assets: dict[str, Asset]) -> None:
        self.uow = uow
        self.now = now
        self._assets = assets

    def asset(self, code: str) -> Asset:
        found = self._assets.get(code) or self.uow.registry.asset(code)
        if found is None:
            raise UnknownAsset(f"no asset {code}" + did_you_mean(code, (a.code for a in self.uow.registry.assets())))
        self._assets[code] = found
        return found

    def all_assets(self) -> list[Asset]:
        found = self.uow.registry.assets()
        self._assets.update((a.code, a) for a in found)
        return found

    def participant(self, pid: str) -> Participant:
        found = self.uow.registry.participant(pid)
        if found is None:
            raise UnknownParticipant(f"no participant {pid}" + did_you_mean(pid, (p.id for p in self.uow.registry.participants())))
        return found

    def account(self, aid: str) -> Account:
        """An account as it stands now: a hold past its timeout reads as released."""
        found = self.uow.holds.released(list(self.uow.registry.accounts([aid]).values()), self.now)
        if not found:
            raise UnknownAccount(f"no account {aid}" + did_you_mean(aid, (a.id for a in self.uow.registry.all_accounts(None, None))))
        return found[0]

    def resolve(self, name: str, asset: str | None = None) -> Account:
        """An account by id (``owner:asset[:label]``) or by owner (with one account in ``asset``, when given)."""
        if ":" in name:
            return self.account(name)
        check_id(name, "account or participant", PARTICIPANT_PATTERN)
        owned = [a for a in self.uow.holds.released(self.uow.registry.all_accounts(name, None), self.now) if asset is None or a.asset == asset]
        if not owned:
            self.participant(name)
            if asset is not None:
                self.asset(asset)
            raise UnknownAccount(f"{name} has no {asset + ' ' if asset else ''}account")
        plain = [a for a in owned if not a.label]
        choices = plain if len(plain) == 1 else owned
        if len(choices) != 1:
            raise BadInput(f"{name} has {len(owned)} accounts{' in ' + asset if asset else ''}; name one of: {', '.join(a.id for a in owned)}")
        return choices[0]

    def minor(self, amount: int | TypedAmount, asset: Asset) -> int:
        """Minor units of ``asset``: as given, or as a person typed them."""
        return amount.minor_units(asset) if isinstance(amount, TypedAmount) else amount

    def opening(self, tx: Tx, specs: Sequence[AccountSpec]) -> Tx:
        """``tx`` opening those of ``specs`` that do not exist yet (opened only if ``tx`` is accepted)."""
        wanted = {s.id: s for s in specs}
        existing = self.uow.registry.accounts(wanted)
        missing = tuple(s for aid, s in wanted.items() if aid not in existing)
        return replace(tx, opens=missing) if missing else tx

    def deposit_token(self, bank: str) -> Asset:
        from wonledger.rulebook.policy import DEPOSIT_TOKEN

        self.participant(bank)
        tokens = [a for a in self.all_assets() if a.issuer == bank and a.kind == DEPOSIT_TOKEN]
        if len(tokens) != 1:
            raise BadInput(f"{bank} issues {'no deposit token' if not tokens else 'several deposit tokens'}")
        return tokens[0]

    def coin_and_backing(self, code: str, backing_code: str) -> tuple[Asset, Asset]:
        """A stablecoin and the deposit token it is minted against or redeemed into, at par: one currency."""
        from wonledger.rulebook.policy import DEPOSIT_TOKEN

        coin, backing = self.asset(code), self.asset(backing_code)
        if coin.kind != "stablecoin":
            raise AssetMismatch(f"{code} is a {coin.kind}, not a stablecoin")
        if backing.kind != DEPOSIT_TOKEN:
            raise AssetMismatch(f"{backing_code} is a {backing.kind}; stablecoins are minted and redeemed against deposit tokens")
        if coin.currency != backing.currency:
            raise AssetMismatch(f"{code} is {coin.currency} but {backing_code} is {backing.currency}: par needs one currency")
        return coin, backing

    def send_amount(self, amount: int | TypedAmount, bridge: Asset) -> int:
        """A send's amount: minor units of the bridge coin's currency, typed in that currency or a same-currency asset."""
        if not isinstance(amount, TypedAmount):
            return amount
        named = amount.asset
        if named is not None and named != bridge.currency and named not in {a.code for a in self.all_assets() if a.currency == bridge.currency}:
            raise AssetMismatch(f"a send's amount is in {bridge.currency}, not {named}")
        return parse_amount(amount.number, bridge.exponent)

    def deposit_accounts(self, owner: str, currency: str | None = None) -> list[Account]:
        """``owner``'s own (unlabelled) deposit-token accounts, in ``currency`` when given."""
        from wonledger.rulebook.policy import DEPOSIT_TOKEN

        return [
            a for a in self.uow.holds.released(self.uow.registry.all_accounts(owner, None), self.now)
            if not a.label and self.asset(a.asset).kind == DEPOSIT_TOKEN and currency in (None, self.asset(a.asset).currency)
        ]

    def deposit_account_for(self, owner: str, currency: str, amount: int) -> Account:
        """``owner``'s deposit-token account in ``currency`` that can pay ``amount`` (else the first, to be refused)."""
        mine = self.deposit_accounts(owner, currency)
        if not mine:
            self.participant(owner)
            raise UnknownAccount(f"{owner} holds no {currency} deposit token to send from")
        return _able_to_pay(mine, amount)

    def hold_legs(self, hold_id: str) -> tuple[Leg, ...]:
        """The legs of hold ``hold_id``; whether it may still be finished is the book's call."""
        found = self.uow.journal.entry(hold_id)
        if found is None:
            raise UnknownTransaction(f"no transaction {hold_id}")
        stored, legs, _status = found
        if stored.kind != "hold":
            raise UnknownTransaction(f"{hold_id} is a {stored.kind}, not a hold")
        return legs

    def payment(self, payer: str, payee: str, amount: int | TypedAmount) -> tuple[Account, Account, int]:
        """The deposit-token accounts a payment runs between (named by id, or by resident), and its amount."""
        named = amount.asset if isinstance(amount, TypedAmount) else None
        if ":" in payer:
            source = self.account(payer)
            minor = self.minor(amount, self.asset(source.asset))
        else:
            check_id(payer, "payer", PARTICIPANT_PATTERN)
            mine = self.deposit_accounts(payer)
            if not mine:
                self.participant(payer)
                raise UnknownAccount(f"{payer} holds no deposit token")
            if named is not None:
                mine = [a for a in mine if a.asset == named] or mine
            minor = self.minor(amount, self.asset(mine[0].asset))
            source = _able_to_pay(mine, minor)
        if ":" in payee:
            return source, self.account(payee), minor
        check_id(payee, "payee", PARTICIPANT_PATTERN)
        currency = self.asset(source.asset).currency
        theirs = self.deposit_accounts(payee, currency)
        if not theirs:
            self.participant(payee)
            raise UnknownAccount(f"{payee} has no {currency} deposit-token account", hint="account-open")
        return source, next((a for a in theirs if a.asset == source.asset), theirs[0]), minor

    def pair(self, source: str, destination: str, amount: int | TypedAmount) -> tuple[Account, Account, int]:
        """The two accounts of a transfer as a person names them (the amount may name the asset), and the amount in minor units."""
        debit = self.resolve(source, amount.asset if isinstance(amount, TypedAmount) else None)
        credit = self.resolve(destination, debit.asset)
        if credit.asset != debit.asset:
            raise AssetMismatch(f"{debit.id} holds {debit.asset} but {credit.id} holds {credit.asset}")
        return debit, credit, self.minor(amount, self.asset(debit.asset))

    def travel(self, source: Account, recipient: str, recipient_account: str) -> Travel | None:
        """Travel-rule data for a payment from ``source``'s owner to ``recipient`` in another jurisdiction, whatever their kinds.

        Attached whatever the amount: linked transfers from one originator to one
        beneficiary add up over the travel rule's window, so a small one may need it too.
        """
        from wonledger.flows.crossborder import travel_data

        sender, receiver = self.participant(source.owner), self.participant(recipient)
        if sender.jurisdiction == receiver.jurisdiction:
            return None
        return travel_data(sender, source.id, receiver, recipient_account)


def _able_to_pay(accounts: Sequence[Account], amount: int) -> Account:
    """The first of ``accounts`` whose available balance covers ``amount``, else the first (for the book to refuse)."""
    return next((a for a in accounts if a.available >= amount), accounts[0])


class _Lookup:  # a ledger.rules.RegistryLookup
    """What :func:`required_signers` reads, read from the store."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def participant_or_none(self, pid: str) -> Participant | None:
        return self.uow.registry.participant(pid)

    def account_or_none(self, aid: str) -> Account | None:
        return self.uow.registry.accounts([aid]).get(aid)

    def asset(self, code: str) -> Asset:
        found = self.uow.registry.asset(code)
        if found is None:
            raise UnknownAsset(f"no asset {code}")
        return found


def make_participant_key(keys: str | os.PathLike[str], participant: str) -> bytes:
    """Make ``participant``'s key pair in the key directory ``keys``; returns the public key (the private key stays in its file)."""
    from wonledger.domain.signing import KeyStore, public_bytes

    check_id(participant, "participant id", PARTICIPANT_PATTERN)
    store = KeyStore(keys)
    if store.has(participant):
        raise AlreadyExists(f"{store.path(participant)} already holds a key for {participant}")
    return public_bytes(store.create(participant))


def parse_public_key(text: str) -> bytes:
    """An Ed25519 public key as people pass it: 43 characters of base64url."""
    from wonledger.domain.signing import unb64url
    from wonledger.domain.wire import _public_key

    return unb64url(_public_key(text.strip(), "public key"))


def _journal_entry(stored, status: str) -> JournalEntry:  # type: ignore[no-untyped-def]
    return stored.entry(status)  # the store decoded the row (a StoredTx)


def _remove_sqlite(path: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            Path(path + suffix).unlink()
        except FileNotFoundError:
            pass


__all__ = ["DEFAULT_DB", "DEFAULT_KEYS", "BreakerStatus", "Info", "Ledger", "PendingHold", "ResidentOutflow", "make_participant_key", "parse_public_key"]
