"""transfer --hold --condition --deadline --partner, fulfil and reject, as a user runs them (real processes where that is the point)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Ledger

ALICE = "alice:dKRW.hanriver"
BANK = "hanriver:dKRW.hanriver"
PREIMAGE = "5f" * 32
CONDITION = hashlib.sha256(bytes.fromhex(PREIMAGE)).hexdigest()


def in_minutes(n: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def conditional(wl: Ledger, hold_id: str, *extra: str) -> list[str]:
    return ["transfer", ALICE, BANK, "1,000", "--hold", "--condition", CONDITION, "--deadline", in_minutes(10),
            "--partner", f"wl-partner01:{hold_id}-far", "--id", hold_id, *extra]


def test_a_conditional_hold_made_and_fulfilled_in_real_processes_refuses_a_wrong_preimage_and_verifies(sh: Ledger) -> None:
    before = sh.balances()
    made = sh(*conditional(sh, "c1")).ok()
    assert made.stdout.startswith("pending  c1  hold")
    assert f"condition: sha256 {CONDITION}" in made.stdout and "hold c1-far on ledger wl-partner01" in made.stdout
    assert "does not hash to hold c1's condition" in sh("fulfil", "c1", "00" * 32).error("CONDITION_NOT_MET", exit_code=1)
    sh("void", "c1").error("CONDITION_NOT_MET", exit_code=1)
    fulfilled = sh("fulfil", "c1", PREIMAGE, "--by", "kowloon-supply", "--id", "f-1").ok()
    assert f"preimage: {PREIMAGE}" in fulfilled.stdout and "signed: kowloon-supply" in fulfilled.stdout
    after = sh.balances()
    assert after[ALICE]["balance"] == before[ALICE]["balance"] - 1000 and after[BANK]["balance"] == before[BANK]["balance"] + 1000
    assert sh.tx("c1")["status"] == "fulfilled"
    sh("fulfil", "c1", PREIMAGE, "--id", "f-2").error("HOLD_NOT_PENDING", exit_code=1)
    sh("verify").ok()


def test_a_conditional_hold_is_rejected_by_its_creditor_and_shows_as_rejected(wl: Ledger) -> None:
    wl(*conditional(wl, "c2")).ok()
    rejected = wl("--json", "reject", "c2", "--id", "r-1").ok().json()
    assert rejected["kind"] == "reject" and rejected["released"] == [{"account": ALICE, "asset": "dKRW.hanriver", "amount": 1000}]
    shown = wl.tx("c2")
    assert (shown["status"], shown["condition"], shown["partner"]) == ("rejected", {"sha256": CONDITION}, {"ledger": "wl-partner01", "hold": "c2-far"})
    wl("verify").ok()


def test_conditional_options_that_do_not_fit_together_are_refused_before_anything_is_written(wl: Ledger) -> None:
    state = wl.state()
    assert wl("transfer", ALICE, BANK, "1", "--condition", CONDITION).exit_code == 2  # no --hold, no deadline, no partner
    assert wl(*conditional(wl, "c3", "--timeout", "60")).exit_code == 2
    assert wl(*[a if a != CONDITION else CONDITION[:-1] for a in conditional(wl, "c4")]).exit_code == 2
    assert wl(*[a if a != "wl-partner01:c5-far" else "no-colon" for a in conditional(wl, "c5")]).exit_code == 2
    wl(*[a if not a.endswith("Z") else "2020-01-01T00:00:00.000000Z" for a in conditional(wl, "c6")]).error("BAD_INPUT", exit_code=2)
    assert wl("fulfil", "c1", "xyz").exit_code == 2
    assert wl.state() == state
