"""The crash harness of payments across two ledgers: the failure table, measured.

Every case makes a fresh pair of ledgers (the Korean operator's world and
the Hong Kong operator's, two SQLite files, each holding the other's partner
card) and runs the real ``wonledger`` CLI as separate processes: ``xsend``
and ``xresume`` are the driver, and each spawns one node process per ledger,
so each ledger's writer is its own process and no process writes both. All
of them read one **virtual clock** (harness_site/sitecustomize.py): the time
stands still until the case moves it, and each side may be skewed, so no
outcome depends on the machine's speed.

A case injects what the issue lists: a crash of the driver or of a node at
a named step (``WONLEDGER_XCRASH``, every one of
:data:`wonledger.crossledger.STEPS`) and at a step drawn by a seeded random
generator; the relay dropped, delayed past T_KR, duplicated; the clocks
skewed within and beyond the bound; a receiver that withholds its preimage
(or leaks it to the Korean ledger only). Then the clock passes every
deadline, ``xresume`` runs and each ledger expires what is due, and the case
checks: each asset conserved on each ledger (trial balance, and each
asset's total unchanged), nothing pending, the controls counting the payment
only where it was fulfilled (a resident's outflow, the run breaker's net
outflow), both ``verify`` and ``verify-pair``: the pair check passes and the
payment is both-or-neither, unless the case breaks a named assumption, and
then ``verify-pair`` exits 3 naming the half-done payment.

Each case gives one row of the failure table (docs/crossledger.md, "The
failure table", is this output)::

    python -m tests.crossledger.harness --table        # print the table (exit 1 if a case failed its checks)
    python -m tests.crossledger.harness --case NAME    # one case, with its commands' output
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SITE = HERE / "harness_site"
WONLEDGER = str(Path(sys.executable).parent / "wonledger")
CLOCK_ENV, ROLE_ENV = "WONLEDGER_HARNESS_CLOCK", "WONLEDGER_HARNESS_ROLE"

PAYER, RECEIVER, DEALER, RELAYER = "alice", "kowloon-supply", "peakfx", "hanriver"
SELL, BUY = "KRWS", "HKDS"
AMOUNT = "500,000"  # KRWS, about 2,800 HKDS: within alice's balance and her outflow limit
#: the product's default deadlines (docs/crossledger.md): T_HK 120 s after the plan, T_KR 70 s after T_HK
SKEW_BOUND_S, GAP_S, HK_WINDOW_S = 5.0, 70.0, 120.0


def _quote_ttl() -> float:
    from wonledger.rulebook.policy import load_flow_policy

    return float(load_flow_policy().quote_ttl_s)


#: how long the dealer's quote is firm (fixtures/policy.toml)
QUOTE_TTL_S = _quote_ttl()
#: the random case's seed (the table in the docs is the default's)
DEFAULT_SEED = 24


def _fmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Done:
    """What one command did."""

    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    def show(self) -> str:
        return f"$ wonledger {' '.join(self.args)}  [exit {self.exit_code}]\n{self.stdout}{self.stderr}"


# -- a pair of ledgers in a directory, on the virtual clock --------------------------------


@dataclass
class World:
    """``root/kr``, ``root/hk`` (each ``wonledger.db`` and ``keys/``), the driver's ``root/driver`` and the clock file."""

    root: Path
    now: datetime
    skew: dict[str, float] = field(default_factory=dict)
    log: list[Done] = field(default_factory=list)
    #: side → database URL, when the ledgers live in PostgreSQL (else ``root/<side>/wonledger.db``)
    dbs: dict[str, str] = field(default_factory=dict)

    @property
    def clock_file(self) -> Path:
        return self.root / "clock.json"

    def set_clock(self, now: datetime | None = None) -> None:
        if now is not None:
            self.now = now
        self.clock_file.write_text(json.dumps({"now": _fmt(self.now), "skew_s": self.skew}))

    def clock_of(self, role: str) -> Callable[[], datetime]:
        """The clock ``role`` (kr, hk, driver) reads now, for the harness's own reads of a ledger."""
        moment = self.now + timedelta(seconds=self.skew.get(role, 0.0))
        return lambda: moment

    def url(self, side: str) -> str:
        return self.dbs.get(side) or f"sqlite:///{self.root / side / 'wonledger.db'}"

    def keys(self, side: str) -> Path:
        return self.root / side / "keys"

    def cli(self, *args: str, role: str = "driver", crash: str | None = None) -> Done:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WONLEDGER_")}
        path = os.pathsep.join(p for p in (str(SITE), env.get("PYTHONPATH", "")) if p)  # (an empty entry would put the cwd on the path)
        env.update({CLOCK_ENV: str(self.clock_file), ROLE_ENV: role, "PYTHONPATH": path})
        if crash is not None:
            env["WONLEDGER_XCRASH"] = crash
        ran = subprocess.run([WONLEDGER, *args], cwd=self.root, env=env, capture_output=True, text=True, timeout=300)
        done = Done(tuple(args), ran.returncode, ran.stdout, ran.stderr)
        self.log.append(done)
        if "Traceback" in ran.stderr:
            raise HarnessError(f"a traceback reached the user:\n{done.show()}")
        return done

    def on(self, side: str, *args: str) -> Done:
        """A command on one ledger, by its operator (on that side's clock)."""
        return self.cli("--db", self.url(side), "--keys", str(self.keys(side)), *args, role=side)

    def places(self) -> list[str]:
        """How the pair commands name the two ledgers: directories, or database URLs and key directories."""
        if not self.dbs:
            return ["--kr", "kr", "--hk", "hk"]
        return ["--kr", self.url("kr"), "--kr-keys", str(self.keys("kr")), "--hk", self.url("hk"), "--hk-keys", str(self.keys("hk"))]

    def pair_args(self) -> list[str]:
        return [*self.places(), "--driver", "driver"]

    @contextmanager
    def ledger(self, side: str) -> Iterator[Any]:
        """One ledger opened in the harness's own process, on that side's clock, for reading and checking.

        One at a time across the harness's threads: the store builds its table
        definitions on first use, and two threads doing so at once collide
        ("Table 'outflows' is already defined").
        """
        from wonledger import Ledger

        with _IN_PROCESS, Ledger.open(self.url(side), self.keys(side), clock=self.clock_of(side)) as opened:
            yield opened


_IN_PROCESS = threading.RLock()


class HarnessError(AssertionError):
    """A case did not do what it claims (a crash that never fired), or a check failed."""


def make_template(root: Path, now: datetime, pg: Postgres | None = None) -> World:
    """The two operators' ledgers, each holding the other's card, made on the virtual clock at ``now`` (in ``pg``, if given)."""
    world = World(root, now, dbs={side: pg.create(f"template_{side}") for side in ("kr", "hk")} if pg else {})
    root.mkdir(parents=True)
    world.set_clock()

    def init(side: str) -> None:
        (root / side).mkdir()
        _must(world.on(side, "init", "--world", side))
        card = _must(world.on(side, "partner", "card"))
        (root / f"{side}-card.json").write_text(card.stdout)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(init, ("kr", "hk")))
    for side, other in (("kr", "hk"), ("hk", "kr")):
        _must(world.on(other, "partner", "add", f"{side}-card.json"))
    return world


class Postgres:
    """Databases of the PostgreSQL server at ``base`` (``WONLEDGER_TEST_PG_URL``): made per run, copied per case, dropped at the end."""

    def __init__(self, base: str) -> None:
        import sqlalchemy

        self.base = base
        self.admin = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
        self.prefix = f"wl_harness_{os.getpid()}_{random.randrange(16**6):06x}"
        self.made: list[str] = []
        self.lock = threading.Lock()  # one CREATE DATABASE ... TEMPLATE at a time: a template may have no other user

    def create(self, name: str, template: str | None = None) -> str:
        import sqlalchemy

        full = f"{self.prefix}_{name}"[:63]
        copied = f' TEMPLATE "{self.prefix}_{template}"' if template else ""
        with self.lock, self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{full}"{copied}')
        self.made.append(full)
        return sqlalchemy.engine.make_url(self.base).set(database=full).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.made:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.dispose()


def _must(done: Done) -> Done:
    if done.exit_code != 0:
        raise HarnessError(f"setting up failed:\n{done.show()}")
    return done


# -- what a case does ----------------------------------------------------------------------


@dataclass
class Payment:
    """The payment a case runs, as the driver's journal has it once planned."""

    id: str = ""
    kr_hold: str = ""
    hk_hold: str = ""
    kr_deadline: str = ""
    hk_deadline: str = ""
    preimage: str = ""
    fired: list[str] = field(default_factory=list)  # the crash points that stopped a process

    def read(self, world: World) -> None:
        from wonledger.crossledger.journal import DriverJournal

        journal = DriverJournal(world.root / "driver")
        try:
            ids = journal.all()
            if not ids:
                return
            recorded = journal.get(ids[0])
        finally:
            journal.close()
        plan = recorded.plan
        self.id, self.kr_hold, self.hk_hold = plan.payment, plan.kr_hold, plan.hk_hold
        self.kr_deadline, self.hk_deadline, self.preimage = plan.kr_deadline, plan.hk_deadline, recorded.preimage


Act = Callable[[World, Payment], None]


def _check_crash(done: Done, crash: str | None, payment: Payment) -> None:
    if crash is None:
        return
    from wonledger.crossledger.steps import CRASH_EXIT, NODE_STEPS

    fired = done.exit_code == CRASH_EXIT if crash not in NODE_STEPS else ("NODE_UNAVAILABLE" in done.stderr and f"exit {CRASH_EXIT}" in done.stderr)
    if not fired:
        raise HarnessError(f"the crash at {crash} never fired:\n{done.show()}")
    payment.fired.append(crash)


def send(crash: str | None = None, withhold: bool = False, amount: str = AMOUNT, refused: str | None = None) -> Act:
    """``xsend`` from the payer to the receiver (``crash``: the step where a process of it dies; ``refused``: the error it must end with)."""

    def act(world: World, payment: Payment) -> None:
        args = ["--json", "xsend", *world.pair_args(), PAYER, RECEIVER, amount] + (["--withhold"] if withhold else [])
        done = world.cli(*args, crash=crash)
        payment.read(world)
        _check_crash(done, crash, payment)
        if refused is not None:
            _expect(done, False, (refused,))

    return act


def resume(crash: str | None = None) -> Act:
    """``xresume``: finish or unwind what the driver left."""

    def act(world: World, payment: Payment) -> None:
        _check_crash(world.cli("--json", "xresume", *world.pair_args(), crash=crash), crash, payment)

    return act


def at(anchor: str, seconds: float) -> Act:
    """Move the clock to ``seconds`` after the payment's T_HK or T_KR (``anchor`` "hk" or "kr"), as the driver dated them."""

    def act(world: World, payment: Payment) -> None:
        deadline = payment.hk_deadline if anchor == "hk" else payment.kr_deadline
        driver_skew = world.skew.get("driver", 0.0)  # the driver dated the deadlines on its own clock
        world.set_clock(_parse(deadline) + timedelta(seconds=seconds - driver_skew))

    return act


def relay_by_hand(expect_ok: bool) -> Act:
    """A third party (a Korean bank) relays the preimage, as published on Hong Kong, to the Korean hold.

    A second relay, after the hold was fulfilled, is refused: the hold is no longer pending.
    """

    def act(world: World, payment: Payment) -> None:
        with world.ledger("hk") as hk:
            found = hk.holds.conditional(payment.hk_hold)
        if found is None or found.preimage is None:
            raise HarnessError("nothing to relay: the Hong Kong hold was not fulfilled")
        done = world.on("kr", "fulfil", payment.kr_hold, found.preimage, "--by", RELAYER, "--id", f"{payment.id}.hand-relay")
        _expect(done, expect_ok, ("HOLD_NOT_PENDING", "CONDITION_NOT_MET"))

    return act


def leak_to_kr() -> Act:
    """The receiver, withholding on Hong Kong, hands its preimage to the Korean ledger instead."""

    def act(world: World, payment: Payment) -> None:
        _expect(world.on("kr", "fulfil", payment.kr_hold, payment.preimage, "--by", RELAYER, "--id", f"{payment.id}.leak"), True)

    return act


def fulfil_hk_by_hand(expect_ok: bool) -> Act:
    """The receiver fulfils its own hold on Hong Kong."""

    def act(world: World, payment: Payment) -> None:
        _expect(world.on("hk", "fulfil", payment.hk_hold, payment.preimage, "--by", RECEIVER, "--id", f"{payment.id}.own-fulfil"), expect_ok)

    return act


def _expect(done: Done, ok: bool, codes: tuple[str, ...] = ("CONDITION_NOT_MET",)) -> None:
    """Accepted (``ok``), else refused (exit 1) with one of ``codes``."""
    if ok and done.exit_code != 0:
        raise HarnessError(f"expected it to be accepted:\n{done.show()}")
    if not ok and (done.exit_code != 1 or not any(f"error: {code}:" in done.stderr for code in codes)):
        raise HarnessError(f"expected a refusal ({', '.join(codes)}):\n{done.show()}")


# -- the cases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    injected: str
    acts: tuple[Act, ...]
    skew: tuple[tuple[str, float], ...] = ()
    #: the assumption the case breaks (then verify-pair must name the payment HALF_DONE); None: both or neither
    broken: str | None = None


def _step_cases() -> list[Case]:
    """A crash at each named step, started again before any deadline (the unwinding steps: on the way back)."""
    from wonledger.crossledger.steps import DRIVER_STEPS, NODE_STEPS

    cases = []
    for step in DRIVER_STEPS:
        if step.startswith("unwind"):
            acts: tuple[Act, ...] = (send(withhold=True), at("hk", 1), resume(crash=step), resume())
            said = f"receiver withholds; after T_HK the driver unwinds and dies at {step}; xresume"
        else:
            acts = (send(crash=step), resume())
            said = f"driver dies at {step}; xresume"
        cases.append(Case(f"crash {step}", said, acts))
    node = {"node-kr-committed": "the Korean hold", "node-hk-committed": "the Hong Kong hold"}
    for step in NODE_STEPS:
        cases.append(Case(f"crash {step}", f"node dies after committing {node[step]}, before answering; xresume", (send(crash=step), resume())))
    cases.append(
        Case(
            "crash node-hk-committed (fulfil)",
            "driver dies before the fulfil; the Hong Kong node dies after committing it; xresume",
            (send(crash="hk-fulfil-before"), resume(crash="node-hk-committed"), resume()),
        )
    )
    cases.append(
        Case(
            "crash node-kr-committed (relay)",
            "driver dies before the relay; the Korean node dies after committing it; xresume",
            (send(crash="kr-relay-before"), resume(crash="node-kr-committed"), resume()),
        )
    )
    return cases


def _timing_cases() -> list[Case]:
    gap, bound = GAP_S, SKEW_BOUND_S
    return [
        Case("no fault", "nothing", (send(),)),
        Case("restart after T_HK", "driver dies between the two holds; xresume after T_HK", (send(crash="hk-hold-before"), at("hk", 1), resume())),
        Case(
            "restart after the quote", f"driver dies between the two holds; xresume {QUOTE_TTL_S + 1:g} s later, the dealer's {QUOTE_TTL_S:g} s quote expired",
            (send(crash="hk-hold-before"), at("hk", QUOTE_TTL_S + 1 - HK_WINDOW_S), resume()),
        ),
        Case("relay dropped", "driver dies before the relay; xresume between T_HK and T_KR", (send(crash="kr-relay-before"), at("hk", gap / 2), resume())),
        Case(
            "relay past T_KR", "driver dies before the relay; xresume after T_KR", (send(crash="kr-relay-before"), at("kr", 1), resume()),
            broken="the relay reached kr after T_KR",
        ),
        Case(
            "relay duplicated", "a Korean bank relays the preimage again after the payment settled; xresume",
            (send(), relay_by_hand(expect_ok=False), resume()),
        ),
        Case(
            "relay raced", "driver dies before the relay; a Korean bank relays first; xresume relays again",
            (send(crash="kr-relay-before"), relay_by_hand(expect_ok=True), resume()),
        ),
        Case(
            "skew within bound",
            f"hk (and driver) {bound:g} s slow, kr {bound:g} s fast; receiver fulfils at hk's last second; relay {gap - 2 * bound:g} s later",
            (send(crash="hk-fulfil-before"), at("hk", -1), resume(crash="kr-relay-before"), at("hk", gap - 2 * bound - 1), resume()),
            skew=(("hk", -bound), ("driver", -bound), ("kr", bound)),
        ),
        Case(
            "skew beyond bound",
            f"hk (and driver) {2.4 * bound:g} s slow, kr {2.4 * bound:g} s fast; receiver fulfils at hk's last second; relay {gap - 2 * bound:g} s later",
            (send(crash="hk-fulfil-before"), at("hk", -1), resume(crash="kr-relay-before"), at("hk", gap - 2 * bound - 1), resume()),
            skew=(("hk", -2.4 * bound), ("driver", -2.4 * bound), ("kr", 2.4 * bound)),
            broken="the clocks were further apart than the bound",
        ),
        Case("payer short", "alice sends more KRWS than she holds: the Korean ledger refuses her hold; xresume", (send(amount="2,000,000", refused="INSUFFICIENT_FUNDS"), resume())),
        Case("receiver withholds", "receiver never fulfils; xresume after T_KR", (send(withhold=True),)),
        Case(
            "receiver late", "receiver withholds, then fulfils on hk after T_HK (refused); xresume",
            (send(withhold=True), at("hk", 1), fulfil_hk_by_hand(expect_ok=False), resume()),
        ),
        Case(
            "receiver leaks", "receiver withholds on hk and gives its preimage to kr", (send(withhold=True), leak_to_kr()),
            broken="the receiver published its preimage without fulfilling on hk",
        ),
    ]


def random_case(seed: int) -> Case:
    """A crash at a step drawn with ``seed``, and a restart drawn among: at once, between the deadlines, after T_KR."""
    from wonledger.crossledger.steps import NODE_STEPS, STEPS

    rng = random.Random(seed)
    step = rng.choice(STEPS)
    when = rng.choice(["at once", "after T_HK", "after T_KR"])
    moves: tuple[Act, ...] = {"at once": (), "after T_HK": (at("hk", 1),), "after T_KR": (at("kr", 1),)}[when]
    who = "node" if step in NODE_STEPS else "driver"
    if step.startswith("unwind"):
        acts: tuple[Act, ...] = (send(withhold=True), at("hk", 1), resume(crash=step), *moves, resume())
        said = f"receiver withholds; {who} dies at {step} (seed {seed}); xresume {when}"
    else:
        acts = (send(crash=step), *moves, resume())
        said = f"{who} dies at {step} (seed {seed}); xresume {when}"
    # fulfilled on Hong Kong, the driver dead before the relay, and no relay until after T_KR: the one way this case is half done
    late_relay = when == "after T_KR" and step in ("hk-fulfil-sent", "hk-fulfil-recorded", "kr-relay-before")
    return Case(f"random step (seed {seed})", said, acts, broken="the relay reached kr after T_KR" if late_relay else None)


def cases(seed: int = DEFAULT_SEED) -> list[Case]:
    return _timing_cases()[:1] + _step_cases() + _timing_cases()[1:] + [random_case(seed)]


# -- running a case and checking what it left ----------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the failure table."""

    case: str
    injected: str
    kr: str
    hk: str
    lost: str
    pair: str

    def cells(self) -> tuple[str, ...]:
        return (self.case, self.injected, self.kr, self.hk, self.lost, self.pair)


HEADER = ("case", "injected", "kr", "hk", "lost", "pair check")


@dataclass
class Result:
    row: Row
    problems: list[str]
    log: list[Done]
    #: what the controls counted of the payment on kr: (the payer's outflow, the breaker's net outflow), in USD cents
    counted: tuple[int, int]


@dataclass(frozen=True)
class Snapshot:
    """What the harness compares before and after a case, on one ledger."""

    balances: dict[str, tuple[str, int]]  # account → (asset, balance)
    outflow: int  # the payer's counted outflow this year (USD cents; 0 on hk, which limits no resident)
    net_out: int  # the run breaker's net outflow in its window


def snapshot(world: World, side: str) -> Snapshot:
    with world.ledger(side) as ledger:
        balances = {a.id: (a.asset, a.balance) for a in ledger.balances()}
        _, residents = ledger.reports.outflows()
        outflow = next((r.used for r in residents if r.participant == PAYER), 0)
        watched = {a.code for a in ledger.registry.assets()}
        breaker = ledger.reports.breaker().net_out if ledger._book.flow_policy.breaker_asset in watched else 0
        return Snapshot(balances, outflow, breaker)


def run_case(case: Case, template: World, scratch: Path, pg: Postgres | None = None) -> Result:
    """Copy the template's ledgers, run ``case``, pass every deadline, check, and say the row."""
    slug = case.name.replace(" ", "-").replace("(", "").replace(")", "")
    root = scratch / slug
    for side in ("kr", "hk"):
        shutil.copytree(template.root / side, root / side)  # (in PostgreSQL: the keys only)
    dbs = {side: pg.create(f"{slug}_{side}".replace("-", "_"), f"template_{side}") for side in ("kr", "hk")} if pg else {}
    world = World(root, template.now + timedelta(seconds=600), dict(case.skew), dbs=dbs)
    world.set_clock()
    before = {side: snapshot(world, side) for side in ("kr", "hk")}
    payment = Payment()
    for act in case.acts:
        act(world, payment)
    # After every deadline, on every side's own clock: the driver resumes what it left, each ledger expires what is due.
    at("kr", 1 + sum(abs(s) for s in world.skew.values()))(world, payment)
    if _unfinished(world):
        resume()(world, payment)
    for side in ("kr", "hk"):
        with world.ledger(side) as ledger:
            ledger.holds.expire_due()
    return _judge(case, world, payment, before, pair_check(world, case))


@dataclass(frozen=True)
class PairVerdict:
    report: dict[str, Any]  # as `verify-pair --json` prints it
    exit_code: int
    shown: str


def pair_check(world: World, case: Case) -> PairVerdict:
    """The pair check: the very functions `verify-pair` runs in its nodes, run here on both ledgers (a process fewer
    per case); where it finds a problem, and for the case with no fault, `verify-pair` itself runs too and must agree."""
    from wonledger.crossledger.pair import check_pair
    from wonledger.crossledger.views import linked_entries, side_from_entries

    with world.ledger("kr") as kr, world.ledger("hk") as hk:
        found = {side: linked_entries(ledger, other.id) for side, ledger, other in (("kr", kr, hk), ("hk", hk, kr))}
        ids = {"kr": kr.id, "hk": hk.id}
    sides = [side_from_entries(f["ledger"], f["entries"], f["exponents"], ids["hk" if s == "kr" else "kr"]) for s, f in found.items()]
    mine = check_pair(sides[0], sides[1], world.clock_of("driver")()).to_json()
    verdict = PairVerdict(mine, 0 if mine["ok"] else 3, json.dumps(mine))
    if mine["ok"] and case.broken is None and case.name != "no fault":
        return verdict
    done = world.cli("--json", "verify-pair", *world.places())
    try:
        theirs = json.loads(done.stdout)
    except ValueError:
        raise HarnessError(f"verify-pair printed no JSON:\n{done.show()}") from None
    if (theirs["payments"], theirs["problems"]) != (mine["payments"], mine["problems"]):
        raise HarnessError(f"verify-pair and the harness's pair check disagree:\n{done.show()}\n{json.dumps(mine)}")
    return PairVerdict(theirs, done.exit_code, done.show())


def _judge(case: Case, world: World, payment: Payment, before: dict[str, Snapshot], pair: PairVerdict) -> Result:
    problems: list[str] = []
    statuses, exponents = {}, {}
    for side, hold in (("kr", payment.kr_hold), ("hk", payment.hk_hold)):
        with world.ledger(side) as ledger:
            found = ledger.holds.conditional(hold)
            statuses[side] = found.status if found is not None else "none"
            report = ledger.verify()
            if not report.ok:
                problems.append(f"verify on {side}: {[str(p) for p in report.problems]}")
            if not ledger.reports.trial_balance().ok:
                problems.append(f"the trial balance of {side} does not balance")
            pending = [h.id for h in ledger.holds.conditionals() if h.status == "pending"] + [h.id for h in ledger.holds.pending()]
            if pending:
                problems.append(f"holds still pending on {side} after every deadline: {pending}")
            problems += still_counted(ledger)
            exponents.update({a.code: a.exponent for a in ledger.registry.assets()})
    after = {side: snapshot(world, side) for side in ("kr", "hk")}
    paid_kr, paid_hk = _conserved(before, after, problems)
    lost = _lost(paid_kr, paid_hk, exponents)
    counted = (after["kr"].outflow - before["kr"].outflow, after["kr"].net_out - before["kr"].net_out)
    if (counted != (0, 0)) != (statuses["kr"] == "fulfilled") or any(x < 0 for x in counted):
        problems.append(f"the controls on kr count {counted} (outflow, breaker) for a payment {statuses['kr']} there")
    for side in ("hk",):
        if (after[side].outflow, after[side].net_out) != (before[side].outflow, before[side].net_out):
            problems.append(f"the controls on {side} changed: {before[side]} → {after[side]}")
    pair_said = _pair(pair, case, lost, problems)
    _driver_finished(world, problems)
    row = Row(case.name, case.injected, statuses["kr"], statuses["hk"], lost, pair_said)
    return Result(row, problems, world.log, counted)


def counted_at(rows: Any, seq: int | None) -> dict[tuple[str, ...], int]:
    """What the control rows (``ControlTables``) at journal position ``seq`` count, by what they count it for."""
    out: dict[tuple[str, ...], int] = {}
    keyed = [(s, ("outflow", p, str(y)), usd) for s, p, y, usd in rows.outflows]
    keyed += [(s, ("conversion", asset), amount) for s, _at, asset, amount in rows.conversions]
    keyed += [(s, ("travel", orig, benef), usd) for s, _at, orig, benef, usd in rows.travel]
    for at_seq, key, value in keyed:
        if seq is not None and at_seq == seq:
            out[key] = out.get(key, 0) + value
    return {k: v for k, v in out.items() if v}


def still_counted(ledger: Any) -> list[str]:
    """What the controls still count for conditional holds that ended without being fulfilled (it must be nothing).

    A pending or fulfilled hold keeps what it counted when it was made, and
    its end adds nothing; an expired or rejected one's end gives it back,
    row for row, so the two entries net to nothing.
    """
    rows = ledger._store.reading(lambda uow: uow.controls.control_rows())
    found = []
    for hold in ledger.holds.conditionals():
        end = ledger.transaction(hold.finished_by).seq if hold.finished_by else None
        made, ended = counted_at(rows, hold.seq), counted_at(rows, end)
        if hold.finished_by is None or hold.preimage is not None:
            if ended:
                found.append(f"the end of {hold.id} ({hold.status}) changed what the controls count: {ended}")
            continue
        net = {k: made.get(k, 0) + ended.get(k, 0) for k in {*made, *ended}}
        if any(net.values()):
            found.append(f"{hold.id} ended {hold.status} and the controls still count {net}")
    return found


def _conserved(before: dict[str, Snapshot], after: dict[str, Snapshot], problems: list[str]) -> tuple[int, int]:
    """Each asset's total unchanged on each ledger, and no account moved but the payment's four; (what kr paid, what hk paid)."""
    ours = {"kr": {f"{PAYER}:{SELL}", f"{DEALER}:{SELL}"}, "hk": {f"{DEALER}:{BUY}", f"{RECEIVER}:{BUY}"}}
    for side in ("kr", "hk"):
        totals: dict[str, int] = {}
        for account, (asset, amount) in after[side].balances.items():
            was = before[side].balances.get(account, (asset, 0))[1]
            totals[asset] = totals.get(asset, 0) + amount - was
            if amount != was and account not in ours[side]:
                problems.append(f"{account} on {side} moved by {amount - was}")
        moved = {asset: n for asset, n in totals.items() if n}
        if moved:
            problems.append(f"assets not conserved on {side}: {moved}")

    def delta(side: str, account: str) -> int:
        return after[side].balances[account][1] - before[side].balances[account][1]

    paid_kr, paid_hk = -delta("kr", f"{PAYER}:{SELL}"), delta("hk", f"{RECEIVER}:{BUY}")
    if delta("kr", f"{DEALER}:{SELL}") != paid_kr or -delta("hk", f"{DEALER}:{BUY}") != paid_hk:
        problems.append("the dealer's accounts did not move opposite the payer's and the receiver's")
    return paid_kr, paid_hk


def _lost(paid_kr: int, paid_hk: int, exponents: dict[str, int]) -> str:
    from wonledger import format_amount

    if (paid_kr > 0) == (paid_hk > 0):
        return "nothing"
    if paid_hk > 0:
        return f"named: {DEALER} paid {format_amount(paid_hk, exponents[BUY])} {BUY} on hk, unpaid on kr"
    return f"named: {PAYER} paid {format_amount(paid_kr, exponents[SELL])} {SELL} on kr, {RECEIVER} unpaid on hk"


def _pair(pair: PairVerdict, case: Case, lost: str, problems: list[str]) -> str:
    """The pair check's verdict in a few words, held to what the case expects."""
    report = pair.report
    found = report["problems"] + [q for p in report["payments"] for q in p["problems"]]
    outcomes = [p["outcome"] for p in report["payments"]]
    if case.broken is None:
        if pair.exit_code != 0 or not report["ok"] or lost != "nothing":
            problems.append(f"expected both or neither and verify-pair ok:\n{pair.shown}")
    elif pair.exit_code != 3 or [p["code"] for p in found] != ["HALF_DONE"] or lost == "nothing":
        problems.append(f"expected verify-pair to name one half-done payment ({case.broken}):\n{pair.shown}")
    if not found:
        return f"ok ({', '.join(outcomes) or 'no payment'})"
    said = []
    for p in found:
        message = p["message"]
        said.append(f"{p['code']}, exit {pair.exit_code}: {message.split(' (')[0]}; {message.rsplit(': ', 1)[-1]}")
    return "; ".join(said)


def _unfinished(world: World) -> list[str]:
    """The payments the driver's journal says it has not finished."""
    from wonledger.crossledger.journal import DriverJournal

    journal = DriverJournal(world.root / "driver")
    try:
        return journal.unfinished()
    finally:
        journal.close()


def _driver_finished(world: World, problems: list[str]) -> None:
    left = _unfinished(world)
    if left:
        problems.append(f"the driver left payments unfinished after every deadline: {left}")


# -- the whole run, and the table ----------------------------------------------------------


def run(selected: list[Case] | None = None, workers: int = 2, keep: Path | None = None, pg_url: str | None = None) -> list[Result]:
    """Run ``selected`` (default: every case), ``workers`` at a time, each on its own copy of one template pair.

    With ``pg_url`` (a PostgreSQL server's URL) both ledgers of every case live in databases of their own there.
    """
    chosen = cases() if selected is None else selected
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="wonledger-harness-", dir=keep))
    pg = Postgres(pg_url) if pg_url else None
    try:
        start = datetime.now(UTC).replace(microsecond=0)
        template = make_template(scratch / "template", start, pg)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda c: _safely(c, template, scratch, pg), chosen))
    finally:
        if pg is not None:
            pg.drop_all()
        if keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
    settled = {r.counted for r in results if r.row.kr == "fulfilled"}
    if len(settled) > 1:  # the same payment, fulfilled: the controls counted the same on every run
        for r in results:
            r.problems.append(f"the controls counted different figures for the same payment across cases: {sorted(settled)}")
    return results


def _safely(case: Case, template: World, scratch: Path, pg: Postgres | None) -> Result:
    try:
        return run_case(case, template, scratch, pg)
    except HarnessError as exc:
        return Result(Row(case.name, case.injected, "?", "?", "?", "?"), [str(exc)], [], (0, 0))


def table(rows: list[Row]) -> str:
    """The rows as the Markdown table docs/crossledger.md shows."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in row.cells()) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.crossledger.harness", description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="store_true", help="print the failure table (Markdown)")
    parser.add_argument("--case", action="append", default=[], help="run only this case (by name; repeatable), showing its commands")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("WONLEDGER_HARNESS_SEED", DEFAULT_SEED)), help="the random case's seed")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="keep each case's ledgers under this directory")
    parser.add_argument("--pg", metavar="URL", help="put both ledgers of every case in PostgreSQL databases of this server (e.g. $WONLEDGER_TEST_PG_URL)")
    args = parser.parse_args(argv)
    chosen = cases(args.seed)
    if args.case:
        chosen = [c for c in chosen if c.name in args.case]
        if not chosen:
            parser.error(f"no case named {args.case}")
    results = run(chosen, args.workers, args.keep, args.pg)
    if args.table:
        sys.stdout.write(table([r.row for r in results]))
    for r in results:
        if args.case:
            sys.stdout.write("".join(d.show() for d in r.log))
        for problem in r.problems:
            sys.stderr.write(f"{r.row.case}: {problem}\n")
    return 1 if any(r.problems for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
