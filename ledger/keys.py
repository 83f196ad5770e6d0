"""Key rotation and revocation: a participant's signing key replaced, its history kept.

Every key a participant has had stays in the registry (``participant_keys``)
with the span of commit times in which it could sign: from ``valid_from`` up
to, not including, ``retired_at``. So:

- a **rotated** key's old transactions still verify, under the key that was
  valid at their commit time (the entry's ``at``);
- from the moment a key is retired, by rotation or revocation, it signs
  nothing: the book refuses a new transaction signed with it
  (``BAD_SIGNATURE``), even one signed before the rotation and submitted after;
- **rotate** is the routine change: it needs the current private key in the
  key store (whoever rotates must hold it);
- **revoke** is for a key that is lost or compromised: it needs no private
  key, and it also issues a new one, or the participant could never sign
  again (a post or void of its holds included). Entries committed before the
  revocation stay valid: the chain already commits to them, and a
  compromise is dated by when it was reported. What the registry keeps says
  when and why each key was retired (``wonledger keys list ID``).

The new private key is written beside the old one first (``<id>.pem.next``,
0600), the registry changes in one write transaction queued with the book's
writers, and only then does the new file replace the old, whose private key
is gone afterwards. A crash before the commit leaves the old key and the
registry as they were; a crash after it leaves the registered new key in
``<id>.pem.next``: signing then fails with ``BAD_SIGNATURE``, `keys rotate`
says to move that file over ``<id>.pem``, and `keys revoke` starts afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ledger import chain
from ledger.errors import KeyUnavailable, UnknownParticipant
from ledger.model import PARTICIPANT_PATTERN, KeyRecord, check_id
from ledger.signing import KeyStore, public_bytes
from ledger.store import Store, UnitOfWork

ROTATED = "rotated"
REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class KeyChange:
    """What a rotation or revocation did: the key retired and the key that signs from now on."""

    participant: str
    retired: KeyRecord
    current: KeyRecord


def replace_key(store: Store, keys: KeyStore, participant: str, reason: str, clock: Callable[[], datetime]) -> KeyChange:
    """Retire ``participant``'s current key for ``reason`` and register a new one from the key store."""
    check_id(participant, "participant id", PARTICIPANT_PATTERN)
    registered = store.reading(lambda uow: uow.current_keys([participant])).get(participant)
    if registered is None:
        raise UnknownParticipant(f"no participant {participant}")
    if reason == ROTATED:
        # A rotation is made by whoever holds the key: the key store must hold the registered one.
        held = public_bytes(keys.load(participant))
        if held != registered:
            staged = keys.path(participant).with_name(f"{participant}.pem.next")
            interrupted = f"; {staged} may hold it (a rotation interrupted after it registered): move it to {keys.path(participant)}" if staged.exists() else ""
            raise KeyUnavailable(
                f"the key for {participant} in {keys.directory} is not its registered key{interrupted}; "
                f"if that key is lost or exposed, use `keys revoke {participant}`"
            )
    new_public = public_bytes(keys.stage(participant))

    def write(uow: UnitOfWork) -> KeyChange:
        uow.head(lock=True)  # queue with the book's writers: no entry commits between our clock read and the change
        history = uow.key_history(participant)
        current = next((k for k in history if k.retired_at is None), None)
        if current is None or current.public_key != registered:
            raise KeyUnavailable(f"{participant}'s key changed while this ran; run the command again")
        at = _change_time(chain.iso(clock()), uow.last_entry_at(), current.valid_from)
        uow.replace_key(participant, new_public, at, reason)
        return KeyChange(
            participant,
            KeyRecord(participant, current.public_key, current.valid_from, at, reason),
            KeyRecord(participant, new_public, at),
        )

    try:
        change = store.writing(write)
    except BaseException:
        keys.discard(participant)
        raise
    keys.promote(participant)
    return change


def key_history(store: Store, participant: str) -> list[KeyRecord]:
    check_id(participant, "participant id", PARTICIPANT_PATTERN)

    def read(uow: UnitOfWork) -> list[KeyRecord]:
        if uow.participant(participant) is None:
            raise UnknownParticipant(f"no participant {participant}")
        return uow.key_history(participant)

    return store.reading(read)


def _change_time(now: str, last_entry: str | None, current_from: str) -> str:
    """The retirement time: now, but strictly after every committed entry and the key's own start.

    Entries at or after it must be signed by the new key; one committed in the
    same microsecond as the change would otherwise fall under the wrong key.
    """
    floor = max(_next_microsecond(last_entry) if last_entry else now, _next_microsecond(current_from))
    return max(now, floor)


def _next_microsecond(at: str) -> str:
    return chain.iso(chain.parse_iso(at) + timedelta(microseconds=1))
