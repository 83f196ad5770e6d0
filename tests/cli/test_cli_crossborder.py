"""quote, swap, send and the capital-flow reports from the command line; each refusal changes nothing."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Ledger

DESIGN_QUOTE_KEYS = {"quote_id", "sell_asset", "buy_asset", "sell_amount", "buy_amount", "rate", "source", "expires_at"}


def test_a_quote_has_the_design_shape_and_is_written_in_major_units_for_people(wl: Ledger) -> None:
    shown = wl("--json", "quote", "KRWS", "HKDS", "1,000,000").ok().json()
    assert DESIGN_QUOTE_KEYS <= set(shown)
    assert (shown["sell_asset"], shown["buy_asset"], shown["sell_amount"]) == ("KRWS", "HKDS", 1_000_000)
    assert isinstance(shown["rate"], str) and isinstance(shown["buy_amount"], int)
    text = wl("quote", "KRWS", "HKDS", "1,000,000").ok().stdout
    assert "1,000,000 KRWS" in text and "HKDS" in text and "firm until" in text


def test_send_delivers_the_quoted_amount_abroad_in_one_transaction(wl: Ledger) -> None:
    quote = wl("--json", "quote", "KRWS", "HKDS", "2,000,000").ok().json()
    sent = wl("--json", "send", "alice", "kowloon-supply", "2,000,000", "--deliver", "HKDS", "--quote", quote["quote_id"], "--id", "inv-12").ok().json()
    assert sent["kind"] == "send" and sent["status"] == "posted"
    assert sent["quote"]["id"] == quote["quote_id"]
    assert sent["travel"]["beneficiary"]["id"] == "kowloon-supply"
    assert wl.balances()["kowloon-supply:HKDS"]["balance"] == quote["buy_amount"]
    again = wl("--json", "send", "alice", "kowloon-supply", "2,000,000", "--deliver", "HKDS", "--quote", quote["quote_id"], "--id", "inv-12").ok().json()
    assert again["duplicate"] is True  # the same id and content: the original receipt, nothing moves twice
    wl("verify").ok()


def test_a_two_phase_swap_from_the_cli_posts_both_legs(wl: Ledger) -> None:
    wl("mint", "HKDS", "500", "--to", "kowloon-supply", "--pay-with", "dHKD.harbour").ok()
    held = wl("--json", "swap", "kowloon-supply", "100", "HKDS", "KRWS", "--hold", "--timeout", "120", "--id", "pvp-1").ok().json()
    assert held["status"] == "pending" and len(held["legs"]) == 3
    assert wl.balances()["kowloon-supply:HKDS"]["available"] == 400_00
    wl("post", "pvp-1", "50").error("BAD_INPUT", exit_code=2)  # a PvP posts whole
    wl("post", "pvp-1").ok()
    balances = wl.balances()
    assert balances["kowloon-supply:HKDS"]["balance"] == 400_00
    assert balances["kowloon-supply:KRWS"]["balance"] == held["legs"][2]["amount"]


def test_each_cross_border_refusal_gives_its_code_and_changes_nothing(wl: Ledger) -> None:
    wl("deposit", "alice", "200,000,000", "--bank", "hanriver").ok()
    wl("mint", "HKDS", "500", "--to", "kowloon-supply", "--pay-with", "dHKD.harbour").ok()
    used = wl("--json", "quote", "HKDS", "KRWS", "100").ok().json()["quote_id"]
    wl("swap", "kowloon-supply", "100", "HKDS", "KRWS", "--quote", used).ok()
    before = wl.state()
    wl("swap", "kowloon-supply", "100", "HKDS", "KRWS", "--quote", used).error("QUOTE_EXPIRED", exit_code=1)
    wl("send", "alice", "kowloon-supply", "150,000,000", "--deliver", "HKDS").error("OUTFLOW_LIMIT", exit_code=1)
    wl("quote", "dKRW.hanriver", "HKDS", "1000").error("BAD_INPUT", exit_code=2)
    wl("send", "alice", "kowloon-supply", "1000", "--deliver", "HKDS", "--quote", "q-nope").error("BAD_INPUT", exit_code=2)
    wl("send", "alice", "kowloon-supply", "12.5", "--deliver", "HKDS").error("BAD_AMOUNT", exit_code=2)
    wl("send", "alice", "kowloon-supply", "1000 HKD", "--deliver", "HKDS").error("ASSET_MISMATCH", exit_code=2)
    wl("swap", "kowloon-supply", "100", "HKDS", "KRWS", "--timeout", "5").error("BAD_INPUT", exit_code=2)
    assert wl.state() == before
    refusals = wl("--json", "report", "rejections").ok().json()["rejections"]
    assert [r["code"] for r in refusals] == ["OUTFLOW_LIMIT", "QUOTE_EXPIRED"]  # rule refusals, not bad input
    assert refusals[0]["who"] == "alice" and set(refusals[0]) == {"at", "who", "tx", "kind", "what", "code", "message"}


def test_a_hand_signed_send_without_travel_data_is_refused_by_submit(wl: Ledger) -> None:
    quote = wl("--json", "quote", "KRWS", "HKDS", "2,000,000").ok().json()
    wl("account", "open", "alice", "KRWS").ok()
    wl("account", "open", "kowloon-supply", "HKDS").ok()
    tx = {
        "ledger": wl.id(),
        "id": "hand-send-1",
        "kind": "send",
        "memo": "",
        "legs": [
            {"debit": "alice:dKRW.hanriver", "credit": "kstable:dKRW.hanriver:reserve", "asset": "dKRW.hanriver", "amount": 2_000_000},
            {"debit": "kstable:KRWS", "credit": "alice:KRWS", "asset": "KRWS", "amount": 2_000_000},
            {"debit": "alice:KRWS", "credit": "peakfx:KRWS", "asset": "KRWS", "amount": 2_000_000 - 2_000},
            {"debit": "alice:KRWS", "credit": "peakfx:KRWS", "asset": "KRWS", "amount": 2_000},
            {"debit": "peakfx:HKDS", "credit": "kowloon-supply:HKDS", "asset": "HKDS", "amount": quote["buy_amount"]},
        ],
        "quote": {k: quote[k2] for k, k2 in (("id", "quote_id"), ("rate", "rate"), ("source", "source"), ("expires_at", "expires_at"))},
    }
    before = wl.state()
    result = wl("--json", "submit", "-", input=wl.sign(tx, ["alice", "kstable", "peakfx"]) + "\n")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["rejected"][0]["code"] == "TRAVEL_RULE"
    assert wl.state() == before
    tx["travel"] = {
        "originator": {"id": "alice", "account": "alice:dKRW.hanriver", "kind": "individual", "jurisdiction": "KR"},
        "beneficiary": {"id": "kowloon-supply", "account": "kowloon-supply:HKDS", "kind": "corporate", "jurisdiction": "HK"},
    }
    tx["id"] = "hand-send-2"
    wl("submit", "-", input=wl.sign(tx, ["alice", "kstable", "peakfx"]) + "\n").ok()
    assert wl.balances()["kowloon-supply:HKDS"]["balance"] == quote["buy_amount"]


def test_the_run_breaker_walkthrough_as_a_user_types_it(sh: Ledger) -> None:
    sh("send", "seoul-exports", "kowloon-supply", "600,000,000", "--deliver", "HKDS").ok()
    before = sh.state()
    message = sh("send", "seoul-exports", "kowloon-supply", "600,000,000", "--deliver", "HKDS").error("RUN_BREAKER", exit_code=1)
    assert "over 10%" in message
    assert sh.state() == before
    flows = sh("--json", "report", "flows").ok().json()
    breaker = flows["run_breaker"]
    assert breaker["last_refused"] is not None and breaker["halted_until"] is None  # a refusal halts nobody
    assert breaker["supply"] == 10_000_000_000 and 0 < breaker["net_out"] <= breaker["threshold"]
    assert {"year", "currency", "residents", "run_breaker"} <= set(flows)
    text = sh("report", "flows").ok().stdout
    assert "window:" in text and "denominator" in text and "alice" in text
    sh("send", "seoul-exports", "kowloon-supply", "1,000", "--deliver", "HKDS").ok()  # what fits in the window still goes
    sh("mint", "HKDS", "100", "--to", "kowloon-supply", "--pay-with", "dHKD.harbour").ok()
    sh("swap", "kowloon-supply", "100", "HKDS", "KRWS").ok()  # conversions into KRWS stay open
    listed = sh("report", "rejections").ok().stdout
    assert listed.count("RUN_BREAKER") == 1 and "seoul-exports" in listed
    sh("verify").ok()
