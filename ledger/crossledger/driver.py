"""The driver of a payment across two ledgers: plan, quote, hold on Korea, hold on Hong Kong, fulfil, relay.

The protocol (docs/crossledger.md): the receiver draws a 32-byte preimage
and gives its SHA-256, H; the dealer quotes; the Korean hold (payer → dealer,
deadline T_KR) commits first, the Hong Kong hold (dealer → receiver, T_HK)
second; the receiver fulfils on Hong Kong, publishing the preimage in that
ledger's signed chain; the preimage, read from there, is relayed to Korea
before T_KR. Each ledger is written by its own node process
(:mod:`wonledger.crossledger.node`): no process commits to both databases.

:func:`advance` is the whole state machine, and it starts by asking both
ledgers where the payment stands: ``xsend`` runs it after planning, and
``xresume`` runs it on whatever a killed driver began. Every write carries a
fixed id derived from the payment's, so a step repeated after a crash is the
same transaction and the ledger returns its first receipt. Where the payment
can no longer go forward (no Korean hold was ever made; the Hong Kong hold
cannot be made in time; it expired), it goes back: the dealer, the Korean
hold's creditor, rejects that hold, or it expires at T_KR.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from wonledger.crossledger.client import LedgerPlace, NodeClient
from wonledger.crossledger.journal import DriverJournal
from wonledger.crossledger.plan import DEFAULTS, Plan, Timing, condition_of, deadlines, seconds_until
from wonledger.crossledger.steps import crash_point
from wonledger.domain.errors import BadInput, RuleRefusal
from wonledger.domain.money import TypedAmount, parse_amount
from wonledger.domain.timestamps import utc_now


@dataclass(slots=True)
class Outcome:
    """Where one payment ended (or stands): both sides' status and, if half done, what broke."""

    payment: str
    outcome: str  # settled, unwound, nothing, waiting, half-done
    kr_status: str | None = None
    hk_status: str | None = None
    detail: str = ""
    steps: list[str] = field(default_factory=list)
    plan: Plan | None = None

    @property
    def ok(self) -> bool:
        return self.outcome != "half-done"

    @property
    def code(self) -> str | None:
        return "HALF_DONE" if self.outcome == "half-done" else None

    def to_json(self) -> dict[str, Any]:
        plan = self.plan
        out: dict[str, Any] = {
            "payment": self.payment, "outcome": self.outcome, "ok": self.ok, "kr": self.kr_status, "hk": self.hk_status,
            "detail": self.detail, "steps": self.steps,
        }
        if plan is not None:
            out.update(
                kr_hold=plan.kr_hold, hk_hold=plan.hk_hold, condition=plan.condition, kr_deadline=plan.kr_deadline,
                hk_deadline=plan.hk_deadline, sell=[plan.sell_amount, plan.sell_asset],
                buy=[plan.quote.get("buy_amount"), plan.buy_asset], quote=plan.quote.get("terms"),
            )
        if self.code:
            out["code"] = self.code
        return out


@dataclass(slots=True)
class Run:
    """What one pass of the driver works with."""

    journal: DriverJournal
    plan: Plan
    preimage: str
    kr: NodeClient
    hk: NodeClient
    fresh: bool  # a payment planned by this process (else: resumed)
    clock: Callable[[], datetime] = utc_now
    steps: list[str] = field(default_factory=list)

    def step(self, name: str, detail: str = "") -> None:
        self.journal.step(self.plan.payment, name, detail)
        self.steps.append(name)

    def left(self, deadline: str) -> float:
        return seconds_until(deadline, self.clock())


def open_nodes(kr: LedgerPlace, hk: LedgerPlace, wait_db: float | None = None) -> tuple[NodeClient, NodeClient]:
    first = NodeClient(kr, "kr", wait_db)
    try:
        second = NodeClient(hk, "hk", wait_db)  # both start at once: each opens its ledger while the other does
        try:
            first.ready()
            second.ready()
        except BaseException:
            second.close()
            raise
    except BaseException:
        first.close()
        raise
    if first.ledger == second.ledger:
        first.close()
        second.close()
        raise BadInput(f"both places hold ledger {first.ledger}: a payment across two ledgers needs two")
    return first, second


def xsend(
    journal: DriverJournal,
    kr: NodeClient,
    hk: NodeClient,
    payer: str,
    receiver: str,
    amount: int | TypedAmount,
    *,
    sell: str = "KRWS",
    buy: str = "HKDS",
    timing: Timing = DEFAULTS,
    withhold: bool = False,
    memo: str = "",
    clock: Callable[[], datetime] = utc_now,
) -> Outcome:
    """Plan a payment of ``amount`` of ``sell`` from ``payer`` (Korea) to ``receiver`` (Hong Kong, in ``buy``) and run it."""
    sold = kr.call("asset", code=sell)
    minor = amount if isinstance(amount, int) else _minor(amount, sold)
    kr.call("participant", id=payer)
    hk.call("participant", id=receiver)
    preimage = secrets.token_bytes(32)  # the receiver's secret: it gives only H until it is paid
    kr_deadline, hk_deadline = deadlines(clock(), timing)
    plan = Plan(
        payment=f"xp-{secrets.token_hex(8)}", kr_ledger=kr.ledger, hk_ledger=hk.ledger, payer=payer, receiver=receiver,
        sell_asset=sell, buy_asset=buy, sell_amount=minor, condition=condition_of(preimage), kr_deadline=kr_deadline,
        hk_deadline=hk_deadline, withhold=withhold, memo=memo,
    )
    with journal.lock(plan.payment):
        journal.start(plan, preimage)
        crash_point("planned")
        quote = hk.call("quote", sell=sold, buy=buy, amount=minor)
        travel_kr, travel_hk = _travel(kr, hk, plan)
        plan = replace(plan, quote=quote, travel_kr=travel_kr, travel_hk=travel_hk)
        journal.update_plan(plan, "quoted")
        crash_point("quoted")
        return advance(Run(journal, plan, preimage.hex(), kr, hk, fresh=True, clock=clock, steps=["planned", "quoted"]))


def xresume(journal: DriverJournal, kr: NodeClient, hk: NodeClient, payment: str, clock: Callable[[], datetime] = utc_now) -> Outcome:
    """Finish or unwind what a driver began of ``payment``, from where the two ledgers say it stands."""
    recorded = journal.get(payment)
    plan = recorded.plan
    if {plan.kr_ledger, plan.hk_ledger} != {kr.ledger, hk.ledger} or plan.kr_ledger != kr.ledger:
        raise BadInput(f"payment {payment} is between {plan.kr_ledger} (kr) and {plan.hk_ledger} (hk), not {kr.ledger} and {hk.ledger}")
    with journal.lock(payment):
        journal.step(payment, "resumed")
        return advance(Run(journal, plan, recorded.preimage, kr, hk, fresh=False, clock=clock, steps=["resumed"]))


def _minor(amount: TypedAmount, asset: dict[str, Any]) -> int:
    if amount.asset not in (None, asset["code"], asset["currency"]):
        raise BadInput(f"the payer pays in {asset['code']}, not {amount.asset}")
    return parse_amount(amount.number, int(asset["exponent"]))


def _travel(kr: NodeClient, hk: NodeClient, plan: Plan) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each hold's travel data: the payer and the receiver, the far one named by reference from the near ledger's partner card."""

    def local(p: dict[str, Any], asset: str) -> dict[str, Any]:
        return {"id": p["id"], "account": f"{p['id']}:{asset}", "kind": p["kind"], "jurisdiction": p["jurisdiction"]}

    def remote(card: dict[str, Any], pid: str, asset: str) -> dict[str, Any]:
        for p in card["participants"]:
            if p["id"] == pid:
                return {**local(p, asset), "ledger": card["ledger"], "public_key": p["public_key"]}
        raise BadInput(f"ledger {card['ledger']}'s card names no participant {pid}: record its newer card", hint="partner")

    payer, receiver = kr.call("participant", id=plan.payer), hk.call("participant", id=plan.receiver)
    hk_card, kr_card = kr.call("partner", ledger=hk.ledger), hk.call("partner", ledger=kr.ledger)
    return (
        {"originator": local(payer, plan.sell_asset), "beneficiary": remote(hk_card, plan.receiver, plan.buy_asset)},
        {"originator": remote(kr_card, plan.payer, plan.sell_asset), "beneficiary": local(receiver, plan.buy_asset)},
    )


def advance(run: Run) -> Outcome:
    """Move the payment as far as the ledgers and the clock allow, then say where it stands."""
    plan, kr, hk = run.plan, run.kr, run.hk
    kr.call("expire_due")
    hk.call("expire_due")  # a hold past its deadline is expired before anything is decided on it
    k = kr.call("status", hold=plan.kr_hold)
    if k is None:
        if not run.fresh or not plan.quote:
            return _finish(run, Outcome(plan.payment, "nothing", detail="no hold was made on either ledger: the payment never began"))
        k = _kr_hold(run)
    h = hk.call("status", hold=plan.hk_hold)
    if h is None:
        if k["status"] == "pending" and run.left(plan.hk_deadline) > 0:
            h = _hk_hold(run)
        if h is None:
            k = _unwind_kr(run, k, "the Hong Kong hold was never made")
            return _classify(run, k, None)
    if h["status"] == "pending":
        if plan.withhold:
            run.step("withheld", "the receiver keeps its preimage")
        elif run.left(plan.hk_deadline) > 0:
            h = _hk_fulfil(run)
    if h["status"] == "fulfilled" and k["status"] == "pending" and run.left(plan.kr_deadline) > 0:
        k = _kr_relay(run, h["preimage"])
    elif h["status"] in ("rejected", "expired"):
        k = _unwind_kr(run, k, f"the Hong Kong hold {h['status']}")
    return _classify(run, k, h)


def _kr_hold(run: Run) -> dict[str, Any]:
    plan = run.plan
    crash_point("kr-hold-before")
    run.kr.call(
        "hold", id=plan.kr_hold, source=f"{plan.payer}:{plan.sell_asset}", destination=f"{plan.quote['dealer']}:{plan.sell_asset}",
        amount=plan.sell_amount, condition=plan.condition, deadline=plan.kr_deadline, partner_ledger=plan.hk_ledger,
        partner_hold=plan.hk_hold, quote=plan.quote["terms"], travel=plan.travel_kr, memo=plan.memo,
    )
    crash_point("kr-hold-sent")
    run.step("kr-hold")
    crash_point("kr-hold-recorded")
    return run.kr.call("status", hold=plan.kr_hold)


def _hk_hold(run: Run) -> dict[str, Any] | None:
    """The dealer's hold on Hong Kong; None if the ledger refuses it (the quote expired, the dealer short of funds)."""
    plan = run.plan
    crash_point("hk-hold-before")
    try:
        run.hk.call(
            "hold", id=plan.hk_hold, source=f"{plan.quote['dealer']}:{plan.buy_asset}", destination=f"{plan.receiver}:{plan.buy_asset}",
            amount=plan.quote["buy_amount"], condition=plan.condition, deadline=plan.hk_deadline, partner_ledger=plan.kr_ledger,
            partner_hold=plan.kr_hold, quote=plan.quote["terms"], travel=plan.travel_hk, memo=plan.memo,
        )
    except RuleRefusal as exc:
        run.step("hk-hold-refused", f"{exc.code}: {exc.message}")
        return None
    crash_point("hk-hold-sent")
    run.step("hk-hold")
    crash_point("hk-hold-recorded")
    return run.hk.call("status", hold=plan.hk_hold)


def _hk_fulfil(run: Run) -> dict[str, Any]:
    plan = run.plan
    crash_point("hk-fulfil-before")
    try:
        run.hk.call("fulfil", id=plan.tx_id("hk-fulfil"), hold=plan.hk_hold, preimage=run.preimage)
    except RuleRefusal as exc:  # too late after all (the clocks differ): the hold expires, and the payment unwinds
        run.step("hk-fulfil-refused", f"{exc.code}: {exc.message}")
        run.hk.call("expire_due")
        return run.hk.call("status", hold=plan.hk_hold)
    crash_point("hk-fulfil-sent")
    run.step("hk-fulfil")
    crash_point("hk-fulfil-recorded")
    return run.hk.call("status", hold=plan.hk_hold)


def _kr_relay(run: Run, preimage: str) -> dict[str, Any]:
    """The preimage, as first published on Hong Kong, fulfils the Korean hold."""
    plan = run.plan
    crash_point("kr-relay-before")
    try:
        run.kr.call("fulfil", id=plan.tx_id("kr-fulfil"), hold=plan.kr_hold, preimage=preimage)
    except RuleRefusal as exc:
        run.step("kr-relay-refused", f"{exc.code}: {exc.message}")
        run.kr.call("expire_due")
        return run.kr.call("status", hold=plan.kr_hold)
    crash_point("kr-relay-sent")
    run.step("kr-relay")
    crash_point("kr-relay-recorded")
    return run.kr.call("status", hold=plan.kr_hold)


def _unwind_kr(run: Run, k: dict[str, Any], why: str) -> dict[str, Any]:
    """The dealer, the Korean hold's creditor, gives the payer its hold back early (else it expires at T_KR)."""
    plan = run.plan
    if k["status"] != "pending" or run.left(plan.kr_deadline) <= 0:
        return k
    crash_point("unwind-before")
    try:
        run.kr.call("reject", id=plan.tx_id("kr-reject"), hold=plan.kr_hold)
    except RuleRefusal as exc:
        run.step("kr-reject-refused", f"{exc.code}: {exc.message}")
        return run.kr.call("status", hold=plan.kr_hold)
    crash_point("unwind-sent")
    run.step("kr-reject", why)
    return run.kr.call("status", hold=plan.kr_hold)


def _classify(run: Run, k: dict[str, Any], h: dict[str, Any] | None) -> Outcome:
    """Where the payment stands; a finished one is marked so in the driver's journal."""
    ks, hs = k["status"], (h or {}).get("status")
    outcome = Outcome(run.plan.payment, "waiting", ks, hs)
    if ks == "fulfilled" and hs == "fulfilled":
        outcome.outcome, outcome.detail = "settled", "both holds fulfilled with the same preimage"
    elif "pending" in (ks, hs):
        outcome.detail = "a hold is pending: run xresume again (after the deadlines, it unwinds)"
        run.journal.step(run.plan.payment, "waiting", f"kr {ks}, hk {hs}")
        return _with_run(run, outcome)
    elif ks != "fulfilled" and hs != "fulfilled":
        outcome.outcome, outcome.detail = "unwound", f"neither side paid: kr {ks}, hk {hs or 'never made'}"
    elif hs == "fulfilled":
        outcome.outcome = "half-done"
        outcome.detail = (
            f"fulfilled on hk only; the kr hold {ks}: the preimage did not reach the Korean ledger before T_KR "
            f"({run.plan.kr_deadline}), so the dealer paid and was not paid (the relay's timing assumption broke)"
        )
    else:
        outcome.outcome = "half-done"
        outcome.detail = (
            f"fulfilled on kr only; the hk hold {hs or 'was never made'}: the preimage was published on Korea while the receiver "
            "was not paid on Hong Kong (the receiver's preimage left it before its own hold was fulfilled)"
        )
    return _finish(run, outcome)


def _finish(run: Run, outcome: Outcome) -> Outcome:
    run.journal.finish(run.plan.payment, outcome.outcome if outcome.ok else f"half-done: {outcome.detail}")
    return _with_run(run, outcome)


def _with_run(run: Run, outcome: Outcome) -> Outcome:
    outcome.steps = list(run.steps)
    outcome.plan = run.plan
    return outcome


__all__ = ["Outcome", "advance", "open_nodes", "xresume", "xsend"]
