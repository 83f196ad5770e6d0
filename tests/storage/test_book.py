"""The book against a real database, on SQLite and on PostgreSQL.

Each test starts from a fresh default world (the README's default world) and checks what
a user of the ledger relies on: all-or-nothing transactions, two-phase
holds, the hash chain, idempotent ids, batches that survive one bad line,
signatures bound to one ledger, reversals and 64-bit counters.
"""

from __future__ import annotations

import gc
import hashlib
import json
import threading
from collections.abc import Iterator

import pytest
import rfc8785

from wonledger import (
    AlreadyReversed,
    AssetMismatch,
    BadAmount,
    BadSignature,
    DuplicateConflict,
    HoldExpired,
    HoldNotPending,
    InsufficientFunds,
    Ledger,
    LedgerError,
    Leg,
    NotAuthorized,
    Receipt,
    Tx,
    UnknownAccount,
)
from wonledger.domain.money import MAX_AMOUNT, MAX_COUNTER

ALICE = "alice:dKRW.hanriver"  # 5,000,000 at the start
RESERVE = "kstable:dKRW.hanriver:reserve"  # 10,000,000,000
EXPORTS = "seoul-exports:dKRW.namsan"  # 2,000,000,000
NAMSAN_ISSUANCE = "namsan:dKRW.namsan"


def transfer(ledger: Ledger, tx_id: str, debit: str, credit: str, amount: int, asset: str = "dKRW.hanriver", memo: str = "") -> Tx:
    return Tx(ledger=ledger.id, id=tx_id, kind="transfer", memo=memo, legs=(Leg(debit, credit, asset, amount),))


def snapshot(ledger: Ledger) -> dict[str, tuple[int, int, int, int]]:
    """Every account's four counters."""
    return {
        a.id: (a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending) for a in ledger.registry.accounts()
    }


def journal_size(ledger: Ledger) -> int:
    return ledger.info().transactions


def journal_ids(ledger: Ledger, raw) -> list[str]:
    """Every transaction id, in sequence order, read straight from the table."""
    return [r.id for r in raw(ledger).rows("SELECT id FROM journal ORDER BY seq")]


# -- atomic transactions ---------------------------------------------------

GOOD_LEG = Leg(ALICE, RESERVE, "dKRW.hanriver", 1_000)

BAD_LEGS = {
    "insufficient funds": (Leg(EXPORTS, NAMSAN_ISSUANCE, "dKRW.namsan", 3_000_000_000), InsufficientFunds),
    "unknown account": (Leg(EXPORTS, "nobody:dKRW.namsan", "dKRW.namsan", 10), UnknownAccount),
    "asset mismatch": (Leg(EXPORTS, RESERVE, "dKRW.namsan", 10), AssetMismatch),
}


@pytest.mark.parametrize("bad", list(BAD_LEGS), ids=list(BAD_LEGS))
def test_a_multi_leg_transaction_with_one_bad_leg_applies_no_leg(ledger: Ledger, bad: str) -> None:
    leg, error = BAD_LEGS[bad]
    before, size = snapshot(ledger), journal_size(ledger)
    tx = Tx(ledger=ledger.id, id="pay-atomic", kind="pay", legs=(GOOD_LEG, leg, GOOD_LEG))
    with pytest.raises(error):
        ledger.submit(ledger.sign(tx, ["alice", "seoul-exports"]))
    assert snapshot(ledger) == before
    assert journal_size(ledger) == size
    with pytest.raises(LedgerError):
        ledger.transaction("pay-atomic")
    assert ledger.verify().ok


def test_a_multi_leg_transaction_missing_one_debtors_signature_applies_no_leg(ledger: Ledger) -> None:
    before, size = snapshot(ledger), journal_size(ledger)
    tx = Tx(ledger=ledger.id, id="pay-unsigned", kind="pay", legs=(GOOD_LEG, Leg(EXPORTS, NAMSAN_ISSUANCE, "dKRW.namsan", 5)))
    with pytest.raises(NotAuthorized):
        ledger.submit(ledger.sign(tx, ["alice"]))
    assert (snapshot(ledger), journal_size(ledger)) == (before, size)


def test_the_legs_of_a_multi_leg_transaction_all_apply_together(ledger: Ledger) -> None:
    tx = Tx(
        ledger=ledger.id,
        id="pay-two-legs",
        kind="pay",
        legs=(GOOD_LEG, Leg(EXPORTS, NAMSAN_ISSUANCE, "dKRW.namsan", 7)),
    )
    receipt = ledger.submit(ledger.sign(tx, ["alice", "seoul-exports"]))
    assert receipt.status == "posted"
    assert ledger.registry.account(ALICE).balance == 5_000_000 - 1_000
    assert ledger.registry.account(EXPORTS).balance == 2_000_000_000 - 7
    assert list(ledger.transaction("pay-two-legs").tx.legs) == list(tx.legs)
    assert ledger.verify().ok


def test_legs_of_one_transaction_are_checked_against_each_other_not_one_by_one(ledger: Ledger) -> None:
    """Two legs from alice that each fit, but not together, are refused together."""
    tx = Tx(
        ledger=ledger.id,
        id="pay-too-much",
        kind="pay",
        legs=(Leg(ALICE, RESERVE, "dKRW.hanriver", 3_000_000), Leg(ALICE, RESERVE, "dKRW.hanriver", 3_000_000)),
    )
    before = snapshot(ledger)
    with pytest.raises(InsufficientFunds):
        ledger.submit(ledger.sign(tx))
    assert snapshot(ledger) == before


# -- two-phase transfers -----------------------------------------------------


def test_a_hold_reserves_the_amount_without_moving_it(ledger: Ledger) -> None:
    receipt = ledger.payments.transfer(ALICE, RESERVE, 400_000, tx_id="hold-1", hold_timeout_s=600)
    assert receipt.status == "pending"
    alice, reserve = ledger.registry.account(ALICE), ledger.registry.account(RESERVE)
    assert (alice.balance, alice.available, alice.debits_pending) == (5_000_000, 4_600_000, 400_000)
    assert (reserve.balance, reserve.credits_pending) == (10_000_000_000, 400_000)
    assert ledger.transaction("hold-1").status == "pending"
    with pytest.raises(InsufficientFunds):
        ledger.payments.transfer(ALICE, RESERVE, 4_600_001)
    assert ledger.verify().ok


def test_posting_a_hold_in_full_moves_it_and_clears_the_pending_amounts(ledger: Ledger) -> None:
    ledger.payments.transfer(ALICE, RESERVE, 400_000, tx_id="hold-1", hold_timeout_s=600)
    receipt = ledger.holds.post("hold-1", tx_id="post-1")
    assert receipt.status == "posted"
    alice, reserve = ledger.registry.account(ALICE), ledger.registry.account(RESERVE)
    assert (alice.balance, alice.available, alice.debits_pending) == (4_600_000, 4_600_000, 0)
    assert (reserve.balance, reserve.credits_pending) == (10_000_400_000, 0)
    assert ledger.transaction("hold-1").status == "posted"
    assert ledger.transaction("post-1").tx.ref == "hold-1"
    assert ledger.verify().ok


def test_a_partial_post_moves_the_amount_and_releases_the_rest(ledger: Ledger) -> None:
    ledger.payments.transfer(ALICE, RESERVE, 400_000, tx_id="hold-1", hold_timeout_s=600)
    ledger.holds.post("hold-1", 150_000, tx_id="post-1")
    alice, reserve = ledger.registry.account(ALICE), ledger.registry.account(RESERVE)
    assert (alice.balance, alice.available, alice.debits_pending) == (4_850_000, 4_850_000, 0)
    assert (reserve.balance, reserve.credits_pending) == (10_000_150_000, 0)
    with pytest.raises(HoldNotPending):
        ledger.holds.post("hold-1", 250_000)
    assert ledger.verify().ok


def test_a_post_of_more_than_the_hold_is_refused_and_the_hold_stays_pending(ledger: Ledger) -> None:
    ledger.payments.transfer(ALICE, RESERVE, 400_000, tx_id="hold-1", hold_timeout_s=600)
    too_much = Tx(ledger=ledger.id, id="post-big", kind="post", ref="hold-1", legs=(Leg(ALICE, RESERVE, "dKRW.hanriver", 400_001),))
    with pytest.raises(BadAmount):
        ledger.submit(ledger.sign(too_much, ["alice"]))
    assert ledger.transaction("hold-1").status == "pending"
    assert ledger.registry.account(ALICE).debits_pending == 400_000


def test_voiding_a_hold_releases_all_of_it_and_it_cannot_be_posted_after(ledger: Ledger) -> None:
    before = snapshot(ledger)
    ledger.payments.transfer(ALICE, RESERVE, 400_000, tx_id="hold-1", hold_timeout_s=600)
    ledger.holds.void("hold-1", tx_id="void-1")
    assert snapshot(ledger) == before
    assert ledger.transaction("hold-1").status == "voided"
    with pytest.raises(HoldNotPending):
        ledger.holds.post("hold-1")
    with pytest.raises(HoldNotPending):
        ledger.holds.void("hold-1")
    assert ledger.verify().ok


def test_a_hold_can_be_posted_until_its_timeout(clocked: Ledger, clock) -> None:
    clocked.payments.transfer(ALICE, RESERVE, 400_000, tx_id="hold-1", hold_timeout_s=60)
    clock.advance(59.9)
    assert clocked.holds.expire_due() == 0
    assert clocked.holds.post("hold-1").status == "posted"
    assert clocked.registry.account(ALICE).balance == 4_600_000


def test_an_expired_hold_is_voided_and_its_amount_released(clocked: Ledger, clock) -> None:
    before = snapshot(clocked)
    clocked.payments.transfer(ALICE, RESERVE, 400_000, tx_id="hold-1", hold_timeout_s=60)
    clock.advance(60)
    assert clocked.holds.expire_due() == 1
    assert snapshot(clocked) == before
    assert clocked.transaction("hold-1").status == "voided"
    expiry = clocked.transaction("_expire:hold-1")
    assert (expiry.tx.kind, expiry.tx.ref, expiry.signatures) == ("expire", "hold-1", ())
    with pytest.raises(HoldExpired):
        clocked.holds.post("hold-1")
    with pytest.raises(HoldExpired):
        clocked.holds.void("hold-1")
    assert clocked.holds.expire_due() == 0
    assert clocked.verify().ok


def test_a_hold_past_its_timeout_is_expired_by_the_next_write_not_posted(clocked: Ledger, clock) -> None:
    clocked.payments.transfer(ALICE, RESERVE, 400_000, tx_id="hold-1", hold_timeout_s=60)
    signed_post = clocked.sign(
        Tx(ledger=clocked.id, id="post-late", kind="post", ref="hold-1", legs=(Leg(ALICE, RESERVE, "dKRW.hanriver", 400_000),)),
        ["alice"],
    )
    clock.advance(61)
    with pytest.raises(HoldExpired):
        clocked.submit(signed_post)
    assert clocked.registry.account(ALICE).balance == 5_000_000
    assert clocked.registry.account(ALICE).available == 5_000_000
    assert clocked.transaction("hold-1").status == "voided"
    assert clocked.verify().ok


def test_only_due_holds_expire(clocked: Ledger, clock) -> None:
    clocked.payments.transfer(ALICE, RESERVE, 100, tx_id="hold-short", hold_timeout_s=10)
    clocked.payments.transfer(ALICE, RESERVE, 200, tx_id="hold-long", hold_timeout_s=1000)
    clock.advance(11)
    assert clocked.holds.expire_due() == 1
    assert clocked.transaction("hold-short").status == "voided"
    assert clocked.transaction("hold-long").status == "pending"
    assert clocked.registry.account(ALICE).debits_pending == 200


# -- the hash chain ----------------------------------------------------------


def make_some_history(lg: Ledger, clock) -> None:
    """Transfers, a multi-leg pay, holds posted, part-posted, voided and expired, a reversal."""
    lg.payments.transfer(ALICE, RESERVE, 1_000, tx_id="t-1", memo="invoice 7 — ünïcødé ✓")
    lg.submit(
        lg.sign(
            Tx(ledger=lg.id, id="pay-1", kind="pay", legs=(GOOD_LEG, Leg(EXPORTS, NAMSAN_ISSUANCE, "dKRW.namsan", 3))),
            ["alice", "seoul-exports"],
        )
    )
    lg.payments.transfer(ALICE, RESERVE, 500, tx_id="h-full", hold_timeout_s=60)
    lg.payments.transfer(ALICE, RESERVE, 500, tx_id="h-part", hold_timeout_s=60)
    lg.payments.transfer(ALICE, RESERVE, 500, tx_id="h-void", hold_timeout_s=60)
    lg.payments.transfer(ALICE, RESERVE, 500, tx_id="h-expire", hold_timeout_s=5)
    lg.holds.post("h-full", tx_id="p-full")
    lg.holds.post("h-part", 123, tx_id="p-part")
    lg.holds.void("h-void", tx_id="v-void")
    clock.advance(6)
    lg.holds.expire_due()
    lg.payments.reverse("t-1", tx_id="r-1")


def test_every_entry_hash_is_sha256_of_the_previous_hash_and_the_canonical_envelope(clocked: Ledger, clock, raw) -> None:
    make_some_history(clocked, clock)
    ids = journal_ids(clocked, raw)
    assert len(ids) == journal_size(clocked) > 10
    previous = bytes(32)
    for seq, tx_id in enumerate(ids, 1):
        entry = clocked.transaction(tx_id)
        assert entry.seq == seq
        tx_object = entry.tx.to_wire()
        assert rfc8785.dumps(tx_object) == entry.canonical  # the stored body is the signed canonical tx
        envelope = {
            "seq": entry.seq,
            "at": entry.at,
            "tx": tx_object,
            "signatures": [{"signer": s.signer, "sig": s.sig} for s in entry.signatures],
        }
        expected = hashlib.sha256(previous + rfc8785.dumps(envelope)).hexdigest()
        assert entry.hash == expected, f"hash of {tx_id} (seq {seq})"
        previous = bytes.fromhex(expected)
    assert clocked.verify().ok


def test_a_receipt_carries_the_hash_and_seq_the_journal_shows(ledger: Ledger) -> None:
    receipt = ledger.payments.transfer(ALICE, RESERVE, 1_000, tx_id="t-1")
    entry = ledger.transaction("t-1")
    assert (receipt.seq, receipt.hash, receipt.at) == (entry.seq, entry.hash, entry.at)
    assert receipt.seq == journal_size(ledger)


def test_the_at_of_an_entry_is_its_commit_time_in_utc(clocked: Ledger, clock) -> None:
    from datetime import datetime, timedelta, timezone

    clock.now = datetime(2030, 1, 2, 9, 30, 0, 123456, tzinfo=timezone(timedelta(hours=9)))
    clocked.payments.transfer(ALICE, RESERVE, 1_000, tx_id="t-1")
    assert clocked.transaction("t-1").at == "2030-01-02T00:30:00.123456Z"


# -- idempotency ---------------------------------------------------------------


def test_resubmitting_the_same_transaction_returns_the_original_receipt_and_changes_nothing(ledger: Ledger) -> None:
    signed = ledger.sign(transfer(ledger, "pay-0001", ALICE, RESERVE, 150_000))
    first = ledger.submit(signed)
    before, size = snapshot(ledger), journal_size(ledger)
    again = ledger.submit(signed)
    assert again.duplicate and not first.duplicate
    assert (again.id, again.seq, again.hash, again.at, again.status) == (first.id, first.seq, first.hash, first.at, first.status)
    assert (snapshot(ledger), journal_size(ledger)) == (before, size)
    assert ledger.registry.account(ALICE).balance == 5_000_000 - 150_000


def test_a_resubmitted_hold_reports_its_current_status(ledger: Ledger) -> None:
    hold = ledger.sign(Tx(ledger=ledger.id, id="hold-1", kind="hold", legs=(GOOD_LEG,), timeout_s=600))
    ledger.submit(hold)
    ledger.holds.post("hold-1")
    again = ledger.submit(hold)
    assert again.duplicate and again.status == "posted"
    assert ledger.registry.account(ALICE).debits_pending == 0


def test_resubmitting_the_same_id_with_other_content_is_a_duplicate_conflict(ledger: Ledger) -> None:
    ledger.submit(ledger.sign(transfer(ledger, "pay-0001", ALICE, RESERVE, 150_000)))
    before, size = snapshot(ledger), journal_size(ledger)
    for changed in (
        transfer(ledger, "pay-0001", ALICE, RESERVE, 150_001),
        transfer(ledger, "pay-0001", ALICE, RESERVE, 150_000, memo="other memo"),
    ):
        with pytest.raises(DuplicateConflict):
            ledger.submit(ledger.sign(changed))
    assert (snapshot(ledger), journal_size(ledger)) == (before, size)


def test_an_id_repeated_inside_one_batch_posts_once(ledger: Ledger) -> None:
    signed = ledger.sign(transfer(ledger, "pay-0001", ALICE, RESERVE, 150_000))
    other = ledger.sign(transfer(ledger, "pay-0001", ALICE, RESERVE, 1))
    first, again, conflict = ledger.submit_many([signed, signed, other])
    assert isinstance(first, Receipt) and not first.duplicate
    assert isinstance(again, Receipt) and again.duplicate and again.seq == first.seq
    assert isinstance(conflict, DuplicateConflict)
    assert ledger.registry.account(ALICE).balance == 5_000_000 - 150_000


# -- batches -------------------------------------------------------------------


def test_one_bad_item_of_a_batch_does_not_stop_the_others(ledger: Ledger) -> None:
    batch = [
        ledger.sign(transfer(ledger, "b-1", ALICE, RESERVE, 1_000)),
        ledger.sign(transfer(ledger, "b-2", ALICE, RESERVE, 50_000_000)),  # more than alice has
        ledger.sign(transfer(ledger, "b-3", ALICE, RESERVE, 2_000)),
        ledger.sign(transfer(ledger, "b-4", ALICE, "nobody:dKRW.hanriver", 2_000)),
        ledger.sign(transfer(ledger, "b-5", ALICE, RESERVE, 3_000)),
    ]
    outcomes = ledger.submit_many(batch)
    assert [type(o) for o in outcomes] == [Receipt, InsufficientFunds, Receipt, UnknownAccount, Receipt]
    assert ledger.registry.account(ALICE).balance == 5_000_000 - 6_000
    seqs = [o.seq for o in outcomes if isinstance(o, Receipt)]
    assert seqs == [seqs[0], seqs[0] + 1, seqs[0] + 2]  # refused items take no sequence number
    assert ledger.verify().ok


def test_a_later_item_of_a_batch_sees_what_the_earlier_ones_did(ledger: Ledger) -> None:
    outcomes = ledger.submit_many(
        [
            ledger.sign(transfer(ledger, "b-1", ALICE, RESERVE, 4_000_000)),
            ledger.sign(transfer(ledger, "b-2", ALICE, RESERVE, 1_000_001)),  # fits the start, not after b-1
            ledger.sign(transfer(ledger, "b-3", ALICE, RESERVE, 1_000_000)),  # exactly what is left
        ]
    )
    assert [type(o) for o in outcomes] == [Receipt, InsufficientFunds, Receipt]
    assert ledger.registry.account(ALICE).balance == 0


def test_ingest_posts_every_good_line_and_reports_the_bad_ones_by_number(ledger: Ledger) -> None:
    def line(tx: Tx, signers=None) -> str:
        return json.dumps(ledger.sign(tx, signers).to_wire())

    forged = json.loads(line(transfer(ledger, "i-forged", ALICE, RESERVE, 10)))
    forged["tx"]["legs"][0]["amount"] = 4_000_000  # the signature was over 10
    lines = [
        line(transfer(ledger, "i-1", ALICE, RESERVE, 1_000)),
        "{not json",
        json.dumps(forged),
        line(transfer(ledger, "i-2", ALICE, RESERVE, 99_000_000)),
        "",
        line(transfer(ledger, "i-3", ALICE, RESERVE, 2_000)),
        line(transfer(ledger, "i-1", ALICE, RESERVE, 1_000)),
        line(transfer(ledger, "i-4", ALICE, RESERVE, 1_000), ["kstable"]),
        '{"tx": {"ledger": "x", "id": "i-5", "kind": "transfer", "legs": [{"debit": "a", "credit": "b", "asset": "KRWS", "amount": 1.5}]}, "signatures": []}',
    ]
    result = ledger.ingest(lines)
    assert (result.posted, result.duplicates) == (2, 1)
    assert [(r.line, r.code) for r in result.rejected] == [
        (2, "BAD_INPUT"),
        (3, "BAD_SIGNATURE"),
        (4, "INSUFFICIENT_FUNDS"),
        (8, "NOT_AUTHORIZED"),
        (9, "BAD_AMOUNT"),
    ]
    assert ledger.registry.account(ALICE).balance == 5_000_000 - 3_000
    with pytest.raises(LedgerError):
        ledger.transaction("i-forged")
    assert ledger.verify().ok


def test_batches_ingested_on_two_threads_at_once_leave_the_garbage_collector_as_it_was(ledger: Ledger) -> None:
    # Ingest raises the collector's threshold for the process while it runs; overlapping batches
    # (the first ends while the second still runs) must not leave the raised one behind.
    before = gc.get_threshold()
    second_started, first_ended = threading.Event(), threading.Event()

    def first_lines() -> Iterator[str]:
        second_started.wait(10)
        yield from ()

    def second_lines() -> Iterator[str]:
        second_started.set()
        first_ended.wait(10)
        yield from ()

    first = threading.Thread(target=lambda: (ledger.ingest(first_lines()), first_ended.set()))
    second = threading.Thread(target=lambda: ledger.ingest(second_lines()))
    first.start()
    second.start()
    first.join(20)
    second.join(20)
    assert first_ended.is_set() and not second.is_alive()
    assert gc.get_threshold() == before


def test_ingesting_the_same_file_twice_posts_nothing_new(ledger: Ledger) -> None:
    lines = [json.dumps(ledger.sign(transfer(ledger, f"i-{n}", ALICE, RESERVE, 10 + n)).to_wire()) for n in range(30)]
    first = ledger.ingest(lines)
    size, before = journal_size(ledger), snapshot(ledger)
    second = ledger.ingest(lines)
    assert (first.posted, first.duplicates, first.rejected) == (30, 0, [])
    assert (second.posted, second.duplicates, second.rejected) == (0, 30, [])
    assert (journal_size(ledger), snapshot(ledger)) == (size, before)


# -- signatures bound to one ledger -------------------------------------------


@pytest.fixture
def other_ledger(ledger: Ledger, fresh_url) -> Ledger:
    """A second ledger with its own id, whose participants use the same keys as `ledger`'s."""
    other = Ledger.create(fresh_url(), ledger._keys.directory, ledger_id="wl-someone-else")
    yield other
    other.close()


def test_a_transaction_signed_for_another_ledger_is_refused(ledger: Ledger, other_ledger: Ledger) -> None:
    assert other_ledger.id != ledger.id
    signed_there = other_ledger.sign(transfer(other_ledger, "pay-elsewhere", ALICE, RESERVE, 1_000))
    other_ledger.submit(signed_there)  # valid where it was meant to go
    before, size = snapshot(ledger), journal_size(ledger)
    with pytest.raises(BadSignature):
        ledger.submit(signed_there)
    outcome = ledger.ingest([json.dumps(signed_there.to_wire())])
    assert [r.code for r in outcome.rejected] == ["BAD_SIGNATURE"]
    assert (snapshot(ledger), journal_size(ledger)) == (before, size)


def test_relabelling_another_ledgers_transaction_breaks_its_signature(ledger: Ledger, other_ledger: Ledger) -> None:
    wire = other_ledger.sign(transfer(other_ledger, "pay-elsewhere", ALICE, RESERVE, 1_000)).to_wire()
    wire["tx"]["ledger"] = ledger.id
    outcome = ledger.ingest([json.dumps(wire)])
    assert [r.code for r in outcome.rejected] == ["BAD_SIGNATURE"]
    assert ledger.registry.account(ALICE).balance == 5_000_000


# -- reversals -------------------------------------------------------------------


def test_a_reversal_moves_every_leg_back_and_names_the_original(ledger: Ledger) -> None:
    before = {a: ledger.registry.account(a).balance for a in (ALICE, RESERVE, EXPORTS, NAMSAN_ISSUANCE)}
    ledger.submit(
        ledger.sign(
            Tx(ledger=ledger.id, id="pay-1", kind="pay", legs=(GOOD_LEG, Leg(EXPORTS, NAMSAN_ISSUANCE, "dKRW.namsan", 3))),
            ["alice", "seoul-exports"],
        )
    )
    receipt = ledger.payments.reverse("pay-1", tx_id="undo-1")
    assert receipt.status == "posted"
    undo = ledger.transaction("undo-1")
    assert (undo.tx.kind, undo.tx.ref) == ("reversal", "pay-1")
    assert {s.signer for s in undo.signatures} == {"kstable", "namsan"}  # the original's creditors
    assert {a: ledger.registry.account(a).balance for a in before} == before
    assert ledger.verify().ok


def test_a_transaction_is_reversed_at_most_once(ledger: Ledger) -> None:
    ledger.payments.transfer(ALICE, RESERVE, 1_000, tx_id="t-1")
    ledger.payments.reverse("t-1", tx_id="undo-1")
    size = journal_size(ledger)
    with pytest.raises(AlreadyReversed):
        ledger.payments.reverse("t-1", tx_id="undo-2")
    assert journal_size(ledger) == size
    assert ledger.registry.account(ALICE).balance == 5_000_000


def test_two_reversals_of_one_transaction_in_one_batch_post_once(ledger: Ledger) -> None:
    ledger.payments.transfer(ALICE, RESERVE, 1_000, tx_id="t-1")
    mirror = (Leg(RESERVE, ALICE, "dKRW.hanriver", 1_000),)
    first, second = ledger.submit_many(
        [ledger.sign(Tx(ledger=ledger.id, id=f"undo-{n}", kind="reversal", ref="t-1", legs=mirror)) for n in (1, 2)]
    )
    assert isinstance(first, Receipt)
    assert isinstance(second, AlreadyReversed)
    assert ledger.registry.account(ALICE).balance == 5_000_000


def test_a_reversal_needs_the_funds_it_moves_back(ledger: Ledger) -> None:
    ledger.registry.open_account("seoul-exports", "dKRW.hanriver")
    ledger.payments.transfer(ALICE, "seoul-exports:dKRW.hanriver", 1_000, tx_id="t-1")
    ledger.payments.transfer("seoul-exports:dKRW.hanriver", RESERVE, 600, tx_id="t-2")
    with pytest.raises(InsufficientFunds):
        ledger.payments.reverse("t-1")
    assert ledger.registry.account("seoul-exports:dKRW.hanriver").balance == 400


# -- 64-bit counters -------------------------------------------------------------


def test_no_counter_ever_passes_2_to_the_63rd_minus_1(ledger: Ledger) -> None:
    """The central bank issues wKRW until its issuance account's debits reach the 64-bit limit."""
    issuer, bank = "bok:wKRW", "namsan:wKRW"

    def issue(tx_id: str, amounts: list[int]) -> Tx:
        return Tx(ledger=ledger.id, id=tx_id, kind="issue", legs=tuple(Leg(issuer, bank, "wKRW", a) for a in amounts))

    biggest = [MAX_AMOUNT] * 64
    n = 0
    while True:
        n += 1
        debits_before = ledger.registry.account(issuer).debits_posted
        try:
            ledger.submit(ledger.sign(issue(f"issue-{n}", biggest)))
        except BadAmount:
            assert debits_before + 64 * MAX_AMOUNT > MAX_COUNTER
            assert ledger.registry.account(issuer).debits_posted == debits_before
            break
        assert n < 20
    headroom = MAX_COUNTER - ledger.registry.account(issuer).debits_posted
    assert 0 < headroom < 64 * MAX_AMOUNT
    fill = [MAX_AMOUNT] * (headroom // MAX_AMOUNT) + ([headroom % MAX_AMOUNT] if headroom % MAX_AMOUNT else [])
    ledger.submit(ledger.sign(issue("issue-to-the-brim", fill)))
    assert ledger.registry.account(issuer).debits_posted == MAX_COUNTER == 2**63 - 1
    with pytest.raises(BadAmount):
        ledger.submit(ledger.sign(issue("issue-one-more", [1])))
    assert ledger.registry.account(issuer).debits_posted == MAX_COUNTER
    assert ledger.verify().ok
