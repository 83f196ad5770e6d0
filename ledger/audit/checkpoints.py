"""Checkpoints and inclusion proofs over a ledger's store: the operator key, signing the journal's root, proving an entry.

A checkpoint is a signed note beside the journal, not an entry in it: the
operator's Ed25519 signature over the Merkle root (RFC 9162) of journal
entries 1..seq (:mod:`wonledger.audit.operations.proofs` holds the trees and the offline
checks). The operator key is made at ``init`` (or, for a ledger made before
checkpoints existed, at its first ``checkpoint``); its public half is kept
in the ledger's ``meta`` table, its private half in the key directory (see
:class:`wonledger.domain.signing.KeyStore`). Both go through the session's ``record``,
the book's path for records no rule reads.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from wonledger.audit.anchors import Anchor, verify_anchored
from wonledger.audit.proofs import (
    PROOF_FORMAT,
    Checkpoint,
    checkpoint_payload,
    consistency_json,
    consistency_path,
    inclusion_path,
    leaf_hash,
    merkle_root,
)
from wonledger.book.session import AuditSession
from wonledger.domain import chain
from wonledger.domain.errors import BadInput, IntegrityProblem, KeyUnavailable, UnknownTransaction
from wonledger.domain.signing import b64url, public_bytes
from wonledger.store import GENESIS_HASH, OPERATOR_META, StoredCheckpoint, UnitOfWork

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "Checkpoint",
    "build_proof",
    "consistency",
    "ensure_operator_key",
    "latest_checkpoint",
    "make_checkpoint",
    "previous_checkpoint",
]


def ensure_operator_key(session: AuditSession) -> Ed25519PrivateKey:
    """The operator key of this ledger, made (and its public half registered) if it has none yet."""
    store, keys = session.store, session.keys()
    public = store.reading(lambda uow: uow.records.meta(OPERATOR_META))
    if public is None:
        path = keys.operator_path(store.ledger_id)
        key = keys.load_operator(store.ledger_id) if path.exists() else keys.create_operator(store.ledger_id)

        def register(uow: UnitOfWork) -> str:
            # (the book queues this behind its writers: one registration even if two first checkpoints race)
            existing = uow.records.meta(OPERATOR_META)
            if existing is None:
                existing = b64url(public_bytes(key))
                uow.records.set_meta(OPERATOR_META, existing)
            return existing

        public = session.record(register)
    key = keys.load_operator(store.ledger_id)
    if b64url(public_bytes(key)) != public:
        raise KeyUnavailable(
            f"{keys.operator_path(store.ledger_id)} is not the operator key this ledger registered ({public})"
        )
    return key


def _checkpoint(ledger_id: str, c: StoredCheckpoint) -> Checkpoint:
    return Checkpoint(ledger_id, c.seq, c.root, c.at, c.signature, c.operator_key)


def make_checkpoint(session: AuditSession, since: Checkpoint | None = None) -> tuple[Checkpoint, bool]:
    """Sign a checkpoint at the journal's head; returns it and whether it is new.

    The operator signs only a journal that verifies, held to its own key (the
    private half in the key directory) and to ``since``, a checkpoint saved
    earlier, when given: a checkpoint vouches for what it covers, so signing
    a damaged, truncated or rewritten journal would launder it.
    """
    store, ledger_id = session.store, session.ledger_id
    operator = ensure_operator_key(session)
    seq, _ = store.reading(lambda uow: uow.journal.head())
    if seq == 0:
        raise BadInput("the journal is empty: there is nothing to checkpoint yet")
    own_key = b64url(public_bytes(operator))
    report = verify_anchored(store, Anchor(own_key, since, needs_checkpoint=False))
    if not report.ok:
        first = report.problems[0]
        raise IntegrityProblem(
            f"refusing to sign a journal that does not verify: {len(report.problems)} problem(s), the first "
            f"{first.kind}: {'tx ' + first.tx + ': ' if first.tx else ''}{first.detail}"
        )
    seq = report.transactions  # exactly what was verified, even if more entries have landed since
    latest = store.reading(lambda uow: uow.records.latest_checkpoint())
    if latest is not None and latest.seq == seq:
        return _checkpoint(ledger_id, latest), False
    root = merkle_root(leaf_hash(h) for _, h in store.stream_hashes(seq)).hex()
    at = chain.iso(session.clock())
    signature = b64url(operator.sign(checkpoint_payload(ledger_id, seq, root, at)))
    made = StoredCheckpoint(seq, root, at, signature, own_key)

    def write(uow: UnitOfWork) -> tuple[StoredCheckpoint, bool]:
        existing = uow.records.latest_checkpoint()
        if existing is not None and existing.seq >= seq:
            return existing, False
        uow.records.add_checkpoint(made)
        return made, True

    kept, new = session.record(write)
    return _checkpoint(ledger_id, kept), new


def previous_checkpoint(session: AuditSession, before: int) -> Checkpoint | None:
    """The latest stored checkpoint covering fewer than ``before`` entries."""
    earlier = [c for c in session.read(lambda uow: uow.records.checkpoints()) if c.seq < before]
    return _checkpoint(session.ledger_id, earlier[-1]) if earlier else None


def latest_checkpoint(session: AuditSession) -> Checkpoint | None:
    found = session.read(lambda uow: uow.records.latest_checkpoint())
    return _checkpoint(session.ledger_id, found) if found else None


def consistency(session: AuditSession, old: Checkpoint, new: Checkpoint) -> dict[str, object]:
    """RFC 9162's proof that checkpoint ``new`` extends ``old``, as the ``consistency`` member of ``new``'s file."""
    store, ledger_id = session.store, session.ledger_id
    if old.ledger != ledger_id or new.ledger != ledger_id:
        raise BadInput(f"a checkpoint of ledger {old.ledger if old.ledger != ledger_id else new.ledger}, not of this ledger {ledger_id}")
    if old.seq > new.seq:
        raise BadInput(f"checkpoint {old.seq} is later than checkpoint {new.seq}")
    path, root = consistency_path(old.seq, new.seq, (leaf_hash(h) for _, h in store.stream_hashes(new.seq)))
    old_root = merkle_root(leaf_hash(h) for _, h in store.stream_hashes(old.seq)).hex()
    if root.hex() != new.root or old_root != old.root:
        raise IntegrityProblem(f"the journal no longer gives the roots of checkpoints {old.seq} and {new.seq}")
    return consistency_json(old.seq, old.root, path)


def build_proof(session: AuditSession, tx_id: str) -> dict[str, object]:
    """A transaction, its signatures, its path to the latest checkpoint and that checkpoint, as JSON."""
    store, ledger_id = session.store, session.ledger_id

    def read(uow: UnitOfWork):
        found = uow.journal.entry(tx_id)
        if found is None:
            raise UnknownTransaction(f"no transaction {tx_id}")
        entry = found[0]
        cp = uow.records.latest_checkpoint()
        if cp is None or cp.seq < entry.seq:
            where = f"the latest checkpoint covers entries 1 to {cp.seq}" if cp else "there is no checkpoint yet"
            raise BadInput(f"{tx_id} is entry {entry.seq} and {where}", hint="checkpoint")
        previous = GENESIS_HASH if entry.seq == 1 else uow.journal.entry_hash(entry.seq - 1)
        return entry, cp, previous

    entry, cp, previous = session.read(read)
    path, root = inclusion_path(entry.seq - 1, cp.seq, (leaf_hash(h) for _, h in store.stream_hashes(cp.seq)))
    if root.hex() != cp.root:
        raise IntegrityProblem(f"the journal no longer gives checkpoint {cp.seq}'s root", hint="verify")
    # (read after the root holds: a journal that no longer gives it is reported as that, whatever else is wrong)
    signatures = [dict(sorted(s.to_wire().items())) for s in entry.signed.signatures]  # as stored: canonical JSON sorts keys
    # The keys that signed then: a participant whose key has since been rotated signed with its old one.
    keys = session.read(lambda uow: uow.registry.keys_at({s["signer"] for s in signatures}, entry.at))
    return {
        "format": PROOF_FORMAT,
        "ledger": ledger_id,
        "entry": {
            "seq": entry.seq,
            "at": entry.at,
            "tx": json.loads(entry.body),
            "signatures": signatures,
            "previous_hash": previous,
            "hash": entry.hash,
        },
        "signer_keys": {pid: b64url(key) for pid, key in keys.items()},
        "inclusion": {"leaf_index": entry.seq - 1, "tree_size": cp.seq, "path": [p.hex() for p in path]},
        "checkpoint": _checkpoint(ledger_id, cp).to_json(),
    }
