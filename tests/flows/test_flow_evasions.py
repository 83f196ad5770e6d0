"""Every way around the capital-flow controls an adversary tried with ordinary signed transactions is refused.

Each evasion is built as its author would sign it (no database access), and
each test runs on SQLite and on the real PostgreSQL. Each shows the refusal and
its code, that the refusal changed nothing, and where it matters that the
honest form of the same thing is accepted and counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from wonledger import Ledger, OutflowLimit, Party, RunBreaker, Travel, TravelRule
from wonledger.domain.model import Leg, Tx
from wonledger.flows.crossborder import pvp_legs
from wonledger.testing import ManualClock


def counters(ledger: Ledger) -> dict[str, tuple[int, int, int, int]]:
    return {a.id: (a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending) for a in ledger.registry.accounts()}


def used(ledger: Ledger, who: str, year: int | None = None) -> int:
    return {r.participant: r.used for r in ledger.reports.outflows(year)[1]}.get(who, 0)


def usd_cents(ledger: Ledger, amount: int, asset: str) -> int:
    a = ledger.registry.asset(asset)
    return math.ceil(ledger._book.flow_policy.rates.usd_minor(amount, a.exponent, a.currency))


def party(ledger: Ledger, who: str, account: str) -> Party:
    p = ledger.registry.participant(who)
    return Party(who, account, p.kind, p.jurisdiction)


def submit(ledger: Ledger, tx_id: str, legs: Sequence[Leg], signers: Sequence[str], travel: Travel | None = None, kind: str = "transfer", ref: str | None = None):  # type: ignore[no-untyped-def]
    tx = Tx(ledger=ledger.id, id=tx_id, kind=kind, legs=tuple(legs), travel=travel, ref=ref)
    return ledger._book.submit(ledger.sign(tx, signers))


def krw_in_hkd(ledger: Ledger, krw: int) -> int:
    """HKD cents worth ``krw`` won at the reference mid rate, rounded down."""
    return math.floor(krw * ledger._book.flow_policy.rates.cross("KRW", "HKD") * 100)


@pytest.fixture
def bob(ledger: Ledger) -> str:
    ledger.registry.add_participant("bob", "individual", "KR")
    return "bob"


# -- offsetting across parties ("hwanchigi") ---------------------------------------------


def test_offsetting_a_payment_abroad_with_a_payment_home_is_a_cross_border_movement_of_the_true_parties(ledger: Ledger, bob: str) -> None:
    ledger.payments.deposit("alice", 10_000_000, "hanriver")
    ledger.stablecoins.mint("KRWS", 10_000_000, "alice", "dKRW.hanriver")
    ledger.stablecoins.mint("HKDS", 60_000_00, "kowloon-supply", "dHKD.harbour")
    for owner, asset in (("kowloon-supply", "KRWS"), (bob, "HKDS")):
        ledger.registry.open_account(owner, asset)
    legs = [
        Leg("alice:KRWS", "kowloon-supply:KRWS", "KRWS", 10_000_000),  # alice pays abroad ...
        Leg("kowloon-supply:HKDS", "bob:HKDS", "HKDS", krw_in_hkd(ledger, 10_000_000)),  # ... and the value comes home to bob
    ]
    before = counters(ledger)
    with pytest.raises(TravelRule, match="alice's across a border to bob"):
        submit(ledger, "hwanchigi", legs, ["alice", "kowloon-supply"])
    with pytest.raises(TravelRule, match="to bob, whom its travel data does not name"):  # the go-between is not the beneficiary
        submit(ledger, "hwanchigi", legs, ["alice", "kowloon-supply"],
               Travel(party(ledger, "alice", "alice:KRWS"), party(ledger, "kowloon-supply", "kowloon-supply:KRWS")))
    assert counters(ledger) == before and used(ledger, "alice") == 0
    submit(ledger, "hwanchigi", legs, ["alice", "kowloon-supply"], Travel(party(ledger, "alice", "alice:KRWS"), party(ledger, bob, "bob:HKDS")))
    assert used(ledger, "alice") == usd_cents(ledger, 10_000_000, "KRWS")  # alice's won left Korea, counted once
    assert used(ledger, bob) == usd_cents(ledger, krw_in_hkd(ledger, 10_000_000), "HKDS")  # bob got foreign currency for won
    assert [r.code for r in ledger.reports.rejections()] == ["TRAVEL_RULE", "TRAVEL_RULE"]
    assert ledger.verify().ok


# -- through non-customers ---------------------------------------------------------------------


def test_value_sent_to_a_bank_abroad_is_a_cross_border_movement_and_counts(ledger: Ledger) -> None:
    ledger.stablecoins.mint("KRWS", 2_000_000, "alice", "dKRW.hanriver")
    ledger.registry.open_account("harbour", "KRWS")
    legs = [Leg("alice:KRWS", "harbour:KRWS", "KRWS", 2_000_000)]  # about USD 1,443, to an HK bank
    with pytest.raises(TravelRule, match="to harbour"):
        submit(ledger, "to-a-bank", legs, ["alice"])
    assert used(ledger, "alice") == 0
    submit(ledger, "to-a-bank", legs, ["alice"], Travel(party(ledger, "alice", "alice:KRWS"), party(ledger, "harbour", "harbour:KRWS")))
    assert used(ledger, "alice") == usd_cents(ledger, 2_000_000, "KRWS")


def test_a_transaction_with_no_customer_in_it_still_meets_the_travel_rule(ledger: Ledger) -> None:
    ledger.stablecoins.mint("KRWS", 2_000_000, "seoul-exports", "dKRW.namsan")
    ledger.registry.open_account("kpay", "KRWS")
    ledger.payments.transfer("seoul-exports:KRWS", "kpay:KRWS", 2_000_000)  # a domestic nonbank now holds it
    ledger.registry.open_account("harbour", "KRWS")
    with pytest.raises(TravelRule, match="of kpay's across a border to harbour"):
        submit(ledger, "nonbank-to-bank", [Leg("kpay:KRWS", "harbour:KRWS", "KRWS", 2_000_000)], ["kpay"])


def test_value_routed_through_a_domestic_nonbank_in_the_same_transaction_is_still_the_residents(ledger: Ledger) -> None:
    ledger.stablecoins.mint("KRWS", 2_000_000, "alice", "dKRW.hanriver")
    for owner in ("kpay", "kowloon-supply"):
        ledger.registry.open_account(owner, "KRWS")
    legs = [Leg("alice:KRWS", "kpay:KRWS", "KRWS", 2_000_000), Leg("kpay:KRWS", "kowloon-supply:KRWS", "KRWS", 2_000_000)]
    with pytest.raises(TravelRule, match="of alice's across a border to kowloon-supply"):
        submit(ledger, "via-kpay", legs, ["alice", "kpay"])
    with pytest.raises(TravelRule, match="none of kpay's value crosses"):  # the go-between is not the originator
        submit(ledger, "via-kpay", legs, ["alice", "kpay"],
               Travel(party(ledger, "kpay", "kpay:KRWS"), party(ledger, "kowloon-supply", "kowloon-supply:KRWS")))
    assert used(ledger, "alice") == 0
    submit(ledger, "via-kpay", legs, ["alice", "kpay"],
           Travel(party(ledger, "alice", "alice:KRWS"), party(ledger, "kowloon-supply", "kowloon-supply:KRWS")))
    assert used(ledger, "alice") == usd_cents(ledger, 2_000_000, "KRWS")


# -- any asset, not only the home currency -------------------------------------------------------


def test_foreign_currency_a_resident_received_at_home_and_sends_abroad_counts(ledger: Ledger) -> None:
    ledger.registry.open_account("alice", "HKDS")
    ledger.registry.open_account("kowloon-supply", "HKDS")
    ledger.payments.transfer("peakfx:HKDS", "alice:HKDS", 10_000_00)  # HKDS that came from abroad
    assert used(ledger, "alice") == 0
    before = used(ledger, "alice")
    ledger.payments.transfer("alice:HKDS", "kowloon-supply:HKDS", 10_000_00)
    assert used(ledger, "alice") - before == usd_cents(ledger, 10_000_00, "HKDS")


def test_a_conversion_funded_by_a_corporate_in_the_same_transaction_counts_for_the_resident(ledger: Ledger) -> None:
    ledger.stablecoins.mint("KRWS", 150_000_000, "seoul-exports", "dKRW.namsan")
    ledger.registry.open_account("alice", "HKDS")
    quote = ledger.crossborder.quote("KRWS", "HKDS", 150_000_000)  # about USD 108,000 of HKDS, for alice
    tx = Tx(
        ledger=ledger.id, id="funded", kind="swap", legs=pvp_legs(quote, "seoul-exports:KRWS", "alice:HKDS"), quote=quote.terms,
        travel=Travel(party(ledger, "seoul-exports", "seoul-exports:KRWS"), party(ledger, "alice", "alice:HKDS")),
    )
    before = counters(ledger)
    with pytest.raises(OutflowLimit, match="alice"):
        ledger._book.submit(ledger.sign(tx, ["seoul-exports", "peakfx"]))
    assert counters(ledger) == before and used(ledger, "alice") == 0


# -- holds across windows and years ------------------------------------------------------------------


def test_a_conversion_hold_voided_in_the_next_hour_gives_back_into_its_own_window(timed: Ledger, clock: ManualClock) -> None:
    timed.stablecoins.mint("KRWS", 600_000_000, "seoul-exports", "dKRW.namsan")
    timed.crossborder.swap("seoul-exports", 600_000_000, "KRWS", "HKDS", hold_timeout_s=7200, tx_id="held-out")
    assert timed.reports.breaker().net_out > 590_000_000
    clock.advance(3601)
    timed.holds.void("held-out")  # its give-back belongs to the hour it counted in, which has gone
    assert timed.reports.breaker().net_out == 0
    before = counters(timed)
    with pytest.raises(RunBreaker):
        timed.crossborder.send("seoul-exports", "kowloon-supply", 1_200_000_000, "HKDS")  # would be allowed if the void made room now
    assert counters(timed) == before
    assert timed.verify().ok


def next_new_year_eve(now: datetime) -> datetime:
    """23:50 in Seoul on the coming 31 December (14:50 UTC)."""
    year = now.year if now < datetime(now.year, 12, 31, 14, 0, tzinfo=UTC) else now.year + 1
    return datetime(year, 12, 31, 14, 50, tzinfo=UTC)


def test_a_hold_made_on_31_december_and_voided_on_1_january_gives_back_to_the_old_year(ledger: Ledger) -> None:
    clock = ManualClock(next_new_year_eve(datetime.now(UTC)))
    timed = Ledger(ledger._store, ledger._keys, clock)
    year = clock.now.year
    timed.payments.deposit("alice", 300_000_000, "hanriver")
    timed.stablecoins.mint("KRWS", 83_000_000, "alice", "dKRW.hanriver")
    timed.crossborder.swap("alice", 83_000_000, "KRWS", "HKDS", hold_timeout_s=3600, tx_id="eve")  # about USD 59,900, counted in the old year
    assert used(timed, "alice", year) == usd_cents(timed, 83_000_000, "KRWS")
    clock.advance(20 * 60)  # 00:10 on 1 January in Seoul
    timed.holds.void("eve")
    assert used(timed, "alice", year) == 0 and used(timed, "alice", year + 1) == 0
    timed.crossborder.send("alice", "kowloon-supply", 83_000_000, "HKDS")
    before = counters(timed)
    with pytest.raises(OutflowLimit, match=str(year + 1)):
        timed.crossborder.send("alice", "kowloon-supply", 70_000_000, "HKDS")  # the void gave nothing to the new year
    assert counters(timed) == before
    assert timed.verify().ok


# -- the run breaker: refusals, signatures, the denominator, peers ------------------------------------


def test_a_refused_conversion_trips_nothing_for_anyone_else(timed: Ledger, clock: ManualClock) -> None:
    before = timed.reports.breaker()
    with pytest.raises(RunBreaker):
        timed.crossborder.send("seoul-exports", "kowloon-supply", 1_500_000_000, "HKDS")
    after = timed.reports.breaker()
    assert (after.net_out, after.halted_until) == (before.net_out, None)
    timed.crossborder.send("seoul-exports", "kowloon-supply", 100_000_000, "HKDS")  # the next conversion is judged on its own


def test_a_transaction_the_dealer_never_signed_is_no_conversion(ledger: Ledger) -> None:
    ledger.stablecoins.mint("KRWS", 1_200_000_000, "seoul-exports", "dKRW.namsan")
    ledger.stablecoins.mint("HKDS", 1_00, "kowloon-supply", "dHKD.harbour")
    legs = [
        Leg("seoul-exports:KRWS", "peakfx:KRWS", "KRWS", 1_200_000_000),  # credits the dealer in won ...
        Leg("kowloon-supply:HKDS", "peakfx:HKDS", "HKDS", 1_00),  # ... and in another currency, but it pays out nothing
    ]
    travel = Travel(party(ledger, "seoul-exports", "seoul-exports:KRWS"), party(ledger, "peakfx", "peakfx:KRWS"))
    net = ledger.reports.breaker().net_out
    submit(ledger, "unsigned-by-dealer", legs, ["seoul-exports", "kowloon-supply"], travel)
    assert ledger.reports.breaker().net_out == net
    assert "peakfx" not in {s.signer for s in ledger.transaction("unsigned-by-dealer").signatures}


def test_a_mint_in_the_same_transaction_does_not_raise_the_breakers_denominator(ledger: Ledger) -> None:
    # A send mints the KRWS it converts: 1.05bn on top of 10bn would allow 1.105bn; the supply the window began with allows 1bn.
    before = counters(ledger)
    with pytest.raises(RunBreaker, match="of the 10,000,000,000 KRWS in issue"):
        ledger.crossborder.send("seoul-exports", "kowloon-supply", 1_050_000_000, "HKDS")
    assert counters(ledger) == before


def test_a_peer_to_peer_swap_out_of_krws_is_watched_by_the_breaker(ledger: Ledger) -> None:
    ledger.registry.add_participant("carol", "individual", "HK")
    ledger.registry.open_account("carol", "HKDS")
    ledger.payments.transfer("peakfx:HKDS", "carol:HKDS", 8_000_000_00)
    ledger.stablecoins.mint("KRWS", 1_200_000_000, "seoul-exports", "dKRW.namsan")
    for owner, asset in (("carol", "KRWS"), ("seoul-exports", "HKDS")):
        ledger.registry.open_account(owner, asset)

    def swap(tx_id: str) -> None:
        legs = [
            Leg("seoul-exports:KRWS", "carol:KRWS", "KRWS", 600_000_000),
            Leg("carol:HKDS", "seoul-exports:HKDS", "HKDS", krw_in_hkd(ledger, 600_000_000)),
        ]
        submit(ledger, tx_id, legs, ["seoul-exports", "carol"])

    net = ledger.reports.breaker().net_out
    swap("p2p-1")
    assert ledger.reports.breaker().net_out - net == 600_000_000
    before = counters(ledger)
    with pytest.raises(RunBreaker):
        swap("p2p-2")
    assert counters(ledger) == before


# -- true travel data -----------------------------------------------------------------------------------


def test_travel_data_naming_a_token_beneficiary_while_the_value_goes_elsewhere_is_refused(ledger: Ledger) -> None:
    ledger.registry.add_participant("carol", "individual", "HK")
    ledger.stablecoins.mint("KRWS", 20_000_001, "seoul-exports", "dKRW.namsan")
    for owner in ("carol", "kowloon-supply"):
        ledger.registry.open_account(owner, "KRWS")
    legs = [
        Leg("seoul-exports:KRWS", "carol:KRWS", "KRWS", 1),  # 1 KRWS to the named beneficiary ...
        Leg("seoul-exports:KRWS", "kowloon-supply:KRWS", "KRWS", 20_000_000),  # ... the value to someone else
    ]
    sender = party(ledger, "seoul-exports", "seoul-exports:KRWS")
    carol, kowloon = party(ledger, "carol", "carol:KRWS"), party(ledger, "kowloon-supply", "kowloon-supply:KRWS")
    before = counters(ledger)
    with pytest.raises(TravelRule, match="to kowloon-supply, whom its travel data does not name"):
        submit(ledger, "token", legs, ["seoul-exports"], Travel(sender, carol))
    assert counters(ledger) == before
    submit(ledger, "token", legs, ["seoul-exports"], Travel(sender, carol, (kowloon,)))  # a batch names each beneficiary
    assert ledger.transaction("token").tx.travel.beneficiaries == (carol, kowloon)


def test_splitting_a_send_into_usd_999_pieces_does_not_avoid_the_travel_rule(timed: Ledger, clock: ManualClock) -> None:
    timed.stablecoins.mint("KRWS", 5_000_000, "alice", "dKRW.hanriver")
    timed.registry.open_account("kowloon-supply", "KRWS")
    piece = [Leg("alice:KRWS", "kowloon-supply:KRWS", "KRWS", 1_384_000)]  # USD 998.92
    submit(timed, "piece-1", piece, ["alice"])  # alone it is under USD 1,000
    clock.advance(6 * 3600)
    before = counters(timed)
    with pytest.raises(TravelRule, match=r"USD 1,997\.84 with the last 24 h's transfers"):
        submit(timed, "piece-2", piece, ["alice"])
    assert counters(timed) == before
    clock.advance(18 * 3600 + 1)  # the first piece has left the 24-hour window
    submit(timed, "piece-2", piece, ["alice"])


def test_a_reversal_of_a_cross_border_send_carries_travel_data_too(ledger: Ledger) -> None:
    ledger.stablecoins.mint("KRWS", 2_000_000, "alice", "dKRW.hanriver")
    ledger.registry.open_account("kowloon-supply", "KRWS")
    sent = ledger.payments.transfer("alice:KRWS", "kowloon-supply:KRWS", 2_000_000)  # travel data from the registry
    back = [Leg("kowloon-supply:KRWS", "alice:KRWS", "KRWS", 2_000_000)]
    with pytest.raises(TravelRule, match="of kowloon-supply's across a border to alice"):
        submit(ledger, "undo-bare", back, ["kowloon-supply"], kind="reversal", ref=sent.id)
    receipt = ledger.payments.reverse(sent.id)  # the original's beneficiary now names itself as originator
    travel = ledger.transaction(receipt.id).tx.travel
    assert (travel.originator.id, travel.beneficiary.id) == ("kowloon-supply", "alice")
