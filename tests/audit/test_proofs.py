"""Checkpoints and inclusion proofs: every transaction's proof checks offline; any one-byte change fails it.

The tree is checked against RFC 6962's own definition and Certificate
Transparency's published roots; proofs are checked by wonledger's verifier
and by an independent few-line verifier written here from the README's
description alone.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from wonledger import BadInput, IntegrityProblem, KeyUnavailable, Ledger, verify_proof
from wonledger.audit.proofs import inclusion_path, leaf_hash, merkle_root, node_hash, path_ranges, root_from_path

ALICE = "alice:dKRW.hanriver"
RESERVE = "kstable:dKRW.hanriver:reserve"
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


# -- the tree ---------------------------------------------------------------------------


def rfc6962_root(leaves: list[bytes]) -> bytes:
    """MTH as RFC 6962 section 2.1 defines it, recursively."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(rfc6962_root(leaves[:k]), rfc6962_root(leaves[k:]))


def test_the_tree_gives_certificate_transparencys_published_roots() -> None:
    data = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
    leaves = [hashlib.sha256(b"\x00" + bytes.fromhex(d)).digest() for d in data]
    assert merkle_root(leaves[:1]).hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert merkle_root(leaves[:7]).hex() == "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"
    assert merkle_root(leaves).hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def test_every_leaf_of_every_small_tree_has_a_path_to_the_root_and_only_its_own() -> None:
    for size in range(1, 34):
        leaves = [leaf_hash(hashlib.sha256(bytes([n])).hexdigest()) for n in range(size)]
        root = rfc6962_root(leaves)
        assert merkle_root(leaves) == root
        for index in range(size):
            path, whole = inclusion_path(index, size, iter(leaves))
            assert whole == root and len(path) == len(path_ranges(index, size))
            assert root_from_path(leaves[index], index, size, path) == root
            if size > 1:
                assert root_from_path(leaves[index], (index + 1) % size, size, path) != root
                assert root_from_path(leaves[(index + 1) % size], index, size, path) != root


# -- proofs over a real ledger ----------------------------------------------------------


@pytest.fixture
def busy(ledger: Ledger) -> Ledger:
    """Transfers, a posted and a voided hold, a reversal, a mint, a send abroad and a swap: every kind of entry."""
    ledger.payments.transfer(ALICE, RESERVE, 100_000, tx_id="t-1", memo="invoice 1 ✓")
    ledger.payments.transfer(ALICE, RESERVE, 200_000, tx_id="t-2")
    ledger.payments.transfer(ALICE, RESERVE, 50_000, tx_id="h-1", hold_timeout_s=3600)
    ledger.holds.post("h-1", 30_000, tx_id="p-1")
    ledger.payments.transfer(ALICE, RESERVE, 10_000, tx_id="h-2", hold_timeout_s=3600)
    ledger.holds.void("h-2", tx_id="v-1")
    ledger.payments.reverse("t-2", tx_id="r-1")
    ledger.stablecoins.mint("KRWS", 40_000, "alice", "dKRW.hanriver", tx_id="m-1")
    ledger.crossborder.send("alice", "kowloon-supply", 2_000_000, "HKDS", tx_id="s-1")  # a quote and travel data in the signed body
    ledger.crossborder.swap("kowloon-supply", 10_000, "HKDS", "KRWS", tx_id="x-1")
    return ledger


def all_ids(ledger: Ledger) -> list[str]:
    seen: dict[str, int] = {}
    for entry, _ in ledger._store.stream_journal():
        seen[entry.id] = entry.seq
    return sorted(seen, key=seen.__getitem__)


def test_a_proof_of_every_transaction_checks_offline(busy: Ledger) -> None:
    checkpoint, new = busy.proofs.checkpoint()
    assert new and checkpoint.seq == busy.info().transactions
    for tx_id in all_ids(busy):
        proof = json.loads(json.dumps(busy.proofs.inclusion(tx_id)))  # only what survives being written out
        report = verify_proof(proof, checkpoint.operator_key)
        assert report.ok, (tx_id, report.problems)
        assert independent_verifier(proof, checkpoint.operator_key), tx_id


def leaves_of(value: object, path: tuple = ()) -> Iterator[tuple[tuple, object]]:  # type: ignore[type-arg]
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves_of(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves_of(v, (*path, i))
    else:
        yield path, value


def with_value(proof: dict, path: tuple, value: object) -> dict:  # type: ignore[type-arg]
    changed = copy.deepcopy(proof)
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


def one_byte_changes(text: str) -> Iterator[str]:
    """Every way of changing one character to another that could appear there."""
    for i, ch in enumerate(text):
        yield text[:i] + ("b" if ch == "a" else "a" if not ch.isdigit() else str((int(ch) + 1) % 10)) + text[i + 1 :]


@sqlite_only
def test_a_proof_fails_after_any_one_byte_change_to_any_field(busy: Ledger) -> None:
    checkpoint, _ = busy.proofs.checkpoint()
    proof = busy.proofs.inclusion("t-1")
    assert verify_proof(proof).ok
    tried = 0
    for path, value in leaves_of(proof):
        if isinstance(value, bool) or value is None:
            continue
        changes = [value + 1, value - 1] if isinstance(value, int) else list(one_byte_changes(value))
        for changed in changes:
            altered = with_value(proof, path, changed)
            tried += 1
            assert not verify_proof(altered).ok, (path, changed)
            assert not independent_verifier(altered, checkpoint.operator_key), (path, changed)
    for section in ("entry", "checkpoint", "inclusion"):
        for key in proof[section]:  # a renamed field is a missing one
            altered = copy.deepcopy(proof)
            altered[section]["x" + key] = altered[section].pop(key)
            assert not verify_proof(altered).ok, (section, key)
    assert tried > 500


@sqlite_only
def test_a_proof_signed_by_another_operator_fails_when_the_key_is_pinned(busy: Ledger, tmp_path: Path) -> None:
    busy.proofs.checkpoint()
    proof = busy.proofs.inclusion("t-1")
    other = base64.urlsafe_b64encode(bytes(32)).rstrip(b"=").decode()
    report = verify_proof(proof, other)
    assert not report.ok and "not by the operator key you gave" in report.problems[0]


def test_a_proof_needs_a_checkpoint_that_covers_the_transaction(busy: Ledger) -> None:
    with pytest.raises(BadInput, match="no checkpoint yet"):
        busy.proofs.inclusion("t-1")
    busy.proofs.checkpoint()
    busy.payments.transfer(ALICE, RESERVE, 1, tx_id="late")
    with pytest.raises(BadInput, match="checkpoint"):
        busy.proofs.inclusion("late")
    again, new = busy.proofs.checkpoint()
    assert new and verify_proof(busy.proofs.inclusion("late"), again.operator_key).ok
    same, new = busy.proofs.checkpoint()
    assert not new and same == again  # nothing new in the journal: the same checkpoint


@sqlite_only
def test_an_entry_edited_after_a_checkpoint_is_caught_when_a_proof_is_made(busy: Ledger) -> None:
    busy.proofs.checkpoint()
    db = busy._store.url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE journal SET hash = ? WHERE id = 't-1'", ("0" * 64,))
    with pytest.raises(IntegrityProblem):
        busy.proofs.inclusion("t-2")


# -- the operator key ----------------------------------------------------------------


@sqlite_only
def test_init_makes_the_operator_key_beside_the_participants_keys_where_no_participant_can_collide(busy: Ledger) -> None:
    path = busy._keys.operator_path(busy.id)
    assert path.name == f"_operator-{busy.id}.pem" and path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(BadInput):
        busy._keys.path(path.stem)  # "_..." is not a participant id


@sqlite_only
def test_a_ledger_made_before_checkpoints_gets_its_operator_key_at_the_first_checkpoint(busy: Ledger) -> None:
    busy._keys.operator_path(busy.id).unlink()
    db = busy._store.url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM meta WHERE key = 'operator_key'")
    with Ledger.open(busy._store.url, busy._keys.directory) as old:
        checkpoint, new = old.proofs.checkpoint()
        assert new and old._keys.operator_path(old.id).exists()
        assert verify_proof(old.proofs.inclusion("t-1"), checkpoint.operator_key).ok


@sqlite_only
def test_a_checkpoint_refuses_an_operator_key_the_ledger_did_not_register(busy: Ledger) -> None:
    path = busy._keys.operator_path(busy.id)
    path.unlink()
    busy._keys.create_operator(busy.id)  # someone replaced the file
    with Ledger.open(busy._store.url, busy._keys.directory) as ledger, pytest.raises(KeyUnavailable):
        ledger.proofs.checkpoint()


def test_an_encrypted_operator_key_is_made_and_used_with_the_passphrase(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("WONLEDGER_KEY_PASSPHRASE", "correct horse")
    url = f"sqlite:///{tmp_path / 'enc.db'}"
    with Ledger.create(url, tmp_path / "keys", world="empty") as ledger:
        assert b"ENCRYPTED" in ledger._keys.operator_path(ledger.id).read_bytes()
    monkeypatch.delenv("WONLEDGER_KEY_PASSPHRASE")
    with Ledger.open(url, tmp_path / "keys") as ledger, pytest.raises(KeyUnavailable, match="encrypted"):
        ledger.proofs.checkpoint()
    monkeypatch.setenv("WONLEDGER_KEY_PASSPHRASE", "correct horse")
    with Ledger.open(url, tmp_path / "keys") as ledger, pytest.raises(BadInput, match="journal is empty"):
        ledger.proofs.checkpoint()


# -- an outsider's verifier, written from the README alone ----------------------------------


def independent_verifier(proof: dict, trusted_operator_key: str) -> bool:  # type: ignore[type-arg]
    """Checks a proof as README "Statements, reconciliation and proofs" describes, with no wonledger code."""
    try:
        def b64(text: str) -> bytes:  # canonical base64url only: re-encoding gives the same text
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != text:
                raise ValueError("not canonical base64url")
            return raw

        H = lambda b: hashlib.sha256(b).digest()  # noqa: E731
        e, inc, cp = proof["entry"], proof["inclusion"], proof["checkpoint"]
        if proof["format"] != "wonledger-inclusion-proof/1":
            return False
        for s in e["signatures"]:  # 1. signatures over JCS(tx)
            Ed25519PublicKey.from_public_bytes(b64(proof["signer_keys"][s["signer"]])).verify(b64(s["sig"]), rfc8785.dumps(e["tx"]))
        debtors = {leg["debit"].split(":")[0] for leg in e["tx"]["legs"]}
        if e["tx"]["kind"] not in ("post", "void", "expire") and not debtors <= {s["signer"] for s in e["signatures"]}:
            return False
        envelope = rfc8785.dumps({"seq": e["seq"], "at": e["at"], "tx": e["tx"], "signatures": e["signatures"]})
        if H(bytes.fromhex(e["previous_hash"]) + envelope).hex() != e["hash"]:  # 2. the chain hash
            return False
        fn, sn, r = inc["leaf_index"], inc["tree_size"] - 1, H(b"\x00" + bytes.fromhex(e["hash"]))  # 3. RFC 9162 2.1.3.2
        if fn != e["seq"] - 1 or inc["tree_size"] != cp["seq"] or fn > sn:
            return False
        for p in map(bytes.fromhex, inc["path"]):
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                r = H(b"\x01" + p + r)
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
            else:
                r = H(b"\x01" + r + p)
            fn, sn = fn >> 1, sn >> 1
        if sn != 0 or r.hex() != cp["root"] or cp["operator_key"] != trusted_operator_key:
            return False
        statement = {"type": "wonledger-checkpoint/1", "ledger": proof["ledger"], "seq": cp["seq"], "root": cp["root"], "at": cp["at"]}
        Ed25519PublicKey.from_public_bytes(b64(cp["operator_key"])).verify(b64(cp["signature"]), rfc8785.dumps(statement))  # 4.
        return proof["ledger"] == e["tx"]["ledger"] == cp["ledger"]
    except Exception:  # any exception means the proof did not check
        return False


# -- verify checks the checkpoints too --------------------------------------------------


@sqlite_only
def test_verify_checks_every_checkpoint_against_the_journal_and_the_operator_key(busy: Ledger) -> None:
    busy.proofs.checkpoint()
    busy.payments.transfer(ALICE, RESERVE, 1, tx_id="after")
    second, _ = busy.proofs.checkpoint()
    assert busy.verify().ok
    db = busy._store.url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE checkpoints SET root = ? WHERE seq = ?", ("0" * 64, second.seq))
    problems = [p for p in busy.verify().problems if p.kind == "checkpoint"]
    assert len(problems) == 2  # the root is not the journal's, and the signature no longer covers it
    assert all(f"checkpoint {second.seq}" in p.detail for p in problems)


@sqlite_only
def test_a_proof_carries_the_key_that_signed_then_even_after_the_signer_rotated_its_key(busy: Ledger) -> None:
    busy.proofs.checkpoint()
    old_proof = busy.proofs.inclusion("t-1")
    rotated_at = busy.transaction("m-1").at
    new_key = base64.urlsafe_b64decode("A" * 43 + "=")  # any 32 bytes: only the history is under test
    db = busy._store.url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:  # what a key rotation leaves behind: the old key retired, a new one current
        conn.execute("UPDATE participant_keys SET retired_at = ?, reason = 'rotated' WHERE participant = 'alice'", (rotated_at,))
        conn.execute("INSERT INTO participant_keys VALUES ('alice', ?, ?, NULL, NULL)", (new_key, rotated_at))
        conn.execute("UPDATE participants SET public_key = ? WHERE id = 'alice'", (new_key,))
    proof = busy.proofs.inclusion("t-1")
    assert proof["signer_keys"] == old_proof["signer_keys"]
    assert verify_proof(proof).ok
