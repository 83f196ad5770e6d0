"""The journal's hash chain and the ledger's notion of time.

Entry ``seq`` gets ``hash = SHA-256(previous hash || RFC 8785 bytes of
{"seq", "at", "tx", "signatures"})``, the previous hash taken as its 32 raw
bytes (32 zero bytes before the first entry) and the result written as
lower-case hex. ``at`` is the commit time in ISO 8601 UTC with microseconds
("2026-11-22T03:50:00.123456Z"), a fixed width so text order is time order.
"""

from __future__ import annotations

import hashlib

from wonledger.domain.signing import canonical_bytes
from wonledger.domain.timestamps import expiry as expiry  # re-exported
from wonledger.domain.timestamps import iso as iso
from wonledger.domain.timestamps import parse_iso as parse_iso
from wonledger.domain.timestamps import utc_now as utc_now

GENESIS = "0" * 64


def envelope_bytes(seq: int, at: str, canonical_tx: bytes, signatures: list[dict[str, str]] | bytes) -> bytes:
    """RFC 8785 bytes of {"at", "seq", "signatures", "tx"}, reusing the tx's canonical bytes.

    ``signatures`` is the list, or its canonical bytes when the caller has them.

    JCS sorts keys and embeds nested values in their own canonical form, so
    splicing the already-canonical ``tx`` in is byte-for-byte what
    ``rfc8785.dumps`` of the whole object gives (a test holds us to it).
    """
    return b"".join(
        (
            b'{"at":',
            canonical_bytes(at, plain=True),
            b',"seq":',
            str(seq).encode(),
            b',"signatures":',
            signatures if isinstance(signatures, bytes) else canonical_bytes(signatures),
            b',"tx":',
            canonical_tx,
            b"}",
        )
    )


def next_hash(previous: str, envelope: bytes) -> str:
    return hashlib.sha256(bytes.fromhex(previous) + envelope).hexdigest()


class Link:
    """The chain extended entry by entry from ``previous``: what :func:`envelope_bytes` and :func:`next_hash` give, one entry at a time.

    The book chains every entry of a chunk here: the previous hash is kept
    as bytes and the commit time's canonical bytes are taken once per time,
    not once per entry.
    """

    __slots__ = ("_at", "_at_bytes", "_previous")

    def __init__(self, previous: str, at: str) -> None:
        self._previous = bytes.fromhex(previous)
        self._at, self._at_bytes = at, canonical_bytes(at, plain=True)

    def next(self, seq: int, at: str, canonical_tx: bytes, signatures: bytes) -> str:
        """The hash of entry ``seq`` committed at ``at`` (``signatures``: their canonical bytes), in hex."""
        if at != self._at:
            self._at, self._at_bytes = at, canonical_bytes(at, plain=True)
        envelope = b"".join((b'{"at":', self._at_bytes, b',"seq":', str(seq).encode(), b',"signatures":', signatures, b',"tx":', canonical_tx, b"}"))
        self._previous = hashlib.sha256(self._previous + envelope).digest()
        return self._previous.hex()


def digest(canonical_tx: bytes) -> str:
    """What idempotency compares: the SHA-256 of a transaction's canonical bytes."""
    return hashlib.sha256(canonical_tx).hexdigest()
