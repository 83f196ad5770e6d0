"""issuer register, mint, redeem and report supply from the command line."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Ledger


def test_mint_redeem_and_the_supply_report_from_the_cli(wl: Ledger) -> None:
    minted = wl("--json", "mint", "KRWS", "1,000,000", "--to", "alice", "--pay-with", "dKRW.hanriver").ok().json()
    assert [leg["asset"] for leg in minted["legs"]] == ["dKRW.hanriver", "KRWS"]
    wl("redeem", "KRWS", "400000", "--from", "alice", "--to-asset", "dKRW.hanriver").ok()
    report = {r["asset"]: r for r in wl("--json", "report", "supply").ok().json()["assets"]}
    assert set(report["KRWS"]) == {"asset", "issuer", "supply", "reserve", "reserve_assets", "ratio"}
    assert report["KRWS"]["supply"] == report["KRWS"]["reserve"] == 10_000_600_000
    assert "KRWS" in wl("report", "supply").ok().stdout
    wl("verify").ok()


def test_policy_refusals_from_the_cli_change_nothing(wl: Ledger) -> None:
    before = wl.state()
    wl("issuer", "register", "kpay", "--asset", "KPAY", "--currency", "KRW").error("ISSUER_NOT_ELIGIBLE", exit_code=1)
    wl("transfer", "kstable:dKRW.hanriver:reserve", "hanriver:dKRW.hanriver", "1").error("RESERVE_SHORTFALL", exit_code=1)
    wl("mint", "KRWS", "1", "--to", "alice", "--pay-with", "dHKD.harbour").error("ASSET_MISMATCH", exit_code=2)
    wl("redeem", "KRWS", "5", "--from", "peakfx", "--to-asset", "dKRW.hanriver").error("RESIDENCY", exit_code=1)
    wl("mint", "KRWS", "6000000", "--to", "alice", "--pay-with", "dKRW.hanriver").error("INSUFFICIENT_FUNDS", exit_code=1)
    assert wl.state() == before


def test_a_registered_bank_mints_its_own_stablecoin_backed_by_another_banks_deposits(wl: Ledger) -> None:
    shown = wl("--json", "issuer", "register", "namsan", "--asset", "NAMS", "--currency", "KRW").ok().json()
    assert shown == {"issuer": "namsan", "asset": "NAMS", "currency": "KRW", "exponent": 0}
    wl("mint", "NAMS", "1000", "--to", "alice", "--pay-with", "dKRW.hanriver").ok()
    supply = {row["asset"]: row for row in wl("--json", "report", "supply").ok().json()["assets"]}
    assert supply["NAMS"]["reserve_assets"] == ["dKRW.hanriver"] and supply["NAMS"]["ratio"] == "1.0000"


def test_a_bank_cannot_back_its_stablecoin_with_its_own_deposit_token(wl: Ledger) -> None:
    wl("issuer", "register", "namsan", "--asset", "NAMS", "--currency", "KRW").ok()
    state = wl.state()
    # Its own deposits are its own liability: they back nothing (Hong Kong's Cap. 656; policy.toml [reserves]).
    wl("mint", "NAMS", "1000", "--to", "seoul-exports", "--pay-with", "dKRW.namsan").error("RESERVE_NOT_ELIGIBLE", exit_code=1)
    assert wl.state() == state
