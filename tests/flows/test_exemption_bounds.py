"""No exemption without a bound: what each kind of intermediary may keep or pass on without travel data and without counting.

docs/controls.md ("What an intermediary may keep") writes the bounds down:
only the dealer keeps anything exempt, and only at its firm quote, which the
transaction it signs carries and the rules hold to the policy (its spread
and fee); an exchange at no firm quote is a cross-border transfer of its
whole value for the travel rule, the yearly limit and the run breaker,
whoever is party to it. The issue's attack is the first case below, tried
with a colluding party of every kind the controls treat as an
intermediary: alice pays 100,000,000 KRWS (about USD 72,000) to it, and it
"pays back" 0.01 HKDS. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import pytest

from wonledger import Ledger, Party, RunBreaker, Travel, TravelRule
from wonledger.domain.model import Leg, Tx

#: One colluding participant of each kind the controls follow value through, in Hong Kong; the account it pays HKDS from.
COLLUDERS = {
    "dealer": ("peakfx", "peakfx:HKDS"),
    "issuer": ("victoria", "victoria:HKDS:ops"),
    "bank": ("harbour", "harbour:HKDS"),
    "nonbank": ("hkpay", "hkpay:HKDS"),
    "corporate": ("kowloon-supply", "kowloon-supply:HKDS"),
}
KRWS = 100_000_000


def counters(ledger: Ledger) -> dict[str, tuple[int, int, int, int]]:
    return {a.id: (a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending) for a in ledger.registry.accounts()}


def usd_cents(ledger: Ledger, amount: int, asset: str) -> int:
    a = ledger.registry.asset(asset)
    return math.ceil(ledger._book.flow_policy.rates.usd_minor(amount, a.exponent, a.currency))


def outflow(ledger: Ledger, who: str) -> int:
    return {r.participant: r.used for r in ledger.reports.outflows()[1]}.get(who, 0)


def party(ledger: Ledger, who: str, account: str) -> Party:
    p = ledger.registry.participant(who)
    return Party(who, account, p.kind, p.jurisdiction)


def submit(ledger: Ledger, tx_id: str, legs: Sequence[Leg], signers: Sequence[str], travel: Travel | None = None) -> object:
    tx = Tx(ledger=ledger.id, id=tx_id, kind="swap", legs=tuple(legs), travel=travel)
    return ledger._book.submit(ledger.sign(tx, signers))


def rows_of(ledger: Ledger, tx_id: str) -> tuple[list, list]:
    """The conversion and travel rows the controls kept for ``tx_id``."""
    seq = ledger.transaction(tx_id).seq
    rows = ledger._store.reading(lambda uow: uow.controls.control_rows())
    return [r for r in rows.conversions if r[0] == seq], [r for r in rows.travel if r[0] == seq]


def colluder(ledger: Ledger, kind: str) -> tuple[str, str]:
    """The colluding participant of ``kind``, with a KRWS account and 100 HKDS it may pay from."""
    who, pays_from = COLLUDERS[kind]
    if kind == "nonbank":
        ledger.registry.add_participant(who, "nonbank", "HK", by="hkma")
    if kind == "issuer":
        ledger.registry.open_account(who, "HKDS", label="ops")
    elif who != "peakfx":
        ledger.registry.open_account(who, "HKDS")
    if who != "peakfx":
        ledger.registry.open_account(who, "KRWS")
        ledger.payments.transfer("peakfx:HKDS", pays_from, 100_00)
    return who, pays_from


@pytest.fixture
def alice(ledger: Ledger) -> Ledger:
    """alice (an individual resident of Korea) with 200,000,000 KRWS and an HKDS account."""
    ledger.payments.deposit("alice", 200_000_000, "hanriver")
    ledger.stablecoins.mint("KRWS", 200_000_000, "alice", "dKRW.hanriver")
    ledger.registry.open_account("alice", "HKDS")
    return ledger


@pytest.mark.parametrize("kind", sorted(COLLUDERS))
def test_an_exchange_at_no_firm_quote_is_a_transfer_of_its_whole_value_whoever_is_party_to_it(alice: Ledger, kind: str) -> None:
    ledger = alice
    who, pays_from = colluder(ledger, kind)
    legs = [Leg("alice:KRWS", f"{who}:KRWS", "KRWS", KRWS), Leg(pays_from, "alice:HKDS", "HKDS", 1)]
    before, spent = counters(ledger), outflow(ledger, "alice")
    with pytest.raises(TravelRule, match=f"of alice's across a border to {who}"):
        submit(ledger, f"x-{kind}", legs, ["alice", who])
    assert counters(ledger) == before and outflow(ledger, "alice") == spent
    # With true travel data it goes through, and counts all of it: the limit, the travel rule's window, the breaker.
    submit(ledger, f"x-{kind}", legs, ["alice", who], Travel(party(ledger, "alice", "alice:KRWS"), party(ledger, who, f"{who}:KRWS")))
    whole = usd_cents(ledger, KRWS, "KRWS")
    assert outflow(ledger, "alice") - spent >= whole
    conversions, travel = rows_of(ledger, f"x-{kind}")
    assert [r[3] for r in conversions] == [KRWS]  # converted out: all of the KRWS, not the 0.01 HKDS paid back
    assert [(r[2], r[3], r[4]) for r in travel] == [("alice", who, pytest.approx(whole, abs=1))]
    assert ledger.verify().ok


def test_at_the_dealers_firm_quote_what_it_keeps_is_at_most_its_spread_and_fee(alice: Ledger) -> None:
    ledger = alice
    policy = ledger._book.flow_policy
    receipt = ledger.crossborder.swap("alice", 2_000_000, "KRWS", "HKDS", tx_id="at-quote")
    legs = ledger.transaction(receipt.id).tx.legs
    krws = ledger.registry.asset("KRWS")
    hkds = ledger.registry.asset("HKDS")
    sold = sum(policy.rates.usd_minor(leg.amount, krws.exponent, "KRW") for leg in legs if leg.asset == "KRWS")
    bought = sum(policy.rates.usd_minor(leg.amount, hkds.exponent, "HKD") for leg in legs if leg.asset == "HKDS")
    kept = sold - bought
    assert 0 < kept <= sold * Fraction(policy.spread_bps + policy.fee_bps, 10_000) + 1  # one cent of rounding, in the dealer's favour
    conversions, travel = rows_of(ledger, "at-quote")
    paid_out_krws = math.ceil(bought / policy.rates.usd_minor(1, krws.exponent, "KRW"))
    assert [r[3] for r in conversions] == [min(2_000_000, paid_out_krws)]  # up to what the dealer pays out: its price is not a conversion
    assert all(r[3] != "peakfx" for r in travel)  # the price, bounded, is no transfer to name
    assert ledger.verify().ok


def test_a_peer_exchange_off_quote_counts_its_whole_value_against_the_run_breaker(ledger: Ledger) -> None:
    """1,100,000,000 KRWS for 0.01 HKDS is a run of 11% of the supply, not a conversion of 2 KRWS."""
    ledger.stablecoins.mint("KRWS", 1_200_000_000, "seoul-exports", "dKRW.namsan")
    ledger.registry.open_account("seoul-exports", "HKDS")
    ledger.registry.open_account("kowloon-supply", "KRWS")
    ledger.registry.open_account("kowloon-supply", "HKDS")
    ledger.payments.transfer("peakfx:HKDS", "kowloon-supply:HKDS", 100_00)
    legs = [Leg("seoul-exports:KRWS", "kowloon-supply:KRWS", "KRWS", 1_100_000_000), Leg("kowloon-supply:HKDS", "seoul-exports:HKDS", "HKDS", 1)]
    travel = Travel(party(ledger, "seoul-exports", "seoul-exports:KRWS"), party(ledger, "kowloon-supply", "kowloon-supply:KRWS"))
    before = counters(ledger)
    with pytest.raises(RunBreaker):
        submit(ledger, "run", legs, ["seoul-exports", "kowloon-supply"], travel)
    assert counters(ledger) == before
    # The same value at a tenth of it passes, and takes a tenth of the breaker's room.
    submit(ledger, "run", [Leg("seoul-exports:KRWS", "kowloon-supply:KRWS", "KRWS", 110_000_000), legs[1]], ["seoul-exports", "kowloon-supply"], travel)
    assert [r[3] for r in rows_of(ledger, "run")[0]] == [110_000_000]
