"""The worked examples of docs/testing.md: they run here, and the page shows exactly these lines.

Each example sits between ``# example: NAME`` and ``# end: NAME``; the page
includes it in a ```python block after ``<!-- example: NAME -->``, and
:func:`test_the_page_shows_the_examples_as_they_are_here` fails when the
two differ. The two natural first tries are run too, to show they fail with
an error that says what to do instead.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import rule

from wonledger import DbUnreachable, DuplicateConflict, InsufficientFunds, Leg, Tx
from wonledger.testing import LedgerStateMachine, fresh_ledger, strategies

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
HERE = Path(__file__)


# example: property
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_signed_transaction_posts_or_is_refused_for_want_of_funds(data: st.DataObject) -> None:
    with fresh_ledger() as ledger:  # one fresh ledger per example, opened inside the test
        signed = data.draw(strategies.signed_transactions(ledger, amounts=strategies.amounts(max_value=10**7)))
        try:
            receipt = ledger.submit(signed)
        except InsufficientFunds:
            return  # a balance reason is the only refusal the strategy allows
        assert receipt.status == "posted" and receipt.id == signed.tx.id
# end: property


# example: machine
class OneUnitTransfers(LedgerStateMachine):
    """The packaged machine, plus a rule of our own: a transfer of one minor unit, signed by its debtor."""

    hypothesis_settings = settings(LedgerStateMachine.hypothesis_settings, max_examples=5, stateful_step_count=15)

    @rule(debit=LedgerStateMachine.accounts, pick=st.integers(0, 10))
    def move_one_minor_unit(self, debit: str, pick: int) -> None:
        credit = self.same_asset(debit, pick)
        if credit is None:
            return
        tx_id = self.next_id("unit")
        self.catch_up()  # the model first learns what the clock has done (expired holds)
        legs = (Leg(debit, credit, self.asset_of[debit], 1),)
        moves = self.deltas(legs, pending=False)
        expected = self.legs_problem(legs) or (None if self.fits(moves) else InsufficientFunds)
        signed = self.sign_as(Tx(ledger=self.ledger.id, id=tx_id, kind="transfer", legs=legs), [self.owner[debit]])
        # tells the model what the ledger must do: accept with these moves, or refuse and change nothing
        self.submit_expecting(lambda: self.ledger.submit(signed), expected, tx_id, moves)


TestOneUnitTransfers = OneUnitTransfers.TestCase
# end: machine


# -- the two first tries, and what they say ----------------------------------------


def test_one_ledger_shared_by_every_example_says_to_open_one_per_example() -> None:
    with fresh_ledger() as shared:
        # a few ids only, so that Hypothesis soon draws one again with other content
        made = strategies.signed_transactions(shared, ids=st.sampled_from(["a", "b"]), amounts=strategies.amounts(max_value=10))

        @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(made)
        def first_try(signed):  # type: ignore[no-untyped-def]
            shared.submit(signed)

        with pytest.raises(DuplicateConflict, match=r"Hypothesis replays ids across examples.*st\.data\(\).*fresh_ledger\(\)"):
            first_try()


def test_a_strategy_made_at_module_level_says_its_ledger_is_closed() -> None:
    with fresh_ledger() as ledger:
        made_too_early = strategies.signed_transactions(ledger)  # as if at module level

    @settings(max_examples=3, deadline=None, database=None)
    @given(made_too_early)
    def first_try(signed):  # type: ignore[no-untyped-def]
        pass

    with pytest.raises(DbUnreachable, match=r"closed and deleted when its `with fresh_ledger\(\)` block ended.*st\.data\(\)"):
        first_try()


def test_an_id_drawn_again_with_the_same_content_is_no_error() -> None:
    """The replayed-id check fires only on other content: an idempotent resubmission stays allowed."""
    from wonledger.testing.strategies import _refuse_a_replayed_id

    with fresh_ledger() as ledger:
        tx = Tx(ledger=ledger.id, id="same", kind="transfer", legs=(Leg("alice:dKRW.hanriver", "hanriver:dKRW.hanriver", "dKRW.hanriver", 1),))
        signed = ledger.sign(tx)
        ledger.submit(signed)
        _refuse_a_replayed_id(ledger, signed.tx)  # first seen: remembered
        _refuse_a_replayed_id(ledger, signed.tx)  # seen again, same content as the journal's: fine
        assert ledger.submit(signed).duplicate


# -- the page and this file agree ----------------------------------------------------


def regions(text: str) -> dict[str, str]:
    found = re.findall(r"^# example: (\w+)\n(.*?)^# end: \1$", text, flags=re.S | re.M)
    return {name: body.strip("\n") for name, body in found}


def test_the_page_shows_the_examples_as_they_are_here() -> None:
    page = GUIDE.read_text(encoding="utf-8")
    shown = dict(re.findall(r"<!-- example: (\w+) -->\n```python\n(.*?)\n```", page, flags=re.S))
    here = regions(HERE.read_text(encoding="utf-8"))
    assert set(here) == {"property", "machine"}
    for name, body in here.items():
        assert name in shown, f"docs/testing.md does not include example {name!r}"
        assert shown[name].strip("\n") == body, f"docs/testing.md's example {name!r} differs from {HERE.name}; copy it over"


@pytest.mark.slow
def test_how_fast_the_machine_runs() -> None:
    """The figure docs/testing.md gives: examples per second of the packaged machine (printed with -s)."""
    class Timed(LedgerStateMachine):
        hypothesis_settings = settings(LedgerStateMachine.hypothesis_settings, max_examples=10, database=None)

    started = time.perf_counter()
    Timed.TestCase("runTest").runTest()
    elapsed = time.perf_counter() - started
    print(f"LedgerStateMachine: 10 examples of up to 30 steps in {elapsed:.1f} s, {10 / elapsed:.2f} examples/s")
