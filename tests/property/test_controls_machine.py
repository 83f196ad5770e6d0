"""An adversary against the capital-flow controls, driven by Hypothesis.

Parties of every kind in three jurisdictions (individuals, corporates, a
nonbank, banks, the dealer, registered through the library's own registry)
sign random multi-leg transactions in every stablecoin, with true, missing,
partial or token travel data, as one- or two-phase transfers; they swap with
the dealer, send abroad from won deposits, post and void holds, reverse what
went through, and let time pass across hours, days and the turn of a year (a
:class:`ManualClock`; holds expire).

After every step, computed from the journal alone by the simple model below
(never by ``ledger.controls``):

- each limited resident's counted outflow in each year is at least the value
  that left Korea from them (per transaction: what they paid abroad, less
  won that came back to them, and no more than left Korea in it on balance);
- no sliding hour lets net conversion out of KRWS (KRWS paid by Korean
  parties to a party abroad that pays out another currency in the same
  transaction) pass 10% of the least supply in it;
- every movement across a border of USD 1,000 or more, alone or with the same
  pair's in the last 24 hours, carries travel data that names its parties as
  the registry knows them (the model follows single hops: a party that only
  pays to one that only receives);

and after every refused attempt: no balance and no control table changed.

Bounded for CI: 40 examples of up to 25 steps (9 to 30 s here with the machine busy, so marked
``slow``); ``pytest -m slow tests/property/test_controls_machine.py`` runs it.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule

from wonledger import Ledger, LedgerError, Party, Travel
from wonledger.domain.chain import parse_iso
from wonledger.domain.model import Leg, Tx
from wonledger.rulebook.policy import load_flow_policy
from wonledger.testing import ManualClock, fresh_ledger

pytestmark = pytest.mark.slow

#: Parties the rules move value between: (kind, jurisdiction); those marked new are registered by the test.
PARTIES = {
    "alice": ("individual", "KR"),
    "bob": ("individual", "KR"),
    "seoul-exports": ("corporate", "KR"),
    "kpay": ("nonbank", "KR"),
    "hanriver": ("bank", "KR"),
    "carol": ("individual", "HK"),
    "kowloon-supply": ("corporate", "HK"),
    "harbour": ("bank", "HK"),
    "peakfx": ("dealer", "HK"),
    "dana": ("individual", "US"),
    "hudson": ("bank", "US"),
}
NEW = ("bob", "carol", "dana")
COINS = ("KRWS", "HKDS", "USDS")
FLOAT = {"KRWS": 250_000_000, "HKDS": 200_000_00, "USDS": 100_000_00}
WINDOW, LINKED = 3600, 86400
PARTY = st.sampled_from(sorted(PARTIES))
#: Amounts as a share of the float (so the same draw is small or large in any coin), in thousandths.
SHARE = st.one_of(st.integers(1, 10), st.integers(10, 200), st.integers(200, 1500))


def populate(ledger: Ledger) -> None:
    for pid in NEW:
        ledger.registry.add_participant(pid, *PARTIES[pid])
    ledger.payments.deposit("bob", 300_000_000, "hanriver")
    for pid in PARTIES:
        for coin in COINS:
            if pid != "peakfx":
                ledger.registry.open_account(pid, coin)
                ledger.payments.transfer(f"peakfx:{coin}", f"{pid}:{coin}", FLOAT[coin])


class ControlsMachine(RuleBasedStateMachine):
    holds = Bundle("holds")
    committed = Bundle("committed")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1))
        self._cm = fresh_ledger("default", populate, self.clock)
        self.ledger: Ledger = self._cm.__enter__()
        self.policy = load_flow_policy()
        self.people = {p.id: p for p in self.ledger.registry.participants()}
        self.assets = {a.code: a for a in self.ledger.registry.assets()}
        self.serial = 0

    def teardown(self) -> None:
        self._cm.__exit__(None, None, None)

    def next_id(self, kind: str) -> str:
        self.serial += 1
        return f"c-{kind}-{self.serial}"

    # -- attempts: accepted, or refused with nothing changed ----------------------------
    def state(self) -> tuple[Any, ...]:
        accounts = tuple((a.id, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending) for a in self.ledger.registry.accounts())
        rows = self.ledger._store.reading(lambda uow: uow.controls.control_rows())
        return accounts, sorted(rows.outflows), sorted(rows.conversions), sorted(rows.travel), sorted(rows.quote_uses)

    def attempt(self, action: Any) -> Any:
        self.ledger.holds.expire_due()
        before = self.state()
        try:
            return action()
        except LedgerError:
            assert self.state() == before, "a refused transaction changed balances or control state"
            return None

    def party_data(self, pid: str, account: str) -> Party:
        p = self.people[pid]
        return Party(pid, account, p.kind, p.jurisdiction)

    # -- rules ------------------------------------------------------------------------------
    @rule(
        target=committed,
        parts=st.lists(st.tuples(PARTY, PARTY, st.sampled_from(COINS), SHARE), min_size=1, max_size=4),
        travel=st.sampled_from(("none", "first-debtor", "token", "all-creditors")),
        hold=st.one_of(st.none(), st.sampled_from((120, 3000, 7200))),
    )
    def a_signed_transaction(self, parts: list[tuple[str, str, str, int]], travel: str, hold: int | None) -> Any:
        legs = tuple(
            Leg(f"{d}:{coin}", f"{c}:{coin}", coin, max(1, FLOAT[coin] * share // 1000))
            for d, c, coin, share in parts
            if d != c
        )
        if not legs:
            return multiple()
        data = None
        first = legs[0]
        origin = first.debit.split(":")[0]
        abroad = [leg for leg in legs if PARTIES[leg.credit.split(":")[0]][1] != PARTIES[origin][1]]
        if travel == "first-debtor" and abroad:
            data = Travel(self.party_data(origin, first.debit), self.party_data(abroad[0].credit.split(":")[0], abroad[0].credit))
        elif travel == "token":
            data = Travel(self.party_data(origin, first.debit), self.party_data(first.credit.split(":")[0], first.credit))
        elif travel == "all-creditors":
            named = {leg.credit.split(":")[0]: leg.credit for leg in legs if leg.credit.split(":")[0] != origin}
            if named:
                parties = [self.party_data(pid, acc) for pid, acc in sorted(named.items())]
                data = Travel(self.party_data(origin, first.debit), parties[0], tuple(parties[1:]))
        tx = Tx(
            ledger=self.ledger.id, id=self.next_id("hold" if hold else "tx"), kind="hold" if hold else "transfer",
            legs=legs, timeout_s=hold, travel=data,
        )
        signers = sorted({leg.debit.split(":")[0] for leg in legs})
        receipt = self.attempt(lambda: self.ledger._book.submit(self.ledger.sign(tx, signers)))
        return tx.id if receipt is not None else multiple()

    @rule(target=committed, owner=PARTY, sell=st.sampled_from(COINS), buy=st.sampled_from(COINS), share=SHARE, hold=st.booleans())
    def a_swap_with_the_dealer(self, owner: str, sell: str, buy: str, share: int, hold: bool) -> Any:
        if owner == "peakfx" or sell == buy:
            return multiple()
        tx_id = self.next_id("swap")
        amount = max(1, FLOAT[sell] * share // 1000)
        receipt = self.attempt(lambda: self.ledger.crossborder.swap(owner, amount, sell, buy, tx_id=tx_id, hold_timeout_s=900 if hold else None))
        return tx_id if receipt is not None else multiple()

    @rule(target=committed, sender=st.sampled_from(("alice", "bob", "seoul-exports")), recipient=st.sampled_from(("carol", "kowloon-supply", "dana")),
          deliver=st.sampled_from(COINS), amount=st.one_of(st.integers(1_000, 5_000_000), st.integers(5_000_000, 1_200_000_000)))
    def a_send_abroad(self, sender: str, recipient: str, deliver: str, amount: int) -> Any:
        tx_id = self.next_id("send")
        receipt = self.attempt(lambda: self.ledger.crossborder.send(sender, recipient, amount, deliver, tx_id=tx_id))
        return tx_id if receipt is not None else multiple()

    @rule(tx_id=committed, post=st.booleans())
    def a_hold_ends(self, tx_id: str, post: bool) -> None:
        entry = self.ledger.transaction(tx_id)
        if entry.status != "pending":
            return
        self.attempt(lambda: self.ledger.holds.post(tx_id) if post else self.ledger.holds.void(tx_id))

    @rule(tx_id=committed)
    def a_reversal(self, tx_id: str) -> None:
        entry = self.ledger.transaction(tx_id)
        if entry.tx.kind == "hold":
            return
        self.attempt(lambda: self.ledger.payments.reverse(tx_id, tx_id=self.next_id("rev")))

    @rule(seconds=st.sampled_from((30, 900, 1800, 3601, 6 * 3600, 25 * 3600)))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule()
    def the_year_turns_in_seoul(self) -> None:
        now = self.clock.now
        eve = datetime(now.year, 12, 31, 14, 55, tzinfo=UTC)  # 23:55 in Seoul
        self.clock.move_to(eve if eve > now else datetime(now.year + 1, 12, 31, 14, 55, tzinfo=UTC))

    # -- the model: everything below reads the journal alone ------------------------------------
    def journal(self) -> list[tuple[str, str, Tx]]:
        out = []
        for entry, _ in self.ledger._store.stream_journal():
            out.append((entry.id, entry.at, entry.tx))  # the store hands each row up decoded
        return out

    def effective(self) -> list[tuple[str, str, Tx, tuple[Leg, ...]]]:
        """(id, counted at, transaction, legs that count): a hold counts at its own time with what it posted, or nothing once voided."""
        found: dict[str, list[Any]] = {}
        order = []
        for tx_id, at, tx in self.journal():
            if tx.kind in ("post", "void", "expire"):
                held = found[tx.ref]
                held[3] = tx.legs if tx.kind == "post" else ()
                continue
            found[tx_id] = [tx_id, at, tx, tx.legs]
            order.append(tx_id)
        return [tuple(found[i]) for i in order]  # type: ignore[misc]

    def owner(self, account: str) -> str:
        return account.split(":")[0]

    def usd(self, leg: Leg) -> Fraction:
        asset = self.assets[leg.asset]
        return self.policy.rates.usd_minor(leg.amount, asset.exponent, asset.currency)

    @invariant()
    def every_limited_residents_counted_outflow_covers_what_left_korea_from_them(self) -> None:
        model: dict[tuple[str, int], Fraction] = defaultdict(Fraction)
        for _, at, _, legs in self.effective():
            people = {self.owner(a) for leg in legs for a in (leg.debit, leg.credit)}
            for r in people:
                p = self.people[r]
                if not self.policy.is_limited(p):
                    continue
                home, place = self.policy.home_currency[p.jurisdiction], p.jurisdiction
                abroad = lambda pid, place=place: self.people[pid].jurisdiction != place  # noqa: E731
                ours = [l for l in legs if self.owner(l.debit) != self.owner(l.credit)]
                paid_abroad = sum((self.usd(l) for l in ours if self.owner(l.debit) == r and abroad(self.owner(l.credit))), Fraction(0))
                back = sum((self.usd(l) for l in ours if self.owner(l.credit) == r and abroad(self.owner(l.debit))), Fraction(0))
                left = sum((self.usd(l) for l in ours if not abroad(self.owner(l.debit)) and abroad(self.owner(l.credit))), Fraction(0))
                came = back + sum(
                    (self.usd(l) for l in ours if abroad(self.owner(l.debit)) and not abroad(self.owner(l.credit))
                     and self.owner(l.credit) != r and self.assets[l.asset].currency == home),
                    Fraction(0),
                )
                mine = lambda side, currency_is_home, ours=ours, r=r, home=home: sum(  # noqa: E731
                    (self.usd(l) for l in ours if self.owner(getattr(l, side)) == r and (self.assets[l.asset].currency == home) == currency_is_home),
                    Fraction(0),
                )
                # Value that left and did not come back, plus what they converted from home into foreign currency.
                converted = max(Fraction(0), min(mine("debit", True) - mine("credit", True), mine("credit", False) - mine("debit", False)))
                amount = max(Fraction(0), min(paid_abroad - back, left - came)) + converted
                if amount > 0:
                    year = parse_iso(at).astimezone(ZoneInfo(self.policy.timezone[place])).year
                    model[(r, year)] += amount
        counted: dict[tuple[str, int], int] = defaultdict(int)
        for _, participant, year, usd in self.ledger._store.reading(lambda uow: uow.controls.control_rows()).outflows:
            counted[(participant, year)] += usd
        for key, amount in model.items():
            assert counted[key] >= amount, f"{key}: counted {counted[key]} cents, but {float(amount):.2f} left Korea"
            assert counted[key] <= self.policy.outflow_limit_usd, key

    @invariant()
    def no_sliding_hour_lets_net_conversion_out_of_krws_pass_the_threshold(self) -> None:
        krws = self.assets["KRWS"]
        issuance = f"{krws.issuer}:KRWS"
        per_krws = self.policy.rates.usd_minor(1, krws.exponent, krws.currency)
        records: dict[str, tuple[str, int]] = {}
        supply: list[tuple[str, int]] = []
        current = 0
        share = self.policy.breaker_share

        def converted(legs: tuple[Leg, ...]) -> int:
            krw: dict[str, int] = defaultdict(int)
            other: dict[str, Fraction] = defaultdict(Fraction)
            debtors = {self.owner(l.debit) for l in legs}
            for l in legs:
                d, c = self.people[self.owner(l.debit)], self.people[self.owner(l.credit)]
                if d.id == c.id:
                    continue
                if l.asset == "KRWS":
                    if d.jurisdiction == "KR" and c.jurisdiction != "KR":
                        krw[c.id] += l.amount
                    elif c.jurisdiction == "KR" and d.jurisdiction != "KR":
                        krw[d.id] -= l.amount
                elif self.assets[l.asset].currency != "KRW":
                    other[d.id] += self.usd(l) / per_krws
                    other[c.id] -= self.usd(l) / per_krws
            net = 0
            for x, k in krw.items():
                if x not in debtors:
                    continue
                if k > 0 and other[x] > 0:
                    net += min(k, math.ceil(other[x]))
                elif k < 0 and other[x] < 0:
                    net -= min(-k, math.floor(-other[x]))
            return net

        for tx_id, at, tx in self.journal():
            legs = tx.legs
            if tx.kind in ("post", "void", "expire"):
                held_at, _ = records.get(tx.ref, (None, 0))
                if held_at is not None:
                    records[tx.ref] = (held_at, converted(legs) if tx.kind == "post" else 0)
            elif legs:
                records[tx_id] = (at, converted(legs))
            if tx.kind != "hold":
                change = sum(l.amount for l in legs if l.debit == issuance) - sum(l.amount for l in legs if l.credit == issuance)
                if change:
                    current += change
                    supply.append((at, current))
            if tx.kind in ("post", "void", "expire") or not legs or records[tx_id][1] <= 0:
                continue
            since = (parse_iso(at) - timedelta(seconds=WINDOW)).isoformat()
            since = since.replace("+00:00", "Z")
            net = sum(amount for when, amount in records.values() if since < when <= at)
            before = [s for when, s in supply if when <= since]
            seen = ([before[-1]] if before else []) + [s for when, s in supply if since < when <= at]
            least = min((s for s in seen if s > 0), default=0)
            assert net * share.denominator <= least * share.numerator, f"{tx_id}: {net} KRWS out in the hour against {least}"

    @invariant()
    def every_movement_across_a_border_from_usd_1000_carries_true_travel_data(self) -> None:
        history: list[tuple[str, tuple[str, str], int]] = []
        for tx_id, at, tx, legs in self.effective():
            debtors = {self.owner(l.debit) for l in tx.legs}
            creditors = {self.owner(l.credit) for l in tx.legs}
            pure: dict[tuple[str, str], Fraction] = defaultdict(Fraction)
            for l in tx.legs:
                d, c = self.owner(l.debit), self.owner(l.credit)
                if d not in creditors and c not in debtors and self.people[d].jurisdiction != self.people[c].jurisdiction:
                    pure[(d, c)] += self.usd(l)
            since = (parse_iso(at) - timedelta(seconds=LINKED)).isoformat().replace("+00:00", "Z")
            needed = []
            for pair, usd in pure.items():
                before = sum(v for when, p, v in history if p == pair and since < when)
                if math.ceil(usd) + before >= self.policy.travel_rule_usd:
                    needed.append(pair)
            data = tx.travel
            if needed:
                assert data is not None, f"{tx_id} moves {needed} across a border without travel data"
                named = {b.id for b in data.beneficiaries}
                for o, b in needed:
                    assert data.originator.id == o and b in named, f"{tx_id}: travel data does not name {o} -> {b}"
            if data is not None:
                for party, accounts in ((data.originator, {l.debit for l in tx.legs}), *((b, {l.credit for l in tx.legs}) for b in data.beneficiaries)):
                    registered = self.people[party.id]
                    assert party.account in accounts and self.owner(party.account) == party.id, (tx_id, party)
                    assert (party.kind, party.jurisdiction) == (registered.kind, registered.jurisdiction), (tx_id, party)
            # What counts from here on: the legs that stand (a voided hold gives its pairs back).
            standing = {(self.owner(l.debit), self.owner(l.credit)) for l in legs}
            history.extend((at, pair, math.ceil(usd)) for pair, usd in pure.items() if pair in standing)


ControlsMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("CONTROLS_MACHINE_EXAMPLES", "40")),
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.reuse, Phase.generate] if os.environ.get("CONTROLS_MACHINE_NO_SHRINK") else list(Phase),
)
TestTheControlsHoldAgainstAnAdversary = ControlsMachine.TestCase
