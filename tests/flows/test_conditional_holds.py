"""Conditional holds: one leg of a payment across two ledgers, locked by a SHA-256 condition until an absolute deadline.

Fulfilled only whole, by the preimage, before the deadline (anyone registered
may relay it); rejected before it only by all its creditors; expired by the
ledger at it; never posted or voided. Every end replays in ``verify``, and the
controls count a conditional hold when it is made and give it back when it
does not go through. The partner ledger is data here: the default world holds
both jurisdictions. The tests that prove the whole cycle run on SQLite and on
PostgreSQL; the others on SQLite.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from wonledger import (
    BadInput,
    ConditionalHold,
    ConditionNotMet,
    HoldNotPending,
    Ledger,
    Party,
    QuoteTerms,
    Receipt,
    Travel,
    TravelRule,
)
from wonledger.domain.model import EXPIRE, Leg, Tx
from wonledger.domain.timestamps import iso
from wonledger.flows import fulfil_tx
from wonledger.testing import ManualClock

PREIMAGE = bytes(range(32))
CONDITION = hashlib.sha256(PREIMAGE).digest()
ALICE = "alice:dKRW.hanriver"
BANK = "hanriver:dKRW.hanriver"
PARTNER = "wl-partner0001"
FAR_KEY = base64.urlsafe_b64encode(bytes([7]) * 32).rstrip(b"=").decode()


@pytest.fixture
def kr(sqlite_ledger_dir, clock: ManualClock) -> Iterator[Ledger]:
    """A ledger of the default world on SQLite, its commit times read from ``clock``."""
    base: Path = sqlite_ledger_dir("default")
    ledger = Ledger.open(f"sqlite:///{base / 'wonledger.db'}", base / "keys", clock)
    yield ledger
    ledger.close()


def deadline(clock: ManualClock, seconds: float = 300) -> str:
    return iso(clock() + timedelta(seconds=seconds))


def make(ledger: Ledger, clock: ManualClock, hold_id: str = "c1", seconds: float = 300, amount: int = 1000, **terms: Any) -> Receipt:
    return ledger.holds.make_conditional(
        terms.pop("source", ALICE), terms.pop("destination", BANK), amount, condition=CONDITION, deadline=deadline(clock, seconds),
        partner_ledger=PARTNER, partner_hold=f"{hold_id}-far", tx_id=hold_id, **terms,
    )


def counters(ledger: Ledger, *ids: str) -> dict[str, tuple[int, int, int, int]]:
    return {a.id: (a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending) for a in ledger.registry.accounts() if a.id in ids}


def status(ledger: Ledger, hold_id: str) -> ConditionalHold:
    found = ledger.holds.conditional(hold_id)
    assert found is not None
    return found


def control_sums(ledger: Ledger) -> tuple[int, int, int]:
    """Outflows, net conversions and cross-border movements as the control tables add them up (USD cents, KRWS)."""

    def read(uow: Any) -> tuple[int, int, int]:
        return tuple(  # type: ignore[return-value]
            int(uow.conn.exec_driver_sql(f"SELECT COALESCE(SUM({col}), 0) FROM {table}").scalar())
            for table, col in (("outflows", "usd_minor"), ("conversions", "amount_out"), ("travel_movements", "usd_minor"))
        )

    return ledger._store.reading(read)


# -- the whole cycle, on both databases --------------------------------------------------------


def test_a_fulfil_a_reject_and_an_expiry_each_end_their_hold_and_all_of_them_replay_in_verify(timed: Ledger, clock: ManualClock) -> None:
    before = counters(timed, ALICE, BANK)
    assert make(timed, clock, "c-fulfil").expires_at == deadline(clock)
    make(timed, clock, "c-reject")
    make(timed, clock, "c-expire", seconds=60)
    assert counters(timed, ALICE, BANK)[ALICE][2] == before[ALICE][2] + 3000  # all three held

    timed.holds.fulfil("c-fulfil", PREIMAGE, tx_id="f-1")
    timed.holds.reject("c-reject", tx_id="r-1")
    clock.advance(60)
    assert status(timed, "c-expire").status == "expired"  # read before any write records it
    assert timed.holds.expire_due() == 1

    ends = {h.id: (h.status, h.finished_by, h.preimage) for h in timed.holds.conditionals(ALICE)}
    assert ends == {
        "c-fulfil": ("fulfilled", "f-1", PREIMAGE.hex()),
        "c-reject": ("rejected", "r-1", None),
        "c-expire": ("expired", "_expire:c-expire", None),
    }
    after = counters(timed, ALICE, BANK)
    assert after[ALICE] == (before[ALICE][0] + 1000, before[ALICE][1], before[ALICE][2], before[ALICE][3])  # only the fulfilled moved
    assert after[BANK][1] == before[BANK][1] + 1000
    report = timed.verify()
    assert report.ok, report.problems


@pytest.mark.parametrize(
    ("what", "old", "new"),
    [
        ("condition", CONDITION.hex(), hashlib.sha256(b"another").hexdigest()),
        ("preimage", PREIMAGE.hex(), bytes(32).hex()),
        ("deadline", None, None),
    ],
)
def test_a_condition_preimage_or_deadline_edited_in_the_database_fails_verify(
    timed: Ledger, clock: ManualClock, what: str, old: str | None, new: str | None
) -> None:
    make(timed, clock, "c1")
    timed.holds.fulfil("c1", PREIMAGE, tx_id="f-1")
    assert timed.verify().ok
    if what == "deadline":
        old, new = deadline(clock), deadline(clock, 3600)
    target = "f-1" if what == "preimage" else "c1"
    timed._store.writing(lambda uow: uow.conn.exec_driver_sql(f"UPDATE journal SET body = REPLACE(body, '{old}', '{new}') WHERE id = '{target}'"))
    edited = timed._store.reading(lambda uow: uow.conn.exec_driver_sql(f"SELECT body FROM journal WHERE id = '{target}'").scalar())
    assert new in edited  # the edit landed
    report = timed.verify()
    assert not report.ok
    assert any(p.tx == target for p in report.problems), report.problems


# -- fulfil -------------------------------------------------------------------------------------


def test_a_fulfil_with_the_wrong_preimage_is_refused_and_moves_nothing(kr: Ledger, clock: ManualClock) -> None:
    make(kr, clock)
    before = counters(kr, ALICE, BANK)
    with pytest.raises(ConditionNotMet, match="does not hash to hold c1's condition"):
        kr.holds.fulfil("c1", bytes(32))
    assert counters(kr, ALICE, BANK) == before
    assert status(kr, "c1").status == "pending"


def test_a_fulfil_at_the_deadline_is_refused_and_the_hold_can_only_expire(kr: Ledger, clock: ManualClock) -> None:
    make(kr, clock, seconds=30)
    clock.advance(30)  # commit time == deadline: too late
    with pytest.raises(ConditionNotMet, match=r"deadline .* has passed"):
        kr.holds.fulfil("c1", PREIMAGE)
    assert status(kr, "c1").status == "expired"  # the refused fulfil's write recorded the expiry first
    with pytest.raises(ConditionNotMet, match="expired"):
        kr.holds.fulfil("c1", PREIMAGE)


def test_a_fulfil_just_before_the_deadline_goes_through(kr: Ledger, clock: ManualClock) -> None:
    make(kr, clock, seconds=30)
    clock.advance(29, microseconds=999_999)
    kr.holds.fulfil("c1", PREIMAGE)
    assert status(kr, "c1").status == "fulfilled"


def test_a_hold_is_fulfilled_once_and_a_second_fulfil_is_refused(kr: Ledger, clock: ManualClock) -> None:
    make(kr, clock)
    kr.holds.fulfil("c1", PREIMAGE, tx_id="f-1")
    assert kr.holds.fulfil("c1", PREIMAGE, tx_id="f-1").duplicate  # the same fulfil again: its first receipt
    with pytest.raises(HoldNotPending, match="already fulfilled"):
        kr.holds.fulfil("c1", PREIMAGE, tx_id="f-2")
    with pytest.raises(HoldNotPending):
        kr.holds.reject("c1")


@pytest.mark.parametrize("legs", ["less", "other-account", "none"])
def test_a_fulfil_that_moves_other_than_the_whole_hold_is_refused(kr: Ledger, clock: ManualClock, legs: str) -> None:
    make(kr, clock, amount=1000)
    moved = {
        "less": (Leg(ALICE, BANK, "dKRW.hanriver", 999),),
        "other-account": (Leg(ALICE, "seoul-exports:dKRW.namsan", "dKRW.hanriver", 1000),),
        "none": (),
    }[legs]
    if not moved:
        with pytest.raises(BadInput, match="at least one leg"):  # the wire format itself refuses it
            kr.submit(kr.sign(fulfil_tx(kr.id, "c1", moved, PREIMAGE), ["hanriver"]))
        return
    signed = kr.sign(fulfil_tx(kr.id, "c1", moved, PREIMAGE, tx_id="f-part"), ["hanriver"])
    with pytest.raises(ConditionNotMet, match="fulfilled whole"):
        kr.submit(signed)
    assert status(kr, "c1").status == "pending"


def test_anyone_registered_may_relay_the_preimage(kr: Ledger, clock: ManualClock) -> None:
    make(kr, clock)
    kr.holds.fulfil("c1", PREIMAGE, tx_id="f-1", by="kowloon-supply")  # neither debtor nor creditor, on neither side of it
    assert [s.signer for s in kr.transaction("f-1").signatures] == ["kowloon-supply"]
    assert status(kr, "c1").status == "fulfilled"
    assert kr.verify().ok


def test_a_fulfil_signed_by_nobody_is_refused(kr: Ledger, clock: ManualClock) -> None:
    from wonledger import NotAuthorized

    make(kr, clock)
    hold = status(kr, "c1")
    with pytest.raises(NotAuthorized, match="signed by a registered participant"):
        kr.submit(kr.sign(fulfil_tx(kr.id, "c1", hold.legs, PREIMAGE), []))


# -- reject, post, void, expiry -------------------------------------------------------------------


def test_a_reject_by_the_debtor_is_refused_and_by_the_creditor_releases_the_hold(kr: Ledger, clock: ManualClock) -> None:
    from wonledger.flows import reject_tx

    make(kr, clock)
    before = counters(kr, ALICE, BANK)
    with pytest.raises(ConditionNotMet, match=r"all its creditors .*hanriver.*a debtor may not pull its leg back"):
        kr.submit(kr.sign(reject_tx(kr.id, "c1"), ["alice"]))
    assert counters(kr, ALICE, BANK) == before
    kr.holds.reject("c1")
    assert counters(kr, ALICE, BANK)[ALICE][2] == before[ALICE][2] - 1000
    assert status(kr, "c1").status == "rejected"


def test_a_reject_after_the_deadline_is_refused(kr: Ledger, clock: ManualClock) -> None:
    make(kr, clock, seconds=10)
    clock.advance(11)
    with pytest.raises(ConditionNotMet, match="expired"):
        kr.holds.reject("c1")
    assert status(kr, "c1").status == "expired"


def test_a_conditional_hold_is_never_posted_or_voided(kr: Ledger, clock: ManualClock) -> None:
    make(kr, clock)
    with pytest.raises(ConditionNotMet, match="never posted"):
        kr.holds.post("c1")
    with pytest.raises(ConditionNotMet, match="never voided"):
        kr.holds.void("c1")
    assert status(kr, "c1").status == "pending"


def test_fulfil_and_reject_are_refused_on_a_hold_with_a_timeout(kr: Ledger) -> None:
    kr.payments.transfer(ALICE, BANK, 1000, hold_timeout_s=60, tx_id="plain")
    with pytest.raises(BadInput, match="has no condition"):
        kr.holds.fulfil("plain", PREIMAGE)
    with pytest.raises(BadInput, match="has no condition"):
        kr.holds.reject("plain")


def test_the_ledger_expires_a_conditional_hold_at_its_deadline_and_the_rules_refuse_an_earlier_expiry(kr: Ledger, clock: ManualClock) -> None:
    make(kr, clock, seconds=30)
    clock.advance(29)
    assert kr.holds.expire_due() == 0  # not due before the deadline

    def decide_expiry_now(uow: Any) -> None:
        book = kr._book
        now = iso(clock())
        expiry = Tx(ledger=kr.id, id="_expire:c1", kind=EXPIRE, legs=(), ref="c1")
        from wonledger.domain.model import SignedTx
        from wonledger.domain.signing import canonical_bytes

        state = book._load(uow, [SignedTx(expiry, (), canonical_bytes(expiry.to_wire()))], now)
        book.rules.decide(state, expiry, {}, now, system=True)

    with pytest.raises(ConditionNotMet, match="does not expire before"):
        kr._store.reading(decide_expiry_now)
    clock.advance(1)
    assert kr.holds.expire_due() == 1
    assert status(kr, "c1").status == "expired"
    assert kr.verify().ok


# -- the deadline when the hold is made ---------------------------------------------------------


def test_a_hold_whose_deadline_has_passed_when_it_is_made_is_refused(kr: Ledger, clock: ManualClock) -> None:
    with pytest.raises(BadInput, match="is not after its commit time"):
        make(kr, clock, seconds=-1)
    with pytest.raises(BadInput, match="is not after its commit time"):
        make(kr, clock, seconds=0)
    assert kr.holds.conditionals() == []


def test_a_hold_whose_deadline_is_more_than_366_days_off_is_refused(kr: Ledger, clock: ManualClock) -> None:
    with pytest.raises(BadInput, match="more than 366 days"):
        make(kr, clock, seconds=366 * 86400 + 1)
    make(kr, clock, seconds=365 * 86400)


# -- the controls ------------------------------------------------------------------------------------


def far_kowloon() -> Party:
    return Party("kowloon-supply", "kowloon-supply:HKDS", "corporate", "HK", ledger=PARTNER, public_key=FAR_KEY)


def krws_leg(kr: Ledger, clock: ManualClock, hold_id: str, amount: int = 2_000_000, quoted: bool = True, **terms: Any) -> Receipt:
    """alice's KRWS held for the dealer, the beneficiary on the partner ledger: the Korean leg of a payment across two ledgers."""
    quote = None
    if quoted:
        q = kr.crossborder.quote("KRWS", "HKDS", amount)
        quote = QuoteTerms(q.quote_id, q.rate, q.source, q.expires_at)
    travel = Travel(Party("alice", "alice:KRWS", "individual", "KR"), far_kowloon())
    return make(kr, clock, hold_id, amount=amount, source="alice:KRWS", destination="peakfx:KRWS", quote=quote, travel=travel, **terms)


def test_the_controls_count_a_conditional_hold_when_it_is_made_and_give_it_all_back_when_it_expires(kr: Ledger, clock: ManualClock) -> None:
    kr.stablecoins.mint("KRWS", 5_000_000, "alice", "dKRW.hanriver")
    base = control_sums(kr)
    krws_leg(kr, clock, "c1", seconds=60)
    outflow, converted, travelled = (now - then for now, then in zip(control_sums(kr), base, strict=True))
    assert outflow == travelled == 144_353 and converted == 2_000_000  # KRW 2,000,000 at 1,385.5 per USD, rounded up
    clock.advance(60)
    kr.holds.expire_due()
    assert control_sums(kr) == base  # alice's outflow, the breaker's conversions, the travel window: all given back
    assert kr.verify().ok


def test_a_rejected_conditional_hold_gives_its_count_back_and_a_fulfilled_one_keeps_it(kr: Ledger, clock: ManualClock) -> None:
    kr.stablecoins.mint("KRWS", 5_000_000, "alice", "dKRW.hanriver")
    base = control_sums(kr)
    krws_leg(kr, clock, "c1")
    kr.holds.reject("c1")  # peakfx, its creditor
    assert control_sums(kr) == base
    krws_leg(kr, clock, "c2")
    counted = control_sums(kr)
    kr.holds.fulfil("c2", PREIMAGE)
    assert control_sums(kr) == counted != base
    assert kr.verify().ok


def test_a_conditional_hold_across_a_border_names_its_party_on_the_partner_ledger_at_any_amount(kr: Ledger, clock: ManualClock) -> None:
    kr.stablecoins.mint("KRWS", 5_000_000, "alice", "dKRW.hanriver")
    with pytest.raises(TravelRule, match="names its party on the partner ledger, at any amount"):
        make(kr, clock, "c1", amount=10_000, source="alice:KRWS", destination="peakfx:KRWS")
    q = kr.crossborder.quote("KRWS", "HKDS", 10_000)
    with pytest.raises(BadInput, match="its travel data names its party on the partner ledger"):
        make(kr, clock, "c2", amount=10_000, source="alice:KRWS", destination="peakfx:KRWS", quote=QuoteTerms(q.quote_id, q.rate, q.source, q.expires_at))
    base = control_sums(kr)
    krws_leg(kr, clock, "c3", amount=10_000, quoted=False)  # a small one, with its far party: counted
    assert control_sums(kr)[0] > base[0]


def test_the_hong_kong_leg_counts_the_payer_on_the_partner_ledger_as_the_originator(kr: Ledger, clock: ManualClock) -> None:
    far_alice = Party("alice", "alice:KRWS", "individual", "KR", ledger=PARTNER, public_key=FAR_KEY)
    travel = Travel(far_alice, Party("kowloon-supply", "kowloon-supply:HKDS", "corporate", "HK"))
    kr.registry.open_account("kowloon-supply", "HKDS")
    base = control_sums(kr)
    make(kr, clock, "c-hk", amount=200_000, source="peakfx:HKDS", destination="kowloon-supply:HKDS", travel=travel)
    outflow, _, travelled = control_sums(kr)
    assert outflow == base[0]  # alice's outflow is her own ledger's to count
    assert travelled > base[2]
    rows = kr._store.reading(lambda uow: list(uow.conn.exec_driver_sql("SELECT originator, beneficiary FROM travel_movements WHERE seq = (SELECT MAX(seq) FROM travel_movements)")))
    assert [tuple(r) for r in rows] == [("alice", "kowloon-supply")]
    assert kr.verify().ok
