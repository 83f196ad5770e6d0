"""Audit proofs: the Merkle tree over the journal, signed checkpoints, inclusion proofs.

The tree is RFC 6962's (Certificate Transparency, kept in RFC 9162 section
2.1) over SHA-256. Leaf ``i`` (0-based) is journal entry ``seq = i + 1``; its
leaf data is the 32 raw bytes of that entry's chain hash, so

    leaf_hash(entry) = SHA-256(0x00 || bytes.fromhex(entry.hash))
    node(left, right) = SHA-256(0x01 || left || right)

and the root of ``n`` leaves splits at ``k``, the largest power of two below
``n``: ``MTH(D[0:n]) = node(MTH(D[0:k]), MTH(D[k:n]))``. A checkpoint is the
operator's Ed25519 signature over the RFC 8785 bytes of
``{"type": "wonledger-checkpoint/1", "ledger", "seq", "root", "at"}``.

:func:`verify_proof` checks a proof (as built by :mod:`wonledger.audit.operations`) with no
database and nothing of wonledger but this module and :mod:`wonledger.domain.strict`:
it needs only ``hashlib``, ``rfc8785`` and ``cryptography``. docs/proofs.md
describes the same format for people who would rather check it with their
own code.

Consistency proofs (RFC 9162 section 2.1.4) show that a later checkpoint's
tree extends an earlier one's: :func:`consistency_path` makes one,
:func:`consistency_holds` checks one, and :func:`verify_consistency` checks
two checkpoint files against each other, offline like :func:`verify_proof`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from wonledger.domain.strict import JsonValue, unb64url

PROOF_FORMAT = "wonledger-inclusion-proof/1"
CHECKPOINT_TYPE = "wonledger-checkpoint/1"
GENESIS = "0" * 64
#: Kinds whose every debtor must have signed (a post may be signed by the hold's creditors instead;
#: a void or an expiry has no legs to say whose it is).
_DEBTOR_SIGNED = ("transfer", "issue", "deposit", "withdraw", "mint", "redeem", "pay", "swap", "send", "hold", "reversal")
_HEX64 = re.compile(r"[0-9a-f]{64}")


# -- the tree -------------------------------------------------------------------


def leaf_hash(entry_hash_hex: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(entry_hash_hex)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class TreeBuilder:
    """The RFC 6962 root of leaves added one at a time, in O(log n) memory."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []  # (leaves under it, hash), sizes strictly falling
        self.size = 0

    def add(self, leaf: bytes) -> None:
        size, digest = 1, leaf
        while self._stack and self._stack[-1][0] == size:
            left_size, left = self._stack.pop()
            size, digest = left_size + size, node_hash(left, digest)
        self._stack.append((size, digest))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return hashlib.sha256(b"").digest()
        digest = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            digest = node_hash(left, digest)
        return digest


def merkle_root(leaves: Iterable[bytes]) -> bytes:
    tree = TreeBuilder()
    for leaf in leaves:
        tree.add(leaf)
    return tree.root()


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def path_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges [lo, hi) whose roots form RFC 6962's PATH(index, D[0:size]), bottom first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _largest_power_of_two_below(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo = lo + k
    ranges.reverse()
    return ranges


def inclusion_path(index: int, size: int, leaves: Iterable[bytes]) -> tuple[list[bytes], bytes]:
    """The audit path of leaf ``index`` and the root, from one pass over the ``size`` leaves."""
    return range_roots(path_ranges(index, size), size, leaves)


def range_roots(ranges: list[tuple[int, int]], size: int, leaves: Iterable[bytes]) -> tuple[list[bytes], bytes]:
    """The roots of the disjoint leaf ranges ``ranges`` (in their order) and of all ``size`` leaves, in one pass."""
    by_start = sorted(ranges)
    roots: dict[tuple[int, int], bytes] = {}
    whole = TreeBuilder()
    current: tuple[int, int] | None = None
    part = TreeBuilder()
    pending: Iterator[tuple[int, int]] = iter(by_start)
    upcoming = next(pending, None)
    for i, leaf in enumerate(leaves):
        if i >= size:
            break
        whole.add(leaf)
        if current is None and upcoming is not None and upcoming[0] == i:
            current, part, upcoming = upcoming, TreeBuilder(), next(pending, None)
        if current is not None:
            part.add(leaf)
            if i + 1 == current[1]:
                roots[current] = part.root()
                current = None
    if whole.size != size:
        raise ValueError(f"the journal has {whole.size} entries, fewer than {size}")
    return [roots[r] for r in ranges], whole.root()


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The leaf ranges [lo, hi) whose roots form RFC 9162's PROOF(m, D[0:n]) (section 2.1.4.1), in order.

    SUBPROOF(m, D[n], b): for m == n, nothing when D[0:m] is a subtree the
    verifier already knows (b), else MTH(D[n]); for m < n split at k, the
    largest power of two below n: when m <= k, SUBPROOF(m, D[0:k], b) then
    MTH(D[k:n]); when m > k, SUBPROOF(m - k, D[k:n], false) then MTH(D[0:k]).
    PROOF(m, D[n]) = SUBPROOF(m, D[n], true). Equal sizes need no proof.
    """
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from a tree of {old_size} to one of {new_size}")
    ranges: list[tuple[int, int]] = []
    lo, hi, m, known = 0, new_size, old_size, True
    tail: list[tuple[int, int]] = []  # each level's sibling, appended after the deeper levels' nodes
    while m != hi - lo:
        k = _largest_power_of_two_below(hi - lo)
        if m <= k:
            tail.append((lo + k, hi))
            hi = lo + k
        else:
            tail.append((lo, lo + k))
            lo, m, known = lo + k, m - k, False
    if not known:
        ranges.append((lo, hi))
    ranges.extend(reversed(tail))
    return ranges


def consistency_path(old_size: int, new_size: int, leaves: Iterable[bytes]) -> tuple[list[bytes], bytes]:
    """RFC 9162's consistency proof from the first ``old_size`` leaves to ``new_size``, and the new root, in one pass."""
    return range_roots(consistency_ranges(old_size, new_size), new_size, leaves)


def consistency_holds(old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: list[bytes]) -> bool:
    """RFC 9162 section 2.1.4.2: whether ``path`` proves the tree of ``old_root`` is a prefix of ``new_root``'s."""
    if old_size == new_size:
        return old_size > 0 and not path and old_root == new_root
    if not 0 < old_size < new_size or not path:
        return False
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is itself a node of the new tree
        path = [old_root, *path]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


def root_from_path(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes | None:
    """RFC 9162 section 2.1.3.2: the root a path leads to, or None if it cannot be a path."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


# -- checkpoints --------------------------------------------------------------------


def checkpoint_payload(ledger: str, seq: int, root: str, at: str) -> bytes:
    """The bytes the operator signs."""
    return rfc8785.dumps({"type": CHECKPOINT_TYPE, "ledger": ledger, "seq": seq, "root": root, "at": at})


def envelope_bytes(seq: int, at: str, tx: JsonValue, signatures: JsonValue) -> bytes:
    """What an entry's chain hash covers (after the previous hash): RFC 8785 of {"seq", "at", "tx", "signatures"}."""
    return rfc8785.dumps({"seq": seq, "at": at, "tx": tx, "signatures": signatures})


# -- offline verification -----------------------------------------------------------


@dataclass(slots=True)
class _OfflineChecks:
    """What an offline check found: each check that held, each problem; ``ok`` when there were checks and no problem."""

    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.checks)

    def to_json(self) -> dict[str, object]:
        """``ok``, the report's own facts in the order they are declared, then ``checks`` and ``problems``."""
        facts = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("checks", "problems")}
        return {"ok": self.ok, **facts, "checks": self.checks, "problems": self.problems}


@dataclass(slots=True)
class ProofReport(_OfflineChecks):
    """What :func:`verify_proof` found: ``ok`` when every check held."""

    tx: str | None = None
    seq: int | None = None
    checkpoint_seq: int | None = None
    operator_key: str | None = None


class _Altered(Exception):
    """A part of the proof is missing, malformed or does not hold."""


def _field(obj: object, name: str, kind: type, where: str) -> Any:
    if not isinstance(obj, dict) or name not in obj:
        raise _Altered(f"{where} has no {name!r}")
    value = obj[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _Altered(f"{where}.{name} is not {'an integer' if kind is int else 'a ' + kind.__name__}")
    return value


def _hex32(text: str, what: str) -> bytes:
    # Lower-case only: 'A' and 'a' decode alike, and a changed byte of the proof must not pass.
    if not _HEX64.fullmatch(text):
        raise _Altered(f"{what} is not 64 lower-case hex digits")
    return bytes.fromhex(text)


def _b64url(text: str, length: int, what: str) -> bytes:
    # Only the one canonical spelling (ledger.strict): a changed character must not pass.
    try:
        return unb64url(text, length, what)
    except ValueError as exc:
        raise _Altered(str(exc)) from None


def _signature_holds(key: bytes, sig: bytes, payload: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(sig, payload)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_proof(proof: object, operator_key: str | None = None) -> ProofReport:
    """Check an inclusion proof offline; ``operator_key`` (base64url) pins whose checkpoint to trust."""
    report = ProofReport()
    try:
        _verify(proof, operator_key, report)
    except _Altered as exc:
        report.problems.append(str(exc))
    return report


def _verify(proof: object, pinned: str | None, report: ProofReport) -> None:
    if _field(proof, "format", str, "the proof") != PROOF_FORMAT:
        raise _Altered(f"the proof's format is not {PROOF_FORMAT}")
    assert isinstance(proof, dict)
    ledger = _field(proof, "ledger", str, "the proof")
    entry = _field(proof, "entry", dict, "the proof")
    tx = _field(entry, "tx", dict, "entry")
    report.tx = _field(tx, "id", str, "entry.tx")
    seq = report.seq = _field(entry, "seq", int, "entry")
    at = _field(entry, "at", str, "entry")
    signatures = _field(entry, "signatures", list, "entry")
    previous = _hex32(_field(entry, "previous_hash", str, "entry"), "entry.previous_hash")
    entry_hash = _field(entry, "hash", str, "entry")
    _hex32(entry_hash, "entry.hash")
    keys = _field(proof, "signer_keys", dict, "the proof")
    inclusion = _field(proof, "inclusion", dict, "the proof")
    checkpoint = _field(proof, "checkpoint", dict, "the proof")

    # 1. The transaction's signatures, over the RFC 8785 bytes of `tx`.
    if _field(tx, "ledger", str, "entry.tx") != ledger:
        raise _Altered("the transaction names another ledger than the proof")
    try:
        payload = rfc8785.dumps(tx)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise _Altered(f"entry.tx cannot be put in canonical form: {exc}") from None
    signed = set()
    for n, sig in enumerate(signatures, 1):
        signer = _field(sig, "signer", str, f"signature {n}")
        raw_sig = _b64url(_field(sig, "sig", str, f"signature {n}"), 64, f"the signature of {signer}")
        key = _b64url(_field(keys, signer, str, "signer_keys"), 32, f"the key of {signer}")
        if not _signature_holds(key, raw_sig, payload):
            raise _Altered(f"the signature of {signer} does not verify over the transaction")
        signed.add(signer)
    if set(keys) - signed:
        raise _Altered(f"signer_keys names {', '.join(sorted(set(keys) - signed))}, who did not sign")
    _check_signers(tx, signed)
    report.checks.append(f"signatures of {', '.join(sorted(signed)) or 'nobody (a ledger-written expiry)'} hold")

    # 2. The entry's place in the hash chain.
    if seq < 1:
        raise _Altered("entry.seq must be 1 or more")
    if seq == 1 and previous != bytes(32):
        raise _Altered("the first entry's previous hash must be 32 zero bytes")
    try:
        envelope = envelope_bytes(seq, at, tx, signatures)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise _Altered(f"the entry cannot be put in canonical form: {exc}") from None
    if hashlib.sha256(previous + envelope).hexdigest() != entry_hash:
        raise _Altered("entry.hash is not SHA-256(previous_hash || RFC 8785 of {seq, at, tx, signatures})")
    report.checks.append(f"entry {seq} hashes to {entry_hash}")

    # 3. The path from the entry's leaf to the checkpoint's root.
    index = _field(inclusion, "leaf_index", int, "inclusion")
    size = _field(inclusion, "tree_size", int, "inclusion")
    path = [_hex32(p, f"inclusion.path[{i}]") if isinstance(p, str) else _bad_path(i) for i, p in enumerate(_field(inclusion, "path", list, "inclusion"))]
    cp_seq = report.checkpoint_seq = _field(checkpoint, "seq", int, "checkpoint")
    cp_root = _field(checkpoint, "root", str, "checkpoint")
    if index != seq - 1:
        raise _Altered(f"inclusion.leaf_index {index} is not entry.seq - 1")
    if size != cp_seq:
        raise _Altered(f"inclusion.tree_size {size} is not the checkpoint's seq {cp_seq}")
    root = root_from_path(leaf_hash(entry_hash), index, size, path)
    if root is None or root != _hex32(cp_root, "checkpoint.root"):
        raise _Altered("the inclusion path does not lead to the checkpoint's root")
    report.checks.append(f"leaf {index} is in the tree of {size} entries with root {cp_root}")

    # 4. The operator's signature on the checkpoint.
    if _field(checkpoint, "ledger", str, "checkpoint") != ledger:
        raise _Altered("the checkpoint names another ledger than the proof")
    operator = report.operator_key = _field(checkpoint, "operator_key", str, "checkpoint")
    operator_raw = _b64url(operator, 32, "checkpoint.operator_key")
    cp_sig = _b64url(_field(checkpoint, "signature", str, "checkpoint"), 64, "checkpoint.signature")
    cp_at = _field(checkpoint, "at", str, "checkpoint")
    if not _signature_holds(operator_raw, cp_sig, checkpoint_payload(ledger, cp_seq, cp_root, cp_at)):
        raise _Altered("the operator's signature on the checkpoint does not verify")
    if pinned is not None and pinned != operator:
        raise _Altered(f"the checkpoint is signed by {operator}, not by the operator key you gave ({pinned})")
    report.checks.append(f"checkpoint {cp_seq} is signed by operator key {operator}{' (pinned)' if pinned else ''}")


def _bad_path(i: int) -> bytes:
    raise _Altered(f"path[{i}] is not a string")


def _check_signers(tx: dict[str, Any], signed: set[str]) -> None:
    """Offline authorization: account ids are ``owner:asset[:label]``, so the owners are in the legs."""
    kind = tx.get("kind")
    legs = tx.get("legs")
    if not isinstance(legs, list) or not all(isinstance(leg, dict) for leg in legs):
        raise _Altered("entry.tx.legs is not a list of legs")
    try:
        debtors = {str(leg["debit"]).split(":", 1)[0] for leg in legs}
        creditors = {str(leg["credit"]).split(":", 1)[0] for leg in legs}
    except KeyError:
        raise _Altered("a leg of entry.tx has no debit or credit account") from None
    if kind in _DEBTOR_SIGNED and not debtors <= signed:
        raise _Altered(f"debits accounts of {', '.join(sorted(debtors - signed))} without their signature")
    if kind == "post" and not (debtors <= signed or creditors <= signed):
        raise _Altered("a post signed by neither all debtors nor all creditors of the hold")
    if kind == "expire" and signed:
        raise _Altered("an expiry is written by the ledger and carries no signatures")


# -- checkpoints as files, and consistency between two of them ---------------------------

#: Members a checkpoint file may carry beside the signed ones: `checkpoint --json` adds "new",
#: and a checkpoint made after an earlier one carries the proof that it extends it.
_CHECKPOINT_FIELDS = ("ledger", "seq", "root", "at", "signature", "operator_key")
_CHECKPOINT_EXTRAS = ("new", "consistency")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The operator's signature over the Merkle root of journal entries 1..seq."""

    ledger: str
    seq: int
    root: str
    at: str
    signature: str
    operator_key: str

    def to_json(self) -> dict[str, object]:
        return {
            "ledger": self.ledger,
            "seq": self.seq,
            "root": self.root,
            "at": self.at,
            "signature": self.signature,
            "operator_key": self.operator_key,
        }

    def signed(self) -> bool:
        """Whether ``signature`` is ``operator_key``'s over this checkpoint (says nothing of whose key it is)."""
        try:
            key = unb64url(self.operator_key, 32)
            sig = unb64url(self.signature, 64)
        except ValueError:
            return False
        return _signature_holds(key, sig, checkpoint_payload(self.ledger, self.seq, self.root, self.at))


class MalformedCheckpoint(ValueError):
    """A checkpoint (or its consistency proof) read from a file is not in the format at all."""


def checkpoint_from_json(obj: object, what: str = "the checkpoint") -> Checkpoint:
    """A checkpoint as ``checkpoint --out`` writes it (or ``--json`` prints it); :class:`MalformedCheckpoint` if not."""
    try:
        if not isinstance(obj, dict):
            raise _Altered(f"{what} is not a JSON object")
        extra = set(obj) - set(_CHECKPOINT_FIELDS) - set(_CHECKPOINT_EXTRAS)
        if extra:
            raise _Altered(f"{what} has an unknown member {sorted(extra)[0]!r}")
        seq = _field(obj, "seq", int, what)
        if seq < 1:
            raise _Altered(f"{what}.seq must be 1 or more")
        root = _field(obj, "root", str, what)
        _hex32(root, f"{what}.root")
        signature = _field(obj, "signature", str, what)
        _b64url(signature, 64, f"{what}.signature")
        operator_key = _field(obj, "operator_key", str, what)
        _b64url(operator_key, 32, f"{what}.operator_key")
        return Checkpoint(_field(obj, "ledger", str, what), seq, root, _field(obj, "at", str, what), signature, operator_key)
    except _Altered as exc:
        raise MalformedCheckpoint(str(exc)) from None


def consistency_json(old_seq: int, old_root: str, path: list[bytes]) -> dict[str, object]:
    """The ``consistency`` member of a checkpoint: RFC 9162's proof that it extends checkpoint ``old_seq``."""
    return {"from_seq": old_seq, "from_root": old_root, "path": [p.hex() for p in path]}


@dataclass(slots=True)
class ConsistencyReport(_OfflineChecks):
    """What :func:`verify_consistency` found: ``ok`` when every check held."""

    ledger: str | None = None
    old_seq: int | None = None
    new_seq: int | None = None
    operator_key: str | None = None


def verify_consistency(old: object, new: object, operator_key: str | None = None) -> ConsistencyReport:
    """Check offline that checkpoint ``new`` extends checkpoint ``old`` (both as JSON; ``new`` with its proof).

    ``operator_key`` (base64url) pins whose signatures to trust; without it,
    the key of ``old`` (the checkpoint its holder already trusts) is.
    """
    report = ConsistencyReport()
    try:
        _verify_consistency(old, new, operator_key, report)
    except (_Altered, MalformedCheckpoint) as exc:
        report.problems.append(str(exc))
    return report


def _verify_consistency(old_doc: object, new_doc: object, pinned: str | None, report: ConsistencyReport) -> None:
    old = checkpoint_from_json(old_doc, "the old checkpoint")
    new = checkpoint_from_json(new_doc, "the new checkpoint")
    report.ledger, report.old_seq, report.new_seq = old.ledger, old.seq, new.seq
    trusted = report.operator_key = pinned if pinned is not None else old.operator_key
    for name, cp in (("old", old), ("new", new)):
        if cp.operator_key != trusted:
            raise _Altered(f"the {name} checkpoint is signed by {cp.operator_key}, not by {trusted}")
        if not cp.signed():
            raise _Altered(f"the operator's signature on the {name} checkpoint does not verify")
    report.checks.append(f"checkpoints {old.seq} and {new.seq} are signed by operator key {trusted}{' (pinned)' if pinned else ''}")
    if new.ledger != old.ledger:
        raise _Altered(f"the checkpoints are of two ledgers, {old.ledger} and {new.ledger}")
    if new.seq < old.seq:
        raise _Altered(f"the new checkpoint covers {new.seq} entries, fewer than the old one's {old.seq}")
    proof = new_doc.get("consistency") if isinstance(new_doc, dict) else None
    if new.seq == old.seq:
        if new.root != old.root:
            raise _Altered(f"both checkpoints cover {old.seq} entries but their roots differ: the journal was rewritten")
        report.checks.append(f"both checkpoints commit to the same {old.seq} entries")
        return
    if proof is None:
        raise _Altered(f"the new checkpoint carries no consistency proof from checkpoint {old.seq}")
    from_seq = _field(proof, "from_seq", int, "consistency")
    from_root = _field(proof, "from_root", str, "consistency")
    if set(proof) != {"from_seq", "from_root", "path"}:
        raise _Altered("consistency must be an object of exactly from_seq, from_root and path")
    if from_seq != old.seq or from_root != old.root:
        raise _Altered(f"the consistency proof starts from checkpoint {from_seq}, not from the old checkpoint {old.seq}")
    path = [_hex32(p, f"consistency.path[{i}]") if isinstance(p, str) else _bad_path(i) for i, p in enumerate(_field(proof, "path", list, "consistency"))]
    if not consistency_holds(old.seq, new.seq, _hex32(old.root, "old root"), _hex32(new.root, "new root"), path):
        raise _Altered(f"the consistency proof does not lead from checkpoint {old.seq}'s root to checkpoint {new.seq}'s")
    report.checks.append(f"entries 1 to {old.seq} are unchanged in the tree of {new.seq} entries (RFC 9162 consistency)")
