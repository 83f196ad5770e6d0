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


def digest(canonical_tx: bytes) -> str:
    """What idempotency compares: the SHA-256 of a transaction's canonical bytes."""
    return hashlib.sha256(canonical_tx).hexdigest()
