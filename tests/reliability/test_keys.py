"""Keys: rotation and revocation, replayed signatures, and private keys on disk.

A signed transaction is refused when replayed into another ledger, with its
legs reordered, or under a key that was retired (rotated or revoked) before
it reached the ledger; the journal still verifies every old entry under the
key that was valid at its commit time. Private keys are 0600 files in a 0700
directory, encrypted when a passphrase is set, never printed, and refused
when their file or directory is open to others.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from harness import fingerprint, run_wonledger

from wonledger import BadSignature, KeyUnavailable, Ledger, Leg, Tx, UnknownParticipant
from wonledger.domain.signing import KeyStore

ALICE = "alice:dKRW.hanriver"
BANK = "hanriver:dKRW.hanriver"
ASSET = "dKRW.hanriver"


def revoke(ledger: Ledger, participant: str):  # type: ignore[no-untyped-def]
    """A lost or exposed key: the participant makes a new pair itself, its registrar installs the public half.

    The participant's new private key then replaces its file (it is the participant's own machine here).
    """
    fresh = Ed25519PrivateKey.generate()
    change = ledger.registry.revoke_key(participant, fresh.public_key().public_bytes_raw())
    path = ledger._keys.path(participant)
    path.unlink(missing_ok=True)
    path.write_bytes(fresh.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    path.chmod(0o600)
    return change


def pay(ledger: Ledger, tx_id: str, amount: int = 1000, legs: tuple[Leg, ...] | None = None) -> Tx:
    return Tx(ledger=ledger.id, id=tx_id, kind="transfer", legs=legs or (Leg(ALICE, BANK, ASSET, amount),))


def test_after_a_rotation_old_entries_verify_and_only_the_new_key_signs(ledger: Ledger) -> None:
    old_signed = ledger.sign(pay(ledger, "signed-before-rotation"))
    ledger.submit(ledger.sign(pay(ledger, "landed-before-rotation")))
    change = ledger.registry.rotate_key("alice")
    assert change.retired.reason == "rotated" and change.current.retired_at is None
    assert change.retired.retired_at == change.current.valid_from
    with pytest.raises(BadSignature, match="rotated at"):
        ledger.submit(old_signed)  # signed in time, submitted too late
    ledger.submit(ledger.sign(pay(ledger, "signed-after-rotation")))
    report = ledger.verify()
    assert report.ok, report.problems
    assert [k.reason for k in ledger.registry.key_history("alice")] == ["rotated", None]


def test_a_revoked_key_signs_nothing_and_the_participant_goes_on_with_its_new_key(ledger: Ledger) -> None:
    stolen = ledger.sign(pay(ledger, "thief-1"))
    before = ledger.registry.account(ALICE).balance
    change = revoke(ledger, "alice")
    with pytest.raises(BadSignature, match="revoked at"):
        ledger.submit(stolen)
    assert ledger.registry.account(ALICE).balance == before
    assert [(r.tx_id, r.code) for r in ledger.reports.rejections(limit=1)] == [("thief-1", "BAD_SIGNATURE")]  # the attempt is on record
    receipt = ledger.submit(ledger.sign(pay(ledger, "alice-after-revocation")))
    assert receipt.at >= change.retired.retired_at
    assert ledger.verify().ok


def test_revoking_needs_no_old_key_but_rotating_does(ledger: Ledger) -> None:
    ledger._keys.path("alice").unlink()
    with pytest.raises(KeyUnavailable):
        ledger.registry.rotate_key("alice")
    revoke(ledger, "alice")  # the lost key is retired by her bank, which installs the one she made
    ledger.submit(ledger.sign(pay(ledger, "after-lost-key")))
    with pytest.raises(UnknownParticipant):
        ledger.registry.revoke_key("nobody", bytes(32))
    assert ledger.verify().ok


def test_a_book_that_cached_the_old_key_notices_a_rotation_made_by_another_process(ledger: Ledger) -> None:
    ledger.submit(ledger.sign(pay(ledger, "warms-the-cache")))  # this book and key store now hold alice's old key
    stale_signature = ledger.sign(pay(ledger, "old-key-late"))
    run_wonledger(ledger._store.url, "keys", "rotate", "alice", keys=ledger._keys.directory).ok()
    with pytest.raises(BadSignature, match="rotated at"):
        ledger.submit(stale_signature)
    # The same process signs with the new key (its key store reads the replaced file again),
    # and its book, which had cached alice's old public key, accepts it.
    ledger.submit(ledger.sign(pay(ledger, "new-key-stale-book")))
    assert ledger.verify().ok


def test_verify_checks_each_old_signature_under_the_key_of_its_time(ledger: Ledger, raw_sql) -> None:
    ledger.submit(ledger.sign(pay(ledger, "under-first-key")))
    ledger.registry.rotate_key("alice")
    assert ledger.verify().ok
    raw_sql(ledger._store.url, "DELETE FROM participant_keys WHERE participant = 'alice' AND retired_at IS NOT NULL")
    problems = ledger.verify().problems
    # The journal holds every key it ever registered: the replay still checks under-first-key under alice's
    # first key, and names the key table that no longer matches the journal.
    assert [p.kind for p in problems] == ["key"] and "alice" in problems[0].detail


def test_a_transaction_replayed_into_another_ledger_with_the_same_keys_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    signed = ledger.sign(pay(ledger, "replayed"))
    ledger.submit(signed)
    second = Ledger.create(f"sqlite:///{tmp_path / 'second.db'}", ledger._keys.directory)  # alice's key is the same there
    try:
        before = fingerprint(second._store.url)
        with pytest.raises(BadSignature, match="signed for ledger"):
            second.submit(signed)
        assert fingerprint(second._store.url) == before
    finally:
        second.close()


def test_a_signed_cross_border_send_replayed_elsewhere_or_with_another_quote_or_id_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    ledger.crossborder.send("alice", "kowloon-supply", 2_000_000, "HKDS", tx_id="send-1")
    entry = ledger.transaction("send-1")
    line = {"tx": json.loads(entry.canonical), "signatures": [s.to_wire() for s in entry.signatures]}
    better_rate = json.loads(json.dumps(line))
    better_rate["tx"]["id"], better_rate["tx"]["quote"]["rate"] = "send-2", "0.0066"
    again = json.loads(json.dumps(line))
    again["tx"]["id"] = "send-3"  # the same payment once more under a new id
    before = fingerprint(ledger._store.url)
    result = ledger.ingest([json.dumps(better_rate), json.dumps(again)])
    assert [r.code for r in result.rejected] == ["BAD_SIGNATURE", "BAD_SIGNATURE"]
    assert fingerprint(ledger._store.url) == before
    assert ledger.ingest([json.dumps(line)]).duplicates == 1  # the original, resubmitted, is its own receipt
    second = Ledger.create(f"sqlite:///{tmp_path / 'second.db'}", ledger._keys.directory)
    try:
        elsewhere = fingerprint(second._store.url)
        assert [r.code for r in second.ingest([json.dumps(line)]).rejected] == ["BAD_SIGNATURE"]
        assert fingerprint(second._store.url) == elsewhere
    finally:
        second.close()


def test_a_signed_transaction_with_its_legs_reordered_is_refused(ledger: Ledger) -> None:
    legs = (Leg(ALICE, BANK, ASSET, 100), Leg(ALICE, "kstable:dKRW.hanriver:reserve", ASSET, 200))
    line = json.loads(json.dumps(ledger.sign(pay(ledger, "two-legs", legs=legs)).to_wire()))
    line["tx"]["legs"].reverse()
    before = fingerprint(ledger._store.url)
    result = ledger.ingest([json.dumps(line)])
    assert [r.code for r in result.rejected] == ["BAD_SIGNATURE"] and result.posted == 0
    assert fingerprint(ledger._store.url) == before


# -- keys on disk -------------------------------------------------------------------


def mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777


def test_keys_made_by_rotation_are_private_and_encrypted_with_the_passphrase(tmp_path: Path) -> None:
    db, keys = f"sqlite:///{tmp_path / 'l.db'}", tmp_path / "keys"
    env = {"WONLEDGER_KEY_PASSPHRASE": "correct horse"}
    run_wonledger(db, "init", keys=keys, env=env).ok()
    before = (keys / "alice.pem").read_bytes()
    run_wonledger(db, "keys", "rotate", "alice", keys=keys, env=env).ok()
    after = (keys / "alice.pem").read_bytes()
    assert after != before and after.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert mode(keys) == 0o700 and {mode(p) for p in keys.iterdir()} == {0o600}
    assert not (keys / "alice.pem.next").exists()
    run_wonledger(db, "transfer", "alice", "hanriver:dKRW.hanriver", "10", keys=keys, env=env).ok()
    run_wonledger(db, "transfer", "alice", "hanriver:dKRW.hanriver", "10", keys=keys).error("KEY_UNAVAILABLE", 2)


@pytest.mark.parametrize("loose", ["file", "directory"])
def test_a_key_open_to_other_users_is_refused_and_nothing_moves(tmp_path: Path, loose: str) -> None:
    db, keys = f"sqlite:///{tmp_path / 'l.db'}", tmp_path / "keys"
    run_wonledger(db, "init", keys=keys).ok()
    os.chmod(keys / "alice.pem" if loose == "file" else keys, 0o644 if loose == "file" else 0o755)
    before = fingerprint(db)
    message = run_wonledger(db, "transfer", "alice", "hanriver:dKRW.hanriver", "10", keys=keys).error("KEY_UNAVAILABLE", 2)
    assert ("chmod 600" if loose == "file" else "chmod 700") in message
    assert fingerprint(db) == before


@pytest.mark.slow
def test_no_command_prints_a_private_key(tmp_path: Path) -> None:
    db, keys = f"sqlite:///{tmp_path / 'l.db'}", tmp_path / "keys"
    runs = [run_wonledger(db, "init", keys=keys)]
    own = tmp_path / "alice-own-machine"
    runs.append(run_wonledger(db, "--keys", str(own), "--json", "keys", "new", "alice", keys=keys).ok())
    fresh = json.loads(runs[-1].stdout)["public_key"]
    for args in (
        ("keys", "rotate", "hanriver"),
        ("--json", "keys", "revoke", "alice", "--public-key", fresh),
        ("keys", "list", "alice"),
        ("participant", "add", "busan-fish", "--kind", "corporate", "--jurisdiction", "KR"),
        ("--json", "participant", "show", "alice"),
        ("transfer", "kowloon-supply", "harbour:dHKD.harbour", "10"),
        ("verify",),
        ("--json", "checkpoint"),  # signed with the operator's key, which lives in the key directory too
    ):
        runs.append(run_wonledger(db, *args, keys=keys).ok())
    os.chmod(keys / "bok.pem", 0o640)
    runs.append(run_wonledger(db, "transfer", "bok:wKRW", "hanriver:wKRW", "1", keys=keys))
    printed = "".join(r.stdout + r.stderr for r in runs)
    for pem in [*keys.glob("*.pem"), *own.glob("*.pem")]:
        body = [line for line in pem.read_text().splitlines() if not line.startswith("-----")]
        assert body and not any(line in printed for line in body), pem.name
        if pem.name == "bok.pem":
            continue  # left open to others above: the key store refuses to read it
        store = KeyStore(pem.parent)
        operator = pem.stem.startswith("_operator-")
        private = store.load_operator(pem.stem.removeprefix("_operator-")) if operator else store.load(pem.stem)
        raw = private.private_bytes_raw()
        assert raw.hex() not in printed and base64.urlsafe_b64encode(raw).decode().rstrip("=") not in printed


def test_a_rotation_interrupted_after_it_registered_is_named_and_revocation_recovers(ledger: Ledger) -> None:
    change = ledger.registry.rotate_key("alice")
    path = ledger._keys.path("alice")
    # As a crash between the registry's commit and the file's rename would leave it: the new key beside the old.
    path.rename(path.with_name("alice.pem.next"))
    path.write_bytes(ledger._keys.path("bok").read_bytes())  # stands for the old key: a key, not the registered one
    os.chmod(path, 0o600)
    with pytest.raises(KeyUnavailable, match=r"alice\.pem\.next"):
        ledger.registry.rotate_key("alice")
    path.unlink()
    path.with_name("alice.pem.next").rename(path)  # what the message says to do
    ledger.submit(ledger.sign(pay(ledger, "after-recovery")))
    assert ledger.registry.key_history("alice")[-1].public_key == change.current.public_key
    revoke(ledger, "alice")
    ledger.submit(ledger.sign(pay(ledger, "after-revocation")))
    assert ledger.verify().ok


def test_an_inclusion_proof_of_an_entry_signed_before_a_revocation_still_checks_offline(ledger: Ledger) -> None:
    from wonledger import verify_proof

    ledger.submit(ledger.sign(pay(ledger, "before-revocation")))
    ledger.proofs.checkpoint()
    revoke(ledger, "alice")
    ledger.submit(ledger.sign(pay(ledger, "after-revocation")))
    ledger.proofs.checkpoint()
    for tx_id in ("before-revocation", "after-revocation"):
        report = verify_proof(json.loads(json.dumps(ledger.proofs.inclusion(tx_id))))
        assert report.ok, (tx_id, report.problems)
