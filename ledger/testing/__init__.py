"""Testing helpers for wonledger users: Hypothesis strategies and a stateful model test.

::

    from wonledger.testing import strategies, LedgerStateMachine

    TestLedger = LedgerStateMachine.TestCase      # the whole ledger against a model

    @given(strategies.bad_lines())
    def test_junk_is_refused(line):
        with pytest.raises(LedgerError):
            parse_line(line)

:mod:`wonledger.testing.strategies` generates assets, amounts, ids, legs,
transactions, signed transactions for a ledger, and wire lines the ledger
must refuse. :class:`LedgerStateMachine` drives a fresh ledger per example
side by side with a plain-dict model; subclass it to add rules.
:func:`fresh_ledger` gives a new SQLite ledger copied from a per-process
template, and :class:`ManualClock` a clock that moves only when told to.

Importing this package imports Hypothesis; ``import ledger`` does not.
"""

from wonledger.testing import strategies
from wonledger.testing.machine import LedgerStateMachine, ManualClock, fresh_ledger

__all__ = ["LedgerStateMachine", "ManualClock", "fresh_ledger", "strategies"]
