"""Two ledgers, one payment at a time, driven by Hypothesis: every pair ends both or neither, or is named.

Two ledgers in this process, each its own SQLite file, copied per example
from a pair of templates (the Korean operator's world and the Hong Kong
operator's, each holding the other's partner card), on one
:class:`ManualClock` (the Korean ledger's clock a few seconds ahead, within
the deadlines' skew bound). The rules play each party of the protocol, with
the very requests the driver sends its nodes (``wonledger.crossledger.node``'s
handlers, in process): the payer's hold on Korea (and sometimes no more), the
dealer's on Hong Kong, the receiver's fulfil there, the relay of the
preimage read from Hong Kong (on time, late, twice, never), a creditor's
reject on either side, time passing, each ledger expiring what is due, and
the colluders: a dealer that rejects its incoming leg while its own can
still be fulfilled, a receiver that hands its preimage to Korea instead of
fulfilling on Hong Kong.

A plain model predicts every fulfil, relay and reject (accepted only while
the hold is pending and its ledger's clock is before the deadline), and
after every step:

- each hold's status on its ledger is the model's (a hold at its deadline
  reads as expired);
- each asset is conserved on each ledger (its total over every account is
  what it was);
- what the controls count for conditional holds is what the pending and
  fulfilled ones counted when they were made; an expired or rejected one
  counts nothing (its end gave back what it counted, row for row);
- no pair is half done without its cause in the model (fulfilled on Hong Kong
  and expired on Korea only when no relay came before T_KR; fulfilled on Hong
  Kong and rejected on Korea only when the dealer rejected it; fulfilled on
  Korea alone only when the receiver leaked its preimage), and the pair check
  names exactly the half-done pairs (HALF_DONE) and nothing else;
- ``verify`` passes on both ledgers;
- a refused request changed nothing.

Bounded for CI: 10 examples of up to 12 steps (PAIR_MACHINE_EXAMPLES and
PAIR_MACHINE_STEPS run more; PAIR_MACHINE_NO_SHRINK=1 reports a failure
without shrinking it, which can take minutes); it takes longer than 10 s, so
it is marked slow.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, rule

from tests.crossledger.harness import still_counted
from wonledger import Ledger, LedgerError
from wonledger.crossledger.driver import _travel
from wonledger.crossledger.node import OPS
from wonledger.crossledger.pair import check_pair
from wonledger.crossledger.plan import Plan, condition_of, deadlines
from wonledger.crossledger.plan import Timing as PlanTiming
from wonledger.crossledger.views import entry_json, side_from_entries
from wonledger.domain.timestamps import iso, parse_iso
from wonledger.testing import ManualClock

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("PAIR_MACHINE_EXAMPLES", "10"))
STEPS = int(os.environ.get("PAIR_MACHINE_STEPS", "12"))
SKEW_BOUND_S = 5
TIMING = PlanTiming(hk_window_s=120, skew_s=SKEW_BOUND_S, relay_grace_s=30, worst_commit_s=30)
PAYERS = ("alice", "seoul-exports")
RECEIVERS = ("kowloon-supply", "aberdeen-marine")
DEALER = "peakfx"
#: small, large, and more than alice holds (a refusal that must change nothing)
AMOUNTS = st.one_of(st.integers(1_000, 50_000), st.integers(50_000, 900_000), st.integers(900_000, 3_000_000))
#: quick steps, past the quote's 30 s, past T_HK (120 s), past the gap (70 s) and T_KR
SECONDS = st.sampled_from((1, 10, 31, 65, 121, 191, 400))

_TEMPLATE: Path | None = None


def _template() -> Path:
    """This process's pair of template ledgers (``kr/``, ``hk/``), each holding the other's card, made once."""
    global _TEMPLATE
    if _TEMPLATE is None:
        root = Path(tempfile.mkdtemp(prefix="wonledger-pair-template-"))
        made = {side: Ledger.create(f"sqlite:///{root / side / 'wonledger.db'}", root / side / "keys", world=side) for side in _mkdirs(root)}
        try:
            made["kr"].partners.add(made["hk"].partners.card())
            made["hk"].partners.add(made["kr"].partners.card())
        finally:
            for ledger in made.values():
                ledger.close()
        _TEMPLATE = root
    return _TEMPLATE


def _mkdirs(root: Path) -> tuple[str, str]:
    for side in ("kr", "hk"):
        (root / side).mkdir(parents=True)
    return ("kr", "hk")


class InProcess:
    """A ledger answering the driver's node requests in this process (the node's own handlers, without the pipe)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger_obj = ledger
        self.ledger = ledger.id

    def call(self, op: str, **args: Any) -> Any:
        return OPS[op](self.ledger_obj, args)


@dataclass
class Side:
    """One hold of a payment as the model sees it."""

    deadline: datetime
    state: str = "none"  # none, pending, fulfilled, rejected (expired: pending at or past the deadline)
    by: str = ""  # who ended it: receiver, relay, leak, dealer, receiver-reject


@dataclass
class Pay:
    plan: Plan
    preimage: bytes
    kr: Side
    hk: Side
    #: the Korean ledger's times of the relays tried after the Hong Kong hold was fulfilled
    relays: list[datetime] = field(default_factory=list)


class PairMachine(RuleBasedStateMachine):
    payments = Bundle("payments")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1))
        self.skew = 0
        self.workdir = Path(tempfile.mkdtemp(prefix="wonledger-pair-"))
        shutil.copytree(_template(), self.workdir, dirs_exist_ok=True)
        self.kr = Ledger.open(f"sqlite:///{self.workdir / 'kr' / 'wonledger.db'}", self.workdir / "kr" / "keys", clock=self.kr_now)
        self.hk = Ledger.open(f"sqlite:///{self.workdir / 'hk' / 'wonledger.db'}", self.workdir / "hk" / "keys", clock=self.clock)
        self.nodes = {"kr": InProcess(self.kr), "hk": InProcess(self.hk)}
        self.totals = {side: self.asset_totals(side) for side in ("kr", "hk")}
        self.pays: dict[str, Pay] = {}
        self.taken: set[str] = set()  # the ids of the requests the ledgers accepted
        self.serial = 0

    def teardown(self) -> None:
        self.kr.close()
        self.hk.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- the two clocks -----------------------------------------------------------------------
    def kr_now(self) -> datetime:
        return self.clock.now + timedelta(seconds=self.skew)

    def now(self, side: str) -> datetime:
        return self.kr_now() if side == "kr" else self.clock.now

    def ledger(self, side: str) -> Ledger:
        return self.kr if side == "kr" else self.hk

    # -- what the model expects ----------------------------------------------------------------
    def expected(self, pay: Pay, side: str) -> str:
        held: Side = getattr(pay, side)
        if held.state == "pending" and self.now(side) >= held.deadline:
            return "expired"
        return held.state

    def open_now(self, pay: Pay, side: str) -> bool:
        """Would the ledger take a fulfil or a reject of this hold now?"""
        return self.expected(pay, side) == "pending"

    def asset_totals(self, side: str) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        for account in self.ledger(side).balances():
            totals[account.asset] += account.balance
        return dict(totals)

    def state(self) -> tuple[Any, ...]:
        """Balances, holds and control rows of both ledgers: what a refused request must leave as it was."""
        out = []
        for ledger in (self.kr, self.hk):
            accounts = tuple((a.id, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending) for a in ledger.registry.accounts())
            rows = ledger._store.reading(lambda uow: uow.controls.control_rows())
            out.append((accounts, sorted(rows.outflows), sorted(rows.conversions), sorted(rows.travel), sorted(rows.quote_uses)))
        return tuple(out)

    def attempt(self, side: str, op: str, expect: bool | None, **args: Any) -> bool:
        """Send ``op`` to one ledger; ``expect`` (None: either) whether it is accepted. A refusal must change nothing.

        A request sent again with an id the ledger already took is answered with the first receipt, and changes nothing.
        """
        again = args["id"] in self.taken
        self.ledger(side).holds.expire_due()  # what any write does first: a refused one then leaves the rest as it was
        before = self.state()
        try:
            receipt = OPS[op](self.ledger(side), args)
        except LedgerError as exc:
            assert expect is not True and not again, f"{op} on {side} was refused ({exc.code}: {exc.message}); the model expected it accepted"
            assert self.state() == before, f"a refused {op} on {side} changed balances or control rows"
            return False
        if again:
            assert receipt["duplicate"] and self.state() == before, f"{op} {args['id']} sent again was not answered with its first receipt"
            return False
        assert expect is not False, f"{op} on {side} was accepted; the model expected a refusal"
        self.taken.add(args["id"])
        return True

    # -- rules --------------------------------------------------------------------------------
    @initialize(skew=st.sampled_from((0, 1, SKEW_BOUND_S)))
    def the_korean_clock_runs_ahead(self, skew: int) -> None:
        self.skew = skew

    @rule(
        target=payments, payer=st.sampled_from(PAYERS), receiver=st.sampled_from(RECEIVERS), amount=AMOUNTS, secret=st.binary(min_size=32, max_size=32),
        then=st.sampled_from(("no more", "the dealer's hold", "the dealer's hold and the receiver's fulfil")),
    )
    def the_payer_holds_on_korea(self, payer: str, receiver: str, amount: int, secret: bytes, then: str) -> Any:
        """The receiver gives H, the dealer quotes on Hong Kong, the payer's hold commits on Korea (or is refused, changing nothing).

        ``then``: what follows at once, as a driver running without a fault would do it (sometimes only the first hold).
        """
        self.serial += 1
        kr_deadline, hk_deadline = deadlines(self.clock.now, TIMING)  # the driver's clock is Hong Kong's here
        plan = Plan(
            payment=f"xp-m{self.serial}", kr_ledger=self.kr.id, hk_ledger=self.hk.id, payer=payer, receiver=receiver, sell_asset="KRWS",
            buy_asset="HKDS", sell_amount=amount, condition=condition_of(secret), kr_deadline=kr_deadline, hk_deadline=hk_deadline,
        )
        kr, hk = self.nodes["kr"], self.nodes["hk"]
        quote = hk.call("quote", sell=kr.call("asset", code="KRWS"), buy="HKDS", amount=amount)
        travel_kr, travel_hk = _travel(kr, hk, plan)
        plan = replace(plan, quote=quote, travel_kr=travel_kr, travel_hk=travel_hk)
        made = self.attempt(
            "kr", "hold", None, id=plan.kr_hold, source=f"{payer}:KRWS", destination=f"{DEALER}:KRWS", amount=amount, condition=plan.condition,
            deadline=plan.kr_deadline, partner_ledger=plan.hk_ledger, partner_hold=plan.hk_hold, quote=quote["terms"], travel=travel_kr,
        )
        if not made:
            return multiple()
        pay = Pay(plan, secret, Side(parse_iso(kr_deadline), "pending"), Side(parse_iso(hk_deadline)))
        self.pays[plan.payment] = pay
        if then != "no more":
            self.the_dealer_holds_on_hong_kong(plan.payment)
        if then.endswith("fulfil"):
            self.the_receiver_fulfils_on_hong_kong(plan.payment)
        return plan.payment

    @rule(payment=payments)
    def the_dealer_holds_on_hong_kong(self, payment: str) -> None:
        """The dealer's hold, only after the payer's and before T_HK (refused, changing nothing, once the quote expired)."""
        pay = self.pays[payment]
        plan = pay.plan
        if pay.hk.state != "none" or not self.open_now(pay, "kr") or self.clock.now >= pay.hk.deadline:
            return
        quote_alive = iso(self.clock.now) <= plan.quote["terms"]["expires_at"]
        made = self.attempt(
            "hk", "hold", quote_alive, id=plan.hk_hold, source=f"{DEALER}:HKDS", destination=f"{plan.receiver}:HKDS", amount=plan.quote["buy_amount"],
            condition=plan.condition, deadline=plan.hk_deadline, partner_ledger=plan.kr_ledger, partner_hold=plan.kr_hold, quote=plan.quote["terms"],
            travel=plan.travel_hk,
        )
        if made:
            pay.hk.state = "pending"

    @rule(payment=payments)
    def the_receiver_fulfils_on_hong_kong(self, payment: str) -> None:
        pay = self.pays[payment]
        if pay.hk.state == "none":
            return
        if self.attempt("hk", "fulfil", self.open_now(pay, "hk"), id=f"{payment}.hk-fulfil", hold=pay.plan.hk_hold, preimage=pay.preimage.hex()):
            pay.hk.state, pay.hk.by = "fulfilled", "receiver"

    @rule(payment=payments, how=st.sampled_from(("on time", "late", "twice", "never")))
    def the_preimage_is_relayed_to_korea(self, payment: str, how: str) -> None:
        """Whoever relays reads the preimage where it was first published, on Hong Kong."""
        pay = self.pays[payment]
        published = self.hk.holds.conditional(pay.plan.hk_hold)
        if published is None or published.preimage is None or how == "never":
            return
        if how == "late":
            self.clock.move_to(max(self.clock.now, pay.kr.deadline - timedelta(seconds=self.skew)))
        for n in range(2 if how == "twice" else 1):
            pay.relays.append(self.kr_now())
            if self.attempt("kr", "fulfil", self.open_now(pay, "kr"), id=f"{payment}.kr-fulfil-{n}", hold=pay.plan.kr_hold, preimage=published.preimage):
                pay.kr.state, pay.kr.by = "fulfilled", "relay"

    @rule(payment=payments, side=st.sampled_from(("kr", "hk")))
    def a_creditor_rejects(self, payment: str, side: str) -> None:
        """The dealer rejects the payer's hold on Korea (unwinding, or colluding while its own may still be fulfilled), or the receiver its own."""
        pay = self.pays[payment]
        held: Side = getattr(pay, side)
        if held.state == "none":
            return
        hold = pay.plan.kr_hold if side == "kr" else pay.plan.hk_hold
        if self.attempt(side, "reject", self.open_now(pay, side), id=f"{payment}.{side}-reject", hold=hold):
            held.state, held.by = "rejected", "dealer" if side == "kr" else "receiver"

    @rule(payment=payments)
    def the_receiver_leaks_its_preimage_to_korea(self, payment: str) -> None:
        """A receiver colluding with the dealer: the preimage goes to Korea without being used on Hong Kong."""
        pay = self.pays[payment]
        if pay.hk.state == "fulfilled":
            return
        if self.attempt("kr", "fulfil", self.open_now(pay, "kr"), id=f"{payment}.kr-leak", hold=pay.plan.kr_hold, preimage=pay.preimage.hex()):
            pay.kr.state, pay.kr.by = "fulfilled", "leak"

    @rule(seconds=SECONDS)
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule(side=st.sampled_from(("kr", "hk")))
    def a_ledger_expires_what_is_due(self, side: str) -> None:
        self.ledger(side).holds.expire_due()

    # -- invariants ---------------------------------------------------------------------------
    @invariant()
    def each_hold_stands_as_the_model_says(self) -> None:
        for payment, pay in self.pays.items():
            for side, hold in (("kr", pay.plan.kr_hold), ("hk", pay.plan.hk_hold)):
                found = self.ledger(side).holds.conditional(hold)
                assert (found.status if found is not None else "none") == self.expected(pay, side), f"{payment} on {side}"

    @invariant()
    def each_asset_is_conserved_on_each_ledger(self) -> None:
        for side in ("kr", "hk"):
            assert self.asset_totals(side) == self.totals[side], side

    @invariant()
    def the_controls_count_only_pending_and_fulfilled_conditional_holds(self) -> None:
        for side in ("kr", "hk"):
            assert not still_counted(self.ledger(side)), side

    @invariant()
    def a_half_done_pair_has_its_cause_and_the_pair_check_names_it(self) -> None:
        sides = [_side_view(self.kr, self.hk.id), _side_view(self.hk, self.kr.id)]
        report = check_pair(sides[0], sides[1], self.kr_now())
        assert not report.problems, report.problems
        named = {p.kr_hold: [q.code for q in p.problems] for p in report.payments}
        for payment, pay in self.pays.items():
            cause = self.half_done_cause(pay)
            event(f"pair: {self.expected(pay, 'kr')} on kr, {self.expected(pay, 'hk')} on hk" + (f" (half done: {cause})" if cause else ""))
            assert named.get(pay.plan.kr_hold, []) == (["HALF_DONE"] if cause else []), f"{payment}: {cause or 'both or neither'}: {named}"

    def half_done_cause(self, pay: Pay) -> str | None:
        """Why the pair is half done by the pair check's reading (a pending hold past its deadline is expired), or None."""
        k, h = self.expected(pay, "kr"), self.expected(pay, "hk")
        if h == "pending" and self.kr_now() >= pay.hk.deadline:
            h = "expired"  # the pair check reads both sides on one clock, the later one
        if h == "fulfilled" and k in ("expired", "rejected"):
            if k == "rejected":
                assert pay.kr.by == "dealer", "the payer's hold was rejected, by nobody the model knows"
                return "the dealer rejected its incoming leg while its own could still be fulfilled"
            assert all(at >= pay.kr.deadline for at in pay.relays), "a relay before T_KR did not fulfil the Korean hold"
            return "no relay reached Korea before T_KR"
        if k == "fulfilled" and h != "fulfilled":
            assert pay.kr.by == "leak", "Korea was fulfilled with no preimage published on Hong Kong and none leaked"
            return "the receiver leaked its preimage"
        return None

    @invariant()
    def both_ledgers_verify(self) -> None:
        for side in ("kr", "hk"):
            report = self.ledger(side).verify()
            assert report.ok, (side, [str(p) for p in report.problems])


def _side_view(ledger: Ledger, partner: str) -> Any:
    """One side as the pair check reads it, from the journal's entries, without expiring anything (a check must not write)."""
    entries = []
    for hold in ledger.holds.conditionals():
        if hold.partner_ledger == partner:
            entries.append(entry_json(ledger.transaction(hold.id)))
            if hold.finished_by:
                entries.append(entry_json(ledger.transaction(hold.finished_by)))
    entries.sort(key=lambda e: e["seq"])
    exponents = {a.code: a.exponent for a in ledger.registry.assets()}
    return side_from_entries(ledger.id, entries, exponents, partner)


PairMachine.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=[Phase.explicit, Phase.reuse, Phase.generate] if os.environ.get("PAIR_MACHINE_NO_SHRINK") else list(Phase),
)
TestPairMachine = PairMachine.TestCase
