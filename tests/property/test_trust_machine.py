"""An adversary with ordinary signed transactions, a colluding party of every exempt kind, and the database file.

Hypothesis drives: honest residents of Korea (alice, bob, seoul-exports)
sending abroad and swapping at the dealer's firm quotes; one colluding
participant of each kind the controls treat as an intermediary (the dealer
peakfx, the issuer victoria, the bank harbour, a nonbank hkpay, the
corporate kowloon-supply), whose keys the adversary holds, exchanging with
a resident at any rate (0.01 HKDS back, or fair value), passing value on to
another party abroad, or signing a quote off the policy, with true,
missing or token travel data, at once or as holds posted or voided later;
time passing; and an attacker with write access to the database who edits
a row of any table, or appends entries chained correctly (a genesis after
the signed registry, an overdraft signed with a colluder's real key, a
transfer abroad the controls refuse), on a copy of the ledger's file.

After every step, from the journal alone (a model that never calls the
controls module):

- every transaction moving USD 1,000 or more of a party's value to a party
  of another jurisdiction, net of what comes back to it, between those two
  alone or in a single hop, carries travel data naming them (the dealer's
  price at its firm quote aside);
- no resident of Korea pays abroad, net of what comes back in the same
  transaction, more than USD 100,000 in a calendar year (Seoul time), and
  the ledger counts at least that much;
- no sliding hour's net conversion out of KRWS passes 10% of the least
  supply in it, counting an exchange at no firm quote at its whole value;
- at a firm quote the dealer keeps at most its spread and fee;

and after every database attack, ``verify`` of the attacked copy names it.

Bounded for CI (marked ``slow``): 10 examples of up to 15 steps
(``TRUST_MACHINE_EXAMPLES=N`` runs more). What it found while it was being
written is in docs/testing.md ("The adversary with the database file").
"""

from __future__ import annotations

import math
import os
import sqlite3
import tempfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule

from tests.storage.conftest import Raw
from tests.storage.forge import append_entry, genesis_tx, signed_wire
from wonledger import Ledger, LedgerError, Party, Travel
from wonledger.domain.chain import iso, parse_iso
from wonledger.domain.model import Leg, QuoteTerms, Tx
from wonledger.flows.crossborder import make_quote
from wonledger.rulebook.policy import load_flow_policy
from wonledger.testing import ManualClock, fresh_ledger

pytestmark = pytest.mark.slow

RESIDENTS = ("alice", "bob", "seoul-exports")
#: The colluding participant of each kind and the account it pays HKDS from.
COLLUDERS = {
    "dealer": ("peakfx", "peakfx:HKDS"),
    "issuer": ("victoria", "victoria:HKDS:ops"),
    "bank": ("harbour", "harbour:HKDS"),
    "nonbank": ("hkpay", "hkpay:HKDS"),
    "corporate": ("kowloon-supply", "kowloon-supply:HKDS"),
}
KRWS_EACH = 800_000_000
#: The dealer twice: the one party the rules ever let keep anything exempt, so the one most worth trying.
KINDS = st.sampled_from(("dealer", *sorted(COLLUDERS)))


def populate(ledger: Ledger) -> None:
    ledger.registry.add_participant("bob", "individual", "KR")
    ledger.registry.add_participant("hkpay", "nonbank", "HK", by="hkma")
    ledger.registry.open_account("victoria", "HKDS", label="ops")
    for who in ("harbour", "hkpay", "kowloon-supply"):
        ledger.registry.open_account(who, "HKDS")
    for who in ("victoria", "harbour", "hkpay", "kowloon-supply"):
        ledger.registry.open_account(who, "KRWS")
        ledger.payments.transfer("peakfx:HKDS", COLLUDERS[next(k for k, v in COLLUDERS.items() if v[0] == who)][1], 1_000_000_00)
    for who in RESIDENTS:
        bank = "namsan" if who == "seoul-exports" else "hanriver"
        ledger.payments.deposit(who, 2 * KRWS_EACH, bank)
        ledger.stablecoins.mint("KRWS", KRWS_EACH, who, f"dKRW.{bank}")
        ledger.registry.open_account(who, "HKDS")


class TrustMachine(RuleBasedStateMachine):
    holds = Bundle("holds")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1))
        self._cm = fresh_ledger("default", populate, self.clock)
        self.ledger: Ledger = self._cm.__enter__()
        self.policy = load_flow_policy()
        self.people = {p.id: p for p in self.ledger.registry.participants()}
        self.assets = {a.code: a for a in self.ledger.registry.assets()}
        self.serial = 0
        self.scratch = Path(tempfile.mkdtemp(prefix="trust-machine-"))

    def teardown(self) -> None:
        self._cm.__exit__(None, None, None)

    def next_id(self, kind: str) -> str:
        self.serial += 1
        return f"m-{kind}-{self.serial}"

    def attempt(self, tx: Tx, signers: list[str]) -> bool:
        self.ledger.holds.expire_due()
        try:
            self.ledger._book.submit(self.ledger.sign(tx, signers))
        except LedgerError as exc:
            event(f"{tx.id.split('-')[1]}: {exc.code}")
            return False
        event(f"{tx.id.split('-')[1]}: accepted")
        return True

    def party(self, pid: str, account: str) -> Party:
        p = self.people[pid]
        return Party(pid, account, p.kind, p.jurisdiction)

    # -- honest participants ---------------------------------------------------------------
    @rule(sender=st.sampled_from(RESIDENTS), amount=st.sampled_from((1_000_000, 20_000_000, 90_000_000)))
    def an_honest_send_abroad(self, sender: str, amount: int) -> None:
        self.ledger.holds.expire_due()
        try:
            self.ledger.crossborder.send(sender, "kowloon-supply", amount, "HKDS", tx_id=self.next_id("send"))
            event("send: accepted")
        except LedgerError as exc:
            event(f"send: {exc.code}")

    @rule(target=holds, owner=st.sampled_from(RESIDENTS), amount=st.sampled_from((2_000_000, 50_000_000, 150_000_000)), hold=st.booleans())
    def an_honest_swap_at_the_dealers_quote(self, owner: str, amount: int, hold: bool) -> Any:
        tx_id = self.next_id("swap")
        self.ledger.holds.expire_due()
        try:
            self.ledger.crossborder.swap(owner, amount, "KRWS", "HKDS", tx_id=tx_id, hold_timeout_s=1800 if hold else None)
            event("swap: accepted")
        except LedgerError as exc:
            event(f"swap: {exc.code}")
            return multiple()
        return tx_id if hold else multiple()

    # -- colluding participants -------------------------------------------------------------
    @rule(
        target=holds,
        payer=st.sampled_from(RESIDENTS),
        kind=KINDS,
        krws=st.sampled_from((1_000_000, 50_000_000, 130_000_000, 390_000_000)),
        back=st.sampled_from(("tiny", "fair")),
        travel=st.sampled_from(("none", "true", "token")),
        hold=st.booleans(),
    )
    def a_colluder_exchanges_at_any_rate(self, payer: str, kind: str, krws: int, back: str, travel: str, hold: bool) -> Any:
        who, pays_from = COLLUDERS[kind]
        hkd = 1 if back == "tiny" else math.floor(krws * self.policy.rates.cross("KRW", "HKD") * 100)
        legs = (Leg(f"{payer}:KRWS", f"{who}:KRWS", "KRWS", krws), Leg(pays_from, f"{payer}:HKDS", "HKDS", hkd))
        data = None
        if travel == "true":
            data = Travel(self.party(payer, f"{payer}:KRWS"), self.party(who, f"{who}:KRWS"))
        elif travel == "token":
            data = Travel(self.party(payer, f"{payer}:KRWS"), self.party(payer, f"{payer}:HKDS"))
        tx_id = self.next_id("x")
        tx = Tx(ledger=self.ledger.id, id=tx_id, kind="hold" if hold else "swap", legs=legs, travel=data, timeout_s=1800 if hold else None)
        accepted = self.attempt(tx, [payer, who])
        return tx_id if accepted and hold else multiple()

    @rule(payer=st.sampled_from(RESIDENTS), kind=KINDS, krws=st.sampled_from((1_000_000, 80_000_000)),
          travel=st.sampled_from(("none", "to-intermediary", "to-final")))
    def a_colluder_passes_value_on_abroad(self, payer: str, kind: str, krws: int, travel: str) -> None:
        who, _ = COLLUDERS[kind]
        final = "harbour" if who == "kowloon-supply" else "kowloon-supply"
        legs = (Leg(f"{payer}:KRWS", f"{who}:KRWS", "KRWS", krws), Leg(f"{who}:KRWS", f"{final}:KRWS", "KRWS", krws))
        data = None
        if travel == "to-intermediary":
            data = Travel(self.party(payer, f"{payer}:KRWS"), self.party(who, f"{who}:KRWS"))
        elif travel == "to-final":
            data = Travel(self.party(payer, f"{payer}:KRWS"), self.party(final, f"{final}:KRWS"))
        self.attempt(Tx(ledger=self.ledger.id, id=self.next_id("pass"), kind="transfer", legs=legs, travel=data), [payer, who])

    @rule(owner=st.sampled_from(RESIDENTS), amount=st.sampled_from((2_000_000, 60_000_000)),
          rate=st.sampled_from(("floor", "mid", "below-floor", "above-mid", "far-below")))
    def the_dealer_signs_a_quote_of_its_own(self, owner: str, amount: int, rate: str) -> None:
        krws, hkds = self.assets["KRWS"], self.assets["HKDS"]
        quote = make_quote(self.policy, krws, hkds, amount, iso(self.clock.now))
        floor, mid = Fraction(Decimal(quote.rate)), self.policy.rates.cross("KRW", "HKD")
        chosen = {"floor": floor, "mid": mid, "below-floor": floor * Fraction(999, 1000), "above-mid": mid * Fraction(1001, 1000), "far-below": floor / 1000}[rate]
        text = str(Decimal(chosen.numerator) / Decimal(chosen.denominator))[:14]
        bought = math.floor((amount - quote.fee) * Fraction(Decimal(text)) * 100)
        if bought <= 0:
            return
        legs = (
            Leg(f"{owner}:KRWS", "peakfx:KRWS", "KRWS", amount - quote.fee),
            Leg(f"{owner}:KRWS", "peakfx:KRWS", "KRWS", quote.fee),
            Leg("peakfx:HKDS", f"{owner}:HKDS", "HKDS", bought),
        )
        terms = QuoteTerms(id=self.next_id("q"), rate=text, source="peakfx, its own", expires_at=quote.expires_at)
        tx = Tx(ledger=self.ledger.id, id=self.next_id("own-quote"), kind="swap", legs=legs, quote=terms)
        self.attempt(tx, [owner, "peakfx"])

    @rule(hold=holds, post=st.booleans())
    def a_hold_ends(self, hold: str, post: bool) -> None:
        if self.ledger.transaction(hold).status != "pending":
            return
        self.ledger.holds.expire_due()
        try:
            self.ledger.holds.post(hold) if post else self.ledger.holds.void(hold)
        except LedgerError:
            pass

    @rule(seconds=st.sampled_from((60, 1900, 3601, 40 * 86400)))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds)

    # -- the database attacker -----------------------------------------------------------------
    EDITS = (
        "UPDATE accounts SET flags = '' WHERE id = 'alice:KRWS'",
        "UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = 'bob:KRWS'",
        "UPDATE participants SET resident = false WHERE id = 'alice'",
        "UPDATE participants SET kind = 'corporate' WHERE id = 'bob'",
        "UPDATE outflows SET usd_minor = 0",
        "DELETE FROM conversions",
        "DELETE FROM travel_movements",
        "DELETE FROM quote_uses",
        "UPDATE quotes SET rate = '100.1'",
        "UPDATE holds SET expires_at = '2099-01-01T00:00:00.000000Z'",
        "UPDATE legs SET amount = amount + 1 WHERE seq = (SELECT MAX(seq) FROM legs)",
        "UPDATE journal SET body = REPLACE(body, '\"kind\":\"swap\"', '\"kind\":\"send\"') WHERE seq = (SELECT MAX(seq) FROM journal WHERE kind = 'swap')",
        "UPDATE head SET seq = seq - 1",
        "UPDATE meta SET value = 'wl-other' WHERE key = 'ledger_id'",
        "INSERT INTO meta (key, value) VALUES ('controls_from_seq', '999999')",
    )
    APPENDS = ("genesis", "overdraft", "abroad-untold")

    @rule(attack=st.one_of(st.sampled_from(EDITS), st.sampled_from(APPENDS)))
    def a_database_attacker_edits_a_copy_and_verify_names_it(self, attack: str) -> None:
        self.ledger.holds.expire_due()
        copy = self.scratch / f"copy-{self.serial}.db"
        self.serial += 1
        source, target = sqlite3.connect(self.ledger._store.url.removeprefix("sqlite:///")), sqlite3.connect(copy)
        with target:
            source.backup(target)
        source.close()
        target.close()
        url = f"sqlite:///{copy}"
        raw = Raw(url)
        try:
            changed = self.attack(raw, attack)
        finally:
            raw.engine.dispose()
        if changed:
            attacked = Ledger.open(url, self.ledger._keys.directory)
            try:
                report = attacked.verify()
            finally:
                attacked.close()
            assert not report.ok, f"verify did not name the attack {attack!r}"
            event("database attack: named")
        copy.unlink()

    def attack(self, raw: Raw, attack: str) -> bool:
        """Carry out ``attack`` on the copy ``raw`` reaches; whether it changed anything (an edit may find no row)."""
        if attack == "genesis":
            account = {"id": "hkpay:HKDS:x", "owner": "hkpay", "asset": "HKDS", "flags": [], "label": "x"}
            append_entry(raw, genesis_tx(self.ledger.id, [account]), [])
            return True
        if attack == "overdraft":
            tx = {"ledger": self.ledger.id, "id": self.next_id("forged"), "kind": "transfer", "memo": "",
                  "legs": [{"debit": "hkpay:HKDS", "credit": "alice:HKDS", "asset": "HKDS", "amount": 10**12}]}
            append_entry(raw, tx, signed_wire(self.ledger._keys, tx, ["hkpay"]))
            raw.execute("UPDATE accounts SET debits_posted = debits_posted + 1000000000000 WHERE id = 'hkpay:HKDS'")
            raw.execute("UPDATE accounts SET credits_posted = credits_posted + 1000000000000 WHERE id = 'alice:HKDS'")
            return True
        if attack == "abroad-untold":
            tx = {"ledger": self.ledger.id, "id": self.next_id("forged"), "kind": "transfer", "memo": "",
                  "legs": [{"debit": "alice:KRWS", "credit": "kowloon-supply:KRWS", "asset": "KRWS", "amount": 5_000_000}]}
            if raw.scalar("SELECT credits_posted - debits_posted - debits_pending FROM accounts WHERE id = 'alice:KRWS'") < 5_000_000:
                return False
            append_entry(raw, tx, signed_wire(self.ledger._keys, tx, ["alice"]))
            raw.execute("UPDATE accounts SET debits_posted = debits_posted + 5000000 WHERE id = 'alice:KRWS'")
            raw.execute("UPDATE accounts SET credits_posted = credits_posted + 5000000 WHERE id = 'kowloon-supply:KRWS'")
            return True
        if attack.startswith("INSERT INTO meta"):
            raw.execute(attack)
            return False  # a key no code reads: nothing changes what the journal says (verify must still hold)
        return raw.execute(attack).rowcount > 0

    # -- the model: everything below reads the journal alone ----------------------------------------
    def effective(self) -> list[tuple[str, str, Tx, tuple[Leg, ...]]]:
        """(id, counted at, transaction, legs that count): a hold at its own time with what it posted, nothing once voided."""
        found: dict[str, list[Any]] = {}
        order = []
        for entry, _ in self.ledger._store.stream_journal():
            tx = entry.tx
            if tx.kind in ("post", "void", "expire"):
                found[tx.ref][3] = tx.legs if tx.kind == "post" else ()  # type: ignore[index]
                continue
            if tx.legs:
                found[tx.id] = [tx.id, entry.at, tx, tx.legs]
                order.append(tx.id)
        return [tuple(found[i]) for i in order]  # type: ignore[misc]

    def owner(self, account: str) -> str:
        return account.split(":")[0]

    def usd(self, leg: Leg) -> Fraction:
        asset = self.assets[leg.asset]
        return self.policy.rates.usd_minor(leg.amount, asset.exponent, asset.currency)

    def abroad(self, a: str, b: str) -> bool:
        return self.people[a].jurisdiction != self.people[b].jurisdiction

    @invariant()
    def every_movement_abroad_from_usd_1000_carries_travel_data_naming_its_parties(self) -> None:
        dealer = self.policy.dealer
        for tx_id, _, tx, legs in self.effective():
            parties = {self.owner(a) for leg in tx.legs for a in (leg.debit, leg.credit)}
            debtors = {self.owner(leg.debit) for leg in tx.legs}
            creditors = {self.owner(leg.credit) for leg in tx.legs}
            flows: dict[tuple[str, str], Fraction] = defaultdict(Fraction)
            for leg in legs:
                flows[(self.owner(leg.debit), self.owner(leg.credit))] += self.usd(leg)
            for (d, c), usd in flows.items():
                if d == c or not self.abroad(d, c) or (tx.quote is not None and c == dealer):
                    continue
                bilateral = parties == {d, c}
                single_hop = d not in creditors and c not in debtors
                net = usd - flows.get((c, d), Fraction(0))
                if (bilateral or single_hop) and net >= self.policy.travel_rule_usd:
                    data = tx.travel
                    assert data is not None, f"{tx_id} moves USD {float(net) / 100:,.2f} of {d}'s to {c} with no travel data"
                    assert data.originator.id == d and c in {b.id for b in data.beneficiaries}, f"{tx_id}: travel data does not name {d} -> {c}"

    @invariant()
    def no_resident_pays_abroad_more_than_the_yearly_limit_and_the_ledger_counts_it(self) -> None:
        model: dict[tuple[str, int], Fraction] = defaultdict(Fraction)
        for _, at, _, legs in self.effective():
            for r in {self.owner(a) for leg in legs for a in (leg.debit, leg.credit)}:
                if not self.policy.is_limited(self.people[r]):
                    continue
                paid = sum((self.usd(l) for l in legs if self.owner(l.debit) == r and self.abroad(r, self.owner(l.credit))), Fraction(0))
                back = sum((self.usd(l) for l in legs if self.owner(l.credit) == r and self.abroad(r, self.owner(l.debit))), Fraction(0))
                if paid > back:
                    year = parse_iso(at).astimezone(ZoneInfo(self.policy.timezone[self.people[r].jurisdiction])).year
                    model[(r, year)] += paid - back
        counted: dict[tuple[str, int], int] = defaultdict(int)
        for _, participant, year, usd in self.ledger._store.reading(lambda uow: uow.controls.control_rows()).outflows:
            counted[(participant, year)] += usd
        for key, amount in model.items():
            assert amount <= self.policy.outflow_limit_usd, f"{key}: USD {float(amount) / 100:,.2f} left Korea in the year"
            assert counted[key] >= amount, f"{key}: counted {counted[key]} cents, but {float(amount):.0f} left Korea"

    @invariant()
    def no_sliding_hour_converts_out_of_krws_more_than_a_tenth_of_the_least_supply(self) -> None:
        krws = self.assets["KRWS"]
        issuance = f"{krws.issuer}:KRWS"
        per_krws = self.policy.rates.usd_minor(1, krws.exponent, krws.currency)
        share = self.policy.breaker_share
        records: dict[str, tuple[str, int]] = {}
        supply: list[tuple[str, int]] = []
        current = 0

        def converted(tx: Tx, legs: tuple[Leg, ...]) -> int:
            krw: dict[str, int] = defaultdict(int)
            other: dict[str, Fraction] = defaultdict(Fraction)
            debtors = {self.owner(l.debit) for l in legs}
            for l in legs:
                d, c = self.owner(l.debit), self.owner(l.credit)
                if d == c:
                    continue
                if l.asset == "KRWS":
                    if self.people[d].jurisdiction == "KR" and self.people[c].jurisdiction != "KR":
                        krw[c] += l.amount
                    elif self.people[c].jurisdiction == "KR" and self.people[d].jurisdiction != "KR":
                        krw[d] -= l.amount
                elif self.assets[l.asset].currency != "KRW":
                    other[d] += self.usd(l) / per_krws
                    other[c] -= self.usd(l) / per_krws
            net = 0
            for x, k in krw.items():
                if x not in debtors:
                    continue
                if k > 0 and other[x] > 0:
                    at_quote = tx.quote is not None and x == self.policy.dealer
                    net += min(k, math.ceil(other[x])) if at_quote else k  # off a firm quote: its whole value
                elif k < 0 and other[x] < 0:
                    net -= min(-k, math.floor(-other[x]))
            return net

        for entry, _ in self.ledger._store.stream_journal():
            tx, at = entry.tx, entry.at
            if tx.kind in ("post", "void", "expire"):
                held_at, _ = records.get(tx.ref or "", (None, 0))
                if held_at is not None:
                    records[tx.ref or ""] = (held_at, converted(self.ledger.transaction(tx.ref or "").tx, tx.legs) if tx.kind == "post" else 0)
            elif tx.legs:
                records[tx.id] = (at, converted(tx, tx.legs))
            if tx.kind != "hold":
                change = sum(l.amount for l in tx.legs if l.debit == issuance) - sum(l.amount for l in tx.legs if l.credit == issuance)
                if change:
                    current += change
                    supply.append((at, current))
            if tx.kind in ("post", "void", "expire") or not tx.legs or records[tx.id][1] <= 0:
                continue
            since = iso(parse_iso(at) - timedelta(seconds=self.policy.breaker_window_s))
            net = sum(amount for when, amount in records.values() if since < when <= at)
            before = [s for when, s in supply if when <= since]
            seen = ([before[-1]] if before else []) + [s for when, s in supply if since < when <= at]
            least = min((s for s in seen if s > 0), default=0)
            assert net * share.denominator <= least * share.numerator, f"{tx.id}: {net} KRWS out in the hour against {least}"

    @invariant()
    def at_a_firm_quote_the_dealer_keeps_at_most_its_spread_and_fee(self) -> None:
        dealer = self.policy.dealer
        bound = Fraction(self.policy.spread_bps + self.policy.fee_bps, 10_000)
        for tx_id, _, tx, legs in self.effective():
            if tx.quote is None or not legs:
                continue
            into = sum((self.usd(l) for l in legs if self.owner(l.credit) == dealer and self.owner(l.debit) != dealer), Fraction(0))
            out = sum((self.usd(l) for l in legs if self.owner(l.debit) == dealer and self.owner(l.credit) != dealer), Fraction(0))
            assert into - out <= into * bound + 2, f"{tx_id}: the dealer kept USD {float(into - out) / 100:,.2f} of USD {float(into) / 100:,.2f}"


TrustMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("TRUST_MACHINE_EXAMPLES", "10")),
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
TestTrustHoldsAgainstColludersAndTheDatabase = TrustMachine.TestCase
