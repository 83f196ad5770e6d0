"""`Ledger`: the public face of one wonledger database and its key store.

Everything the CLI does goes through here, and so can any Python program::

    from ledger import Ledger
    with Ledger.open("sqlite:///wonledger.db", keys="wonledger-keys") as lg:
        lg.transfer("alice:dKRW.hanriver", "seoul-exports:dKRW.hanriver", 1000)

Writes are signed with the keys of the parties who must sign and go through
the book's one submit path; reads come straight from the store.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO, TextIO
from zoneinfo import ZoneInfo

from ledger import chain
from ledger.book import Book, Outcome
from ledger.errors import (
    AlreadyExists,
    AssetMismatch,
    BadInput,
    KeyUnavailable,
    LedgerError,
    RuleRefusal,
    UnknownAccount,
    UnknownAsset,
    UnknownParticipant,
    UnknownTransaction,
)
from ledger.ingest import IngestResult, ingest
from ledger.keys import REVOKED, ROTATED, KeyChange, key_history, replace_key
from ledger.flows import (
    deposit_tx,
    hold_tx,
    mint_tx,
    pay_tx,
    post_tx,
    redeem_tx,
    reversal_tx,
    transfer_tx,
    void_tx,
    withdraw_tx,
)
from ledger.controls import ControlKeys, reversed_travel
from ledger.flows.crossborder import make_quote, send_tx, swap_tx, travel_data
from ledger.policy import CUSTOMER_KINDS, DEPOSIT_TOKEN, STABLECOIN, load_issuer_policy
from ledger.model import (
    PARTICIPANT_PATTERN,
    RESERVE,
    Account,
    JournalEntry,
    KeyRecord,
    Leg,
    Participant,
    Quote,
    Receipt,
    Refusal,
    Signature,
    SignedTx,
    Travel,
    Tx,
    account_id,
    check_id,
)
from ledger.money import Asset, format_amount, parse_amount, split_amount
from ledger.reconcile import VerifyReport, verify_ledger
from ledger.registry import add_participant, open_account, register_issuer
from ledger.signing import KeyStore, tx_bytes
from ledger.store import Store, UnitOfWork, database_exists, safe_url, sqlite_path
from ledger.wire import parse_tx
from ledger.world import funding_txs, load_registry, participant_key, world_data
from ledger import audit

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
class Info:
    ledger: str
    db: str
    schema: str
    transactions: int
    accounts: int


class Ledger:
    """One ledger: its store, its book and the key store that signs for its users."""

    def __init__(self, store: Store, keys: KeyStore, clock: Callable[[], datetime] = chain.utc_now) -> None:
        self.store = store
        self.keys = keys
        self.book = Book(store, clock)

    # -- opening ---------------------------------------------------------
    @classmethod
    def open(
        cls,
        url: str = DEFAULT_DB,
        keys: str | os.PathLike[str] = DEFAULT_KEYS,
        clock: Callable[[], datetime] = chain.utc_now,
    ) -> Ledger:
        store = Store.open(url)
        if store.upgraded_from is not None:
            # The capital-flow rules changed with schema 0004: rebuild what they derive from the journal.
            from ledger.reconcile.invariants import rebuild_controls

            rebuild_controls(store)
        return cls(store, KeyStore(keys), clock)

    @classmethod
    def create(
        cls,
        url: str = DEFAULT_DB,
        keys: str | os.PathLike[str] = DEFAULT_KEYS,
        world: str = "default",
        clock: Callable[[], datetime] = chain.utc_now,
        ledger_id: str | None = None,
    ) -> Ledger:
        """Create the schema, load ``world`` and sign its funding; all or nothing."""
        data = world_data(world)
        path = sqlite_path(url)
        existed = database_exists(url) if path else True
        store: Store | None = None
        try:
            store = Store.create(url, ledger_id or f"wl-{secrets.token_hex(6)}")
            store._check_schema()
            ledger = cls(store, KeyStore(keys), clock)
            load_registry(store, ledger.keys, data)
            audit.ensure_operator_key(store, ledger.keys)  # signs checkpoints (ledger.audit)
            for outcome in ledger.book.submit_many([ledger.sign(tx) for tx in funding_txs(store.ledger_id, data, {a.code: a.exponent for a in ledger.assets()})]):
                if isinstance(outcome, LedgerError):
                    raise outcome
        except BaseException:
            if store is not None:
                store.dispose()
            if path and not existed:
                _remove_sqlite(path)
            raise
        return ledger

    def close(self) -> None:
        self.book.close()
        self.store.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def id(self) -> str:
        return self.store.ledger_id

    def info(self) -> Info:
        transactions, accounts = self.store.reading(lambda uow: uow.counts())
        return Info(self.id, safe_url(self.store.url), self.store.schema, transactions, accounts)

    # -- registry --------------------------------------------------------
    def participants(self) -> list[Participant]:
        return self.store.reading(lambda uow: uow.participants())

    def participant(self, pid: str) -> Participant:
        found = self.store.reading(lambda uow: uow.participant(pid))
        if found is None:
            raise UnknownParticipant(f"no participant {pid}")
        return found

    def add_participant(self, pid: str, kind: str, jurisdiction: str, resident: bool = True) -> Participant:
        """Register a participant, making its key in the key store."""
        check_id(pid, "participant id", PARTICIPANT_PATTERN)
        if self.store.reading(lambda uow: uow.participant(pid)) is not None:
            raise AlreadyExists(f"participant {pid} already exists")
        Participant(pid, kind, jurisdiction, resident, b"")  # check the fields before making a key
        return add_participant(self.store, Participant(pid, kind, jurisdiction, resident, participant_key(self.keys, pid)))

    def rotate_key(self, pid: str) -> KeyChange:
        """Replace ``pid``'s key with a new one from the key store (needs the current key there)."""
        return replace_key(self.store, self.keys, pid, ROTATED, self.book.clock)

    def revoke_key(self, pid: str) -> KeyChange:
        """Retire a lost or exposed key at once and issue ``pid`` a new one (no old key needed)."""
        return replace_key(self.store, self.keys, pid, REVOKED, self.book.clock)

    def key_history(self, pid: str) -> list[KeyRecord]:
        """Every key ``pid`` has had, oldest first, with when each could sign."""
        return key_history(self.store, pid)

    def assets(self) -> list[Asset]:
        return self.store.reading(lambda uow: uow.assets())

    def asset(self, code: str) -> Asset:
        found = self.store.reading(lambda uow: uow.asset(code))
        if found is None:
            raise UnknownAsset(f"no asset {code}")
        return found

    def accounts(self, owner: str | None = None, asset: str | None = None) -> list[Account]:
        self.book.expire_due()  # a hold past its timeout no longer counts as held
        return self.store.reading(lambda uow: uow.all_accounts(owner, asset))

    def account(self, account_id: str) -> Account:
        self.book.expire_due()
        return self._existing_account(account_id)

    def _existing_account(self, account_id: str) -> Account:
        """The account as stored, for flows whose submit expires due holds itself."""
        found = self.store.reading(lambda uow: uow.accounts([account_id])).get(account_id)
        if found is None:
            raise UnknownAccount(f"no account {account_id}")
        return found

    def open_account(self, owner: str, asset: str, label: str = "") -> Account:
        def write(uow: UnitOfWork) -> Account:
            uow.head(lock=True)  # queue with the book's writers, which may open accounts too
            return open_account(uow, owner, asset, label)

        with self._recording_refusals(owner, f"account open {owner} {asset}"):
            return self.store.writing(write)

    @contextmanager
    def _recording_refusals(self, who: str, what: str) -> Iterator[None]:
        """Keep a registry refusal (residency, issuer eligibility) beside the book's own."""
        try:
            yield
        except RuleRefusal as exc:
            refusal = Refusal(chain.iso(self.book.clock()), who, None, None, what, exc.code, exc.message)
            self.store.writing(lambda uow: uow.append_controls((), (), (), [refusal]))
            raise

    def resolve_account(self, name: str, asset: str | None = None) -> Account:
        """An account by id (``owner:asset[:label]``) or by owner and asset."""
        if ":" in name:
            return self.account(name)
        check_id(name, "account or participant", PARTICIPANT_PATTERN)
        owned = [a for a in self.accounts(owner=name) if asset is None or a.asset == asset]
        if not owned:
            self.participant(name)
            if asset is not None:
                self.asset(asset)
            raise UnknownAccount(f"{name} has no {asset + ' ' if asset else ''}account")
        plain = [a for a in owned if not a.label]
        choices = plain if len(plain) == 1 else owned
        if len(choices) != 1:
            raise BadInput(f"{name} has several accounts ({', '.join(a.id for a in owned)}): name one")
        return choices[0]

    # -- signing and submitting -------------------------------------------
    def sign(self, tx: Tx, signers: Iterable[str] | None = None) -> SignedTx:
        """Sign ``tx`` with the keys of ``signers`` (by default, every debtor)."""
        if signers is None:
            signers = self._debtors(tx.legs)
        payload = tx_bytes(tx)
        signatures = tuple(self.keys.sign(s, payload) for s in sorted(set(signers)))
        return SignedTx(tx=tx, signatures=signatures, canonical=payload)

    def submit(self, signed: SignedTx) -> Receipt:
        return self.book.submit(signed)

    def submit_many(self, batch: Sequence[SignedTx]) -> list[Outcome]:
        return self.book.submit_many(batch)

    def ingest(self, lines: Iterable[bytes | str], progress: Callable[[int], None] | None = None) -> IngestResult:
        """Submit a batch of JSON lines in chunks (see :mod:`ledger.ingest`)."""
        return ingest(self.book, lines, progress=progress)

    def _debtors(self, legs: Iterable[Leg]) -> set[str]:
        ids = {leg.debit for leg in legs}
        found = self.store.reading(lambda uow: uow.accounts(ids))
        missing = sorted(ids - set(found))
        if missing:
            raise UnknownAccount(f"no account {missing[0]}")
        return {found[i].owner for i in ids}

    # -- flows -------------------------------------------------------------
    def transfer(
        self,
        debit: str,
        credit: str,
        amount: int,
        *,
        tx_id: str | None = None,
        memo: str = "",
        hold_timeout_s: int | None = None,
    ) -> Receipt:
        """Move ``amount`` minor units between two accounts (a hold when a timeout is given)."""
        source = self._existing_account(debit)
        if hold_timeout_s is not None:
            tx = hold_tx(self.id, debit, credit, source.asset, amount, hold_timeout_s, tx_id=tx_id, memo=memo)
        else:
            tx = transfer_tx(self.id, debit, credit, source.asset, amount, tx_id=tx_id, memo=memo)
        target = self._existing_account(credit)
        travel = self._travel_for(source, target.owner, target.id, amount, self.asset(target.asset))
        if travel is not None:
            tx = replace(tx, travel=travel)
        return self.submit(self.sign(tx, [source.owner]))

    def _travel_for(self, source: Account, recipient: str, recipient_account: str, amount: int, asset: Asset) -> Travel | None:
        """Travel-rule data for a payment from ``source``'s owner to ``recipient`` in another jurisdiction, whatever their kinds.

        Attached whatever the amount: linked transfers from one originator to one
        beneficiary add up over the travel rule's window, so a small one may need it too.
        """
        sender, receiver = self.participant(source.owner), self.participant(recipient)
        if sender.jurisdiction == receiver.jurisdiction:
            return None
        return travel_data(sender, source.id, receiver, recipient_account)

    # -- tokenized deposits -------------------------------------------------
    def deposit_token(self, bank: str) -> Asset:
        """The deposit token ``bank`` issues."""
        self.participant(bank)
        tokens = [a for a in self.assets() if a.issuer == bank and a.kind == DEPOSIT_TOKEN]
        if len(tokens) != 1:
            raise BadInput(f"{bank} issues {'no deposit token' if not tokens else 'several deposit tokens'}")
        return tokens[0]

    def deposit(self, owner: str, amount: int, bank: str, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """``bank`` tokenizes ``amount`` of ``owner``'s deposit (opening the token account if needed)."""
        token = self.deposit_token(bank)
        holder = account_id(owner, token.code)
        tx = deposit_tx(self.id, bank, token.code, holder, amount, tx_id=tx_id, memo=memo)
        return self.book.submit(self.sign(tx, [bank]), opens=[(owner, token.code, "", False)])

    def withdraw(self, owner: str, amount: int, bank: str, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """``owner`` turns ``amount`` of ``bank``'s token back into an ordinary deposit."""
        token = self.deposit_token(bank)
        holder = self._existing_account(account_id(owner, token.code))
        return self.submit(self.sign(withdraw_tx(self.id, bank, token.code, holder.id, amount, tx_id=tx_id, memo=memo), [owner]))

    def resolve_payment(self, payer: str, payee: str, amount: str) -> tuple[Account, Account, int]:
        """The deposit-token accounts a payment runs between, and its amount in minor units."""
        assets = {a.code: a for a in self.assets()}
        mine = [a for a in self.accounts(owner=payer) if assets[a.asset].kind == DEPOSIT_TOKEN and not a.label]
        if not mine:
            self.participant(payer)
            raise UnknownAccount(f"{payer} holds no deposit token")
        _, named = split_amount(amount)
        if named is not None:
            mine = [a for a in mine if a.asset == named] or mine
        minor = self.parse_amount(amount, mine[0].asset)
        source = next((a for a in mine if a.available >= minor), mine[0])
        currency = assets[source.asset].currency
        theirs = [
            a for a in self.accounts(owner=payee)
            if assets[a.asset].kind == DEPOSIT_TOKEN and not a.label and assets[a.asset].currency == currency
        ]
        if not theirs:
            self.participant(payee)
            raise UnknownAccount(f"{payee} has no {currency} deposit-token account (open one with `account open`)")
        target = next((a for a in theirs if a.asset == source.asset), theirs[0])
        return source, target, minor

    def pay(self, payer: str, payee: str, amount: int, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """A domestic payment between two deposit-token accounts; across banks it settles in wholesale CBDC."""
        source, target = self._existing_account(payer), self._existing_account(payee)
        assets = {a.code: a for a in self.assets()}
        payer_token, payee_token = assets[source.asset], assets[target.asset]
        if payer_token.kind != DEPOSIT_TOKEN or payee_token.kind != DEPOSIT_TOKEN:
            raise AssetMismatch("a payment runs between deposit-token accounts")
        if payer_token.currency != payee_token.currency:
            raise AssetMismatch(f"{source.id} holds {payer_token.currency} but {target.id} holds {payee_token.currency}")
        settlement = [a for a in assets.values() if a.kind == "wholesale_cbdc" and a.currency == payer_token.currency]
        if len(settlement) != 1:
            raise UnknownAsset(f"no wholesale central-bank money in {payer_token.currency} to settle between banks")
        tx = pay_tx(
            self.id, source.id, payer_token.code, payer_token.issuer, target.id, payee_token.code, payee_token.issuer,
            settlement[0].code, amount, tx_id=tx_id, memo=memo,
        )
        return self.submit(self.sign(tx))

    # -- stablecoins --------------------------------------------------------
    def register_issuer(self, issuer: str, code: str, currency: str) -> Asset:
        """Register ``issuer`` for stablecoin ``code`` if the policy admits its kind."""
        policy = load_issuer_policy()
        now = chain.iso(self.book.clock())
        with self._recording_refusals(issuer, f"issuer register {issuer} {code} {currency}"):
            return self.store.writing(lambda uow: register_issuer(uow, issuer, code, currency.upper(), policy, now))

    def issuers(self) -> dict[str, str]:
        return self.store.reading(lambda uow: uow.issuers())

    def mint(self, code: str, amount: int, holder: str, pay_with: str, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """``holder`` pays ``pay_with`` deposit tokens into the reserve and receives ``amount`` of ``code`` at par."""
        coin, backing = self._coin_and_backing(code, pay_with)
        tx = mint_tx(self.id, coin, backing, holder, amount, tx_id=tx_id, memo=memo)
        opens = [(holder, coin.code, "", False), (coin.issuer, backing.code, "reserve", True)]
        return self.book.submit(self.sign(tx, [holder, coin.issuer]), opens=opens)

    def redeem(self, code: str, amount: int, holder: str, to_asset: str, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """``holder`` returns ``amount`` of ``code`` and receives ``to_asset`` from the reserve at par."""
        coin, backing = self._coin_and_backing(code, to_asset)
        tx = redeem_tx(self.id, coin, backing, holder, amount, tx_id=tx_id, memo=memo)
        opens = [(holder, backing.code, "", False), (coin.issuer, backing.code, "reserve", True)]
        return self.book.submit(self.sign(tx, [holder, coin.issuer]), opens=opens)

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

    def _coin_and_backing(self, code: str, backing_code: str) -> tuple[Asset, Asset]:
        coin, backing = self.asset(code), self.asset(backing_code)
        if coin.kind != "stablecoin":
            raise AssetMismatch(f"{code} is a {coin.kind}, not a stablecoin")
        if backing.kind != DEPOSIT_TOKEN:
            raise AssetMismatch(f"{backing_code} is a {backing.kind}; stablecoins are minted and redeemed against deposit tokens")
        if coin.currency != backing.currency:
            raise AssetMismatch(f"{code} is {coin.currency} but {backing_code} is {backing.currency}: par needs one currency")
        return coin, backing

    # -- cross-border ---------------------------------------------------------
    def quote(self, sell: str, buy: str, amount: int) -> Quote:
        """The dealer's firm quote for selling ``amount`` minor units of ``sell`` for ``buy`` (stored)."""
        policy = self.book.flow_policy
        sell_asset, buy_asset = self.asset(sell), self.asset(buy)
        self.participant(policy.dealer)
        self._existing_account(account_id(policy.dealer, buy_asset.code))
        quote = make_quote(policy, sell_asset, buy_asset, amount, chain.iso(self.book.clock()))
        self.store.writing(lambda uow: uow.add_quote(quote))
        return quote

    def stored_quote(self, quote_id: str) -> Quote:
        found = self.store.reading(lambda uow: uow.quote(quote_id))
        if found is None:
            raise BadInput(f"no quote {quote_id}: ask the dealer for one with `wonledger quote`")
        return found

    def _quote_for(self, quote_id: str | None, sell: str, buy: str, amount: int) -> Quote:
        if quote_id is None:
            return self.quote(sell, buy, amount)
        quote = self.stored_quote(quote_id)
        if (quote.sell_asset, quote.buy_asset, quote.sell_amount) != (sell, buy, amount):
            exponent = self.asset(quote.sell_asset).exponent
            raise BadInput(
                f"quote {quote_id} sells {format_amount(quote.sell_amount, exponent)} {quote.sell_asset} for {quote.buy_asset}, "
                f"not {format_amount(amount, self.asset(sell).exponent)} {sell} for {buy}"
            )
        return quote

    def swap(
        self,
        owner: str,
        amount: int,
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
        timeout) releases both.
        """
        self.participant(owner)
        quote = self._quote_for(quote_id, sell, buy, amount)
        tx = swap_tx(self.id, quote, owner, tx_id=tx_id, memo=memo, hold_timeout_s=hold_timeout_s)
        return self.book.submit(self.sign(tx, [owner, quote.dealer]), opens=[(owner, buy, "", False)])

    def send(
        self,
        sender: str,
        recipient: str,
        amount: int,
        deliver: str,
        *,
        quote_id: str | None = None,
        tx_id: str | None = None,
        memo: str = "",
    ) -> Receipt:
        """Cross-border: ``sender``'s won deposit tokens → the won stablecoin at par → PvP → ``deliver`` to ``recipient``.

        One atomic transaction signed by the sender, the stablecoin's issuer and the dealer;
        ``amount`` is in minor units of the sender's currency, and the recipient gets exactly the
        quote's ``buy_amount``. From the travel-rule threshold on it carries originator and
        beneficiary data from the registry.
        """
        policy = self.book.flow_policy
        bridge, target = self.asset(policy.bridge), self.asset(deliver)
        source = self._deposit_account_for(sender, bridge.currency, amount)
        token = self.asset(source.asset)
        receiver = self.participant(recipient)
        quote = None if target.code == bridge.code else self._quote_for(quote_id, bridge.code, target.code, amount)
        delivered = amount if quote is None else quote.buy_amount
        travel = self._travel_for(source, receiver.id, account_id(receiver.id, target.code), delivered, target)
        tx = send_tx(self.id, source.id, token, bridge, recipient, target, amount, quote, travel, tx_id=tx_id, memo=memo)
        signers = [sender, bridge.issuer] + ([quote.dealer] if quote else [])
        opens = [(sender, bridge.code, "", False), (recipient, target.code, "", False), (bridge.issuer, token.code, "reserve", True)]
        return self.book.submit(self.sign(tx, signers), opens=opens)

    def parse_send_amount(self, text: str) -> int:
        """A send's amount as typed: in the bridge stablecoin's currency ("1,000,000", "1,000,000 KRW" or "... KRWS")."""
        bridge = self.asset(self.book.flow_policy.bridge)
        number, named = split_amount(text)
        if named is not None and named != bridge.currency and named not in {a.code for a in self.assets() if a.currency == bridge.currency}:
            raise AssetMismatch(f"a send's amount is in {bridge.currency}, not {named}")
        return parse_amount(number, bridge.exponent)

    def _deposit_account_for(self, owner: str, currency: str, amount: int) -> Account:
        """``owner``'s deposit-token account in ``currency`` that can pay ``amount`` (else the first, to be refused)."""
        assets = {a.code: a for a in self.assets()}
        mine = [
            a for a in self.accounts(owner=owner)
            if assets[a.asset].kind == DEPOSIT_TOKEN and assets[a.asset].currency == currency and not a.label
        ]
        if not mine:
            self.participant(owner)
            raise UnknownAccount(f"{owner} holds no {currency} deposit token to send from")
        return next((a for a in mine if a.available >= amount), mine[0])

    def rejections(self, limit: int | None = None, code: str | None = None) -> list[Refusal]:
        """Refusals by the ledger's rules, newest first: who, what, code, when."""
        return self.store.reading(lambda uow: uow.rejections(limit, code))

    def outflows(self, year: int | None = None) -> tuple[int, list[ResidentOutflow]]:
        """Each limited resident's counted outflow in ``year`` (default: this year in Seoul), in USD cents."""
        policy = self.book.flow_policy
        now = self.book.clock()
        limited = [p for p in self.participants() if policy.is_limited(p)]
        if year is None:
            year = now.astimezone(ZoneInfo(policy.timezone["KR"])).year
        totals = self.store.reading(lambda uow: uow.outflow_totals(year))
        return year, [ResidentOutflow(p.id, totals.get(p.id, 0), policy.outflow_limit_usd) for p in limited]

    def breaker(self) -> BreakerStatus:
        """Where the run breaker stands now: net conversions out in the window against the least supply in it."""
        policy = self.book.flow_policy
        watched = self.asset(policy.breaker_asset)
        now = chain.iso(self.book.clock())
        keys = ControlKeys(watched=watched.code, breaker_since=chain.iso(chain.parse_iso(now) - timedelta(seconds=policy.breaker_window_s)))
        state, refused = self.store.reading(lambda uow: (uow.control_state(keys, policy), uow.rejections(limit=1, code="RUN_BREAKER")))
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

    def post(self, hold_id: str, amount: int | None = None, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """Post a pending hold, fully or (one-leg holds) partly; the rest is released."""
        legs = self._pending_hold_legs(hold_id)
        return self.submit(self._sign_finish(post_tx(self.id, hold_id, legs, amount, tx_id=tx_id, memo=memo), legs))

    def void(self, hold_id: str, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        legs = self._pending_hold_legs(hold_id)
        return self.submit(self._sign_finish(void_tx(self.id, hold_id, tx_id=tx_id, memo=memo), legs))

    def reverse(self, original_id: str, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """Undo a posted transaction with a new one moving its legs back."""
        entry = self.transaction(original_id)
        if not entry.tx.legs or entry.tx.kind == "hold":
            raise BadInput(f"{original_id} is a {entry.tx.kind}; only transfers and posts are reversed (void a hold instead)")
        tx = reversal_tx(self.id, original_id, entry.tx.legs, tx_id=tx_id, memo=memo)
        # Value moving back across a border is a movement too: the original's beneficiary now sends to its originator.
        tx = replace(tx, travel=reversed_travel(entry.tx.travel))
        return self.submit(self.sign(tx))

    def _pending_hold_legs(self, hold_id: str) -> tuple[Leg, ...]:
        """The legs of hold ``hold_id``; whether it may still be finished is the book's call."""
        entry = self.transaction(hold_id)
        if entry.tx.kind != "hold":
            raise UnknownTransaction(f"{hold_id} is a {entry.tx.kind}, not a hold")
        return entry.tx.legs

    def _sign_finish(self, tx: Tx, held: Sequence[Leg]) -> SignedTx:
        """Debtors sign a post or void when their keys are here, else creditors."""
        accounts = self.store.reading(lambda uow: uow.accounts({a for leg in held for a in (leg.debit, leg.credit)}))
        debtors = {accounts[leg.debit].owner for leg in held}
        creditors = {accounts[leg.credit].owner for leg in held}
        for side in (debtors, creditors):
            if all(self.keys.has(p) for p in side):
                return self.sign(tx, side)
        raise KeyUnavailable(
            f"finishing a hold needs the keys of {', '.join(sorted(debtors))} or of "
            f"{', '.join(sorted(creditors))} in {self.keys.directory}"
        )

    # -- reading the journal ---------------------------------------------
    def transaction(self, tx_id: str) -> JournalEntry:
        self.book.expire_due()
        found = self.store.reading(lambda uow: uow.entry(tx_id))
        if found is None:
            raise UnknownTransaction(f"no transaction {tx_id}")
        stored, _legs, status = found
        return _journal_entry(stored, status)

    def history(self, account_id: str, limit: int | None = None) -> list[JournalEntry]:
        self.account(account_id)
        rows = self.store.reading(lambda uow: uow.history(account_id, limit))
        return [_journal_entry(stored, status) for stored, _legs, status in rows]

    def verify(self, progress: Callable[[int], None] | None = None) -> VerifyReport:
        return verify_ledger(self.store, progress)

    # -- reconciliation and audit proofs (see ledger.audit) ----------------
    def statement(
        self, account: str, fmt: str, out: TextIO, since: str | None = None, until: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> audit.StatementSummary:
        """Write ``account``'s camt.053 or CSV statement for the dates [since, until] to ``out``."""
        return audit.write_statement(self, account, fmt, out, since, until, progress)

    def reconcile(self, stream: BinaryIO, account: str, tolerance_days: int = 1, progress: Callable[[int], None] | None = None) -> audit.ReconcileReport:
        """Match a statement (camt.053 or CSV, streamed) against ``account``'s legs."""
        return audit.reconcile(self, stream, account, tolerance_days, progress)

    def trial_balance(self) -> list[audit.TrialBalanceRow]:
        return audit.trial_balance(self)

    def checkpoint(self) -> tuple[audit.Checkpoint, bool]:
        """Sign a checkpoint at the journal's head (returns it and whether it is new)."""
        return audit.make_checkpoint(self)

    def proof(self, tx_id: str) -> dict[str, object]:
        """``tx_id``'s inclusion proof against the latest checkpoint, as JSON (check with ``verify_proof``)."""
        return audit.build_proof(self, tx_id)

    def parse_amount(self, text: str, asset: str) -> int:
        """Major units as typed ("12.50", "12.50 HKDS") → minor units of ``asset``."""
        number, named = split_amount(text)
        if named is not None and named != asset:
            raise AssetMismatch(f"the amount is in {named} but the account holds {asset}")
        return parse_amount(number, self.asset(asset).exponent)

    def resolve_pair(self, source: str, destination: str, amount: str) -> tuple[Account, Account, int]:
        """Two accounts and an amount as a person names them, for a transfer."""
        _, named = split_amount(amount)
        debit = self.resolve_account(source, named)
        credit = self.resolve_account(destination, debit.asset)
        if credit.asset != debit.asset:
            raise AssetMismatch(f"{debit.id} holds {debit.asset} but {credit.id} holds {credit.asset}")
        return debit, credit, self.parse_amount(amount, debit.asset)

    def expire_due(self) -> int:
        return self.book.expire_due()


def _journal_entry(stored, status: str) -> JournalEntry:  # type: ignore[no-untyped-def]
    tx = parse_tx(json.loads(stored.body), journal=True)
    signatures = tuple(Signature(s["signer"], s["sig"]) for s in json.loads(stored.signatures))
    return JournalEntry(
        seq=stored.seq, at=stored.at, tx=tx, signatures=signatures, canonical=stored.body.encode(), hash=stored.hash, status=status
    )


def _remove_sqlite(path: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            Path(path + suffix).unlink()
        except FileNotFoundError:
            pass


__all__ = ["DEFAULT_DB", "DEFAULT_KEYS", "BreakerStatus", "Info", "Ledger", "ResidentOutflow"]
