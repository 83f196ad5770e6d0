"""The whole ledger, driven by Hypothesis, agrees with a plain model after every step.

`LedgerStateMachine` (ledger.testing) runs transfers, holds, posts, voids,
expiries, reversals, batches, resubmissions and refused operations against a
fresh ledger per example and checks zero-sum, no overdraft, idempotency and
"a refused operation changes nothing" after every step. The other tests here
hold the machine itself to account: its settings can be overridden, a
subclass can add rules, and it notices a ledger that drifts from its model.
"""

from __future__ import annotations

import contextlib
import stat

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import rule

from wonledger import LedgerError
from wonledger.testing import LedgerStateMachine, fresh_ledger
from wonledger.testing.machine import PICKS


class LedgerAgainstItsModel(LedgerStateMachine):
    """The packaged machine, with a few more and longer examples than its cheap default."""

    hypothesis_settings = settings(LedgerStateMachine.hypothesis_settings, max_examples=50, stateful_step_count=40)


TestTheLedgerAgreesWithItsModel = pytest.mark.slow(LedgerAgainstItsModel.TestCase)  # 50 examples of up to 40 steps: minutes

#: Deterministic, quick settings for the tests of the machine itself.
QUICK = settings(
    LedgerStateMachine.hypothesis_settings, max_examples=15, stateful_step_count=25, derandomize=True, database=None
)


def test_the_machine_has_cheap_default_settings_without_a_deadline() -> None:
    defaults = LedgerStateMachine.TestCase.settings
    assert defaults.max_examples == 25
    assert defaults.stateful_step_count == 30
    assert defaults.deadline is None


def test_a_subclass_overrides_the_settings_by_class_attribute_or_decorator() -> None:
    class Longer(LedgerStateMachine):
        hypothesis_settings = settings(LedgerStateMachine.hypothesis_settings, max_examples=3)

    @settings(max_examples=7, deadline=None)
    class Decorated(LedgerStateMachine):
        pass

    class Inheriting(Longer):
        pass

    assert Longer.TestCase.settings.max_examples == 3
    assert Longer.TestCase.settings.deadline is None
    assert Decorated.TestCase.settings.max_examples == 7
    assert Inheriting.TestCase.settings.max_examples == 3
    assert LedgerStateMachine.TestCase.settings.max_examples == 25


class WithAHistoryRule(LedgerStateMachine):
    """A subclass adding one rule of its own over the machine's `accounts` bundle."""

    # Hypothesis enables a random subset of the rules in each example (swarm testing): with the machine's
    # many rules, short examples but more of them make sure the subclass's own rule gets its turns.
    hypothesis_settings = settings(QUICK, max_examples=40, stateful_step_count=12)
    calls = 0

    @rule(account=LedgerStateMachine.accounts)
    def an_accounts_history_reads_back_in_journal_order(self, account: str) -> None:
        type(self).calls += 1
        history = list(self.ledger.history(account))
        seqs = [entry.seq for entry in history]
        assert seqs == sorted(set(seqs))
        if any(self.counters[account]):
            assert any(account in (leg.debit, leg.credit) for e in history for leg in e.tx.legs), (
                f"{account} has moved money, so its history names it"
            )


@pytest.mark.slow
def test_a_subclass_can_add_a_rule_and_it_runs_beside_the_machines_own() -> None:
    WithAHistoryRule.calls = 0
    WithAHistoryRule.TestCase().runTest()
    assert WithAHistoryRule.calls > 0


class MovesMoneyBehindTheModelsBack(LedgerStateMachine):
    """A rule that writes to the ledger without telling the model: the machine must notice."""

    hypothesis_settings = settings(QUICK, phases=[Phase.generate], report_multiple_bugs=False)

    @rule(debit=LedgerStateMachine.accounts, pick=PICKS)
    def transfer_one_unit_secretly(self, debit: str, pick: int) -> None:
        credit = self.same_asset(debit, pick)
        if credit is not None:
            with contextlib.suppress(LedgerError):
                self.ledger.payments.transfer(debit, credit, 1, tx_id=self.next_id("secret"))


def test_the_machine_notices_a_ledger_that_drifts_from_its_model() -> None:
    with pytest.raises(AssertionError):
        MovesMoneyBehindTheModelsBack.TestCase().runTest()


def test_a_fresh_ledger_is_a_private_copy_with_its_keys_still_private() -> None:
    with fresh_ledger() as first, fresh_ledger() as second:
        keys = first._keys.directory
        assert stat.S_IMODE(keys.stat().st_mode) == 0o700
        assert {stat.S_IMODE(p.stat().st_mode) for p in keys.glob("*.pem")} == {0o600}
        first.payments.transfer("alice:dKRW.hanriver", "kstable:dKRW.hanriver:reserve", 100, tx_id="only-in-the-first")
        assert first.registry.account("alice:dKRW.hanriver").balance == second.registry.account("alice:dKRW.hanriver").balance - 100
    assert not keys.exists(), "leaving the block deletes the copy"
