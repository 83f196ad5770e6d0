"""Stablecoins: registered issuers only, minted and redeemed at par, always fully reserved.

Each test runs on SQLite and on the real PostgreSQL.
"""

from __future__ import annotations

import pytest

from wonledger import (
    AlreadyExists,
    AssetMismatch,
    InsufficientFunds,
    IssuerNotEligible,
    IssuerNotRegistered,
    Ledger,
    ReserveShortfall,
    Residency,
)
from wonledger.domain.model import Leg, Tx
from wonledger.flows import transfer_tx

ALICE = "alice:dKRW.hanriver"
RESERVE = "kstable:dKRW.hanriver:reserve"


def counters(ledger: Ledger) -> dict[str, tuple[int, int, int, int]]:
    return {a.id: (a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending) for a in ledger.registry.accounts()}


def supply(ledger: Ledger) -> dict[str, dict[str, object]]:
    return {row["asset"]: row for row in ledger.stablecoins.supply()}


def test_the_default_world_starts_with_every_stablecoin_fully_reserved(ledger: Ledger) -> None:
    report = supply(ledger)
    assert report["KRWS"] == {
        "asset": "KRWS", "issuer": "kstable", "supply": 10_000_000_000, "reserve": 10_000_000_000,
        "reserve_assets": ["dKRW.hanriver", "dKRW.namsan"], "ratio": "1.0000",
    }
    assert report["HKDS"]["supply"] == report["HKDS"]["reserve"] == 1_000_000_000  # 10,000,000.00 HKDS
    assert report["USDS"]["issuer"] == "usdco"
    assert ledger.registry.issuers() == {"HKDS": "victoria", "KRWS": "kstable", "USDS": "usdco"}


def test_a_mint_moves_deposit_tokens_into_the_reserve_and_stablecoins_out_at_par(ledger: Ledger) -> None:
    receipt = ledger.stablecoins.mint("KRWS", 1_000_000, "alice", "dKRW.hanriver")
    entry = ledger.transaction(receipt.id)
    assert {s.signer for s in entry.signatures} == {"alice", "kstable"}
    assert ledger.registry.account(ALICE).balance == 4_000_000
    assert ledger.registry.account("alice:KRWS").balance == 1_000_000
    assert ledger.registry.account(RESERVE).balance == 10_001_000_000
    assert supply(ledger)["KRWS"]["supply"] == supply(ledger)["KRWS"]["reserve"] == 10_001_000_000
    assert ledger.verify().ok


def test_a_redemption_pays_back_at_par_from_the_reserve(ledger: Ledger) -> None:
    ledger.stablecoins.mint("KRWS", 1_000_000, "alice", "dKRW.hanriver")
    ledger.stablecoins.redeem("KRWS", 400_000, "alice", "dKRW.hanriver")
    assert ledger.registry.account("alice:KRWS").balance == 600_000
    assert ledger.registry.account(ALICE).balance == 4_400_000
    assert supply(ledger)["KRWS"]["supply"] == 10_000_600_000
    with pytest.raises(InsufficientFunds):
        ledger.stablecoins.redeem("KRWS", 600_001, "alice", "dKRW.hanriver")


def test_nothing_may_take_the_reserve_below_supply_whoever_signs_it(ledger: Ledger) -> None:
    before = counters(ledger)
    with pytest.raises(ReserveShortfall):  # the issuer itself draining its reserve
        ledger.payments.transfer(RESERVE, "hanriver:dKRW.hanriver", 1)
    with pytest.raises(ReserveShortfall):  # minting without paying in
        ledger.payments.transfer("kstable:KRWS", "peakfx:KRWS", 1)
    with pytest.raises(ReserveShortfall):  # a hold on the reserve counts against it too
        ledger.payments.transfer(RESERVE, "hanriver:dKRW.hanriver", 1, hold_timeout_s=60)
    outcome = ledger.submit_many([ledger.sign(transfer_tx(ledger.id, "victoria:HKDS", "peakfx:HKDS", "HKDS", 1))])
    assert isinstance(outcome[0], ReserveShortfall)
    assert counters(ledger) == before


def test_a_mint_that_pays_in_exactly_enough_in_the_same_transaction_is_accepted(ledger: Ledger) -> None:
    tx = Tx(
        ledger=ledger.id, id="hand-mint", kind="mint",
        legs=(Leg(ALICE, RESERVE, "dKRW.hanriver", 5), Leg("kstable:KRWS", "peakfx:KRWS", "KRWS", 5)),
    )
    ledger.submit(ledger.sign(tx))
    assert supply(ledger)["KRWS"]["ratio"] == "1.0000"


def test_only_eligible_participants_register_as_issuers(ledger: Ledger) -> None:
    with pytest.raises(IssuerNotEligible):
        ledger.registry.register_issuer("kpay", "KPAY", "KRW")
    with pytest.raises(IssuerNotEligible):
        ledger.registry.register_issuer("alice", "ALICE", "KRW")
    assert "KPAY" not in {a.code for a in ledger.registry.assets()}
    coin = ledger.registry.register_issuer("namsan", "NAMS", "KRW")
    assert (coin.kind, coin.exponent, coin.issuer) == ("stablecoin", 0, "namsan")
    with pytest.raises(AlreadyExists):
        ledger.registry.register_issuer("namsan", "NAMS", "KRW")
    ledger.stablecoins.mint("NAMS", 1_000, "alice", "dKRW.hanriver")
    assert supply(ledger)["NAMS"]["reserve_assets"] == ["dKRW.hanriver"]


def test_minting_for_an_issuer_whose_registration_is_gone_is_refused(ledger: Ledger) -> None:
    ledger._store.writing(lambda uow: uow.conn.exec_driver_sql("DELETE FROM issuers WHERE asset = 'KRWS'"))
    with pytest.raises(IssuerNotRegistered):
        ledger.stablecoins.mint("KRWS", 1, "alice", "dKRW.hanriver")


def test_par_needs_one_currency_and_a_holder_who_may_hold_the_tokens(ledger: Ledger) -> None:
    before = counters(ledger)
    with pytest.raises(AssetMismatch):
        ledger.stablecoins.mint("KRWS", 1, "alice", "dHKD.harbour")
    with pytest.raises(AssetMismatch):
        ledger.stablecoins.mint("dKRW.namsan", 1, "alice", "dKRW.hanriver")
    with pytest.raises(Residency):  # a Hong Kong dealer cannot redeem into Korean deposit tokens
        ledger.stablecoins.redeem("KRWS", 1, "peakfx", "dKRW.hanriver")
    assert counters(ledger) == before


def test_verify_reports_a_reserve_drained_behind_the_ledgers_back(ledger: Ledger) -> None:
    ledger._store.writing(
        lambda uow: uow.conn.exec_driver_sql(
            "UPDATE accounts SET debits_posted = debits_posted + 1 WHERE id = 'kstable:dKRW.hanriver:reserve'"
        )
    )
    kinds = {p.kind for p in ledger.verify().problems}
    assert "reserve" in kinds and "counters" in kinds
