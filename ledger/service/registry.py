"""`ledger.registry`: who and what the ledger knows, each change a signed entry.

Participants (and their keys), assets, accounts and stablecoin issuers: read
as they stand, and registered, opened or rotated through the book's one
submit path like any other transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wonledger.domain.errors import AlreadyExists
from wonledger.domain.model import PARTICIPANT_PATTERN, Account, KeyRecord, Participant, check_id
from wonledger.domain.money import Asset
from wonledger.domain.timestamps import iso

if TYPE_CHECKING:
    from wonledger.domain.signing import KeyStore
    from wonledger.flows.keys import KeyChange
    from wonledger.service.facade import Ledger


class Registry:
    """Participants, assets, accounts, issuers and keys of one ledger (``ledger.registry``)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    # -- participants ------------------------------------------------------
    def participants(self) -> list[Participant]:
        return self._ledger._store.reading(lambda uow: uow.registry.participants())

    def participant(self, pid: str) -> Participant:
        return self._ledger._read(lambda names: names.participant(pid))

    def add_participant(self, pid: str, kind: str, jurisdiction: str, resident: bool = True, by: str | None = None) -> Participant:
        """Register a participant, vouched for by ``by`` (default: its regulator, or for a customer the first bank of its jurisdiction).

        The participant's key is its own: made in the key store if it has none
        there, and registered with the entry, which it signs with that key.
        """
        from wonledger.flows.registry import registration_tx
        from wonledger.flows.world import default_registrar, participant_key

        ledger = self._ledger
        check_id(pid, "participant id", PARTICIPANT_PATTERN)
        if by is not None:
            check_id(by, "registrar", PARTICIPANT_PATTERN)
        if ledger._store.reading(lambda uow: uow.registry.participant(pid)) is not None:
            raise AlreadyExists(f"participant {pid} already exists")
        Participant(pid, kind, jurisdiction, resident, b"")  # check the fields before making a key
        if by is None:
            banks = sorted(p.id for p in self.participants() if p.kind == "bank" and p.jurisdiction == jurisdiction)
            by = default_registrar(kind, jurisdiction, pid, ledger._book.registry_policy, banks)
        keys = ledger._keys
        made_here = not keys.has(pid)
        tx = registration_tx(ledger.id, pid, kind, jurisdiction, resident, participant_key(keys, pid), by)
        try:
            ledger.submit(ledger.sign(tx, [pid, by]))
        except BaseException:
            if made_here:
                keys.path(pid).unlink(missing_ok=True)  # a refused registration leaves no key behind
            raise
        return self.participant(pid)

    # -- keys --------------------------------------------------------------
    def new_key(self, pid: str) -> bytes:
        """Make ``pid``'s key pair in the key store (as ``pid`` does on its own machine); returns the public key."""
        return make_key(self._ledger._keys, pid)

    def rotate_key(self, pid: str) -> KeyChange:
        """``pid`` replaces its key with a new one made in the key store (needs the current key there)."""
        from wonledger.flows.keys import rotate_key

        return rotate_key(self._ledger._audit_session(), pid)

    def revoke_key(self, pid: str, public_key: bytes, by: str | None = None) -> KeyChange:
        """``pid``'s registrar (or ``by``) retires its key and installs ``public_key``, which ``pid`` made itself."""
        from wonledger.flows.keys import revoke_key

        return revoke_key(self._ledger._audit_session(), pid, public_key, by)

    def key_history(self, pid: str) -> list[KeyRecord]:
        """Every key ``pid`` has had, oldest first, with when each could sign."""
        from wonledger.flows.keys import key_history

        return key_history(self._ledger._audit_session().store, pid)

    # -- assets ------------------------------------------------------------
    def assets(self) -> list[Asset]:
        return self._ledger._store.reading(lambda uow: uow.registry.assets())

    def asset(self, code: str) -> Asset:
        known = self._ledger._assets.get(code)  # an asset never changes once registered
        return known if known is not None else self._ledger._read(lambda names: names.asset(code))

    def add_asset(self, asset: Asset) -> Asset:
        """Register an asset that is not a stablecoin (its issuer and the issuer's regulator sign)."""
        from wonledger.flows.registry import asset_tx

        ledger = self._ledger
        ledger.submit(ledger.sign(asset_tx(ledger.id, asset)))
        return self.asset(asset.code)

    def deposit_token(self, bank: str) -> Asset:
        """The deposit token ``bank`` issues."""
        return self._ledger._read(lambda names: names.deposit_token(bank))

    # -- accounts ----------------------------------------------------------
    def accounts(self, owner: str | None = None, asset: str | None = None) -> list[Account]:
        """Accounts as they stand now: a hold past its timeout reads as released (the next write voids it)."""
        now = iso(self._ledger.clock())
        return self._ledger._store.reading(lambda uow: uow.holds.released(uow.registry.all_accounts(owner, asset), now))

    def account(self, account_id: str) -> Account:
        return self._ledger._read(lambda names: names.account(account_id))

    def open_account(self, owner: str, asset: str, label: str = "", reserve: bool = False) -> Account:
        """Open ``owner:asset[:label]`` by a signed entry (the owner signs; a bank for its deposit token, the central bank for wholesale money)."""
        from wonledger.domain.terms import AccountSpec
        from wonledger.flows.registry import open_tx

        ledger = self._ledger
        check_id(owner, "owner", PARTICIPANT_PATTERN)
        if label:
            check_id(label, "label", PARTICIPANT_PATTERN)
        self.participant(owner)
        self.asset(asset)
        spec = AccountSpec(owner, asset, label, reserve)
        if ledger._store.reading(lambda uow: uow.registry.accounts([spec.id])):
            raise AlreadyExists(f"account {spec.id} already exists")
        ledger.submit(ledger.sign(open_tx(ledger.id, (spec,))))
        return self.account(spec.id)

    # -- stablecoin issuers --------------------------------------------------
    def issuers(self) -> dict[str, str]:
        """Stablecoin code -> its registered issuer."""
        return self._ledger._store.reading(lambda uow: uow.registry.issuers())

    def issuer_registrations(self) -> list[tuple[str, str, str]]:
        """(asset, issuer, registered_at) of every registered stablecoin issuer."""
        return self._ledger._store.reading(lambda uow: uow.registry.issuer_registrations())

    def register_issuer(self, issuer: str, code: str, currency: str, by: str | None = None) -> Asset:
        """Register ``issuer`` for stablecoin ``code``, signed by the issuer and its regulator (or ``by``), if the policy admits its kind."""
        from wonledger.flows.registry import issuer_tx

        ledger = self._ledger
        registered = self.issuers()
        if code in registered:
            raise AlreadyExists(f"{registered[code]} is already registered for {code}")
        tx = issuer_tx(ledger.id, issuer, code, currency.upper())
        signers = None if by is None else [issuer, by]
        ledger.submit(ledger.sign(tx, signers))
        return self.asset(code)


def make_key(keys: KeyStore, participant: str) -> bytes:
    """Make ``participant``'s key pair in ``keys``; returns the public key (the private key stays in its file)."""
    from wonledger.domain.signing import public_bytes

    check_id(participant, "participant id", PARTICIPANT_PATTERN)
    if keys.has(participant):
        raise AlreadyExists(f"{keys.path(participant)} already holds a key for {participant}")
    return public_bytes(keys.create(participant))


__all__ = ["Registry"]
