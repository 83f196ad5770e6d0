"""A payment across two ledgers, end to end through the CLI in real processes: both sides or neither, and the pair check says which."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest
from pairs import Pair

from wonledger.crossledger import CRASH_EXIT

LEDGERS = ("--kr", "kr", "--hk", "hk")
#: Deadlines a test can wait out: T_HK ten seconds after the plan (time for xsend and a fulfil by hand on a loaded
#: machine), T_KR two seconds after that.
SHORT = ("--hk-window", "10", "--skew", "0", "--relay-grace", "1", "--worst-commit", "1")


def _conditionals(pair: Pair, side: str) -> list:
    with pair.ledger(side) as ledger:
        return ledger.holds.conditionals()


@pytest.mark.slow
def test_a_payment_across_two_ledgers_moves_the_stablecoins_on_both_and_each_ledger_and_the_pair_verify(pair: Pair) -> None:
    sent = pair("--json", "xsend", *LEDGERS, "seoul-exports", "kowloon-supply", "1,000,000").ok().json()
    assert (sent["outcome"], sent["kr"], sent["hk"]) == ("settled", "fulfilled", "fulfilled")
    bought = sent["buy"][0]
    assert pair.balance("kr", "seoul-exports:KRWS") == 500_000_000 - 1_000_000
    assert pair.balance("kr", "peakfx:KRWS") == 10_000_000_000 + 1_000_000
    assert pair.balance("hk", "kowloon-supply:HKDS") == bought > 0
    assert pair.balance("hk", "peakfx:HKDS") == 1_000_000_000 - bought
    pair.on("kr", "verify").ok()
    pair.on("hk", "verify").ok()
    checked = pair("--json", "verify-pair", *LEDGERS).ok().json()
    assert checked["ok"] and checked["outcomes"] == {"settled": 1}


def test_both_holds_carry_the_same_hashlock_quote_and_parties_and_the_preimage_first_published_on_hong_kong(pair: Pair) -> None:
    sent = pair("--json", "xsend", *LEDGERS, "seoul-exports", "kowloon-supply", "250,000").ok().json()
    (kr,), (hk,) = _conditionals(pair, "kr"), _conditionals(pair, "hk")
    assert kr.condition == hk.condition == sent["condition"]
    assert kr.quote == hk.quote and kr.quote.id == sent["quote"]["id"]
    assert (kr.partner_hold, hk.partner_hold) == (hk.id, kr.id)
    assert kr.deadline > hk.deadline
    assert kr.preimage == hk.preimage is not None
    assert kr.travel.beneficiary.ledger == pair.on("hk", "--json", "info").json()["ledger"]


@pytest.mark.slow
def test_a_driver_killed_between_the_two_holds_is_finished_by_xresume(pair: Pair, crash_at: Callable[[str], dict[str, str]]) -> None:
    killed = pair("xsend", *LEDGERS, "seoul-exports", "kowloon-supply", "1,000,000", env=crash_at("kr-hold-recorded"))
    assert killed.exit_code == CRASH_EXIT
    assert [h.status for h in _conditionals(pair, "kr")] == ["pending"] and _conditionals(pair, "hk") == []
    resumed = pair("--json", "xresume", *LEDGERS).ok().json()
    assert (resumed["outcome"], resumed["kr"], resumed["hk"]) == ("settled", "fulfilled", "fulfilled")
    pair.on("kr", "verify").ok()
    pair.on("hk", "verify").ok()
    assert pair("--json", "verify-pair", *LEDGERS).ok().json()["outcomes"] == {"settled": 1}


@pytest.mark.slow
def test_a_driver_killed_after_the_hong_kong_fulfilment_has_the_preimage_relayed_by_xresume(pair: Pair, crash_at: Callable[[str], dict[str, str]]) -> None:
    assert pair("xsend", *LEDGERS, "alice", "kowloon-supply", "50,000", env=crash_at("hk-fulfil-sent")).exit_code == CRASH_EXIT
    assert [h.status for h in _conditionals(pair, "hk")] == ["fulfilled"]
    assert pair("--json", "xresume", *LEDGERS).ok().json()["outcome"] == "settled"
    assert pair("--json", "verify-pair", *LEDGERS).ok().json()["outcomes"] == {"settled": 1}


@pytest.mark.slow
def test_a_node_killed_after_its_commit_loses_only_its_answer_and_xresume_finishes(pair: Pair, crash_at: Callable[[str], dict[str, str]]) -> None:
    stopped = pair("xsend", *LEDGERS, "seoul-exports", "kowloon-supply", "1,000,000", env=crash_at("node-hk-committed"))
    assert stopped.exit_code == 1 and "error: NODE_UNAVAILABLE:" in stopped.stderr and "Traceback" not in stopped.stderr
    assert pair("--json", "xresume", *LEDGERS).ok().json()["outcome"] == "settled"


@pytest.mark.slow
def test_a_driver_killed_before_the_korean_hold_leaves_nothing_on_either_ledger(pair: Pair, crash_at: Callable[[str], dict[str, str]]) -> None:
    killed = pair("xsend", *LEDGERS, "seoul-exports", "kowloon-supply", "1,000,000", env=crash_at("kr-hold-before"))
    assert killed.exit_code == CRASH_EXIT
    resumed = pair("--json", "xresume", *LEDGERS).ok().json()
    assert (resumed["outcome"], resumed["kr"], resumed["hk"]) == ("nothing", None, None)
    assert _conditionals(pair, "kr") == [] and _conditionals(pair, "hk") == []
    assert pair.balance("kr", "seoul-exports:KRWS") == 500_000_000
    assert pair("--json", "xresume", *LEDGERS).ok().json() == {"payments": []}  # finished: nothing left to resume


@pytest.mark.slow
def test_a_receiver_that_withholds_its_preimage_is_not_paid_and_both_holds_expire_after_their_deadlines(pair: Pair) -> None:
    sent = pair("--json", "xsend", *LEDGERS, *SHORT, "--withhold", "seoul-exports", "kowloon-supply", "1,000,000").ok().json()
    assert (sent["outcome"], sent["kr"], sent["hk"]) == ("waiting", "pending", "pending")
    pair.wait_past(sent["kr_deadline"])
    resumed = pair("--json", "xresume", *LEDGERS).ok().json()
    assert (resumed["outcome"], resumed["kr"], resumed["hk"]) == ("unwound", "expired", "expired")
    assert pair.balance("kr", "seoul-exports:KRWS") == 500_000_000
    assert pair.balance("hk", "kowloon-supply:HKDS") == 0
    pair.on("kr", "verify").ok()
    pair.on("hk", "verify").ok()
    assert pair("--json", "verify-pair", *LEDGERS).ok().json()["outcomes"] == {"unwound": 1}


@pytest.mark.slow
def test_a_pair_fulfilled_on_hong_kong_only_is_named_half_done_by_verify_pair(pair: Pair) -> None:
    sent = pair("--json", "xsend", *LEDGERS, *SHORT, "--withhold", "seoul-exports", "kowloon-supply", "1,000,000").ok().json()
    # By hand: the receiver fulfils on Hong Kong, and nobody relays the preimage to Korea before T_KR.
    with sqlite3.connect(pair.root / "wonledger-driver" / "driver.db") as db:
        (preimage,) = db.execute("SELECT preimage FROM payments WHERE id = ?", (sent["payment"],)).fetchone()
    pair.on("hk", "fulfil", sent["hk_hold"], preimage).ok()
    pair.wait_past(sent["kr_deadline"])
    checked = pair("--json", "verify-pair", *LEDGERS)
    assert checked.exit_code == 3
    (payment,) = checked.json()["payments"]
    assert (payment["outcome"], payment["kr"], payment["hk"]) == ("half-done", "expired", "fulfilled")
    (problem,) = payment["problems"]
    assert problem["code"] == "HALF_DONE"
    assert "fulfilled on hk only" in problem["message"] and "did not reach kr before T_KR" in problem["message"]
    text = pair("verify-pair", *LEDGERS)
    assert text.exit_code == 3 and "problem: HALF_DONE: fulfilled on hk only" in text.stdout
    pair.on("kr", "verify").ok()  # each ledger alone is sound: only the pair shows what was lost
    pair.on("hk", "verify").ok()


@pytest.mark.slow
def test_two_offline_bundles_check_as_the_two_ledgers_do_and_an_altered_preimage_is_named(pair: Pair, tmp_path) -> None:
    import json

    pair("xsend", *LEDGERS, "seoul-exports", "kowloon-supply", "1,000,000").ok()
    kr_id, hk_id = (pair.on(side, "--json", "info").json()["ledger"] for side in ("kr", "hk"))
    pair.on("kr", "bundle", "--partner", hk_id, "--out", "kr-bundle.json").ok()
    pair.on("hk", "bundle", "--partner", kr_id, "--out", "hk-bundle.json").ok()
    checked = pair("--json", "verify-pair", "--kr-bundle", "kr-bundle.json", "--hk-bundle", "hk-bundle.json").ok().json()
    assert checked["outcomes"] == {"settled": 1}
    bundle = json.loads((pair.root / "hk-bundle.json").read_text())
    for proof in bundle["proofs"]:
        if proof["entry"]["tx"]["kind"] == "fulfil":
            proof["entry"]["tx"]["preimage"] = "00" * 32
    (pair.root / "hk-bundle.json").write_text(json.dumps(bundle))
    altered = pair("--json", "verify-pair", "--kr-bundle", "kr-bundle.json", "--hk-bundle", "hk-bundle.json")
    assert altered.exit_code == 3
    assert any("does not hold" in p["message"] for p in altered.json()["problems"])


def test_two_drivers_cannot_run_one_payment_at_once(tmp_path) -> None:
    from wonledger import PaymentLocked
    from wonledger.crossledger.journal import DriverJournal

    first, second = DriverJournal(tmp_path), DriverJournal(tmp_path)
    with first.lock("xp-1"):
        with pytest.raises(PaymentLocked), second.lock("xp-1"):
            pass
        with second.lock("xp-2"):  # another payment is another lock
            pass
    with second.lock("xp-1"):  # released with its holder
        pass
