"""What the end of a hold released is the rulebook's effect, leg by leg: released + posted = held for every leg.

Holds of one to four legs, several of them between the same two accounts in
the same asset (as a swap's main leg and its fee leg are), ended by a full
post, a partial post (one-leg holds), a void or an expiry. For each, the
receipt (what `post` and `void` print and return as JSON) and the lookup of
the stored entry (what `tx show` and `history` print) say, leg by leg in the
hold's order, what went back: each held leg less what was posted of that
very leg, nothing for a leg posted in full. The bug this replaced keyed legs
by (debit, credit, asset), so a full post of a swap hold with a fee leg
"released" the difference between the main leg and the fee.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wonledger.domain.model import Leg, Tx
from wonledger.testing import ManualClock, fresh_ledger

PAIRS = (
    ("alice:dKRW.hanriver", "hanriver:dKRW.hanriver", "dKRW.hanriver"),
    ("seoul-exports:dKRW.namsan", "namsan:dKRW.namsan", "dKRW.namsan"),
)
LEGS = st.lists(st.tuples(st.sampled_from(PAIRS), st.integers(1, 100_000)), min_size=1, max_size=4)
ENDS = st.sampled_from(("post", "part", "void", "expire"))


def expected(held: tuple[Leg, ...], posted: tuple[Leg, ...]) -> list[Leg]:
    out = []
    for n, leg in enumerate(held):
        rest = leg.amount - (posted[n].amount if posted else 0)
        assert rest >= 0
        if rest:
            out.append(Leg(leg.debit, leg.credit, leg.asset, rest))
    return out


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(legs=LEGS, end=ENDS, share=st.integers(0, 100))
def test_what_a_hold_released_plus_what_was_posted_is_what_it_held_leg_by_leg(legs: list, end: str, share: int) -> None:
    clock = ManualClock()
    with fresh_ledger(clock=clock) as ledger:
        held = tuple(Leg(d, c, a, amount) for (d, c, a), amount in legs)
        hold = Tx(ledger=ledger.id, id="h", kind="hold", legs=held, timeout_s=60)
        ledger._book.submit(ledger.sign(hold, sorted({leg.debit.split(":")[0] for leg in held})))
        posted: tuple[Leg, ...] = ()
        if end == "expire":
            clock.advance(61)
            ledger.holds.expire_due()
            ending = ledger.transaction("_expire:h")
            released_now = None
        elif end == "void":
            receipt = ledger.holds.void("h", tx_id="end")
            ending, released_now = ledger.transaction("end"), receipt.released
        else:
            amount = None
            if end == "part" and len(held) == 1:
                amount = held[0].amount * share // 100
            if amount == 0:
                amount = None
            receipt = ledger.holds.post("h", amount, tx_id="end")
            ending, released_now = ledger.transaction("end"), receipt.released
            posted = ending.tx.legs
        want = expected(held, posted)
        if released_now is not None:
            assert list(released_now) == want  # the receipt: the rulebook's effect
        assert list(ledger.holds.released_by(ending)) == want  # tx show, history: the same, from the stored entry
        for n, leg in enumerate(held):
            back = leg.amount - (posted[n].amount if posted else 0)
            assert back + (posted[n].amount if posted else 0) == leg.amount


def test_a_full_post_of_a_swap_hold_with_its_fee_leg_releases_nothing() -> None:
    """The issue's receipt: main leg and fee leg run between the same accounts; a full post gives nothing back."""
    with fresh_ledger() as ledger:
        ledger.stablecoins.mint("HKDS", 500_00, "kowloon-supply", "dHKD.harbour")
        ledger.crossborder.swap("kowloon-supply", 100_00, "HKDS", "USDS", hold_timeout_s=120, tx_id="pvp-1")
        held = ledger.transaction("pvp-1").tx.legs
        assert (held[0].debit, held[0].credit) == (held[1].debit, held[1].credit)  # the main leg and the fee leg
        receipt = ledger.holds.post("pvp-1", tx_id="post-pvp-1")
        assert receipt.released == ()
        assert ledger.holds.released_by(ledger.transaction("post-pvp-1")) == ()
