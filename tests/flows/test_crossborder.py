"""Cross-border: the dealer's quotes, PvP swaps (one-phase and two-phase), sends abroad, the travel rule.

Each test runs on SQLite and on the real PostgreSQL.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from wonledger import (
    BadInput,
    HoldExpired,
    InsufficientFunds,
    Ledger,
    Party,
    QuoteExpired,
    Travel,
    TravelRule,
)
from wonledger.domain.model import AccountSpec, Leg
from wonledger.flows.crossborder import send_tx, swap_tx
from wonledger.rulebook.policy import load_flow_policy
from wonledger.testing import ManualClock


def balance(ledger: Ledger, account: str) -> int:
    return ledger.registry.account(account).balance


def counters(ledger: Ledger) -> dict[str, tuple[int, int, int, int]]:
    return {a.id: (a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending) for a in ledger.registry.accounts()}


# -- quotes ------------------------------------------------------------------------


def test_a_quote_is_mid_less_the_spread_with_the_fee_its_own_and_every_rounding_in_the_dealers_favour(ledger: Ledger) -> None:
    q = ledger.crossborder.quote("KRWS", "HKDS", 1_000_000)
    policy = load_flow_policy()
    mid = Fraction(Decimal("7.7800")) / Fraction(Decimal("1385.50"))
    rate = Fraction(Decimal(q.rate))
    last_digit = Fraction(1, 10 ** len(q.rate.partition(".")[2]))
    assert rate <= mid * Fraction(10_000 - policy.spread_bps, 10_000) < rate + last_digit  # cut, not rounded up
    assert q.fee == 1_000  # 10 bp of 1,000,000, rounded up
    exact = (q.sell_amount - q.fee) * rate * 100
    assert q.buy_amount == int(exact) <= exact  # HKDS cents, rounded down
    assert (q.dealer, q.sell_asset, q.buy_asset, q.sell_amount) == ("peakfx", "KRWS", "HKDS", 1_000_000)
    assert "fx_rates.csv" in q.source and q.expires_at > q.created_at
    assert ledger.names.quote(q.quote_id) == q


def test_a_quote_asked_with_a_clock_behind_the_journal_is_dated_at_the_journal_and_verifies(ledger: Ledger) -> None:
    # a clock stepped back a day: the offer is still dated after the dealer's key was registered
    behind = ManualClock(datetime.now(UTC) - timedelta(days=1))
    stepped_back = Ledger(ledger._store, ledger._keys, behind)
    minted = ledger.stablecoins.mint("HKDS", 500_00, "kowloon-supply", "dHKD.harbour")
    q = stepped_back.crossborder.quote("HKDS", "KRWS", 100_00)
    assert q.created_at >= minted.at  # not the clock's yesterday
    stepped_back.crossborder.swap("kowloon-supply", 100_00, "HKDS", "KRWS", quote_id=q.quote_id)
    report = ledger.verify()
    assert report.ok, report.problems


def test_the_dealer_quotes_stablecoins_only(ledger: Ledger) -> None:
    with pytest.raises(BadInput, match="stablecoins only"):
        ledger.crossborder.quote("dKRW.hanriver", "HKDS", 1_000)
    with pytest.raises(BadInput, match="two different assets"):
        ledger.crossborder.quote("KRWS", "KRWS", 1_000)


# -- swaps: payment versus payment ----------------------------------------------------


def test_a_swap_moves_both_currencies_through_the_dealer_in_one_signed_transaction(ledger: Ledger) -> None:
    q = ledger.crossborder.quote("HKDS", "KRWS", 100_00)
    ledger.stablecoins.mint("HKDS", 0 + 500_00, "kowloon-supply", "dHKD.harbour")
    receipt = ledger.crossborder.swap("kowloon-supply", 100_00, "HKDS", "KRWS", quote_id=q.quote_id)
    entry = ledger.transaction(receipt.id)
    assert entry.tx.quote == q.terms
    assert {s.signer for s in entry.signatures} == {"kowloon-supply", "peakfx"}
    assert [leg.amount for leg in entry.tx.legs] == [100_00 - q.fee, q.fee, q.buy_amount]
    assert balance(ledger, "kowloon-supply:HKDS") == 400_00
    assert balance(ledger, "kowloon-supply:KRWS") == q.buy_amount
    assert ledger.verify().ok


def test_a_swap_the_owner_cannot_pay_moves_neither_leg(ledger: Ledger) -> None:
    ledger.stablecoins.mint("HKDS", 50_00, "kowloon-supply", "dHKD.harbour")
    before = counters(ledger)
    with pytest.raises(InsufficientFunds):
        ledger.crossborder.swap("kowloon-supply", 100_00, "HKDS", "KRWS")
    assert counters(ledger) == before


def test_a_quote_serves_one_exchange_only(ledger: Ledger) -> None:
    ledger.stablecoins.mint("HKDS", 500_00, "kowloon-supply", "dHKD.harbour")
    q = ledger.crossborder.quote("HKDS", "KRWS", 100_00)
    ledger.crossborder.swap("kowloon-supply", 100_00, "HKDS", "KRWS", quote_id=q.quote_id)
    with pytest.raises(QuoteExpired, match="already taken"):
        ledger.crossborder.swap("kowloon-supply", 100_00, "HKDS", "KRWS", quote_id=q.quote_id)


def test_an_expired_quote_is_refused_and_nothing_moves(timed: Ledger, clock: ManualClock) -> None:
    timed.stablecoins.mint("HKDS", 500_00, "kowloon-supply", "dHKD.harbour")
    q = timed.crossborder.quote("HKDS", "KRWS", 100_00)
    clock.advance(31)
    before = counters(timed)
    with pytest.raises(QuoteExpired, match="expired"):
        timed.crossborder.swap("kowloon-supply", 100_00, "HKDS", "KRWS", quote_id=q.quote_id)
    assert counters(timed) == before
    assert [r.code for r in timed.reports.rejections()] == ["QUOTE_EXPIRED"]


def test_terms_or_legs_off_the_dealers_firm_terms_are_refused_whoever_signs_them(ledger: Ledger) -> None:
    """The rules read the quote in the signed transaction only, and hold it to the policy: the dealer's own signature makes no other rate firm."""
    ledger.stablecoins.mint("HKDS", 500_00, "kowloon-supply", "dHKD.harbour")
    q = ledger.crossborder.quote("HKDS", "KRWS", 100_00)
    ledger.registry.open_account("kowloon-supply", "KRWS")
    tx = swap_tx(ledger.id, q, "kowloon-supply")

    def refused(changed, match: str, error: type[Exception] = BadInput) -> None:
        with pytest.raises(error, match=match):
            ledger._book.submit(ledger.sign(changed, ["kowloon-supply", "peakfx"]))

    mid = ledger._book.flow_policy.rates.cross("HKD", "KRW")
    above_mid = str(int(mid) + 1)
    refused(replace(tx, quote=replace(q.terms, rate=above_mid)), "from the reference mid less its 25 bp spread")
    refused(replace(tx, quote=replace(q.terms, rate="170")), "from the reference mid less its 25 bp spread")
    refused(replace(tx, quote=replace(q.terms, expires_at="2030-01-01T00:00:00.000000Z")), "firm for 30 s at most", QuoteExpired)
    refused(replace(tx, legs=tx.legs[:-1] + (replace(tx.legs[-1], amount=q.buy_amount + 1),)), "does not move what quote")
    refused(replace(tx, legs=(replace(tx.legs[0], amount=q.sell_amount),) + tx.legs[2:]), "does not move what quote")
    bigger_fee = (replace(tx.legs[0], amount=tx.legs[0].amount - 100), replace(tx.legs[1], amount=tx.legs[1].amount + 100), tx.legs[2])
    refused(replace(tx, legs=bigger_fee), "its fee is at most 10 bp")
    kickback = tx.legs + (Leg("peakfx:HKDS", "kowloon-supply:HKDS", "HKDS", 1),)
    refused(replace(tx, legs=kickback), "move nothing else to or from peakfx")
    assert ledger.verify().ok


# -- two-phase PvP ----------------------------------------------------------------------


def test_a_two_phase_swap_holds_both_legs_then_posts_both(ledger: Ledger) -> None:
    ledger.stablecoins.mint("HKDS", 500_00, "kowloon-supply", "dHKD.harbour")
    q = ledger.crossborder.quote("HKDS", "KRWS", 100_00)
    held = ledger.crossborder.swap("kowloon-supply", 100_00, "HKDS", "KRWS", quote_id=q.quote_id, hold_timeout_s=60, tx_id="pvp-1")
    assert held.status == "pending"
    assert ledger.registry.account("kowloon-supply:HKDS").available == 400_00
    assert ledger.registry.account("peakfx:KRWS").available == 10_000_000_000 - q.buy_amount
    ledger.holds.post("pvp-1")
    assert balance(ledger, "kowloon-supply:KRWS") == q.buy_amount
    assert balance(ledger, "kowloon-supply:HKDS") == 400_00
    assert ledger.transaction("pvp-1").status == "posted"
    assert ledger.verify().ok


def test_a_two_phase_swap_cannot_be_posted_in_part(ledger: Ledger) -> None:
    ledger.stablecoins.mint("HKDS", 500_00, "kowloon-supply", "dHKD.harbour")
    ledger.crossborder.swap("kowloon-supply", 100_00, "HKDS", "KRWS", hold_timeout_s=60, tx_id="pvp-2")
    legs = ledger.transaction("pvp-2").tx.legs
    half = replace(legs[-1], amount=legs[-1].amount // 2)
    from wonledger.domain.model import Tx

    partial = Tx(ledger=ledger.id, id="post-half", kind="post", ref="pvp-2", legs=legs[:-1] + (half,))
    with pytest.raises(BadInput, match="post all of it"):
        ledger._book.submit(ledger.sign(partial, ["kowloon-supply", "peakfx"]))
    ledger.holds.void("pvp-2")
    assert balance(ledger, "kowloon-supply:HKDS") == 500_00
    assert ledger.registry.account("kowloon-supply:HKDS").available == 500_00


def test_an_expired_two_phase_swap_releases_both_legs_together(timed: Ledger, clock: ManualClock) -> None:
    timed.stablecoins.mint("HKDS", 500_00, "kowloon-supply", "dHKD.harbour")
    timed.crossborder.swap("kowloon-supply", 100_00, "HKDS", "KRWS", hold_timeout_s=60, tx_id="pvp-3")
    clock.advance(61)
    assert timed.registry.account("kowloon-supply:HKDS").available == 500_00
    assert timed.registry.account("peakfx:KRWS").available == 10_000_000_000
    assert timed.transaction("pvp-3").status == "voided"
    with pytest.raises(HoldExpired):
        timed.holds.post("pvp-3")
    assert timed.verify().ok


# -- sends abroad ---------------------------------------------------------------------------


def test_a_send_turns_won_deposits_into_krws_and_delivers_exactly_the_quoted_amount_abroad(ledger: Ledger) -> None:
    q = ledger.crossborder.quote("KRWS", "HKDS", 2_000_000)
    receipt = ledger.crossborder.send("alice", "kowloon-supply", 2_000_000, "HKDS", quote_id=q.quote_id, memo="invoice 12")
    entry = ledger.transaction(receipt.id)
    assert entry.tx.kind == "send" and entry.tx.quote == q.terms
    assert [(leg.debit, leg.credit) for leg in entry.tx.legs] == [
        ("alice:dKRW.hanriver", "kstable:dKRW.hanriver:reserve"),
        ("kstable:KRWS", "alice:KRWS"),
        ("alice:KRWS", "peakfx:KRWS"),
        ("alice:KRWS", "peakfx:KRWS"),
        ("peakfx:HKDS", "kowloon-supply:HKDS"),
    ]
    # kowloon-supply signs too: the send opens its HKDS account, and an account is opened by its owner.
    assert {s.signer for s in entry.signatures} == {"alice", "kstable", "peakfx", "kowloon-supply"}
    assert [a.id for a in entry.tx.opens] == ["alice:KRWS", "kowloon-supply:HKDS"]
    assert balance(ledger, "kowloon-supply:HKDS") == q.buy_amount
    assert balance(ledger, "alice:dKRW.hanriver") == 3_000_000
    assert balance(ledger, "alice:KRWS") == 0
    report = {r["asset"]: r for r in ledger.stablecoins.supply()}
    assert report["KRWS"]["supply"] == report["KRWS"]["reserve"] == 10_002_000_000
    assert ledger.verify().ok


def test_a_send_of_the_won_stablecoin_itself_needs_no_quote(ledger: Ledger) -> None:
    ledger.crossborder.send("alice", "kowloon-supply", 10_000, "KRWS")
    assert balance(ledger, "kowloon-supply:KRWS") == 10_000


def test_a_send_abroad_carries_travel_rule_data_from_the_registry_whatever_its_amount(ledger: Ledger) -> None:
    # Linked sends from one originator to one beneficiary add up over 24 hours, so even a small one carries it.
    small = ledger.transaction(ledger.crossborder.send("alice", "kowloon-supply", 1_000_000, "HKDS").id)  # about USD 722
    assert small.tx.travel is not None
    large = ledger.transaction(ledger.crossborder.send("alice", "kowloon-supply", 2_000_000, "HKDS").id)  # about USD 1,444
    assert large.tx.travel == Travel(
        Party("alice", "alice:dKRW.hanriver", "individual", "KR"),
        Party("kowloon-supply", "kowloon-supply:HKDS", "corporate", "HK"),
    )


def _send(ledger: Ledger, amount: int, travel: Travel | None):  # type: ignore[no-untyped-def]
    q = ledger.crossborder.quote("KRWS", "HKDS", amount)
    tx = send_tx(
        ledger.id, "alice:dKRW.hanriver", ledger.registry.asset("dKRW.hanriver"), ledger.registry.asset("KRWS"), "kowloon-supply",
        ledger.registry.asset("HKDS"), amount, q, travel,
    )
    existing = {a.id for a in ledger.registry.accounts()}
    tx = replace(tx, opens=tuple(s for s in (AccountSpec("alice", "KRWS"), AccountSpec("kowloon-supply", "HKDS")) if s.id not in existing))
    return lambda: ledger._book.submit(ledger.sign(tx, ["alice", "kstable", "peakfx", "kowloon-supply"]))


def test_a_submitted_send_without_travel_data_is_refused_from_usd_1000(ledger: Ledger) -> None:
    before = counters(ledger)
    with pytest.raises(TravelRule, match="FATF"):
        _send(ledger, 2_000_000, None)()
    assert counters(ledger) == before
    _send(ledger, 1_000_000, None)()  # below the threshold it may go without


def test_travel_data_that_contradicts_the_registry_or_the_legs_is_refused(ledger: Ledger) -> None:
    alice = Party("alice", "alice:dKRW.hanriver", "individual", "KR")
    kowloon = Party("kowloon-supply", "kowloon-supply:HKDS", "corporate", "HK")
    with pytest.raises(TravelRule, match="registry says"):
        _send(ledger, 2_000_000, Travel(replace(alice, jurisdiction="HK"), kowloon))()
    with pytest.raises(TravelRule, match="this transaction credits"):
        _send(ledger, 2_000_000, Travel(alice, replace(kowloon, id="seoul-exports", account="seoul-exports:dKRW.namsan")))()
    with pytest.raises(TravelRule, match="this transaction debits"):
        _send(ledger, 2_000_000, Travel(replace(alice, account="alice:KRWS-nope"), kowloon))()
    _send(ledger, 2_000_000, Travel(alice, kowloon))()


def test_a_plain_transfer_abroad_carries_travel_data_too(ledger: Ledger) -> None:
    ledger.stablecoins.mint("KRWS", 3_000_000, "alice", "dKRW.hanriver")
    ledger.registry.open_account("kowloon-supply", "KRWS")
    receipt = ledger.payments.transfer("alice:KRWS", "kowloon-supply:KRWS", 2_000_000)
    assert ledger.transaction(receipt.id).tx.travel is not None
