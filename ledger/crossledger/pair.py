"""The pair check: two ledgers' conditional holds held to each other, payment by payment.

For every conditional hold of one ledger whose partner is the other, the
partner hold must exist and point back; both must carry the same hashlock
(H), the same quote and the same travel data (the far party named by
reference on each side); the amounts must agree under the quote's rounding
(:func:`wonledger.crossledger.quotes.bought_under`); the Korean deadline must
come after the Hong Kong one. Then the outcome: both fulfilled with the same
preimage (settled), or neither fulfilled (unwound, or still pending). Anything
else is HALF_DONE, naming the side that paid and the assumption that broke.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wonledger.crossledger.quotes import bought_under
from wonledger.crossledger.views import HoldView, SideView
from wonledger.domain.errors import LedgerError
from wonledger.domain.timestamps import iso, utc_now


@dataclass(frozen=True, slots=True)
class PairProblem:
    code: str  # HALF_DONE, PAIR_MISMATCH, INTEGRITY
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(slots=True)
class PairPayment:
    """One linked pair of holds (either may be missing) and what the check made of it."""

    kr_hold: str | None
    hk_hold: str | None
    outcome: str  # settled, unwound, pending, half-done, mismatched
    kr_status: str | None = None
    hk_status: str | None = None
    problems: list[PairProblem] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "kr_hold": self.kr_hold, "hk_hold": self.hk_hold, "outcome": self.outcome, "kr": self.kr_status, "hk": self.hk_status,
            "problems": [p.to_json() for p in self.problems],
        }


@dataclass(slots=True)
class PairReport:
    kr_ledger: str
    hk_ledger: str
    at: str
    payments: list[PairPayment] = field(default_factory=list)
    problems: list[PairProblem] = field(default_factory=list)  # of a side as a whole (a proof that fails, an entry twice ended)
    #: what the check took on trust, in words
    not_checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(not p.problems for p in self.payments)

    def all_problems(self) -> list[PairProblem]:
        return [*self.problems, *(q for p in self.payments for q in p.problems)]

    def to_json(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for p in self.payments:
            counts[p.outcome] = counts.get(p.outcome, 0) + 1
        return {
            "ok": self.ok, "kr_ledger": self.kr_ledger, "hk_ledger": self.hk_ledger, "at": self.at, "outcomes": counts,
            "payments": [p.to_json() for p in self.payments], "problems": [p.to_json() for p in self.problems],
            "not_checked": self.not_checked,
        }


def check_pair(kr: SideView, hk: SideView, now: datetime | None = None) -> PairReport:
    """Hold every linked pair of ``kr`` and ``hk`` to the protocol (``now``: when a pending hold counts as past its deadline)."""
    moment = iso(now or utc_now())
    report = PairReport(kr.ledger, hk.ledger, moment)
    report.problems += [PairProblem("INTEGRITY", f"{side.ledger}: {p}") for side in (kr, hk) for p in side.problems]
    seen: set[str] = set()
    for k in kr.holds.values():
        h = hk.holds.get(k.partner_hold)
        if h is not None:
            seen.add(h.id)
        report.payments.append(_payment(k, h, kr, hk, moment))
    for h in hk.holds.values():
        if h.id not in seen:
            report.payments.append(_payment(None, h, kr, hk, moment))
    return report


def _payment(k: HoldView | None, h: HoldView | None, kr: SideView, hk: SideView, now: str) -> PairPayment:
    ks, hs = _status(k, now), _status(h, now)
    payment = PairPayment(k.id if k else (h.partner_hold if h else None), h.id if h else (k.partner_hold if k else None), "", ks, hs)
    if k is not None and h is not None:
        payment.problems += _terms(k, h, kr, hk)
    elif h is not None:
        payment.problems.append(
            PairProblem("PAIR_MISMATCH", f"hk hold {h.id} names kr hold {h.partner_hold}, which ledger {kr.ledger} does not hold: "
                        "the dealer's hold was made without the payer's (the Korean hold must commit first)")
        )
    payment.outcome, half = _outcome(k, h, ks, hs)
    if half:
        payment.problems.append(PairProblem("HALF_DONE", half))
    elif payment.problems:
        payment.outcome = "mismatched"
    return payment


def _status(hold: HoldView | None, now: str) -> str | None:
    if hold is None:
        return None
    if hold.status == "pending" and now >= hold.deadline:
        return "expired"  # past its deadline it can only expire: the ledger records it at its next write
    return hold.status


def _terms(k: HoldView, h: HoldView, kr: SideView, hk: SideView) -> list[PairProblem]:
    """What two linked holds must share, each difference named."""
    found: list[str] = []
    if (h.partner_ledger, h.partner_hold) != (kr.ledger, k.id):
        found.append(f"hk hold {h.id} names {h.partner_ledger}:{h.partner_hold} as its partner, not {kr.ledger}:{k.id}")
    if k.condition != h.condition:
        found.append(f"the holds' hashlocks differ (kr {k.condition[:12]}…, hk {h.condition[:12]}…)")
    if k.quote != h.quote:
        found.append(f"the holds carry different quotes (kr {k.quote}, hk {h.quote})")
    found += _travel(k, h, kr.ledger, hk.ledger)
    found += _far_keys(k, h, kr, hk)
    if not k.deadline > h.deadline:
        found.append(f"the kr deadline {k.deadline} is not after the hk deadline {h.deadline}: a receiver fulfilling at the last moment leaves no time to relay")
    found += _amounts(k, h, kr, hk)
    return [PairProblem("PAIR_MISMATCH", f"{k.id} / {h.id}: {text}") for text in found]


def _travel(k: HoldView, h: HoldView, kr_ledger: str, hk_ledger: str) -> list[str]:
    near = ("id", "account", "kind", "jurisdiction")
    if not k.travel or not h.travel:
        return ["a hold carries no travel data"] if k.travel != h.travel else []
    found = []
    for role in ("originator", "beneficiary"):
        a, b = k.travel.get(role) or {}, h.travel.get(role) or {}
        if {f: a.get(f) for f in near} != {f: b.get(f) for f in near}:
            found.append(f"the holds name different {role}s ({a.get('id')} on kr, {b.get('id')} on hk)")
    if (k.travel.get("beneficiary") or {}).get("ledger") != hk_ledger:
        found.append(f"the kr hold's beneficiary is not named on ledger {hk_ledger}")
    if (h.travel.get("originator") or {}).get("ledger") != kr_ledger:
        found.append(f"the hk hold's originator is not named on ledger {kr_ledger}")
    return found


def _far_keys(k: HoldView, h: HoldView, kr: SideView, hk: SideView) -> list[str]:
    """Each hold names its far party by a public key that party has had on the other ledger."""
    found = []
    for hold, role, there in ((k, "beneficiary", hk), (h, "originator", kr)):
        party = (hold.travel or {}).get(role) or {}
        if there.keys is None or "public_key" not in party:
            continue
        if party["public_key"] not in there.keys.get(party.get("id", ""), []):
            found.append(f"hold {hold.id} names {party.get('id')} by key {party['public_key']}, which ledger {there.ledger} never registered for it")
    return found


def _amounts(k: HoldView, h: HoldView, kr: SideView, hk: SideView) -> list[str]:
    (sold_asset, sold), (bought_asset, bought) = k.amount(), h.amount()
    rate = (k.quote or {}).get("rate")
    if rate is None:
        return ["the holds carry no quote to hold their amounts to"]
    if sold_asset not in kr.exponents or bought_asset not in hk.exponents:
        return [f"the exponents of {sold_asset} and {bought_asset} are not known to the check"]
    try:
        expected = bought_under(rate, sold, kr.exponents[sold_asset], hk.exponents[bought_asset])
    except LedgerError as exc:
        return [exc.message]
    if bought != expected:
        return [f"{sold} {sold_asset} buy {expected} {bought_asset} (minor units) at rate {rate} after the fee, not {bought}"]
    return []


def _outcome(k: HoldView | None, h: HoldView | None, ks: str | None, hs: str | None) -> tuple[str, str | None]:
    """The pair's outcome, and the HALF_DONE message when one side paid and the other cannot."""
    if ks == "fulfilled" and hs == "fulfilled":
        assert k is not None and h is not None
        if k.preimage != h.preimage:
            return "half-done", "both holds fulfilled, with different preimages: one ledger took a preimage that is not H's"
        return "settled", None
    if hs == "fulfilled" and ks == "pending":
        return "pending", None  # the relay is due before T_KR
    if "pending" in (ks, hs) and "fulfilled" not in (ks, hs):
        return "pending", None
    if hs == "fulfilled":
        why = {
            None: "there is no kr hold at all: the dealer paid without the payer's hold",
            "rejected": "the kr hold was rejected by its creditor (the dealer) while the hk hold could still be fulfilled",
        }.get(ks, "the preimage, published on hk, did not reach kr before T_KR: the relay was later than the deadlines' gap allows "
                  "(clock skew, relay grace or commit time beyond their bound)")
        return "half-done", f"fulfilled on hk only (the dealer paid the receiver and was not paid); the kr hold is {ks or 'missing'}: {why}"
    if ks == "fulfilled":
        why = (
            "there is no hk hold: the payer paid without the dealer's hold" if hs is None else
            f"the hk hold {hs}: the preimage reached kr without being used on hk first (the receiver revealed it and did not fulfil in time)"
        )
        return "half-done", f"fulfilled on kr only (the payer paid the dealer, the receiver was not paid); {why}"
    return "unwound", None


__all__ = ["PairPayment", "PairProblem", "PairReport", "check_pair"]
