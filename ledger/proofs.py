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

:func:`verify_proof` checks a proof (as built by :mod:`ledger.audit`) with no
database and nothing of wonledger but this module: it needs only
``hashlib``, ``rfc8785`` and ``cryptography``. The README describes the same
format for people who would rather check it with their own code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

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
    ranges = path_ranges(index, size)
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


def envelope_bytes(seq: int, at: str, tx: object, signatures: object) -> bytes:
    """What an entry's chain hash covers (after the previous hash): RFC 8785 of {"seq", "at", "tx", "signatures"}."""
    return rfc8785.dumps({"seq": seq, "at": at, "tx": tx, "signatures": signatures})


# -- offline verification -----------------------------------------------------------


@dataclass(slots=True)
class ProofReport:
    """What :func:`verify_proof` found: ``ok`` when every check held."""

    tx: str | None = None
    seq: int | None = None
    checkpoint_seq: int | None = None
    operator_key: str | None = None
    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.checks)

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "tx": self.tx,
            "seq": self.seq,
            "checkpoint_seq": self.checkpoint_seq,
            "operator_key": self.operator_key,
            "checks": self.checks,
            "problems": self.problems,
        }


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
    # Only the one canonical spelling: unused low bits of the last character must be zero.
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise _Altered(f"{what} is not base64url") from None
    if len(raw) != length or base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != text:
        raise _Altered(f"{what} is not the base64url of {length} bytes")
    return raw


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
    raise _Altered(f"inclusion.path[{i}] is not a string")


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
