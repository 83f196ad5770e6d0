"""The registry: who takes part, which assets exist, which accounts are open.

Registry changes move no money, so they are not journal entries; they are
checked here and written in one transaction each. An account's owner, asset
and flags never change once it is open.
"""

from __future__ import annotations

from ledger.errors import AlreadyExists, BadInput, UnknownAsset, UnknownParticipant
from ledger.model import (
    ISSUANCE,
    NO_OVERDRAFT,
    PARTICIPANT_PATTERN,
    RESERVE,
    Account,
    Participant,
    account_id,
    check_id,
)
from ledger.money import Asset
from ledger.policy import IssuerPolicy, require_eligible, require_may_hold
from ledger.store import Store, UnitOfWork


def add_participant(store: Store, participant: Participant) -> Participant:
    def write(uow: UnitOfWork) -> Participant:
        if uow.participant(participant.id) is not None:
            raise AlreadyExists(f"participant {participant.id} already exists")
        uow.add_participant(participant)
        return participant

    return store.writing(write)


def add_asset(uow: UnitOfWork, asset: Asset) -> Asset:
    """Register an asset and open its issuer's issuance account (which may go negative)."""
    if uow.participant(asset.issuer) is None:
        raise UnknownParticipant(f"no participant {asset.issuer} to issue {asset.code}")
    if uow.asset(asset.code) is not None:
        raise AlreadyExists(f"asset {asset.code} already exists")
    uow.add_asset(asset)
    uow.add_account(Account(id=account_id(asset.issuer, asset.code), owner=asset.issuer, asset=asset.code, flags=frozenset({ISSUANCE})))
    return asset


def open_account(uow: UnitOfWork, owner: str, asset: str, label: str = "", reserve: bool = False) -> Account:
    account = new_account(uow, owner, asset, label, reserve)
    if uow.accounts([account.id]):
        raise AlreadyExists(f"account {account.id} already exists")
    uow.add_account(account)
    return account


def new_account(uow: UnitOfWork, owner: str, asset: str, label: str = "", reserve: bool = False) -> Account:
    """The account ``owner`` may open in ``asset``, checked but not yet written."""
    check_id(owner, "owner", PARTICIPANT_PATTERN)
    if label:
        check_id(label, "label", PARTICIPANT_PATTERN)
    holder = uow.participant(owner)
    if holder is None:
        raise UnknownParticipant(f"no participant {owner}")
    found = uow.asset(asset)
    if found is None:
        raise UnknownAsset(f"no asset {asset}")
    issuer = uow.participant(found.issuer)
    if issuer is not None:
        require_may_hold(holder, found, issuer)
    if reserve and not label:
        raise BadInput("a reserve account needs a label")
    flags = {NO_OVERDRAFT} | ({RESERVE} if reserve else set())
    return Account(id=account_id(owner, asset, label), owner=owner, asset=asset, flags=frozenset(flags), label=label)


def register_issuer(uow: UnitOfWork, issuer: str, code: str, currency: str, policy: IssuerPolicy, at: str) -> Asset:
    """Register ``issuer`` for stablecoin ``code`` (creating the asset if it is new).

    The participant must be of a kind the policy admits in its jurisdiction
    (``ISSUER_NOT_ELIGIBLE`` otherwise).
    """
    candidate = uow.participant(issuer)
    if candidate is None:
        raise UnknownParticipant(f"no participant {issuer}")
    require_eligible(candidate, policy)
    existing = uow.asset(code)
    if existing is None:
        if currency not in policy.exponents:
            raise BadInput(f"no exponent for {currency} in policy.toml ({', '.join(sorted(policy.exponents))})")
        existing = add_asset(uow, Asset(code, currency, "stablecoin", policy.exponents[currency], issuer))
    elif existing.kind != "stablecoin" or existing.issuer != issuer or existing.currency != currency:
        raise AlreadyExists(f"asset {code} exists as a {existing.currency} {existing.kind} of {existing.issuer}")
    if code in uow.issuers():
        raise AlreadyExists(f"{issuer} is already registered for {code}")
    uow.add_issuer(code, issuer, at)
    return existing
