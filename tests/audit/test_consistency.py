"""RFC 9162 consistency proofs: a later checkpoint proves, offline, that it extends an earlier one.

The proofs are checked against a straightforward recursive implementation of
RFC 9162 section 2.1.4.1 written here, for every pair of tree sizes up to 64;
every one-byte change to a proof or to either root fails it (the sizes are
signed in the checkpoints, where changing one fails the signature).
Over a real ledger, two checkpoints' files prove the journal only grew, and
any forged part of them fails, through the library and `wonledger
verify-consistency` run as a process with no database anywhere near it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from wonledger import Checkpoint, Ledger, verify_consistency
from wonledger.audit.proofs import consistency_holds, consistency_path, node_hash

ALICE = "alice:dKRW.hanriver"
RESERVE = "kstable:dKRW.hanriver:reserve"
WONLEDGER = str(Path(sys.executable).with_name("wonledger"))
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


# -- an independent implementation, straight from the RFC ---------------------------------


def mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 section 2.1.1, recursively."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 9162 section 2.1.4.1, recursively."""
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return subproof(m, leaves[:k], complete) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def leaves_of(n: int) -> list[bytes]:
    return [hashlib.sha256(b"\x00" + hashlib.sha256(bytes([i])).digest()).digest() for i in range(n)]


def flipped(raw: bytes, i: int) -> bytes:
    return raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1 :]


# -- the tree ----------------------------------------------------------------------------


def test_every_consistency_proof_up_to_64_leaves_is_the_rfcs_and_holds() -> None:
    for n in range(1, 65):
        leaves = leaves_of(n)
        new_root = mth(leaves)
        for m in range(1, n + 1):
            path, root = consistency_path(m, n, iter(leaves))
            assert root == new_root
            assert path == subproof(m, leaves, True), (m, n)
            assert consistency_holds(m, n, mth(leaves[:m]), new_root, path), (m, n)


def one_byte_forgeries(m: int, n: int, old_root: bytes, new_root: bytes, path: list[bytes]) -> Iterator[tuple]:  # type: ignore[type-arg]
    for i in range(32):
        yield m, n, flipped(old_root, i), new_root, path
        yield m, n, old_root, flipped(new_root, i), path
    for p in range(len(path)):
        for i in range(32):
            yield m, n, old_root, new_root, [*path[:p], flipped(path[p], i), *path[p + 1 :]]
    yield m, n, old_root, new_root, path[:-1]  # a hash left out
    yield m, n, old_root, new_root, [*path, path[-1] if path else old_root]  # one too many
    # (Not the sizes: a root does not fix its tree's size, so the proof from 1 of 3 leaves
    # also holds from 1 of 4 whose last "leaf" is a node. The checkpoint signs its size.)


def forgeries_fail(limit: int) -> int:
    tried = 0
    for n in range(2, limit + 1):
        leaves = leaves_of(n)
        new_root = mth(leaves)
        for m in range(1, n):
            path, _ = consistency_path(m, n, iter(leaves))
            for forged in one_byte_forgeries(m, n, mth(leaves[:m]), new_root, path):
                tried += 1
                assert not consistency_holds(*forged), (m, n, forged)
    return tried


def test_every_one_byte_change_to_a_proof_or_a_root_fails_up_to_64_leaves() -> None:
    assert forgeries_fail(64) > 400_000


def test_a_tree_that_was_rewritten_has_no_consistency_proof_from_the_old_root() -> None:
    for n in range(2, 40):
        leaves = leaves_of(n)
        for m in range(1, n):
            rewritten = [*leaves[: m - 1], hashlib.sha256(b"other").digest(), *leaves[m:]]
            path, root = consistency_path(m, n, iter(rewritten))
            assert not consistency_holds(m, n, mth(leaves[:m]), root, path), (m, n)


def test_equal_sizes_need_equal_roots_and_no_path() -> None:
    leaves = leaves_of(5)
    assert consistency_path(5, 5, iter(leaves))[0] == []
    assert consistency_holds(5, 5, mth(leaves), mth(leaves), [])
    assert not consistency_holds(5, 5, mth(leaves), mth(leaves_of(6)[1:]), [])
    assert not consistency_holds(5, 5, mth(leaves), mth(leaves), [mth(leaves)])
    assert not consistency_holds(0, 5, mth(leaves), mth(leaves), [])


# -- two checkpoints of a real ledger --------------------------------------------------


@pytest.fixture
def grown(ledger: Ledger) -> tuple[Ledger, dict, dict]:  # type: ignore[type-arg]
    """A ledger checkpointed, grown by transfers and checkpointed again: (ledger, old file, new file)."""
    old, _ = ledger.proofs.checkpoint()
    for n in range(5):
        ledger.payments.transfer(ALICE, RESERVE, 1_000 + n, tx_id=f"g-{n}")
    new, _ = ledger.proofs.checkpoint()
    document = new.to_json() | {"consistency": ledger.proofs.consistency(old, new)}
    return ledger, json.loads(json.dumps(old.to_json())), json.loads(json.dumps(document))


def test_a_later_checkpoint_proves_offline_that_the_journal_only_grew(grown) -> None:  # type: ignore[no-untyped-def]
    ledger, old, new = grown
    report = verify_consistency(old, new)
    assert report.ok, report.problems
    assert (report.old_seq, report.new_seq) == (old["seq"], new["seq"]) and new["seq"] > old["seq"]
    assert verify_consistency(old, new, old["operator_key"]).ok
    assert ledger.proofs.previous_checkpoint(new["seq"]) == Checkpoint(**old)


def string_changes(text: str) -> Iterator[str]:
    for i, ch in enumerate(text):
        yield text[:i] + ("b" if ch == "a" else "a" if not ch.isdigit() else str((int(ch) + 1) % 10)) + text[i + 1 :]


def fields(value: object, path: tuple = ()) -> Iterator[tuple[tuple, object]]:  # type: ignore[type-arg]
    if isinstance(value, dict):
        for k, v in value.items():
            yield from fields(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from fields(v, (*path, i))
    else:
        yield path, value


def changed(document: dict, path: tuple, value: object) -> dict:  # type: ignore[type-arg]
    copied = copy.deepcopy(document)
    target = copied
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copied


@sqlite_only
def test_any_one_byte_change_to_either_checkpoint_or_the_proof_fails(grown) -> None:  # type: ignore[no-untyped-def]
    _, old, new = grown
    tried = 0
    for which, document in (("old", old), ("new", new)):
        for path, value in fields(document):
            variants = [value + 1, value - 1] if isinstance(value, int) else list(string_changes(value))  # type: ignore[operator]
            for variant in variants:
                forged = changed(document, path, variant)
                pair = (forged, new) if which == "old" else (old, forged)
                tried += 1
                assert not verify_consistency(*pair).ok, (which, path, variant)
    assert tried > 400
    assert not verify_consistency(new, old).ok  # the other way round
    without = {k: v for k, v in new.items() if k != "consistency"}
    assert not verify_consistency(old, without).ok


@sqlite_only
def test_checkpoints_signed_by_another_operator_fail_when_the_key_is_pinned(grown, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, old, new = grown
    other = "A" * 43
    report = verify_consistency(old, new, other)
    assert not report.ok and "not by " + other in report.problems[0]


@sqlite_only
def test_checkpoint_writes_the_proof_and_verify_consistency_checks_it_with_no_database(ledger: Ledger, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WONLEDGER_")} | {"WONLEDGER_DB": ledger._store.url, "WONLEDGER_KEYS": str(ledger._keys.directory)}

    def run(*args: str, cwd: Path = tmp_path, env: dict[str, str] = env) -> subprocess.CompletedProcess[str]:
        return subprocess.run([WONLEDGER, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)

    first = run("checkpoint", "--out", "old.json")
    assert first.returncode == 0, first.stderr
    ledger.payments.transfer(ALICE, RESERVE, 7, tx_id="later")
    second = run("--json", "checkpoint", "--from-checkpoint", "old.json", "--out", "new.json")
    assert second.returncode == 0, second.stderr
    printed = json.loads(second.stdout)
    written = json.loads((tmp_path / "new.json").read_text())
    assert printed["new"] is True and printed["consistency"] == written["consistency"]
    assert written["consistency"]["from_seq"] == json.loads((tmp_path / "old.json").read_text())["seq"]

    nowhere = tmp_path / "empty"
    nowhere.mkdir()
    offline = {k: v for k, v in os.environ.items() if not k.startswith("WONLEDGER_")} | {"WONLEDGER_DB": "sqlite:////nonexistent/no.db"}
    ok = run("verify-consistency", str(tmp_path / "old.json"), str(tmp_path / "new.json"), cwd=nowhere, env=offline)
    assert ok.returncode == 0 and "the log only grew" in ok.stdout, ok.stdout + ok.stderr
    assert not list(nowhere.iterdir())  # no database made

    forged = json.loads((tmp_path / "new.json").read_text())
    forged["consistency"]["path"][0] = "0" * 64
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    bad = run("--json", "verify-consistency", "old.json", "forged.json", cwd=tmp_path, env=offline)
    assert bad.returncode == 3 and json.loads(bad.stdout)["ok"] is False
    duplicate = (tmp_path / "new.json").read_text().replace('"seq":', '"seq": 1, "seq":', 1)
    (tmp_path / "dup.json").write_text(duplicate)
    refused = run("verify-consistency", "old.json", "dup.json", cwd=tmp_path, env=offline)
    assert refused.returncode == 2 and "error: BAD_STATEMENT:" in refused.stderr and "'seq'" in refused.stderr
