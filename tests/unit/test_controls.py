"""The capital-flow controls as pure values: the breaker's state, the replay comparison, the travel data's two wire forms."""

from __future__ import annotations

import pytest

from wonledger import BadInput, Party, Travel
from wonledger.domain.wire import parse_travel
from wonledger.rulebook.controls import ControlEffect, ControlRows, Controls, ControlState, compare
from wonledger.rulebook.policy import load_flow_policy

T0 = "2026-11-28T10:00:00.000000Z"
T1 = "2026-11-28T10:20:00.000000Z"
NOW = "2026-11-28T10:40:00.000000Z"


def test_the_breaker_is_closed_until_enough_of_the_hours_conversions_age_out_when_a_burn_lowers_the_bar() -> None:
    policy = load_flow_policy()
    # 10bn at the window's start, 9bn after a burn: 10% of the least is 900m; 900m + 200m were converted out.
    state = ControlState(conversions=[(T0, 900_000_000), (T1, 200_000_000)], supply=9_000_000_000, supply_path=[(T1, 9_000_000_000)], supply_before=10_000_000_000)
    view = Controls(policy).status(state, NOW)
    assert (view.net_out, view.supply, view.threshold) == (1_100_000_000, 9_000_000_000, 900_000_000)
    assert view.closed_until == "2026-11-28T11:00:00.000000Z"  # when the 900m of 10:00 leaves the hour


def test_the_breaker_is_open_while_the_hour_has_room() -> None:
    state = ControlState(conversions=[(T0, 100)], supply=10_000, supply_before=10_000)
    assert Controls(load_flow_policy()).status(state, NOW).closed_until is None


def test_a_refused_transaction_leaves_the_state_as_it_was_and_an_empty_effect_adds_nothing() -> None:
    state = ControlState(record=True)
    state.apply(ControlEffect(counted_at=NOW, asset="KRWS"), 1, "nothing", NOW)
    assert not state.record and state.outflows == {} and state.conversions == []


def test_compare_names_the_first_difference_in_each_table() -> None:
    replayed = ControlState(record=True)
    replayed.apply(ControlEffect(counted_at=T0, asset="KRWS", outflows={("alice", 2026): 500}, conversion_out=7), 3, "tx-3", T0)
    stored = ControlRows(outflows=[(3, "alice", 2026, 400)], conversions=[(3, T0, "KRWS", 7)])
    assert compare(stored, replayed) == [
        ("outflows", "outflows stores seq 3, participant alice, year 2026, usd_minor 400 where the journal gives seq 3, participant alice, year 2026, usd_minor 500")
    ]


ALICE = {"id": "alice", "account": "alice:KRWS", "kind": "individual", "jurisdiction": "KR"}
CAROL = {"id": "carol", "account": "carol:KRWS", "kind": "individual", "jurisdiction": "HK"}
KOWLOON = {"id": "kowloon-supply", "account": "kowloon-supply:KRWS", "kind": "corporate", "jurisdiction": "HK"}


def test_travel_data_names_one_beneficiary_in_one_form_and_a_batch_in_another() -> None:
    one = parse_travel({"originator": ALICE, "beneficiary": CAROL})
    assert one.to_wire() == {"originator": ALICE, "beneficiary": CAROL}
    batch = parse_travel({"originator": ALICE, "beneficiaries": [CAROL, KOWLOON]})
    assert [b.id for b in batch.beneficiaries] == ["carol", "kowloon-supply"]
    assert batch.to_wire() == {"originator": ALICE, "beneficiaries": [CAROL, KOWLOON]}
    assert batch == Travel(Party(**ALICE), Party(**CAROL), (Party(**KOWLOON),))


@pytest.mark.parametrize(
    "travel",
    [
        {"originator": ALICE, "beneficiaries": [CAROL]},  # one beneficiary has its own form
        {"originator": ALICE, "beneficiaries": [CAROL, CAROL]},
        {"originator": ALICE, "beneficiary": CAROL, "beneficiaries": [CAROL, KOWLOON]},
        {"originator": ALICE, "beneficiaries": "carol"},
    ],
)
def test_a_batch_of_beneficiaries_must_be_a_list_of_two_or_more_different_parties(travel: dict) -> None:
    with pytest.raises(BadInput):
        parse_travel(travel)
