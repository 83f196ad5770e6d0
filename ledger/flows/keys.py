"""Key rotation and revocation: a participant's signing key replaced by a signed registry entry, its history kept.

Every key a participant has had stays in the registry with the span of
commit times in which it could sign: from ``valid_from`` up to, not
including, ``retired_at``. Both changes are journal entries (kind ``key``)
that the rulebook decides and ``verify`` replays:

- **rotate** is the routine change, made by the participant: the entry
  carries the new public key and is signed twice by the participant, with
  the current key and with the new one (proof of possession);
- **revoke** is for a key that is lost or exposed: the participant makes a
  new key pair itself (``wonledger keys new ID`` on its own machine) and
  hands over only the public key; the entry installing it is signed by
  whoever registered the participant (its bank, or its regulator). No one
  but the participant ever holds its private key.

Entries committed before the change stay valid: the chain already commits
to them. From the change on, the old key signs nothing (``BAD_SIGNATURE``,
saying when it was rotated or revoked).

A rotation's new private key is written beside the old one first
(``<id>.pem.next``, 0600) and replaces it only once the entry is committed;
a crash in between leaves the registered key and its file as they were, or,
after the commit, the new key in ``<id>.pem.next`` (`keys rotate` says to
move it over ``<id>.pem``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from wonledger.domain.errors import BadInput, KeyUnavailable, UnknownParticipant
from wonledger.domain.model import PARTICIPANT_PATTERN, REVOKED, ROTATED, KeyRecord, Signature, SignedTx, Tx, check_id
from wonledger.domain.signing import KeyStore, b64url, public_bytes, tx_bytes
from wonledger.flows.registry import key_tx
from wonledger.store import Store, UnitOfWork

if TYPE_CHECKING:
    from wonledger.book.session import AuditSession

__all__ = ["REVOKED", "ROTATED", "KeyChange", "key_history", "revoke_key", "rotate_key"]


@dataclass(frozen=True, slots=True)
class KeyChange:
    """What a rotation or revocation did: the key retired and the key that signs from now on."""

    participant: str
    retired: KeyRecord
    current: KeyRecord


def rotate_key(session: AuditSession, participant: str) -> KeyChange:
    """``participant`` replaces its key with a new one it makes in the key store (it must hold the current key)."""
    check_id(participant, "participant id", PARTICIPANT_PATTERN)
    keys: KeyStore = session.keys()
    registered = session.read(lambda uow: uow.registry.current_keys([participant])).get(participant)
    if registered is None:
        raise UnknownParticipant(f"no participant {participant}")
    held = public_bytes(keys.load(participant))
    if held != registered:
        staged = keys.path(participant).with_name(f"{participant}.pem.next")
        interrupted = f"; {staged} may hold it (a rotation interrupted after it registered): move it to {keys.path(participant)}" if staged.exists() else ""
        raise KeyUnavailable(
            f"the key for {participant} in {keys.directory} is not its registered key{interrupted}; "
            f"if that key is lost or exposed, its registrar revokes it",
            hint="revoke",
        )
    new = keys.stage(participant)
    try:
        tx = key_tx(session.ledger_id, participant, public_bytes(new), ROTATED)
        payload = tx_bytes(tx)
        signatures = (keys.sign(participant, payload), Signature(participant, b64url(new.sign(payload))))
        session.submit(SignedTx(tx=tx, signatures=signatures, canonical=payload))
    except BaseException:
        keys.discard(participant)
        raise
    keys.promote(participant)
    return _last_change(session.store, participant)


def revoke_key(session: AuditSession, participant: str, public_key: bytes, by: str | None = None) -> KeyChange:
    """Install ``public_key`` (made by the participant) in place of ``participant``'s key, signed by its registrar."""
    check_id(participant, "participant id", PARTICIPANT_PATTERN)
    if len(public_key) != 32:
        raise BadInput("the new public key must be 32 bytes of Ed25519, base64url", hint="keys-new")
    who = session.read(lambda uow: session.participant(uow, participant))
    registrar = who.registrar or session.registry_policy().authority_of(who.jurisdiction)
    signer = by or registrar
    session.submit(_signed_by(session.keys(), key_tx(session.ledger_id, participant, public_key, REVOKED), signer))
    return _last_change(session.store, participant)


def _signed_by(keys: KeyStore, tx: Tx, signer: str) -> SignedTx:
    payload = tx_bytes(tx)
    return SignedTx(tx=tx, signatures=(keys.sign(signer, payload),), canonical=payload)


def key_history(store: Store, participant: str) -> list[KeyRecord]:
    check_id(participant, "participant id", PARTICIPANT_PATTERN)

    def read(uow: UnitOfWork) -> list[KeyRecord]:
        if uow.registry.participant(participant) is None:
            raise UnknownParticipant(f"no participant {participant}")
        return uow.registry.key_history(participant)

    return store.reading(read)


def _last_change(store: Store, participant: str) -> KeyChange:
    history = key_history(store, participant)
    return KeyChange(participant, history[-2], history[-1])
