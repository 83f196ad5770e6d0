"""The mission flows, driven by Hypothesis: whatever sequence of deposits, payments, mints, sends and swaps
runs, and whatever is refused or crashes half-way, the policy holds after every step.

After every step: every asset is zero-sum, every stablecoin is fully reserved, no non-resident holds
a deposit token, no limited resident is over the yearly limit, and the journal replays to exactly
the stored balances (so no PvP is half done). A failure injected inside the write of a send, after
its journal row, its legs and one account's counters, leaves nothing behind, and the same send then
goes through once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule

from wonledger import (
    BadAmount,
    InsufficientFunds,
    Ledger,
    LedgerError,
    OutflowLimit,
    QuoteExpired,
    RunBreaker,
    UnknownAccount,
)
from wonledger.rulebook.policy import load_flow_policy
from wonledger.store.journal import Journal
from wonledger.testing import ManualClock, fresh_ledger

pytestmark = pytest.mark.slow  # a Hypothesis state machine: 20 examples of up to 20 steps (docs/testing.md: the lanes)

KRW_SENDERS = ("alice", "bob", "seoul-exports")
DELIVERABLE = ("HKDS", "USDS", "KRWS")
#: Refusals a flow may meet for reasons of money or policy; anything else is a bug.
EXPECTED_REFUSALS = (InsufficientFunds, OutflowLimit, RunBreaker, QuoteExpired, BadAmount, UnknownAccount)
WON = st.one_of(st.integers(1, 5_000_000), st.integers(5_000_000, 2_000_000_000))


class PowerCut(Exception):
    """Stands for the process dying inside a write."""


def populate(ledger: Ledger) -> None:
    ledger.registry.add_participant("bob", "individual", "KR")
    ledger.payments.deposit("bob", 300_000_000, "hanriver")


class FlowsMachine(RuleBasedStateMachine):
    holds = Bundle("holds")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self._cm = fresh_ledger("default", populate, self.clock)
        self.ledger: Ledger = self._cm.__enter__()
        self.policy = load_flow_policy()
        self.assets = {a.code: a for a in self.ledger.registry.assets()}
        self.people = {p.id: p for p in self.ledger.registry.participants()}
        self.serial = 0

    def teardown(self) -> None:
        self._cm.__exit__(None, None, None)

    def next_id(self, kind: str) -> str:
        self.serial += 1
        return f"f-{kind}-{self.serial}"

    def snapshot(self) -> tuple[Any, ...]:
        return tuple((a.id, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending) for a in self.ledger.registry.accounts()), self.ledger.info().transactions

    def attempt(self, action: Callable[[], object]) -> object | None:
        """Run a flow: accepted, or refused for a money or policy reason with nothing changed."""
        self.ledger.holds.expire_due()
        before = self.snapshot()
        try:
            return action()
        except EXPECTED_REFUSALS:
            assert self.snapshot() == before, "a refused flow changed the ledger"
            return None

    # -- rules ----------------------------------------------------------------------
    @rule(owner=st.sampled_from(("alice", "bob")), amount=st.integers(1, 100_000_000), bank=st.sampled_from(("hanriver", "namsan")))
    def deposit(self, owner: str, amount: int, bank: str) -> None:
        self.ledger.payments.deposit(owner, amount, bank)

    @rule(payer=st.sampled_from(KRW_SENDERS), payee=st.sampled_from(KRW_SENDERS), amount=WON)
    def pay(self, payer: str, payee: str, amount: int) -> None:
        if payer == payee:
            return
        try:
            source, target, minor = self.ledger.names.payment(payer, payee, str(amount))
        except LedgerError:
            return  # the payee has no won deposit account yet
        self.attempt(lambda: self.ledger.payments.pay(source.id, target.id, minor))

    @rule(owner=st.sampled_from(("alice", "bob")), amount=WON, redeem=st.booleans())
    def mint_or_redeem(self, owner: str, amount: int, redeem: bool) -> None:
        if redeem:
            self.attempt(lambda: self.ledger.stablecoins.redeem("KRWS", amount, owner, "dKRW.hanriver"))
        else:
            self.attempt(lambda: self.ledger.stablecoins.mint("KRWS", amount, owner, "dKRW.hanriver"))

    @rule(sender=st.sampled_from(KRW_SENDERS), amount=WON, deliver=st.sampled_from(DELIVERABLE))
    def send(self, sender: str, amount: int, deliver: str) -> None:
        recipient = f"kowloon-supply:{deliver}"
        before = self.ledger.registry.accounts(owner="kowloon-supply", asset=deliver)
        quote = None if deliver == "KRWS" else self.attempt(lambda: self.ledger.crossborder.quote("KRWS", deliver, amount))
        receipt = self.attempt(
            lambda: self.ledger.crossborder.send(sender, "kowloon-supply", amount, deliver, quote_id=None if quote is None else quote.quote_id)  # type: ignore[attr-defined]
        )
        if receipt is not None:
            got = self.ledger.registry.account(recipient).balance - (before[0].balance if before else 0)
            assert got == (amount if quote is None else quote.buy_amount), "the recipient did not get exactly the quote"  # type: ignore[attr-defined]

    @rule(target=holds, owner=st.sampled_from(("kowloon-supply", "alice")), amount=st.integers(1, 20_000_00), hold=st.booleans())
    def swap(self, owner: str, amount: int, hold: bool) -> Any:
        sell, buy, backing = ("HKDS", "KRWS", "dHKD.harbour") if owner == "kowloon-supply" else ("KRWS", "HKDS", "dKRW.hanriver")
        if owner == "kowloon-supply":
            self.attempt(lambda: self.ledger.stablecoins.mint(sell, amount, owner, backing))
        tx_id = self.next_id("swap")
        receipt = self.attempt(lambda: self.ledger.crossborder.swap(owner, amount, sell, buy, tx_id=tx_id, hold_timeout_s=600 if hold else None))
        return tx_id if receipt is not None and hold else multiple()

    @rule(hold_id=holds, post=st.booleans())
    def finish(self, hold_id: str, post: bool) -> None:
        if self.ledger.transaction(hold_id).status != "pending":
            return
        if post:
            self.ledger.holds.post(hold_id)
        else:
            self.ledger.holds.void(hold_id)

    @rule(seconds=st.sampled_from((1, 45, 700, 3_700)))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule(sender=st.sampled_from(KRW_SENDERS), amount=st.integers(1, 3_000_000))
    def a_send_crashes_between_its_legs(self, sender: str, amount: int) -> None:
        original = Journal.append

        def crashing(journal: Journal, entries, accounts, new_holds, finished, head):  # type: ignore[no-untyped-def]
            original(journal, entries, accounts[:1], (), (), head)  # journal row, every leg, one account's counters...
            raise PowerCut("the process died half-way through the write")

        before = self.snapshot()
        tx_id = self.next_id("crash")
        Journal.append = crashing  # type: ignore[method-assign]
        try:
            with pytest.raises((PowerCut, *EXPECTED_REFUSALS)):
                self.ledger.crossborder.send(sender, "kowloon-supply", amount, "HKDS", tx_id=tx_id)
        finally:
            Journal.append = original  # type: ignore[method-assign]
        assert self.snapshot() == before, "a crash inside a send left part of it behind"
        self.attempt(lambda: self.ledger.crossborder.send(sender, "kowloon-supply", amount, "HKDS", tx_id=tx_id))

    # -- the policy, after every step ----------------------------------------------------
    @invariant()
    def every_asset_is_zero_sum(self) -> None:
        posted: dict[str, int] = defaultdict(int)
        pending: dict[str, int] = defaultdict(int)
        for a in self.ledger.registry.accounts():
            posted[a.asset] += a.balance
            pending[a.asset] += a.credits_pending - a.debits_pending
        assert all(v == 0 for v in posted.values()), posted
        assert all(v == 0 for v in pending.values()), pending

    @invariant()
    def every_stablecoin_is_fully_reserved(self) -> None:
        for row in self.ledger.stablecoins.supply():
            assert row["reserve"] >= row["supply"], row

    @invariant()
    def no_non_resident_holds_a_deposit_token(self) -> None:
        for a in self.ledger.registry.accounts():
            asset = self.assets[a.asset]
            if asset.kind == "deposit_token" and a.owner != asset.issuer:
                holder, bank = self.people[a.owner], self.people[asset.issuer]
                assert holder.resident and holder.jurisdiction == bank.jurisdiction, a

    @invariant()
    def no_resident_is_over_the_yearly_limit(self) -> None:
        for r in self.ledger.reports.outflows()[1]:
            assert 0 <= r.used <= self.policy.outflow_limit_usd, r

    @invariant()
    def the_journal_replays_to_the_stored_balances(self) -> None:
        report = self.ledger.verify()
        assert report.ok, report.problems


FlowsMachine.TestCase.settings = settings(
    max_examples=20, stateful_step_count=20, deadline=None, suppress_health_check=list(HealthCheck)
)
TestTheFlowsKeepThePolicy = FlowsMachine.TestCase
