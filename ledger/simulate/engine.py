"""The demo's engine: every route of every payment as real transactions of ledgers of its own.

:func:`run_demo` makes ``DIR/demo.db`` (keys in ``DIR/keys``) with the
default world for the two routes of one ledger, and the two operators'
ledgers of the third route in ``DIR/kr`` and ``DIR/hk``
(:mod:`wonledger.simulate.twoledgers`). It adds what correspondent banking needs through the registry
(two correspondent-balance assets and the banks' accounts in them, the
sender's USD account pre-funded with an FX deal at mid), plans every step of
every payment (:mod:`wonledger.simulate.routes`), and then submits them in
global simulated-time order, moving the ledger's clock to each step's time
first, so that every journal entry carries the simulated time and the
journal's times never go backwards. Each transaction goes through the
book's one submit path of one ledger, signed by the owners of the accounts it
debits; the finished ledgers pass ``verify``, and the two operators' ledgers
the pair check.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

from wonledger.crossledger.plan import DEFAULTS
from wonledger.domain.errors import BadInput
from wonledger.domain.model import Leg, Participant, Party, Travel, Tx
from wonledger.domain.money import Asset, format_amount
from wonledger.service.facade import Ledger
from wonledger.simulate.clock import SimulatedClock
from wonledger.simulate.corridors import Corridor, load_corridor
from wonledger.simulate.routes import (
    CORRESPONDENT,
    ROUTES,
    STABLECOIN,
    TWO_LEDGERS,
    Planned,
    plan_correspondent,
    plan_stablecoin,
    plan_two_ledgers,
)
from wonledger.simulate.stats import percentile, share_within
from wonledger.simulate.twoledgers import PairCheck, TwoLedgers

DEMO_DB = "demo.db"
KEYS_DIR = "keys"
MAX_PAYMENTS = 1000
#: Conventional balances at the two correspondent banks (see ASSET_KINDS in ledger.money).
USD_AT_HUDSON = "cUSD.hudson"
KRW_AT_NAMSAN = "cKRW.namsan"
CORRESPONDENT_BALANCE = "correspondent_balance"
#: An FX deal waits for its value date as a hold; no holiday run is three weeks long.
FX_HOLD_TIMEOUT_S = 21 * 86400
HOUR_S = 3600
DAY_S = 86400
PAYER_TOKEN = "dKRW.namsan"
PAYEE_TOKEN = "dHKD.harbour"
COIN_IN, COIN_OUT = "KRWS", "HKDS"


@dataclass(frozen=True, slots=True)
class StepRecord:
    """A step as it happened: name, local time of whoever acted, its transaction."""

    step: str
    at: datetime
    tx: str
    by: str
    what: str
    #: Participants whose accounts the transaction moved (one chart lane each).
    lanes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RouteRecord:
    steps: tuple[StepRecord, ...]
    settled_at: datetime
    seconds: int


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    key: str
    initiated_at: datetime
    correspondent: RouteRecord
    stablecoin: RouteRecord
    #: Two ledgers: settled when the payee is credited on Hong Kong (its fulfilment); final on both at the relay.
    two_ledgers: RouteRecord
    #: Correspondent route from the sending bank's release to the credit (what SWIFT gpi measures).
    released_to_credit_s: int
    #: Stablecoin route until the payee holds harbour's deposit token (the optional last mile).
    cash_out_s: int
    #: Two ledgers: from the order until the relay fulfils the Korean hold (both sides final).
    both_final_s: int = 0
    #: Two ledgers: how long the dealer's HKDS was held (its hold to the payee's fulfilment) and the payer's KRWS (to the relay).
    hkds_locked_s: int = 0
    krws_locked_s: int = 0

    def route(self, name: str) -> RouteRecord:
        found: RouteRecord = getattr(self, name)
        return found


@dataclass(frozen=True, slots=True)
class Cost:
    """What one payment cost its payer beyond what the payee received, valued in KRW at mid."""

    amount_krw: int
    fees_krw: int
    spread_krw: int

    @property
    def total_krw(self) -> int:
        return self.fees_krw + self.spread_krw

    @property
    def share(self) -> Fraction:
        return Fraction(self.total_krw, self.amount_krw)


@dataclass(frozen=True, slots=True)
class RouteSummary:
    median_s: int
    p95_s: int
    max_s: int
    within_hour: Fraction
    cost: Cost


@dataclass(frozen=True, slots=True)
class Liquidity:
    """Money the routes tie up: the pre-funded USD account and payments in flight."""

    nostro_prefunded_usd: int
    nostro_lowest_usd: int
    peak_in_flight_krw: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Locks:
    """What the two-ledger route's deadlines lock: the dealer's HKDS and the payer's KRWS, while a payment is held."""

    #: the dealer's HKDS held per payment (minor units; every payment is the same amount at the same rates)
    hkds_minor: int
    hkds_locked_median_s: int
    hkds_locked_p95_s: int
    hkds_locked_max_s: int
    #: the worst case: a receiver that never fulfils locks the dealer's HKDS until T_HK (from the quote)
    hkds_worst_s: int
    krws_minor: int
    krws_locked_median_s: int
    #: the payer's KRWS until T_KR, at worst
    krws_worst_s: int
    #: from the order until both holds are fulfilled (the relay), median
    both_final_median_s: int
    #: the most HKDS held in the dealer's holds at one moment of the week
    hkds_peak_minor: int

    @property
    def hkds_seconds_median(self) -> int:
        """HKDS (minor units) × seconds held, for the median payment: the liquidity one payment costs the dealer."""
        return self.hkds_minor * self.hkds_locked_median_s

    @property
    def hkds_seconds_worst(self) -> int:
        return self.hkds_minor * self.hkds_worst_s


@dataclass(frozen=True, slots=True)
class DemoResult:
    payments: int
    seed: int
    amount_krw: int
    sample: tuple[PaymentRecord, ...]
    example: PaymentRecord
    correspondent: RouteSummary
    stablecoin: RouteSummary
    two_ledgers: RouteSummary
    #: gpi-style: shares of correspondent payments released on a business day credited within 30 min / 24 h.
    gpi_within_30_min: Fraction
    gpi_within_24_h: Fraction
    cash_out_median_s: int
    liquidity: Liquidity
    locks: Locks
    week_start: datetime
    db: Path
    transactions: int
    verified: bool
    #: the two operators' ledgers of the third route: each one's verify and the pair check
    pair: PairCheck
    problems: tuple[str, ...] = ()

    def summary(self, route: str) -> RouteSummary:
        found: RouteSummary = getattr(self, route)
        return found


def run_demo(
    out: Path,
    payments: int = 300,
    seed: int = 1,
    at: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    corridor: Corridor | None = None,
) -> DemoResult:
    """Simulate ``payments`` payments (and the example started at ``at``) by every route: ``out/demo.db``, ``out/kr``, ``out/hk``.

    ``progress(done, total)`` is called after each step with the steps done since the last call.
    """
    if not 1 <= payments <= MAX_PAYMENTS:
        raise BadInput(f"the number of payments must be from 1 to {MAX_PAYMENTS}, not {payments}")
    corridor = corridor or load_corridor()
    example_at = at or corridor.example_at
    if example_at.tzinfo is None:
        raise BadInput("the example's start needs a time zone")
    starts = random.Random(f"{seed}:starts")
    week_s = 7 * DAY_S
    keys = ["example"] + [f"p{n:04d}" for n in range(1, payments + 1)]
    begins = [example_at] + [corridor.week_start + timedelta(seconds=starts.randrange(week_s)) for _ in range(payments)]
    plans: dict[str, tuple[Planned, ...]] = {}
    for key, begin in zip(keys, begins, strict=True):
        rng = random.Random(f"{seed}:{key}")
        # (the third route draws after the first two, so their figures are what they were before it came)
        plans[key] = plan_correspondent(corridor, begin, rng) + plan_stablecoin(corridor, begin, rng) + plan_two_ledgers(corridor, begin, rng)
    events = sorted(
        ((p.at, index, p.route, p.order, key, p) for index, key in enumerate(keys) for p in plans[key]),
        key=lambda e: e[:4],
    )
    out.mkdir(parents=True, exist_ok=True)
    db = out / DEMO_DB
    for suffix in ("", "-wal", "-shm", "-journal"):  # a rerun starts a fresh ledger
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    clock = SimulatedClock(min(begins) - timedelta(hours=1))
    # Three databases, one simulated clock: each step is one transaction of one of them.
    pair = TwoLedgers.create(out, clock)
    try:
        ledger = Ledger.create(f"sqlite:///{db}", out / KEYS_DIR, world="default", clock=clock)
        try:
            runner = _Runner(ledger, corridor, clock, pair)
            runner.setup(payments=len(keys))
            done: dict[str, dict[str, StepRecord]] = {key: {} for key in keys}
            for moment, _index, _route, _order, key, planned in events:
                clock.advance_to(moment)
                record = runner.run(key, planned, detail=key == "example")
                if record is not None:
                    done[key][f"{planned.route}:{planned.step}"] = record
                if progress:
                    progress(1, len(events))
            records = {key: _payment_record(key, begin, done[key], corridor) for key, begin in zip(keys, begins, strict=True)}
            report = ledger.verify()
            verified = _Verified(report.transactions, report.ok, tuple(f"{p.tx}: {p.kind}: {p.detail}" for p in report.problems))
        finally:
            ledger.close()
        checked = pair.check()
    finally:
        pair.close()
    return _result(payments, seed, corridor, keys, records, runner, verified, db, checked)


@dataclass(frozen=True, slots=True)
class _Verified:
    transactions: int
    ok: bool
    problems: tuple[str, ...]


def _result(
    payments: int, seed: int, corridor: Corridor, keys: list[str], records: dict[str, PaymentRecord], runner: _Runner,
    report: _Verified, db: Path, checked: PairCheck,
) -> DemoResult:
    sample = tuple(records[key] for key in keys[1:])
    costs = runner.costs
    released = [r.released_to_credit_s for r in sample]
    return DemoResult(
        payments=payments,
        seed=seed,
        amount_krw=corridor.amount_krw,
        sample=sample,
        example=records["example"],
        correspondent=_summary([r.correspondent.seconds for r in sample], _mean_cost(costs[CORRESPONDENT], keys[1:])),
        stablecoin=_summary([r.stablecoin.seconds for r in sample], _mean_cost(costs[STABLECOIN], keys[1:])),
        two_ledgers=_summary([r.two_ledgers.seconds for r in sample], _mean_cost(costs[TWO_LEDGERS], keys[1:])),
        gpi_within_30_min=share_within(released, 30 * 60),
        gpi_within_24_h=share_within(released, DAY_S),
        cash_out_median_s=percentile([r.cash_out_s for r in sample], Fraction(1, 2)),
        liquidity=Liquidity(
            nostro_prefunded_usd=corridor.nostro_prefunding_usd,
            nostro_lowest_usd=runner.nostro_lowest,
            peak_in_flight_krw=tuple(
                (route, corridor.amount_krw * _peak_overlap([(r.initiated_at, r.route(route).settled_at) for r in sample]))
                for route in ROUTES
            ),
        ),
        locks=_locks(sample, runner.bought, corridor.amount_krw),
        week_start=corridor.week_start,
        db=db,
        transactions=report.transactions,
        verified=report.ok,
        pair=checked,
        problems=report.problems,
    )


def _locks(sample: tuple[PaymentRecord, ...], bought: dict[str, int], amount_krw: int) -> Locks:
    hkds = max(bought.values())  # (every payment buys the same: one amount, one rate)
    hk_window = round(DEFAULTS.hk_window_s)
    half, p95 = Fraction(1, 2), Fraction(95, 100)
    held = [r.hkds_locked_s for r in sample]
    hk_holds = []
    for r in sample:
        when = {s.step: s.at for s in r.two_ledgers.steps}
        hk_holds.append((when["hk_hold"], when["hk_fulfil"]))
    return Locks(
        hkds_minor=hkds,
        hkds_locked_median_s=percentile(held, half),
        hkds_locked_p95_s=percentile(held, p95),
        hkds_locked_max_s=max(held),
        hkds_worst_s=hk_window,
        krws_minor=amount_krw,
        krws_locked_median_s=percentile([r.krws_locked_s for r in sample], half),
        krws_worst_s=round(DEFAULTS.hk_window_s + DEFAULTS.gap_s),
        both_final_median_s=percentile([r.both_final_s for r in sample], half),
        hkds_peak_minor=hkds * _peak_overlap(hk_holds),
    )


def _summary(seconds: list[int], cost: Cost) -> RouteSummary:
    return RouteSummary(
        median_s=percentile(seconds, Fraction(1, 2)),
        p95_s=percentile(seconds, Fraction(95, 100)),
        max_s=max(seconds),
        within_hour=share_within(seconds, HOUR_S),
        cost=cost,
    )


def _mean_cost(costs: dict[str, Cost], keys: list[str]) -> Cost:
    chosen = [costs[k] for k in keys]
    n = len(chosen)
    return Cost(
        amount_krw=sum(c.amount_krw for c in chosen) // n,
        fees_krw=round(Fraction(sum(c.fees_krw for c in chosen), n)),
        spread_krw=round(Fraction(sum(c.spread_krw for c in chosen), n)),
    )


def _peak_overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    """The most intervals open at one moment (a payment is in flight from its start to its credit)."""
    marks = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals], key=lambda m: (m[0], m[1]))
    peak = current = 0
    for _, change in marks:
        current += change
        peak = max(peak, current)
    return peak


def _payment_record(key: str, begin: datetime, done: dict[str, StepRecord], corridor: Corridor) -> PaymentRecord:
    def route(name: str, final: str) -> RouteRecord:
        steps = tuple(sorted((r for k, r in done.items() if k.startswith(name + ":")), key=lambda r: r.at))
        settled = done[f"{name}:{final}"].at
        return RouteRecord(steps, settled, int((settled - begin).total_seconds()))

    def at(route: str, step: str) -> datetime:
        return done[f"{route}:{step}"].at

    def seconds(start: datetime, end: datetime) -> int:
        return int((end - start).total_seconds())

    correspondent = route(CORRESPONDENT, "credit")
    stablecoin = route(STABLECOIN, "send")
    released = at(CORRESPONDENT, "fx_trade")
    return PaymentRecord(
        key=key,
        initiated_at=begin.astimezone(ZoneInfo(corridor.sender.window.timezone)),
        correspondent=correspondent,
        stablecoin=stablecoin,
        two_ledgers=route(TWO_LEDGERS, "hk_fulfil"),
        released_to_credit_s=seconds(released, correspondent.settled_at),
        cash_out_s=seconds(begin, at(STABLECOIN, "cash_out")),
        both_final_s=seconds(begin, at(TWO_LEDGERS, "kr_relay")),
        hkds_locked_s=seconds(at(TWO_LEDGERS, "hk_hold"), at(TWO_LEDGERS, "hk_fulfil")),
        krws_locked_s=seconds(at(TWO_LEDGERS, "kr_hold"), at(TWO_LEDGERS, "kr_relay")),
    )


@dataclass(slots=True)
class _Open:
    """What one payment has done so far, for the steps that follow."""

    usd_bought: int = 0
    krw_for_usd: int = 0
    usd_delivered: int = 0
    hkd_credited: int = 0
    quote_id: str = ""
    hkds_credited: int = 0
    hold_id: str = ""


@dataclass(slots=True)
class _Runner:
    ledger: Ledger
    corridor: Corridor
    clock: SimulatedClock
    pair: TwoLedgers
    open: dict[str, _Open] = field(default_factory=dict)
    costs: dict[str, dict[str, Cost]] = field(default_factory=lambda: {route: {} for route in ROUTES})
    #: HKDS (minor units) each payment's two-ledger quote bought
    bought: dict[str, int] = field(default_factory=dict)
    nostro: int = 0
    nostro_lowest: int = 0
    parties: dict[str, Participant] = field(default_factory=dict)

    # -- the world correspondent banking needs -----------------------------
    def setup(self, payments: int) -> None:
        c = self.corridor
        sender, correspondent, receiver = (b.id for b in c.banks)
        for code, currency, exponent, issuer in ((USD_AT_HUDSON, "USD", 2, correspondent), (KRW_AT_NAMSAN, "KRW", 0, sender)):
            asset = Asset(code, currency, CORRESPONDENT_BALANCE, exponent, issuer)
            self.ledger.registry.add_asset(asset)
        self.ledger.registry.open_account(sender, USD_AT_HUDSON)            # namsan's nostro at hudson
        self.ledger.registry.open_account(receiver, USD_AT_HUDSON)          # harbour's nostro at hudson
        self.ledger.registry.open_account(correspondent, KRW_AT_NAMSAN)     # hudson's nostro at namsan (namsan's vostro)
        self.ledger.registry.open_account(correspondent, USD_AT_HUDSON, "fees")
        self.ledger.registry.open_account(sender, PAYER_TOKEN, "fees")
        usd = c.nostro_prefunding_usd
        krw = math.ceil(usd * c.mid("USD", "KRW") / 100)
        self._submit(Tx(self.ledger.id, "setup-nostro-prefunding", "transfer", (
            Leg(f"{correspondent}:{USD_AT_HUDSON}", f"{sender}:{USD_AT_HUDSON}", USD_AT_HUDSON, usd),
            Leg(f"{sender}:{KRW_AT_NAMSAN}", f"{correspondent}:{KRW_AT_NAMSAN}", KRW_AT_NAMSAN, krw),
        ), memo="namsan pre-funds its USD account at hudson, bought with KRW at mid"))
        self.nostro = self.nostro_lowest = usd
        # The payer pays every payment twice (once by each route); its bank tokenizes what it lacks.
        needed = payments * (2 * c.amount_krw + c.sender.fee_minor)
        held = self.ledger.registry.account(f"{c.payer}:{PAYER_TOKEN}").balance
        if held < needed:
            self.ledger.payments.deposit(c.payer, needed - held, c.payer_bank, tx_id="setup-payer-deposit", memo="enough to pay by both routes")

    def _submit(self, tx: Tx) -> str:
        return self.ledger.submit(self.ledger.sign(tx)).id

    def _party(self, pid: str, account: str) -> Party:
        """Travel-rule data for ``pid`` as the registry knows it."""
        if pid not in self.parties:
            self.parties[pid] = self.ledger.registry.participant(pid)
        p = self.parties[pid]
        return Party(pid, account, p.kind, p.jurisdiction)

    # -- one step ----------------------------------------------------------
    def run(self, key: str, planned: Planned, detail: bool) -> StepRecord | None:
        state = self.open.setdefault(key, _Open())
        step = getattr(self, f"_{planned.route}_{planned.step}")
        found = step(key, state)
        if found is None:
            return None
        tx_id, what = found
        if not detail:
            lanes: tuple[str, ...] = ()
        elif planned.route == TWO_LEDGERS:
            lanes = self.pair.lanes(planned.step.split("_", 1)[0], tx_id)
        else:
            lanes = self._lanes(tx_id)
        local = planned.at.astimezone(ZoneInfo(planned.timezone))
        return StepRecord(planned.step, local, tx_id, planned.by, what, lanes)

    def _lanes(self, tx_id: str) -> tuple[str, ...]:
        entry = self.ledger.transaction(tx_id)
        legs = entry.tx.legs
        if not legs and entry.tx.ref:
            legs = self.ledger.transaction(entry.tx.ref).tx.legs
        owners: list[str] = []
        for leg in legs:
            for account in (leg.debit, leg.credit):
                owner = account.split(":", 1)[0]
                if owner not in owners:
                    owners.append(owner)
        return tuple(owners)

    # -- correspondent banking ---------------------------------------------
    def _correspondent_debit(self, key: str, state: _Open) -> tuple[str, str]:
        c = self.corridor
        payer, bank = f"{c.payer}:{PAYER_TOKEN}", c.sender.id
        tx = Tx(self.ledger.id, f"{key}-c-debit", "transfer", (
            Leg(payer, f"{bank}:{PAYER_TOKEN}", PAYER_TOKEN, c.amount_krw),
            Leg(payer, f"{bank}:{PAYER_TOKEN}:fees", PAYER_TOKEN, c.sender.fee_minor),
        ), memo=f"{key}: {bank} debits its customer for a payment to Hong Kong, with its fee")
        what = f"{bank} debits {c.payer} KRW {format_amount(c.amount_krw + c.sender.fee_minor, 0)} (fee KRW {format_amount(c.sender.fee_minor, 0)})"
        return self._submit(tx), what

    def _correspondent_fx_trade(self, key: str, state: _Open) -> tuple[str, str]:
        c = self.corridor
        sender, correspondent = c.sender.id, c.correspondent.id
        customer_rate = c.mid("USD", "KRW") * (1 + Fraction(c.sender.spread_bps, 10_000))
        state.usd_bought = math.floor(c.amount_krw * 100 / customer_rate)
        state.krw_for_usd = math.ceil(state.usd_bought * c.mid("USD", "KRW") / 100)
        state.hold_id = f"{key}-c-fx"
        tx = Tx(self.ledger.id, state.hold_id, "hold", (
            Leg(f"{sender}:{KRW_AT_NAMSAN}", f"{correspondent}:{KRW_AT_NAMSAN}", KRW_AT_NAMSAN, state.krw_for_usd),
            Leg(f"{correspondent}:{USD_AT_HUDSON}", f"{sender}:{USD_AT_HUDSON}", USD_AT_HUDSON, state.usd_bought),
        ), memo=f"{key}: {sender} buys USD from {correspondent}, value T+2; the payment order goes out", timeout_s=FX_HOLD_TIMEOUT_S)
        what = (
            f"{sender} buys USD {format_amount(state.usd_bought, 2)} from {correspondent} (settles T+2) "
            f"and sends the payment order"
        )
        return self._submit(tx), what

    def _correspondent_correspondent(self, key: str, state: _Open) -> tuple[str, str]:
        c = self.corridor
        sender, correspondent, receiver = (b.id for b in c.banks)
        fee = c.correspondent.fee_minor
        state.usd_delivered = state.usd_bought - fee
        if state.usd_delivered <= 0:
            raise BadInput(f"the correspondent's fee exceeds a payment of KRW {c.amount_krw}")
        # Value crossing borders names its parties (FATF R.16); the banks' transfers add up over the day.
        travel = Travel(
            self._party(sender, f"{sender}:{USD_AT_HUDSON}"),
            self._party(receiver, f"{receiver}:{USD_AT_HUDSON}"),
            (self._party(correspondent, f"{correspondent}:{USD_AT_HUDSON}:fees"),),
        )
        tx = Tx(self.ledger.id, f"{key}-c-relay", "transfer", (
            Leg(f"{sender}:{USD_AT_HUDSON}", f"{receiver}:{USD_AT_HUDSON}", USD_AT_HUDSON, state.usd_delivered),
            Leg(f"{sender}:{USD_AT_HUDSON}", f"{correspondent}:{USD_AT_HUDSON}:fees", USD_AT_HUDSON, fee),
        ), memo=f"{key}: {correspondent} moves the dollars from {sender}'s account to {receiver}'s, less its fee", travel=travel)
        self.nostro -= state.usd_bought
        self.nostro_lowest = min(self.nostro_lowest, self.nostro)
        what = (
            f"{correspondent} takes USD {format_amount(state.usd_bought, 2)} from {sender}'s account, "
            f"keeps USD {format_amount(fee, 2)} and credits {receiver}'s account"
        )
        return self._submit(tx), what

    def _correspondent_credit(self, key: str, state: _Open) -> tuple[str, str]:
        c = self.corridor
        receiver = c.receiver.id
        rate = c.mid("USD", "HKD") * (1 - Fraction(c.receiver.spread_bps, 10_000))
        state.hkd_credited = math.floor(state.usd_delivered * rate)
        tx = Tx(self.ledger.id, f"{key}-c-credit", "transfer", (
            Leg(f"{receiver}:{PAYEE_TOKEN}", f"{c.payee}:{PAYEE_TOKEN}", PAYEE_TOKEN, state.hkd_credited),
        ), memo=f"{key}: {receiver} converts the dollars and credits its customer")
        received_krw = state.hkd_credited * c.mid("HKD", "KRW") / 100
        paid_krw = c.amount_krw + c.sender.fee_minor
        fees = c.sender.fee_minor + c.correspondent.fee_minor * c.mid("USD", "KRW") / 100
        self.costs[CORRESPONDENT][key] = Cost(paid_krw, round(fees), round(paid_krw - received_krw - fees))
        what = f"{receiver} converts to HKD {format_amount(state.hkd_credited, 2)} and credits {c.payee}"
        return self._submit(tx), what

    def _correspondent_fx_settlement(self, key: str, state: _Open) -> tuple[str, str]:
        c = self.corridor
        receipt = self.ledger.holds.post(state.hold_id, tx_id=f"{key}-c-fx-settle", memo=f"{key}: the FX deal settles")
        self.nostro += state.usd_bought
        what = (
            f"the FX deal settles: {c.sender.id} pays KRW {format_amount(state.krw_for_usd, 0)}, "
            f"its USD account at {c.correspondent.id} is refilled"
        )
        return receipt.id, what

    # -- won stablecoin ----------------------------------------------------
    def _stablecoin_quote(self, key: str, state: _Open) -> None:
        quote = self.ledger.crossborder.quote(COIN_IN, COIN_OUT, self.corridor.amount_krw)
        state.quote_id = quote.quote_id
        state.hkds_credited = quote.buy_amount
        c = self.corridor
        received_krw = quote.buy_amount * c.mid("HKD", "KRW") / 100
        self.costs[STABLECOIN][key] = Cost(c.amount_krw, quote.fee, round(c.amount_krw - received_krw - quote.fee))
        return None

    def _stablecoin_send(self, key: str, state: _Open) -> tuple[str, str]:
        c = self.corridor
        receipt = self.ledger.crossborder.send(
            c.payer, c.payee, c.amount_krw, COIN_OUT, quote_id=state.quote_id, tx_id=f"{key}-s-send",
            memo=f"{key}: a payment to Hong Kong in won stablecoin",
        )
        what = (
            f"{PAYER_TOKEN} → {COIN_IN} at par → PvP with the dealer → "
            f"{format_amount(state.hkds_credited, 2)} {COIN_OUT} to {c.payee}, final"
        )
        return receipt.id, what

    def _stablecoin_cash_out(self, key: str, state: _Open) -> tuple[str, str]:
        c = self.corridor
        receipt = self.ledger.stablecoins.redeem(COIN_OUT, state.hkds_credited, c.payee, PAYEE_TOKEN, tx_id=f"{key}-s-cash-out")
        what = f"{c.payee} turns {format_amount(state.hkds_credited, 2)} {COIN_OUT} into its {PAYEE_TOKEN} deposit, at par"
        return receipt.id, what

    # -- two ledgers: the same stablecoins, each on its own jurisdiction's ledger ---------------------
    def _two_ledgers_quote(self, key: str, state: _Open) -> None:
        c = self.corridor
        quote = self.pair.plan(f"{key}-x", c.payer, c.payee, c.amount_krw, memo=f"{key}: a payment to Hong Kong across two ledgers")
        self.bought[key] = quote["buy_amount"]
        received_krw = quote["buy_amount"] * c.mid("HKD", "KRW") / 100
        self.costs[TWO_LEDGERS][key] = Cost(c.amount_krw, quote["fee"], round(c.amount_krw - received_krw - quote["fee"]))
        return None

    def _two_ledgers_kr_hold(self, key: str, state: _Open) -> tuple[str, str]:
        c = self.corridor
        what = f"on Korea: {format_amount(c.amount_krw, 0)} {COIN_IN} of {c.payer} held for peakfx until the preimage or T_KR"
        return self.pair.kr_hold(f"{key}-x"), what

    def _two_ledgers_hk_hold(self, key: str, state: _Open) -> tuple[str, str]:
        what = f"on Hong Kong: peakfx's {format_amount(self.bought[key], 2)} {COIN_OUT} held for {self.corridor.payee} until T_HK"
        return self.pair.hk_hold(f"{key}-x"), what

    def _two_ledgers_hk_fulfil(self, key: str, state: _Open) -> tuple[str, str]:
        c = self.corridor
        what = f"{c.payee} fulfils with its preimage: {format_amount(self.bought[key], 2)} {COIN_OUT} credited, the preimage published"
        return self.pair.hk_fulfil(f"{key}-x"), what

    def _two_ledgers_kr_relay(self, key: str, state: _Open) -> tuple[str, str]:
        what = f"peakfx relays the preimage from Hong Kong's journal to Korea: its {COIN_IN} hold fulfilled, both sides final"
        return self.pair.kr_relay(f"{key}-x"), what
