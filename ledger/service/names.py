"""Names as people type them, resolved in one read: the CLI's (and any program's) way from words to values.

:class:`Lookups` is one read transaction's lookups (accounts by id or owner,
assets, participants, amounts as typed); every command builds its
transaction over one of them. :class:`Names` is the ledger's view of the same
lookups for a caller: each of its methods is one read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from wonledger.domain.errors import AssetMismatch, BadInput, UnknownAccount, UnknownAsset, UnknownParticipant, UnknownTransaction
from wonledger.domain.model import PARTICIPANT_PATTERN, Account, Leg, Participant, Tx, check_id
from wonledger.domain.money import Asset, TypedAmount, parse_amount
from wonledger.domain.names import did_you_mean

if TYPE_CHECKING:
    from wonledger.domain.records import Quote
    from wonledger.domain.terms import AccountSpec, Travel
    from wonledger.service.facade import Ledger
    from wonledger.store import UnitOfWork


class Names:
    """What a person typed, resolved against the ledger as it stands: each method is one read.

    ``ledger.names.account("alice", "dKRW.hanriver")``, ``ledger.names.amount("12.50", "HKDS")``,
    ``ledger.names.pair("alice", "hanriver", "1,000")``. Unknown names raise with a "did you mean".
    """

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def account(self, name: str, asset: str | None = None) -> Account:
        """An account by id (``owner:asset[:label]``) or by owner (with one account in ``asset``, when given)."""
        return self._ledger._read(lambda names: names.resolve(name, asset))

    def amount(self, text: str, asset: str) -> int:
        """Major units as typed ("12.50", "12.50 HKDS") -> minor units of ``asset``."""
        typed = TypedAmount.parse(text)
        known = self._ledger._assets.get(asset)  # an asset never changes once registered
        return typed.minor_units(known if known is not None else self._ledger._read(lambda names: names.asset(asset)))

    def pair(self, source: str, destination: str, amount: str) -> tuple[Account, Account, int]:
        """The two accounts of a transfer as a person names them, and its amount in minor units."""
        typed = TypedAmount.parse(amount)
        return self._ledger._read(lambda names: names.pair(source, destination, typed))

    def payment(self, payer: str, payee: str, amount: str) -> tuple[Account, Account, int]:
        """The deposit-token accounts a payment runs between (by id, or by resident), and its amount in minor units."""
        typed = TypedAmount.parse(amount)
        return self._ledger._read(lambda names: names.payment(payer, payee, typed))

    def send_amount(self, text: str) -> int:
        """A send's amount as typed: in the bridge stablecoin's currency ("1,000,000", "1,000,000 KRW" or "... KRWS")."""
        typed = TypedAmount.parse(text)
        bridge = self._ledger._book.flow_policy.bridge
        return self._ledger._read(lambda names: names.send_amount(typed, names.asset(bridge)))

    def quote(self, quote_id: str) -> Quote:
        """The dealer's stored quote ``quote_id`` (as `quote` gave it)."""
        found = self._ledger._store.reading(lambda uow: uow.records.quote(quote_id))
        if found is None:
            raise BadInput(f"no quote {quote_id}", hint="quote")
        return found


class Lookups:
    """The accounts, assets and participants of one read transaction, as people name them.

    Also the rulebook's :class:`~wonledger.rulebook.rules.RegistryLookup`: who must sign a
    transaction is found with the same lookups, in the same read.

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

    def participant_or_none(self, pid: str) -> Participant | None:
        return self.uow.registry.participant(pid)

    def account_or_none(self, aid: str) -> Account | None:
        return self.uow.registry.accounts([aid]).get(aid)

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
