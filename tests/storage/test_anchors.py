"""`verify` anchored to what the user trusts: a checkpoint saved earlier, the operator's public key.

Someone with write access to the database can make a damaged journal look
whole to a plain `verify`: cut its tail and roll the balances back, or
rewrite it and re-chain every hash after, then store a key of their own as
the operator's and sign fresh checkpoints with it. Each test does exactly
that with plain SQL, shows that the plain `verify` is fooled, and that
`verify --checkpoint FILE` / `--operator-key KEY` (the library and the
command as a separate process) is not. `checkpoint` refuses to sign such a
journal, and an honest journal that only grew passes with the old checkpoint.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from wonledger import Anchor, Checkpoint, IntegrityProblem, KeyUnavailable, Ledger, read_checkpoint
from wonledger.audit.proofs import checkpoint_payload, leaf_hash, merkle_root
from wonledger.domain import chain
from wonledger.domain.signing import b64url, public_bytes

ALICE = "alice:dKRW.hanriver"
RESERVE = "kstable:dKRW.hanriver:reserve"


def transfers(ledger: Ledger, prefix: str, count: int) -> None:
    for n in range(count):
        ledger.payments.transfer(ALICE, RESERVE, 1_000 + n, tx_id=f"{prefix}-{n}")


def save(cp: Checkpoint, path: Path) -> Path:
    path.write_text(json.dumps(cp.to_json()))
    return path


def anchored(ledger: Ledger, wonledger, *options: str) -> dict:  # type: ignore[no-untyped-def]
    """`wonledger --json verify OPTIONS` as a separate process; its exit code agrees with its report."""
    done = wonledger(ledger._store.url, "--json", "verify", *options)
    report = json.loads(done.stdout)
    assert done.returncode == (0 if report["ok"] else 3), done.stderr
    return report


def anchor_details(report: dict) -> list[str]:  # type: ignore[type-arg]
    return [p["detail"] for p in report["problems"] if p["kind"] == "anchor"]


def truncate(ledger: Ledger, raw, keep: int, accounts: list) -> None:  # type: ignore[no-untyped-def]
    """Cut the journal after entry ``keep`` and put the balances back as ``accounts`` held them then."""
    db = raw(ledger)
    db.execute("DELETE FROM legs WHERE seq > :keep", keep=keep)
    db.execute("DELETE FROM outflows WHERE seq > :keep", keep=keep)
    db.execute("DELETE FROM checkpoints WHERE seq > :keep", keep=keep)
    db.execute("DELETE FROM journal WHERE seq > :keep", keep=keep)
    head = db.scalar("SELECT hash FROM journal WHERE seq = :keep", keep=keep)
    db.execute("UPDATE head SET seq = :keep, hash = :hash", keep=keep, hash=head)
    for a in accounts:
        db.execute(
            "UPDATE accounts SET debits_posted = :dp, credits_posted = :cp, debits_pending = :dq, credits_pending = :cq WHERE id = :id",
            dp=a.debits_posted, cp=a.credits_posted, dq=a.debits_pending, cq=a.credits_pending, id=a.id,
        )


def resign_checkpoints(ledger: Ledger, raw, forger: Ed25519PrivateKey) -> None:  # type: ignore[no-untyped-def]
    """Store ``forger``'s public key as the operator's and sign every stored checkpoint with it."""
    db = raw(ledger)
    key = b64url(public_bytes(forger))
    db.execute("UPDATE meta SET value = :key WHERE key = 'operator_key'", key=key)
    for seq, root, at in db.rows("SELECT seq, root, at FROM checkpoints"):
        signature = b64url(forger.sign(checkpoint_payload(ledger.id, seq, root, at)))
        db.execute("UPDATE checkpoints SET signature = :s, operator_key = :k WHERE seq = :seq", s=signature, k=key, seq=seq)


@pytest.mark.slow
def test_an_honest_journal_that_grew_passes_with_the_old_checkpoint_and_the_key(ledger: Ledger, wonledger, tmp_path: Path) -> None:
    old, _ = ledger.proofs.checkpoint()
    transfers(ledger, "later", 3)
    ledger.proofs.checkpoint()
    transfers(ledger, "after", 2)  # entries beyond every checkpoint are fine too
    assert ledger.verify(anchor=Anchor(old.operator_key, old)).ok
    saved = save(old, tmp_path / "old.json")
    assert f"operator key  {old.operator_key}" in wonledger(ledger._store.url, "info").stdout  # where a user finds it
    key_file = tmp_path / "operator.key"
    key_file.write_text(old.operator_key + "\n")
    for options in (("--checkpoint", str(saved)), ("--operator-key", old.operator_key), ("--operator-key", str(key_file), "--checkpoint", str(saved))):
        report = anchored(ledger, wonledger, *options)
        assert report["ok"] and report["problems"] == [], (options, report)


def test_a_tail_cut_under_a_trusted_checkpoint_is_caught(ledger: Ledger, raw, wonledger, tmp_path: Path) -> None:
    transfers(ledger, "early", 2)
    keep = ledger.info().transactions
    then = ledger.registry.accounts()
    ledger.proofs.checkpoint()
    transfers(ledger, "late", 3)
    trusted, _ = ledger.proofs.checkpoint()
    saved = save(trusted, tmp_path / "trusted.json")

    truncate(ledger, raw, keep, then)
    assert ledger.verify().ok  # the cut is invisible to a verify that trusts the database alone
    report = anchored(ledger, wonledger, "--checkpoint", str(saved))
    assert any(f"ends at entry {keep}" in d and "truncated" in d for d in anchor_details(report)), report
    assert not ledger.verify(anchor=Anchor(checkpoint=read_checkpoint(saved.read_bytes()))).ok
    with pytest.raises(IntegrityProblem, match="does not verify"):
        ledger.proofs.checkpoint(read_checkpoint(saved.read_bytes()))


def test_a_rechained_journal_with_checkpoints_resigned_by_another_key_is_caught(ledger: Ledger, raw, wonledger, tmp_path: Path) -> None:
    transfers(ledger, "t", 4)
    trusted, _ = ledger.proofs.checkpoint()
    saved = save(trusted, tmp_path / "trusted.json")
    # Backdate the second of the four transfers by a microsecond (no participant signs `at`) and re-chain
    # every hash after it, then recompute the stored checkpoint's root and re-sign it with a key of the
    # forger's own. (Not a registry entry: a key's validity starts at its entry's `at`, so the replay
    # would notice that one without any anchor.)
    db = raw(ledger)
    rows = db.rows("SELECT seq, at, body, signatures, hash FROM journal ORDER BY seq")
    target = rows[-3].seq
    previous = rows[target - 2].hash
    for seq, at, body, signatures, _ in rows[target - 1 :]:
        if seq == target:
            at = chain.iso(chain.parse_iso(at) - timedelta(microseconds=1))
        envelope = chain.envelope_bytes(seq, at, body.encode(), json.loads(signatures))
        previous = chain.next_hash(previous, envelope)
        db.execute("UPDATE journal SET at = :at, hash = :hash WHERE seq = :seq", at=at, hash=previous, seq=seq)
    db.execute("UPDATE head SET hash = :hash", hash=previous)
    hashes = [h for (h,) in db.rows("SELECT hash FROM journal ORDER BY seq")]
    for (seq,) in db.rows("SELECT seq FROM checkpoints"):
        db.execute("UPDATE checkpoints SET root = :r WHERE seq = :seq", r=merkle_root(leaf_hash(h) for h in hashes[:seq]).hex(), seq=seq)
    resign_checkpoints(ledger, raw, Ed25519PrivateKey.generate())

    assert ledger.verify().ok  # fooled: every hash, root and signature agrees with the database
    by_file = anchor_details(anchored(ledger, wonledger, "--checkpoint", str(saved)))
    assert any("rewritten" in d for d in by_file), by_file
    by_key = anchor_details(anchored(ledger, wonledger, "--operator-key", trusted.operator_key))
    assert any("stored operator key" in d for d in by_key), by_key
    assert any(f"stored checkpoint {trusted.seq} is signed by" in d for d in by_key), by_key


def test_checkpoints_resigned_with_another_key_fail_against_the_operator_key(ledger: Ledger, raw, wonledger) -> None:
    transfers(ledger, "t", 2)
    real, _ = ledger.proofs.checkpoint()
    forger = Ed25519PrivateKey.generate()
    resign_checkpoints(ledger, raw, forger)
    assert ledger.verify().ok  # the database vouches for the forger's key
    report = anchored(ledger, wonledger, "--operator-key", real.operator_key)
    details = anchor_details(report)
    assert any("stored operator key" in d for d in details) and any("not by the trusted operator key" in d for d in details)
    with pytest.raises(KeyUnavailable):  # the operator's own key file no longer matches what the database registers
        ledger.proofs.checkpoint()


def test_the_operator_key_alone_needs_a_checkpoint_signed_by_it(ledger: Ledger, raw, wonledger) -> None:
    transfers(ledger, "t", 2)
    real, _ = ledger.proofs.checkpoint()
    raw(ledger).execute("DELETE FROM checkpoints")
    assert ledger.verify().ok
    details = anchor_details(anchored(ledger, wonledger, "--operator-key", real.operator_key))
    assert any("nothing anchors the journal" in d for d in details), details


def test_checkpoint_refuses_to_sign_a_journal_that_does_not_verify(ledger: Ledger, raw, wonledger) -> None:
    transfers(ledger, "t", 2)
    raw(ledger).execute("UPDATE legs SET amount = amount + 1 WHERE seq = (SELECT seq FROM journal WHERE id = 't-1')")
    with pytest.raises(IntegrityProblem, match="refusing to sign a journal that does not verify"):
        ledger.proofs.checkpoint()
    done = wonledger(ledger._store.url, "checkpoint", keys=ledger._keys.directory)
    assert done.returncode == 3 and done.stderr.startswith("error: INTEGRITY: refusing to sign"), done.stderr
    assert raw(ledger).scalar("SELECT count(*) FROM checkpoints") == 0


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_checkpoint_file_of_another_ledger_or_altered_is_caught_and_a_malformed_one_refused(ledger: Ledger, wonledger, tmp_path: Path) -> None:
    cp, _ = ledger.proofs.checkpoint()
    altered = cp.to_json() | {"at": cp.at.replace(cp.at[-2], "0" if cp.at[-2] != "0" else "1")}
    (tmp_path / "altered.json").write_text(json.dumps(altered))
    assert any("file was altered" in d for d in anchor_details(anchored(ledger, wonledger, "--checkpoint", str(tmp_path / "altered.json"))))
    other = cp.to_json() | {"ledger": "wl-000000000000"}
    (tmp_path / "other.json").write_text(json.dumps(other))
    assert any("not of this ledger" in d for d in anchor_details(anchored(ledger, wonledger, "--checkpoint", str(tmp_path / "other.json"))))
    for name, text in (
        ("dup.json", json.dumps(cp.to_json()).replace('"seq":', '"seq": 1, "seq":')),
        ("padded.json", json.dumps(cp.to_json() | {"signature": cp.signature + "=="})),
        ("short.json", json.dumps({k: v for k, v in cp.to_json().items() if k != "root"})),
        ("not.json", "{"),
    ):
        (tmp_path / name).write_text(text)
        done = wonledger(ledger._store.url, "verify", "--checkpoint", str(tmp_path / name))
        assert done.returncode == 2 and done.stderr.startswith("error: BAD_STATEMENT:"), (name, done.stderr)
    bad_key = wonledger(ledger._store.url, "verify", "--operator-key", cp.operator_key + "=")
    assert bad_key.returncode == 2 and "error: BAD_INPUT:" in bad_key.stderr
