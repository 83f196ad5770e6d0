"""The two operators' worlds: each ledger holds its own jurisdiction, the dealer holds accounts on both, and each verifies."""

from __future__ import annotations

from pathlib import Path

import pytest

from wonledger import Ledger


def _make(tmp_path: Path, world: str) -> Ledger:
    return Ledger.create(f"sqlite:///{tmp_path / f'{world}.db'}", tmp_path / f"{world}-keys", world=world)


@pytest.mark.parametrize("world", ["kr", "hk"])
def test_each_operators_world_verifies_from_its_journal(tmp_path: Path, world: str) -> None:
    with _make(tmp_path, world) as ledger:
        assert ledger.verify().ok


def test_the_korean_ledger_holds_won_assets_and_no_hong_kong_customer(tmp_path: Path) -> None:
    with _make(tmp_path, "kr") as ledger:
        assets = {a.code for a in ledger.registry.assets()}
        people = {p.id: p for p in ledger.registry.participants()}
    assert assets == {"wKRW", "dKRW.hanriver", "dKRW.namsan", "KRWS"}
    # Of Hong Kong only the dealer (and the authority that vouches for it): its customers are known by reference.
    assert {p for p, v in people.items() if v.jurisdiction == "HK"} == {"peakfx", "hkma"}


def test_the_hong_kong_ledger_holds_hkd_assets_and_no_korean_participant(tmp_path: Path) -> None:
    with _make(tmp_path, "hk") as ledger:
        assets = {a.code for a in ledger.registry.assets()}
        people = ledger.registry.participants()
    assert assets == {"dHKD.harbour", "dHKD.lantau", "HKDS"}
    assert {p.jurisdiction for p in people} == {"HK"}


def test_the_dealer_holds_won_stablecoins_on_one_ledger_and_hkd_stablecoins_on_the_other(tmp_path: Path) -> None:
    with _make(tmp_path, "kr") as kr, _make(tmp_path, "hk") as hk:
        on_kr = {a.id: a.balance for a in kr.balances(["peakfx"])}
        on_hk = {a.id: a.balance for a in hk.balances(["peakfx"])}
    assert on_kr == {"peakfx:KRWS": 10_000_000_000}
    assert on_hk == {"peakfx:HKDS": 1_000_000_000}
