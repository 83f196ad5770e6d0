"""The registry as journal entries: the signed entries that register participants, assets, issuers, accounts and keys.

Registry changes are journal entries like payments: chained, checkpointed and
replayed by ``verify``, and decided by the rulebook (:mod:`wonledger.rulebook.rules`),
which says who must sign each one:

- ``register``: a participant, signed by itself (with the public key it made
  and registers) and by its registrar: its jurisdiction's regulator for an
  institution, a bank of its jurisdiction for a customer (KYC), itself for
  the regulator that policy.toml names as the jurisdiction's authority;
- ``asset``: a wholesale CBDC, deposit token or correspondent balance,
  signed by its issuer and the issuer's regulator;
- ``issuer``: a stablecoin issuer (creating the coin), signed by the issuer
  and its regulator, if policy.toml admits the issuer's kind;
- ``open`` (or ``opens`` on any payment): accounts, signed by their owners,
  and by the issuing bank for a deposit token or the central bank for
  wholesale money;
- ``key``: a rotation signed with the current and the new key, or a
  revocation signed by the participant's registrar, carrying the public key
  the participant made.

This module only builds the entries; nothing here writes.
"""

from __future__ import annotations

import hashlib
import secrets

from wonledger.domain.model import (
    KEY,
    NEW_ASSET,
    NEW_ISSUER,
    OPEN,
    REGISTER,
    AccountSpec,
    AssetSpec,
    IssuerSpec,
    KeySpec,
    Registration,
    Tx,
)
from wonledger.domain.money import Asset
from wonledger.domain.signing import b64url


def _entry_id(prefix: str, name: str) -> str:
    text = f"{prefix}:{name}"
    return text if len(text) <= 128 else f"{prefix}:{hashlib.sha256(name.encode()).hexdigest()}"


def registration_tx(
    ledger_id: str, pid: str, kind: str, jurisdiction: str, resident: bool, public_key: bytes, registrar: str, memo: str = ""
) -> Tx:
    subject = Registration(pid, kind, jurisdiction, resident, b64url(public_key), registrar)
    return Tx(ledger=ledger_id, id=_entry_id("register", pid), kind=REGISTER, legs=(), memo=memo, subject=subject)


def asset_tx(ledger_id: str, asset: Asset, memo: str = "") -> Tx:
    subject = AssetSpec(asset.code, asset.currency, asset.kind, asset.exponent, asset.issuer)
    return Tx(ledger=ledger_id, id=_entry_id("asset", asset.code), kind=NEW_ASSET, legs=(), memo=memo, subject=subject)


def issuer_tx(ledger_id: str, issuer: str, code: str, currency: str, memo: str = "") -> Tx:
    return Tx(ledger=ledger_id, id=_entry_id("issuer", code), kind=NEW_ISSUER, legs=(), memo=memo, subject=IssuerSpec(code, currency, issuer))


def open_tx(ledger_id: str, specs: tuple[AccountSpec, ...], memo: str = "") -> Tx:
    name = specs[0].id if len(specs) == 1 else "+".join(s.id for s in specs)
    return Tx(ledger=ledger_id, id=_entry_id("open", name), kind=OPEN, legs=(), memo=memo, opens=specs)


def key_tx(ledger_id: str, participant: str, public_key: bytes, reason: str, memo: str = "") -> Tx:
    subject = KeySpec(participant, b64url(public_key), reason)
    return Tx(ledger=ledger_id, id=f"key:{participant}:{secrets.token_hex(6)}", kind=KEY, legs=(), memo=memo, subject=subject)
