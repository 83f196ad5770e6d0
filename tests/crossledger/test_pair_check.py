"""The pair check's judgement on two sides made by hand: settled or unwound passes, anything else is named."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime

from wonledger.crossledger.pair import check_pair
from wonledger.crossledger.quotes import bought_under
from wonledger.crossledger.views import HoldView, SideView

PREIMAGE = "11" * 32
H = hashlib.sha256(bytes.fromhex(PREIMAGE)).hexdigest()
QUOTE = {"id": "q-0123456789abcdef", "rate": "0.005601263081", "source": "peakfx", "expires_at": "2026-12-07T00:00:30.000000Z"}
NOW = datetime(2026, 12, 7, 1, tzinfo=UTC)  # after every deadline below
BOUGHT = bought_under(QUOTE["rate"], 1_000_000, 0, 2)


def _travel(far: str) -> dict:
    payer = {"id": "seoul-exports", "account": "seoul-exports:KRWS", "kind": "corporate", "jurisdiction": "KR"}
    receiver = {"id": "kowloon-supply", "account": "kowloon-supply:HKDS", "kind": "corporate", "jurisdiction": "HK"}
    if far == "hk":
        return {"originator": payer, "beneficiary": {**receiver, "ledger": "wl-hk0000000000", "public_key": "RECEIVER"}}
    return {"originator": {**payer, "ledger": "wl-kr0000000000", "public_key": "PAYER"}, "beneficiary": receiver}


def _sides(kr_status: str = "fulfilled", hk_status: str = "fulfilled", bought: int = BOUGHT) -> tuple[SideView, SideView]:
    kr = HoldView(
        "xp-1.kr-hold", "2026-12-07T00:00:01.000000Z", H, "2026-12-07T00:03:10.000000Z", "wl-hk0000000000", "xp-1.hk-hold",
        (("seoul-exports:KRWS", "peakfx:KRWS", "KRWS", 1_000_000),), QUOTE, _travel("hk"),
    )
    hk = HoldView(
        "xp-1.hk-hold", "2026-12-07T00:00:02.000000Z", H, "2026-12-07T00:02:00.000000Z", "wl-kr0000000000", "xp-1.kr-hold",
        (("peakfx:HKDS", "kowloon-supply:HKDS", "HKDS", bought),), QUOTE, _travel("kr"),
    )
    kr = replace(kr, status=kr_status, preimage=PREIMAGE if kr_status == "fulfilled" else None)
    hk = replace(hk, status=hk_status, preimage=PREIMAGE if hk_status == "fulfilled" else None)
    return (
        SideView("wl-kr0000000000", {kr.id: kr}, {"KRWS": 0}, keys={"seoul-exports": ["PAYER"]}),
        SideView("wl-hk0000000000", {hk.id: hk}, {"HKDS": 2}, keys={"kowloon-supply": ["RECEIVER"]}),
    )


def test_a_pair_fulfilled_on_both_sides_with_the_same_preimage_is_settled_and_ok() -> None:
    report = check_pair(*_sides(), NOW)
    assert report.ok and [p.outcome for p in report.payments] == ["settled"]


def test_a_pair_expired_on_both_sides_is_unwound_and_ok() -> None:
    report = check_pair(*_sides("expired", "expired"), NOW)
    assert report.ok and [p.outcome for p in report.payments] == ["unwound"]


def test_a_pair_fulfilled_on_hong_kong_only_is_half_done_and_blames_the_relay() -> None:
    report = check_pair(*_sides("expired", "fulfilled"), NOW)
    (problem,) = report.all_problems()
    assert not report.ok and problem.code == "HALF_DONE"
    assert problem.message.startswith("fulfilled on hk only") and "relay" in problem.message


def test_a_pair_fulfilled_on_korea_only_is_half_done_and_names_the_korean_side() -> None:
    (problem,) = check_pair(*_sides("fulfilled", "expired"), NOW).all_problems()
    assert problem.code == "HALF_DONE" and problem.message.startswith("fulfilled on kr only")


def test_a_pending_hold_past_its_deadline_counts_as_expired() -> None:
    (payment,) = check_pair(*_sides("pending", "fulfilled"), NOW).payments
    assert (payment.kr_status, payment.outcome) == ("expired", "half-done")


def test_amounts_that_do_not_agree_under_the_quote_are_named() -> None:
    report = check_pair(*_sides(bought=BOUGHT + 1), NOW)
    (problem,) = report.all_problems()
    assert problem.code == "PAIR_MISMATCH" and f"buy {BOUGHT} HKDS" in problem.message


def test_a_far_party_named_by_a_key_the_other_ledger_never_registered_is_named() -> None:
    kr, hk = _sides()
    hk.keys = {"kowloon-supply": ["ANOTHER"]}
    (problem,) = check_pair(kr, hk, NOW).all_problems()
    assert problem.code == "PAIR_MISMATCH" and "never registered" in problem.message


def test_a_dealer_hold_without_the_payers_hold_is_named() -> None:
    kr, hk = _sides("expired", "expired")
    kr.holds.clear()
    (problem,) = check_pair(kr, hk, NOW).all_problems()
    assert problem.code == "PAIR_MISMATCH" and "without the payer's" in problem.message
