"""Anchors for `verify`: a checkpoint or an operator key the user trusts, from outside the database.

`verify` alone reads the checkpoints and the operator key from the same
database it checks, so someone who can write that database could truncate
the journal, or rewrite and re-chain it, and sign fresh checkpoints with a
key of their own stored beside them. An :class:`Anchor` is what the user
brings from elsewhere: the operator's public key (as ``checkpoint`` and
``info`` print it) and/or a checkpoint saved earlier (``checkpoint --out``).
:func:`verify_anchored` runs the ordinary `verify` and then holds the ledger
to the anchor:

- the trusted checkpoint is this ledger's and its signature holds (under the
  pinned key when one is given);
- the journal still has every entry the checkpoint covers, and the Merkle
  root of its first ``seq`` entries is the checkpoint's root (the replay has
  already checked that those entries' stored hashes are the chain's);
- the operator key stored in the ledger, and every stored checkpoint's, is
  the trusted key, and every stored checkpoint's signature holds under it;
- with only a key given, at least one stored checkpoint is signed by it:
  otherwise nothing anchors the journal.

Each failure is a problem of kind ``anchor`` in the usual verify report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from wonledger.audit.proofs import Checkpoint, MalformedCheckpoint, checkpoint_from_json, leaf_hash, merkle_root
from wonledger.audit.verify import Problem, VerifyReport, verify_ledger
from wonledger.domain.errors import BadInput, BadStatement
from wonledger.domain.strict import loads as strict_loads
from wonledger.domain.strict import unb64url
from wonledger.store import OPERATOR_META, Store

ANCHOR = "anchor"
#: The meta key under which a ledger keeps its operator's public key (ledger.audit writes it).
#: No checkpoint file is anywhere near this large; a bigger one is refused unread.
MAX_CHECKPOINT_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Anchor:
    """What `verify` trusts from outside the database.

    ``operator_key``: the operator's public key (base64url); ``checkpoint``:
    a checkpoint saved earlier. ``needs_checkpoint``: with a key alone, fail
    unless some stored checkpoint is signed by it (the operator's own check
    before its first checkpoint turns this off).
    """

    operator_key: str | None = None
    checkpoint: Checkpoint | None = None
    needs_checkpoint: bool = True

    @property
    def trusted_key(self) -> str | None:
        if self.operator_key is not None:
            return self.operator_key
        return self.checkpoint.operator_key if self.checkpoint is not None else None


def read_operator_key(text: str) -> str:
    """An operator public key as typed (or read from a file): canonical base64url of 32 bytes."""
    key = text.strip()
    try:
        unb64url(key, 32, "the operator key")
    except ValueError as exc:
        raise BadInput(f"{exc}; give the key `checkpoint` or `info` prints") from None
    return key


def read_checkpoint(raw: bytes, where: str = "the checkpoint file") -> Checkpoint:
    """A checkpoint saved earlier (``checkpoint --out`` or ``--json``), strictly read; BAD_STATEMENT if it is not one."""
    if len(raw) > MAX_CHECKPOINT_BYTES:
        raise BadStatement(f"{where} is larger than any checkpoint ({MAX_CHECKPOINT_BYTES} bytes)")
    try:
        document = strict_loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadStatement(f"{where} is not JSON: {exc}") from None
    try:
        return checkpoint_from_json(document, "the checkpoint")
    except MalformedCheckpoint as exc:
        raise BadStatement(f"{where} is not a wonledger checkpoint: {exc}") from None


def verify_anchored(store: Store, anchor: Anchor | None = None, progress: Callable[[int], None] | None = None) -> VerifyReport:
    """`verify`, then the anchor's checks (none without an anchor), all on one snapshot of the database."""
    with store.snapshot():
        report = verify_ledger(store, progress)
        if anchor is not None:
            report.problems.extend(check_anchor(store, anchor))
    return report


def check_anchor(store: Store, anchor: Anchor) -> list[Problem]:
    """Every way the ledger fails to extend what ``anchor`` vouches for (empty when it does)."""
    problems: list[Problem] = []

    def problem(detail: str) -> None:
        problems.append(Problem(None, ANCHOR, detail))

    trusted = anchor.trusted_key
    if trusted is None:
        return problems
    cp = anchor.checkpoint
    if cp is not None:
        if cp.ledger != store.ledger_id:
            problem(f"the trusted checkpoint is of ledger {cp.ledger}, not of this ledger {store.ledger_id}")
            return problems
        if cp.operator_key != trusted:
            problem(f"the trusted checkpoint is signed by {cp.operator_key}, not by the operator key you gave ({trusted})")
        elif not cp.signed():
            problem(f"the operator's signature on the trusted checkpoint {cp.seq} does not verify: the file was altered")
    stored_key, stored, (head, _) = store.reading(lambda uow: (uow.records.meta(OPERATOR_META), uow.records.checkpoints(), uow.journal.head()))
    if stored_key != trusted:
        problem(f"the ledger's stored operator key is {stored_key}, not the trusted {trusted}")
    signed_by_trusted = 0
    for c in stored:
        held = Checkpoint(store.ledger_id, c.seq, c.root, c.at, c.signature, c.operator_key)
        if c.operator_key != trusted:
            problem(f"stored checkpoint {c.seq} is signed by {c.operator_key}, not by the trusted operator key")
        elif not held.signed():
            problem(f"the trusted operator's signature on stored checkpoint {c.seq} does not verify")
        else:
            signed_by_trusted += 1
    if cp is None and anchor.needs_checkpoint and not signed_by_trusted:
        problem(f"no stored checkpoint is signed by the trusted operator key {trusted}: nothing anchors the journal")
    if cp is not None:
        if head < cp.seq:
            problem(f"the journal ends at entry {head}, but the trusted checkpoint covers entries 1 to {cp.seq}: it was truncated")
        else:
            root = merkle_root(_leaf(h) for _, h in store.stream_hashes(cp.seq)).hex()
            if root != cp.root:
                problem(
                    f"entries 1 to {cp.seq} give root {root[:16]}..., not the trusted checkpoint's {cp.root[:16]}...: "
                    "the journal was rewritten"
                )
    return problems


def _leaf(entry_hash: str) -> bytes:
    try:
        return leaf_hash(entry_hash)
    except ValueError:  # not hex: the replay reports the hash; any other leaf will do, the root will differ
        return hashlib.sha256(b"\x00" + entry_hash.encode()).digest()
