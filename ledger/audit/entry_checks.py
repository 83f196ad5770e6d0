"""What ``verify`` checks of each journal row on its own, run on every core.

Everything about a stored row that does not depend on the entries before it
is checked by :func:`check_page`, which verify's worker processes run over
the pages the store reads (or verify itself, for a small journal): the row
decoded (its body strict and canonical), the hash-chain link from the
previous row's stored hash, the digest, whether the stored legs are the
body's, the leaf of the Merkle tree, and each signature under the key its
signer had at the entry's commit time by the stored key history. What comes
back is plain tuples (see :mod:`wonledger.domain.packed`), so the process
that replays the journal through the rulebook spends nothing on parsing.

Chaining from the previous row's *stored* hash is what a sequential check
does too: after a mismatch it goes on from the stored hash, so each link is
checked on its own either way. The replay still decides who signed: a
verdict counts only where the key the worker used is the one the replayed
registry gives (see ``wonledger.audit.verify``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from wonledger.audit.proofs import leaf_hash
from wonledger.book.signature_pool import Shared, verifies
from wonledger.domain import chain
from wonledger.domain.errors import LedgerError
from wonledger.domain.model import key_in_force
from wonledger.domain.packed import PackedSigned, pack
from wonledger.domain.signing import unb64url
from wonledger.store import JournalPage

#: The shared space of every signer's key history (signer -> list of KeyRecord, oldest first), as stored.
KEY_HISTORY = "key_history"

#: Per stored signature: (whether it verified, under which key), or None where there was nothing to check.
Verdict = tuple[bool, bytes] | None
#: What :func:`check_page` finds of one row (see :class:`CheckedRow`'s fields, in order).
CheckedRow = tuple[
    PackedSigned | None, str, "tuple[object, ...] | None", str | None, str | None, bool, bool, bytes, tuple[Verdict, ...]
]


def check_page(shared: Shared, items: Sequence[tuple[JournalPage, str]]) -> list[CheckedRow]:
    """Each row of each page (given with the stored hash of the row before the page) checked on its own.

    Per row: the decoded transaction packed (None: the body does not decode),
    why it does not, the stored signature list, why that is unreadable (None:
    readable), the hash the chain gives where it differs from the stored one
    (None: the link holds), whether the digest holds, whether the stored legs
    are the body's, the Merkle leaf, and a verdict per stored signature.
    """
    keys = shared.get(KEY_HISTORY, {})
    out: list[CheckedRow] = []
    for page, prev in items:
        for entry, legs in page.entries():
            try:
                if entry.signature_list is None:
                    raise ValueError("not a JSON list")
                envelope = chain.envelope_bytes(entry.seq, entry.at, entry.body, list(entry.signature_list))  # type: ignore[arg-type]
                unreadable = None
            except (ValueError, LedgerError) as exc:
                envelope, unreadable = b"", str(exc)
            linked = chain.next_hash(prev, envelope)
            prev = entry.hash
            signed = entry.signed
            legs_match = signed is not None and legs == tuple((leg.debit, leg.credit, leg.asset, leg.amount) for leg in signed.tx.legs)
            verdicts = _verdicts(entry.signature_list, entry.at, entry.body, keys) if signed is not None and unreadable is None else ()
            out.append((
                pack(signed) if signed is not None else None,
                entry.problem,
                entry.signature_list,
                unreadable,
                None if linked == entry.hash else linked,
                chain.digest(entry.body) == entry.digest,
                legs_match,
                _leaf(entry.hash),
                verdicts,
            ))
    return out


def _verdicts(signature_list: tuple[object, ...] | None, at: str, payload: bytes, keys: dict) -> tuple[Verdict, ...]:
    found: list[Verdict] = []
    for sig in signature_list or ():
        listed = sig if isinstance(sig, dict) else {}
        signer = listed.get("signer")
        stored = key_in_force(keys.get(signer, ()), at) if isinstance(signer, str) else None
        key = stored.public_key if stored is not None else None
        try:
            raw = unb64url(listed.get("sig", "")) if key is not None else None
        except LedgerError:
            raw = None
        found.append(None if key is None or raw is None else (verifies(key, payload, raw), key))
    return tuple(found)


def _leaf(entry_hash: str) -> bytes:
    try:
        return leaf_hash(entry_hash)
    except ValueError:  # not hex: already a hash problem; any leaf will do, the root will differ
        return hashlib.sha256(b"\x00" + entry_hash.encode()).digest()
