"""`verify` catches someone who edits the database behind the ledger's back.

Each test makes a few transfers, changes one thing directly in the tables
(its own connection, plain SQL, as a person with database access would),
and expects both `Ledger.verify()` and `wonledger --db URL verify` (a
separate process, exit 3) to report it and to name the transaction or the
account that was touched.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from wonledger import Ledger
from wonledger.domain.signing import canonical_bytes

ALICE = "alice:dKRW.hanriver"
RESERVE = "kstable:dKRW.hanriver:reserve"


@pytest.fixture
def busy(ledger: Ledger) -> Ledger:
    """The default world plus three transfers t-1, t-2, t-3 and a hold h-1, all by alice."""
    for n, amount in enumerate((100_000, 200_000, 300_000), 1):
        ledger.payments.transfer(ALICE, RESERVE, amount, tx_id=f"t-{n}")
    ledger.payments.transfer(ALICE, RESERVE, 50_000, tx_id="h-1", hold_timeout_s=3600)
    return ledger


def cli_verify(ledger: Ledger, wonledger) -> dict:
    done = wonledger(ledger._store.url, "--json", "verify")
    report = json.loads(done.stdout)
    assert done.returncode == (0 if report["ok"] else 3), done.stderr
    return report


def assert_caught(ledger: Ledger, wonledger, tx: str | None = None, account: str | None = None) -> None:
    report = ledger.verify()
    assert not report.ok
    cli = cli_verify(ledger, wonledger)
    assert cli["ok"] is False
    assert cli["problems"] == [p.to_json() for p in report.problems]
    if tx is not None:
        assert tx in {p["tx"] for p in cli["problems"]}, cli["problems"]
    if account is not None:
        assert any(account in p["detail"] for p in cli["problems"]), cli["problems"]


def test_an_untouched_ledger_verifies_clean(busy: Ledger, wonledger) -> None:
    assert busy.verify().ok
    report = cli_verify(busy, wonledger)
    assert report == {"ok": True, "transactions": busy.info().transactions, "problems": []}
    plain = wonledger(busy._store.url, "verify")
    assert plain.returncode == 0 and plain.stdout.startswith("ok:")


def test_an_edited_leg_amount_is_found_and_its_transaction_named(busy: Ledger, raw, wonledger) -> None:
    raw(busy).execute("UPDATE legs SET amount = amount + 1 WHERE seq = (SELECT seq FROM journal WHERE id = 't-2')")
    assert_caught(busy, wonledger, tx="t-2")
    assert {(p.tx, p.kind) for p in busy.verify().problems} == {("t-2", "legs")}


def test_an_edited_amount_inside_a_journal_body_is_found_and_its_transaction_named(busy: Ledger, raw, wonledger) -> None:
    body = raw(busy).scalar("SELECT body FROM journal WHERE id = 't-2'")
    assert body.count('"amount":200000') == 1
    raw(busy).execute("UPDATE journal SET body = :b WHERE id = 't-2'", b=body.replace('"amount":200000', '"amount":2000'))
    assert_caught(busy, wonledger, tx="t-2")
    kinds = {p.kind for p in busy.verify().problems if p.tx == "t-2"}
    assert {"hash", "digest", "signature"} <= kinds


def test_a_rewritten_body_with_every_hash_recomputed_still_fails_its_signature(busy: Ledger, raw, wonledger) -> None:
    """Someone with the database but not alice's key cannot make a forged entry verify."""
    r = raw(busy)
    body = r.scalar("SELECT body FROM journal WHERE id = 't-2'")
    forged_tx = json.loads(body)
    forged_tx["legs"][0]["amount"] = 2_000
    forged = canonical_bytes(forged_tx)
    r.execute("UPDATE journal SET body = :b, digest = :d WHERE id = 't-2'", b=forged.decode(), d=hashlib.sha256(forged).hexdigest())
    r.execute("UPDATE legs SET amount = 2000 WHERE seq = (SELECT seq FROM journal WHERE id = 't-2')")
    previous = bytes(32)
    for row in r.rows("SELECT seq, at, body, signatures FROM journal ORDER BY seq"):
        envelope = canonical_bytes({"seq": row.seq, "at": row.at, "tx": json.loads(row.body), "signatures": json.loads(row.signatures)})
        digest = hashlib.sha256(previous + envelope).hexdigest()
        r.execute("UPDATE journal SET hash = :h WHERE seq = :s", h=digest, s=row.seq)
        previous = bytes.fromhex(digest)
    r.execute("UPDATE head SET hash = :h", h=previous.hex())
    r.execute("UPDATE accounts SET debits_posted = debits_posted - 198000 WHERE id = :a", a=ALICE)
    r.execute("UPDATE accounts SET credits_posted = credits_posted - 198000 WHERE id = :a", a=RESERVE)
    assert_caught(busy, wonledger, tx="t-2")
    assert {(p.tx, p.kind) for p in busy.verify().problems} == {("t-2", "signature"), ("t-2", "authorization")}


def test_an_edited_account_counter_is_found_and_the_account_named(busy: Ledger, raw, wonledger) -> None:
    raw(busy).execute("UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = :a", a=RESERVE)
    assert_caught(busy, wonledger, account=RESERVE)
    counters = [p for p in busy.verify().problems if p.kind == "counters"]
    assert len(counters) == 1 and RESERVE in counters[0].detail


def test_an_edited_pending_counter_is_found_and_the_account_named(busy: Ledger, raw, wonledger) -> None:
    raw(busy).execute("UPDATE accounts SET debits_pending = 0 WHERE id = :a", a=ALICE)
    assert_caught(busy, wonledger, account=ALICE)


def test_a_deleted_signature_is_found_and_its_transaction_named(busy: Ledger, raw, wonledger) -> None:
    raw(busy).execute("UPDATE journal SET signatures = '[]' WHERE id = 't-2'")
    assert_caught(busy, wonledger, tx="t-2")
    assert ("t-2", "authorization") in {(p.tx, p.kind) for p in busy.verify().problems}


def test_signatures_swapped_between_two_transactions_are_found_and_both_named(busy: Ledger, raw, wonledger) -> None:
    r = raw(busy)
    sigs = {row.id: row.signatures for row in r.rows("SELECT id, signatures FROM journal WHERE id IN ('t-1', 't-3')")}
    assert sigs["t-1"] != sigs["t-3"] and json.loads(sigs["t-1"])[0]["signer"] == "alice"
    r.execute("UPDATE journal SET signatures = :s WHERE id = 't-1'", s=sigs["t-3"])
    r.execute("UPDATE journal SET signatures = :s WHERE id = 't-3'", s=sigs["t-1"])
    assert_caught(busy, wonledger, tx="t-1")
    assert_caught(busy, wonledger, tx="t-3")
    named = {(p.tx, p.kind) for p in busy.verify().problems}
    assert {("t-1", "signature"), ("t-3", "signature")} <= named


def test_a_signature_by_someone_else_is_found(busy: Ledger, raw, wonledger) -> None:
    """kstable signs t-2's exact bytes; alice's signature is removed: the debtor did not sign."""
    body = raw(busy).scalar("SELECT body FROM journal WHERE id = 't-2'")
    signature = busy._keys.sign("kstable", body.encode())
    raw(busy).execute("UPDATE journal SET signatures = :s WHERE id = 't-2'", s=json.dumps([signature.to_wire()]))
    assert_caught(busy, wonledger, tx="t-2")
    assert ("t-2", "authorization") in {(p.tx, p.kind) for p in busy.verify().problems}


def test_a_deleted_journal_entry_is_found(busy: Ledger, raw, wonledger) -> None:
    r = raw(busy)
    seq = r.scalar("SELECT seq FROM journal WHERE id = 't-2'")
    r.execute("DELETE FROM legs WHERE seq = :s", s=seq)
    r.execute("DELETE FROM journal WHERE seq = :s", s=seq)
    assert_caught(busy, wonledger, tx="t-3", account=ALICE)  # the next entry no longer chains
    kinds = {p.kind for p in busy.verify().problems}
    assert {"sequence", "hash", "counters"} <= kinds


def test_a_hold_marked_voided_behind_the_ledgers_back_is_found(busy: Ledger, raw, wonledger) -> None:
    raw(busy).execute("UPDATE holds SET status = 'voided' WHERE id = 'h-1'")
    assert_caught(busy, wonledger, tx="h-1")


def test_an_entry_moved_in_time_is_found(busy: Ledger, raw, wonledger) -> None:
    raw(busy).execute("UPDATE journal SET at = '2020-01-01T00:00:00.000000Z' WHERE id = 't-1'")
    assert_caught(busy, wonledger, tx="t-1")


def test_the_plain_verify_output_names_the_transaction_and_exits_3(busy: Ledger, raw, wonledger) -> None:
    raw(busy).execute("UPDATE legs SET amount = 1 WHERE seq = (SELECT seq FROM journal WHERE id = 't-3')")
    done = wonledger(busy._store.url, "verify")
    assert done.returncode == 3
    assert "tx t-3" in done.stdout
    summary, unchecked = done.stdout.strip().splitlines()[-2:]
    assert summary.startswith("1 problem(s) in")
    assert unchecked.startswith("  not checked: ")  # what it trusted without checking, said even when it found a problem


def test_verify_needs_no_keys(busy: Ledger, wonledger, tmp_path) -> None:
    done = wonledger(busy._store.url, "--json", "verify", keys=tmp_path / "no-keys-here")
    assert done.returncode == 0 and json.loads(done.stdout)["ok"] is True
    assert not (tmp_path / "no-keys-here").exists()
