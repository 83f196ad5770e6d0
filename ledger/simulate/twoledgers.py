"""The demo's third route: a payment across two ledgers, each its own database, by the cross-ledger protocol.

:class:`TwoLedgers` makes the Korean operator's ledger (``DIR/kr/wonledger.db``,
keys in ``DIR/kr/keys``) and the Hong Kong operator's (``DIR/hk/...``: the
layout ``wonledger verify-pair --kr DIR/kr --hk DIR/hk`` reads), gives each
the other's signed card, and then runs each step of a payment when the
engine's simulated clock reaches it, as the driver of
:mod:`wonledger.crossledger.driver` runs them: the plan with the receiver's
hashlock and the protocol's deadlines, the dealer's firm quote, the payer's
conditional hold on Korea, the dealer's on Hong Kong, the receiver's
fulfilment with its preimage on Hong Kong, and the relay of that preimage, as
Hong Kong's journal published it, to Korea.

The driver talks to each ledger through a node process so that no process
writes both; here both ledgers live in the demo's one process, on its
simulated clock, and each step is one transaction of one database through
that ledger's facade: no transaction spans the two, and each ledger's
journal is what its own node would have written. At the end both verify and
the pair check (:func:`wonledger.crossledger.pair.check_pair`) holds them to
each other.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from wonledger.crossledger.pair import check_pair
from wonledger.crossledger.plan import DEFAULTS, Plan, condition_of, deadlines
from wonledger.crossledger.quotes import dealer_quote
from wonledger.crossledger.views import linked_entries, side_from_entries
from wonledger.domain.terms import QuoteTerms
from wonledger.domain.wire import parse_travel
from wonledger.service.facade import Ledger

KR_DIR, HK_DIR = "kr", "hk"
LEDGER_DB, KEYS_DIR = "wonledger.db", "keys"
SELL, BUY = "KRWS", "HKDS"


@dataclass(frozen=True, slots=True)
class PairCheck:
    """The two ledgers after the run: each one's own verify and the pair check."""

    kr_db: Path
    hk_db: Path
    kr_transactions: int
    hk_transactions: int
    kr_verified: bool
    hk_verified: bool
    pair_ok: bool
    #: outcome → payments (settled, unwound, pending, half-done, mismatched)
    outcomes: tuple[tuple[str, int], ...]
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.kr_verified and self.hk_verified and self.pair_ok


@dataclass(slots=True)
class _Payment:
    plan: Plan
    preimage: bytes


@dataclass(slots=True)
class TwoLedgers:
    """Both operators' ledgers of one demo run, and the payments under way between them."""

    kr: Ledger
    hk: Ledger
    kr_db: Path
    hk_db: Path
    payments: dict[str, _Payment] = field(default_factory=dict)

    @classmethod
    def create(cls, out: Path, clock: Callable[[], datetime]) -> TwoLedgers:
        """Both ledgers, fresh, in ``out/kr`` and ``out/hk``, each knowing the other by its operator's card."""
        made: list[Ledger] = []
        dbs: list[Path] = []
        try:
            for side, world in ((KR_DIR, "kr"), (HK_DIR, "hk")):
                folder = out / side
                folder.mkdir(parents=True, exist_ok=True)
                db = folder / LEDGER_DB
                for suffix in ("", "-wal", "-shm", "-journal"):  # a rerun starts fresh ledgers
                    Path(f"{db}{suffix}").unlink(missing_ok=True)
                dbs.append(db)
                made.append(Ledger.create(f"sqlite:///{db}", folder / KEYS_DIR, world=world, clock=clock))
            kr, hk = made
            kr.partners.add(hk.partners.card())
            hk.partners.add(kr.partners.card())
        except BaseException:
            for ledger in made:
                ledger.close()
            raise
        return cls(kr, hk, dbs[0], dbs[1])

    def close(self) -> None:
        self.kr.close()
        self.hk.close()

    # -- the protocol's steps, each one transaction of one ledger (the quote none) -------------------
    def plan(self, payment: str, payer: str, receiver: str, amount: int, memo: str) -> dict[str, Any]:
        """The receiver's hashlock, the deadlines and the dealer's firm quote for ``payment``; the quote (wire form)."""
        kr, hk = self.kr, self.hk
        preimage = secrets.token_bytes(32)  # the receiver's secret: nothing printed depends on it
        kr_deadline, hk_deadline = deadlines(kr.clock(), DEFAULTS)
        sold = next(a for a in kr.registry.assets() if a.code == SELL)
        quote = dealer_quote(
            hk, {"code": sold.code, "currency": sold.currency, "kind": sold.kind, "exponent": sold.exponent, "issuer": sold.issuer}, BUY, amount
        )
        plan = Plan(
            payment=payment, kr_ledger=kr.id, hk_ledger=hk.id, payer=payer, receiver=receiver, sell_asset=SELL, buy_asset=BUY,
            sell_amount=amount, condition=condition_of(preimage), kr_deadline=kr_deadline, hk_deadline=hk_deadline, memo=memo,
            quote=quote, travel_kr=self._travel(kr, hk, payer, receiver, local_first=True),
            travel_hk=self._travel(hk, kr, receiver, payer, local_first=False),
        )
        self.payments[payment] = _Payment(plan, preimage)
        return quote

    def kr_hold(self, payment: str) -> str:
        """The payer's KRWS held for the dealer on Korea until the preimage or T_KR."""
        plan = self.payments[payment].plan
        return self.kr.holds.make_conditional(
            f"{plan.payer}:{SELL}", f"{plan.quote['dealer']}:{SELL}", plan.sell_amount, condition=bytes.fromhex(plan.condition),
            deadline=plan.kr_deadline, partner_ledger=plan.hk_ledger, partner_hold=plan.hk_hold, quote=QuoteTerms(**plan.quote["terms"]),
            travel=parse_travel(plan.travel_kr), tx_id=plan.kr_hold, memo=plan.memo,
        ).id

    def hk_hold(self, payment: str) -> str:
        """The dealer's HKDS held for the receiver on Hong Kong until the preimage or T_HK (earlier than T_KR)."""
        plan = self.payments[payment].plan
        return self.hk.holds.make_conditional(
            f"{plan.quote['dealer']}:{BUY}", f"{plan.receiver}:{BUY}", plan.quote["buy_amount"], condition=bytes.fromhex(plan.condition),
            deadline=plan.hk_deadline, partner_ledger=plan.kr_ledger, partner_hold=plan.kr_hold, quote=QuoteTerms(**plan.quote["terms"]),
            travel=parse_travel(plan.travel_hk), tx_id=plan.hk_hold, memo=plan.memo,
        ).id

    def hk_fulfil(self, payment: str) -> str:
        """The receiver fulfils the dealer's hold with its preimage: it is paid, and the preimage is published."""
        found = self.payments[payment]
        plan = found.plan
        return self.hk.holds.fulfil(plan.hk_hold, found.preimage, tx_id=plan.tx_id("hk-fulfil"), by=plan.receiver).id

    def kr_relay(self, payment: str) -> str:
        """The preimage as Hong Kong's journal published it fulfils the payer's hold on Korea, relayed by the dealer."""
        plan = self.payments[payment].plan
        published = self.hk.holds.conditional(plan.hk_hold)
        if published is None or published.preimage is None:
            raise RuntimeError(f"the relay of {payment} found no preimage on Hong Kong")  # the steps run in order: a bug
        return self.kr.holds.fulfil(plan.kr_hold, bytes.fromhex(published.preimage), tx_id=plan.tx_id("kr-fulfil"), by=plan.quote["dealer"]).id

    # -- reading back ------------------------------------------------------------------------------------
    def lanes(self, side: str, tx_id: str) -> tuple[str, ...]:
        """The owners of the accounts ``tx_id`` moves on ledger ``side`` (``kr`` or ``hk``), each named with its ledger."""
        ledger = self.kr if side == KR_DIR else self.hk
        entry = ledger.transaction(tx_id)
        legs = entry.tx.legs
        if not legs and entry.tx.ref:  # a fulfil moves its hold's legs
            legs = ledger.transaction(entry.tx.ref).tx.legs
        owners: list[str] = []
        for leg in legs:
            for account in (leg.debit, leg.credit):
                owner = f"{account.split(':', 1)[0]} ({side.upper()})"
                if owner not in owners:
                    owners.append(owner)
        return tuple(owners)

    def check(self) -> PairCheck:
        """Each ledger's own verify, and the pair check on their linked holds (as ``verify-pair`` runs it)."""
        kr, hk = self.kr, self.hk
        sides = []
        for ledger, other in ((kr, hk), (hk, kr)):
            found = linked_entries(ledger, other.id)
            sides.append(side_from_entries(found["ledger"], found["entries"], found["exponents"], other.id))
        pair = check_pair(sides[0], sides[1], kr.clock())
        kr_report, hk_report = kr.verify(), hk.verify()
        counts = pair.to_json()["outcomes"]
        problems = [f"kr: {p.tx}: {p.kind}: {p.detail}" for p in kr_report.problems]
        problems += [f"hk: {p.tx}: {p.kind}: {p.detail}" for p in hk_report.problems]
        problems += [f"pair: {p.code}: {p.message}" for p in pair.all_problems()]
        return PairCheck(
            kr_db=self.kr_db, hk_db=self.hk_db, kr_transactions=kr_report.transactions, hk_transactions=hk_report.transactions,
            kr_verified=kr_report.ok, hk_verified=hk_report.ok, pair_ok=pair.ok, outcomes=tuple(sorted(counts.items())), problems=tuple(problems),
        )

    @staticmethod
    def _travel(near: Ledger, far: Ledger, here: str, there: str, *, local_first: bool) -> dict[str, Any]:
        """A hold's travel data: the party on ``near`` as it is registered, the one on ``far`` by reference from far's card."""
        me = near.registry.participant(here)
        local = {"id": me.id, "account": f"{me.id}:{SELL if local_first else BUY}", "kind": me.kind, "jurisdiction": me.jurisdiction}
        ref = near.partners.get(far.id).reference(there)
        remote = {
            "id": ref["id"], "account": f"{ref['id']}:{BUY if local_first else SELL}", "kind": ref["kind"],
            "jurisdiction": ref["jurisdiction"], "ledger": ref["ledger"], "public_key": ref["public_key"],
        }
        return {"originator": local, "beneficiary": remote} if local_first else {"originator": remote, "beneficiary": local}


__all__ = ["HK_DIR", "KR_DIR", "PairCheck", "TwoLedgers"]
