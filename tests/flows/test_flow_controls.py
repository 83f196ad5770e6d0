"""Capital-flow controls: residents' yearly outflow limit, the run breaker, and the record of every refusal.

Each test runs on SQLite and on the real PostgreSQL.
"""

from __future__ import annotations

import math

import pytest

from wonledger import IssuerNotEligible, Ledger, OutflowLimit, Residency, RunBreaker
from wonledger.testing import ManualClock


def counters(ledger: Ledger) -> dict[str, tuple[int, int, int, int]]:
    return {a.id: (a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending) for a in ledger.registry.accounts()}


def used(ledger: Ledger, who: str) -> int:
    return {r.participant: r.used for r in ledger.reports.outflows()[1]}[who]


# -- the yearly outflow limit ------------------------------------------------------------


def test_a_residents_sends_abroad_count_against_usd_100000_a_year(ledger: Ledger) -> None:
    ledger.payments.deposit("alice", 200_000_000, "hanriver")
    ledger.crossborder.send("alice", "kowloon-supply", 130_000_000, "HKDS")  # about USD 93,829
    assert used(ledger, "alice") == 9_382_895  # cents, rounded up
    before = counters(ledger)
    with pytest.raises(OutflowLimit, match=r"USD 100,000\.00"):
        ledger.crossborder.send("alice", "kowloon-supply", 10_000_000, "HKDS")  # about USD 7,218 more
    assert counters(ledger) == before
    ledger.crossborder.send("alice", "kowloon-supply", 8_000_000, "HKDS")  # still fits
    assert used(ledger, "alice") <= 10_000_000


def test_conversions_into_a_foreign_currency_asset_count_and_conversions_home_count_only_the_dealers_price(ledger: Ledger) -> None:
    ledger.stablecoins.mint("KRWS", 3_000_000, "alice", "dKRW.hanriver")
    assert used(ledger, "alice") == 0  # a won stablecoin is still won
    ledger.crossborder.swap("alice", 2_000_000, "KRWS", "HKDS")
    assert used(ledger, "alice") == 144_353  # USD 1,443.53
    q = ledger.crossborder.quote("HKDS", "KRWS", 1_000_00)
    ledger.crossborder.swap("alice", 1_000_00, "HKDS", "KRWS", quote_id=q.quote_id)
    rates = ledger._book.flow_policy.rates
    kept_abroad = rates.usd_minor(1_000_00, 2, "HKD") - rates.usd_minor(q.buy_amount, 0, "KRW")  # the dealer's spread and fee
    assert used(ledger, "alice") == 144_353 + math.ceil(kept_abroad)


def test_a_domestic_payment_is_no_outflow(ledger: Ledger) -> None:
    ledger.payments.pay("alice:dKRW.hanriver", "seoul-exports:dKRW.namsan", 1_000_000)
    assert used(ledger, "alice") == 0


def test_corporates_are_not_under_the_individuals_limit(ledger: Ledger) -> None:
    ledger.crossborder.send("seoul-exports", "kowloon-supply", 200_000_000, "HKDS")  # about USD 144,000
    assert "seoul-exports" not in {r.participant for r in ledger.reports.outflows()[1]}


def test_a_voided_two_phase_conversion_gives_its_outflow_back(ledger: Ledger) -> None:
    ledger.stablecoins.mint("KRWS", 3_000_000, "alice", "dKRW.hanriver")
    ledger.crossborder.swap("alice", 2_000_000, "KRWS", "HKDS", hold_timeout_s=60, tx_id="pvp-a")
    assert used(ledger, "alice") == 144_353
    ledger.holds.void("pvp-a")
    assert used(ledger, "alice") == 0


# -- the run breaker -------------------------------------------------------------------------


def test_the_run_breaker_refuses_what_would_pass_10_percent_of_supply_in_an_hour_and_its_refusal_halts_nobody(
    timed: Ledger, clock: ManualClock
) -> None:
    timed.crossborder.send("seoul-exports", "kowloon-supply", 600_000_000, "HKDS")
    clock.advance(60)
    before = counters(timed)
    with pytest.raises(RunBreaker, match="over 10% of the 10,000,000,000 KRWS"):
        timed.crossborder.send("seoul-exports", "kowloon-supply", 600_000_000, "HKDS")  # 1.2bn > 10% of the 10bn at the window's start
    assert counters(timed) == before
    status = timed.reports.breaker()
    assert status.last_refused is not None and status.halted_until is None  # the refusal changed no control state
    assert 590_000_000 < status.net_out < 600_000_000 and status.supply == 10_000_000_000
    timed.crossborder.send("seoul-exports", "kowloon-supply", 1_000, "HKDS")  # a small one still fits: nobody is halted by a refusal
    timed.stablecoins.mint("HKDS", 1_000_00, "kowloon-supply", "dHKD.harbour")
    timed.crossborder.swap("kowloon-supply", 1_000_00, "HKDS", "KRWS")  # conversions into KRWS stay open
    clock.advance(3600)
    timed.crossborder.send("seoul-exports", "kowloon-supply", 600_000_000, "HKDS")  # the first has left the window
    assert timed.verify().ok


def test_the_window_slides_so_old_conversions_stop_counting(timed: Ledger, clock: ManualClock) -> None:
    timed.crossborder.send("seoul-exports", "kowloon-supply", 600_000_000, "HKDS")
    clock.advance(3601)
    timed.crossborder.send("seoul-exports", "kowloon-supply", 600_000_000, "HKDS")  # 1.2bn in two hours, 600m in each
    assert timed.reports.breaker().net_out < 600_000_000


# -- every refusal is recorded --------------------------------------------------------------


def test_every_refusal_is_recorded_with_who_what_code_and_when(ledger: Ledger) -> None:
    with pytest.raises(IssuerNotEligible):
        ledger.registry.register_issuer("kpay", "KPAY", "KRW")
    with pytest.raises(Residency):
        ledger.registry.open_account("kowloon-supply", "dKRW.hanriver")
    ledger.payments.deposit("alice", 200_000_000, "hanriver")
    with pytest.raises(OutflowLimit):
        ledger.crossborder.send("alice", "kowloon-supply", 150_000_000, "HKDS", tx_id="too-much")
    refusals = ledger.reports.rejections()
    assert [r.code for r in refusals] == ["OUTFLOW_LIMIT", "RESIDENCY", "ISSUER_NOT_ELIGIBLE"]
    latest = refusals[0]
    assert (latest.who, latest.tx_id, latest.kind) == ("alice", "too-much", "send")
    assert "150,000,000 dKRW.hanriver" in latest.what and latest.at
    assert refusals[2].who == "kpay" and "KPAY" in refusals[2].what
    assert [r.code for r in ledger.reports.rejections(code="RESIDENCY")] == ["RESIDENCY"]
    assert len(ledger.reports.rejections(limit=1)) == 1


# -- verify recomputes every control figure from the journal ---------------------------------


@pytest.mark.parametrize(
    ("table", "edit"),
    [
        ("outflows", "UPDATE outflows SET usd_minor = usd_minor - 100000"),
        ("conversions", "UPDATE conversions SET amount_out = 1"),
        ("travel_movements", "DELETE FROM travel_movements"),
        ("quote_uses", "DELETE FROM quote_uses"),
    ],
)
def test_verify_rebuilds_the_control_tables_from_the_journal_and_names_an_edited_one(ledger: Ledger, table: str, edit: str) -> None:
    q = ledger.crossborder.quote("KRWS", "HKDS", 2_000_000)
    ledger.crossborder.send("alice", "kowloon-supply", 2_000_000, "HKDS", quote_id=q.quote_id)
    ledger.stablecoins.mint("KRWS", 1_000_000, "alice", "dKRW.hanriver")
    ledger.crossborder.swap("alice", 1_000_000, "KRWS", "HKDS", hold_timeout_s=60, tx_id="held")
    ledger.holds.void("held")
    assert ledger.verify().ok
    ledger._store.writing(lambda uow: uow.conn.exec_driver_sql(edit))
    problems = [p for p in ledger.verify().problems if p.kind == "controls"]
    assert len(problems) == 1 and problems[0].detail.startswith(f"{table} stores")
