"""deposit, withdraw and pay from the command line."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Ledger


def test_deposit_withdraw_and_a_cross_bank_payment_from_the_cli(wl: Ledger) -> None:
    shown = wl("--json", "deposit", "alice", "100,000", "--bank", "namsan").ok().json()
    assert shown["kind"] == "deposit" and shown["legs"][0]["credit"] == "alice:dKRW.namsan"
    wl("withdraw", "alice", "100000", "--bank", "namsan").ok()
    paid = wl("--json", "pay", "alice", "seoul-exports", "1500000", "--memo", "invoice 9").ok().json()
    assert [leg["asset"] for leg in paid["legs"]] == ["dKRW.hanriver", "wKRW", "dKRW.namsan"]
    balances = wl.balances()
    assert balances["alice:dKRW.hanriver"]["balance"] == 3_500_000
    assert balances["alice:dKRW.namsan"]["balance"] == 0
    assert balances["seoul-exports:dKRW.namsan"]["balance"] == 2_001_500_000
    assert wl("verify").ok()


def test_paying_a_non_resident_in_deposit_tokens_is_refused_and_changes_nothing(wl: Ledger) -> None:
    before = wl.state()
    wl("account", "open", "kowloon-supply", "dKRW.hanriver").error("RESIDENCY", exit_code=1)
    wl("deposit", "kowloon-supply", "5", "--bank", "hanriver").error("RESIDENCY", exit_code=1)
    wl("pay", "alice", "kowloon-supply", "5").error("UNKNOWN_ACCOUNT", exit_code=2)
    assert wl.state() == before


def test_a_payment_beyond_the_payers_tokens_is_refused(wl: Ledger) -> None:
    before = wl.state()
    wl("pay", "alice", "seoul-exports", "5000001").error("INSUFFICIENT_FUNDS", exit_code=1)
    wl("deposit", "alice", "5", "--bank", "nobank").error("UNKNOWN_PARTICIPANT", exit_code=2)
    wl("deposit", "alice", "5", "--bank", "kstable").error("BAD_INPUT", exit_code=2)
    wl("deposit", "alice", "1.5", "--bank", "hanriver").error("BAD_AMOUNT", exit_code=2)
    assert wl.state() == before
