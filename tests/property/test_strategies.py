"""The public strategies make what they promise: values the ledger accepts, lines it refuses."""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wonledger import InsufficientFunds, Ledger, LedgerError, Receipt, format_amount, parse_amount, parse_line
from wonledger.domain.model import ID_PATTERN, PARTICIPANT_PATTERN, PLAIN_KINDS
from wonledger.domain.money import MAX_AMOUNT
from wonledger.domain.wire import parse_tx
from wonledger.testing import fresh_ledger, strategies

EXPONENTS = st.integers(0, 4)


@pytest.fixture(scope="module")
def shared_ledger() -> Iterator[Ledger]:
    """One ledger for tests that only read it or only send it what it must refuse."""
    with fresh_ledger() as ledger:
        yield ledger


def snapshot(ledger: Ledger) -> tuple[object, ...]:
    accounts = tuple((a.id, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending) for a in ledger.registry.accounts())
    return accounts, ledger.info().transactions


# -- what the ledger accepts ---------------------------------------------------------


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_signed_transactions_post_or_are_refused_only_for_want_of_funds(data: st.DataObject) -> None:
    with fresh_ledger() as ledger:
        batch = data.draw(
            st.lists(
                strategies.signed_transactions(
                    ledger, kinds=PLAIN_KINDS + ("hold",), amounts=st.one_of(strategies.amounts(max_value=10**7), strategies.amounts())
                ),
                min_size=1,
                max_size=4,
                unique_by=lambda s: s.tx.id,
            )
        )
        for signed in batch:
            before = snapshot(ledger)
            try:
                receipt = ledger.submit(signed)
            except InsufficientFunds:
                assert snapshot(ledger) == before, "a refused transaction changed the ledger"
            else:
                assert receipt.status == ("pending" if signed.tx.kind == "hold" else "posted")
                assert ledger.transaction(signed.tx.id).canonical == signed.canonical
        report = ledger.verify()
        assert not report.problems, report.problems


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_registry_entries_post_exactly_when_the_registrar_may_vouch_and_a_refused_one_changes_nothing(data: st.DataObject) -> None:
    """Customers registered by banks of their jurisdiction post; by anyone else, NOT_AUTHORIZED and nothing changes.

    After the draws, the registry replayed from the journal is the stored one (verify).
    """
    with fresh_ledger() as ledger:
        for signed, fine in data.draw(st.lists(strategies.registry_entries(ledger), min_size=1, max_size=4, unique_by=lambda e: e[0].tx.id)):
            before = snapshot(ledger), sorted(p.id for p in ledger.registry.participants())
            try:
                ledger.submit(signed)
            except LedgerError as exc:
                assert not fine and exc.code == "NOT_AUTHORIZED", exc
                assert (snapshot(ledger), sorted(p.id for p in ledger.registry.participants())) == before
            else:
                assert fine
                assert ledger.registry.participant(signed.tx.subject.id).registrar == signed.tx.subject.registrar  # type: ignore[union-attr]
        report = ledger.verify()
        assert not report.problems, report.problems


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_generated_transfers_small_enough_to_afford_always_post(data: st.DataObject) -> None:
    with fresh_ledger() as ledger:
        signed = data.draw(
            strategies.signed_transactions(
                ledger,
                max_legs=1,
                amounts=strategies.amounts(max_value=1_000),
                may_debit=lambda account: account.may_overdraw or account.available >= 1_000,
            )
        )
        assert isinstance(ledger.submit(signed), Receipt)


@given(tx=strategies.transactions("wl-test", {"KRWS": ["a:KRWS", "b:KRWS", "c:KRWS"], "HKDS": ["a:HKDS", "b:HKDS"]}, kinds=PLAIN_KINDS + ("hold",)))
def test_generated_transactions_are_what_the_wire_format_reads_back(tx) -> None:  # type: ignore[no-untyped-def]
    assert parse_tx(json.loads(json.dumps(tx.to_wire()))) == tx
    assert all(leg.debit != leg.credit and leg.asset == leg.debit.split(":")[1] for leg in tx.legs)


@given(envelope=strategies.wire_envelopes())
def test_generated_wire_lines_parse_and_read_back_unchanged(envelope: dict) -> None:
    assert parse_line(json.dumps(envelope)).to_wire() == envelope


@given(asset=strategies.assets())
def test_generated_assets_have_exponents_up_to_4_and_are_frozen(asset) -> None:  # type: ignore[no-untyped-def]
    assert 0 <= asset.exponent <= 4
    with pytest.raises(dataclasses.FrozenInstanceError):
        asset.exponent = 5


@given(tx_id=strategies.transaction_ids(), participant=strategies.participant_ids(), account=strategies.account_ids())
def test_generated_ids_have_the_shapes_the_ledger_accepts(tx_id: str, participant: str, account: str) -> None:
    assert ID_PATTERN.fullmatch(tx_id) and len(tx_id) <= 128
    assert PARTICIPANT_PATTERN.fullmatch(participant) and ":" not in participant
    assert ID_PATTERN.fullmatch(account)


@given(amount=strategies.amounts())
def test_generated_amounts_are_positive_ints_within_the_signable_range(amount: int) -> None:
    assert type(amount) is int and 1 <= amount <= MAX_AMOUNT


# -- amounts in major units --------------------------------------------------------------


@given(exponent=EXPONENTS, data=st.data())
def test_major_amount_texts_parse_to_the_minor_units_they_stand_for(exponent: int, data: st.DataObject) -> None:
    text, minor = data.draw(strategies.major_amounts(exponent))
    assert parse_amount(text, exponent) == minor


@given(exponent=EXPONENTS, data=st.data())
def test_major_amount_texts_are_accepted_by_parse_amount(exponent: int, data: st.DataObject) -> None:
    text = data.draw(strategies.major_amount_texts(exponent))
    assert 1 <= parse_amount(text, exponent) <= MAX_AMOUNT


@given(minor=strategies.amounts(), exponent=EXPONENTS)
def test_formatting_then_parsing_an_amount_gives_back_the_same_minor_units(minor: int, exponent: int) -> None:
    assert parse_amount(format_amount(minor, exponent, grouping=False), exponent) == minor
    assert parse_amount(format_amount(minor, exponent), exponent) == minor


# -- what the ledger refuses --------------------------------------------------------------


@pytest.mark.slow
@settings(max_examples=300)
@given(line=strategies.bad_lines())
def test_bad_lines_are_refused_with_a_ledger_error_and_never_another_exception(line: str | bytes) -> None:
    with pytest.raises(LedgerError):
        parse_line(line)


@pytest.mark.parametrize(
    ("family", "code"),
    [
        (strategies.float_amount_lines, "BAD_AMOUNT"),
        (strategies.non_finite_lines, "BAD_AMOUNT"),
        (strategies.non_positive_amount_lines, "BAD_AMOUNT"),
        (strategies.wrong_type_amount_lines, "BAD_AMOUNT"),
        (strategies.unknown_field_lines, "BAD_INPUT"),
        (strategies.bad_id_lines, "BAD_INPUT"),
        (strategies.strict_input_lines, "BAD_INPUT"),
    ],
)
def test_each_family_of_bad_lines_is_refused_with_its_own_code(family, code: str) -> None:  # type: ignore[no-untyped-def]
    @settings(max_examples=60)
    @given(line=family())
    def check(line: str) -> None:
        with pytest.raises(LedgerError) as refused:
            parse_line(line)
        assert refused.value.code == code, refused.value

    check()


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(lines=st.lists(strategies.bad_lines(), min_size=1, max_size=5))
def test_a_batch_of_bad_lines_is_rejected_line_by_line_and_changes_nothing(shared_ledger: Ledger, lines: list) -> None:
    before = snapshot(shared_ledger)
    result = shared_ledger.ingest(lines)
    assert result.posted == 0 and result.duplicates == 0
    # ingest skips blank lines; every other line is rejected under its own number
    assert [r.line for r in result.rejected] == [n for n, line in enumerate(lines, 1) if line.strip()]
    assert snapshot(shared_ledger) == before


def test_every_public_strategy_is_documented() -> None:
    for name in strategies.__all__:
        value = getattr(strategies, name)
        assert callable(value), name
        assert inspect.getdoc(value), f"strategies.{name} has no docstring"
    assert inspect.getdoc(strategies)


NOT_MINOR_UNITS = st.one_of(
    st.integers(max_value=0),
    st.integers(MAX_AMOUNT + 1, 2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(1, 10**6).map(float),  # 1.0 == 1 in Python, yet a float is never an amount
    st.booleans(),  # True == 1 in Python, yet a bool is never an amount
)


@settings(max_examples=80, deadline=None)
@given(amount=NOT_MINOR_UNITS)
def test_a_transfer_built_in_python_with_an_amount_that_is_not_minor_units_is_refused_and_changes_nothing(
    shared_ledger: Ledger, amount: object
) -> None:
    before = snapshot(shared_ledger)
    with pytest.raises(LedgerError) as refused:
        shared_ledger.payments.transfer("alice:dKRW.hanriver", "kstable:dKRW.hanriver:reserve", amount)  # type: ignore[arg-type]
    assert refused.value.code == "BAD_AMOUNT", refused.value
    assert snapshot(shared_ledger) == before
