"""Tokenized deposits: tokenize, de-tokenize, pay across banks by burn-and-issue, residents only.

Each test runs on SQLite and on the real PostgreSQL.
"""

from __future__ import annotations

import pytest

from wonledger import AlreadyExists, HolderNotEligible, InsufficientFunds, Ledger, Participant, Residency
from wonledger.domain.model import account_id
from wonledger.flows import transfer_tx

ALICE = "alice:dKRW.hanriver"
SEOUL = "seoul-exports:dKRW.namsan"


def counters(ledger: Ledger) -> dict[str, tuple[int, int, int, int]]:
    return {a.id: (a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending) for a in ledger.registry.accounts()}


def test_a_bank_tokenizes_a_deposit_into_its_own_token_opening_the_account(ledger: Ledger) -> None:
    receipt = ledger.payments.deposit("alice", 70_000, "namsan")
    entry = ledger.transaction(receipt.id)
    # The account is opened with the deposit, so its owner signs beside the bank.
    assert entry.tx.kind == "deposit" and [s.signer for s in entry.signatures] == ["alice", "namsan"]
    assert ledger.registry.account("alice:dKRW.namsan").balance == 70_000
    assert ledger.registry.account("namsan:dKRW.namsan").balance == -2_000_070_000  # minus the outstanding supply
    assert ledger.verify().ok


def test_a_withdrawal_returns_tokens_to_the_bank_and_cannot_overdraw(ledger: Ledger) -> None:
    ledger.payments.withdraw("alice", 1_000_000, "hanriver")
    assert ledger.registry.account(ALICE).balance == 4_000_000
    before = counters(ledger)
    with pytest.raises(InsufficientFunds):
        ledger.payments.withdraw("alice", 4_000_001, "hanriver")
    assert counters(ledger) == before


def test_a_payment_within_one_bank_is_one_leg(ledger: Ledger) -> None:
    ledger.registry.open_account("seoul-exports", "dKRW.hanriver")
    receipt = ledger.payments.pay(ALICE, "seoul-exports:dKRW.hanriver", 40_000)
    assert len(ledger.transaction(receipt.id).tx.legs) == 1
    assert ledger.registry.account("seoul-exports:dKRW.hanriver").balance == 40_000


def test_a_payment_across_banks_burns_settles_in_wkrw_and_issues_in_one_transaction(ledger: Ledger) -> None:
    receipt = ledger.payments.pay(ALICE, SEOUL, 1_500_000, memo="invoice 9")
    entry = ledger.transaction(receipt.id)
    assert [(leg.debit, leg.credit, leg.asset) for leg in entry.tx.legs] == [
        (ALICE, "hanriver:dKRW.hanriver", "dKRW.hanriver"),
        ("hanriver:wKRW", "namsan:wKRW", "wKRW"),
        ("namsan:dKRW.namsan", SEOUL, "dKRW.namsan"),
    ]
    assert {s.signer for s in entry.signatures} == {"alice", "hanriver", "namsan"}
    assert ledger.registry.account(ALICE).balance == 3_500_000
    assert ledger.registry.account(SEOUL).balance == 2_001_500_000
    assert ledger.registry.account("hanriver:wKRW").balance == 100_000_000_000 - 1_500_000
    assert ledger.registry.account("namsan:wKRW").balance == 100_000_000_000 + 1_500_000
    assert ledger.verify().ok


def test_a_payment_the_payers_bank_cannot_settle_changes_nothing(ledger: Ledger) -> None:
    # hanriver sends almost all its central-bank money away, then alice's payment cannot settle
    ledger.submit(ledger.sign(transfer_tx(ledger.id, "hanriver:wKRW", "namsan:wKRW", "wKRW", 100_000_000_000 - 10)))
    before = counters(ledger)
    with pytest.raises(InsufficientFunds, match="hanriver:wKRW"):
        ledger.payments.pay(ALICE, SEOUL, 11)
    assert counters(ledger) == before


def test_a_non_resident_may_not_open_a_deposit_token_account(ledger: Ledger) -> None:
    with pytest.raises(Residency):
        ledger.registry.open_account("kowloon-supply", "dKRW.hanriver")
    ledger.registry.add_participant("tourist", "individual", "KR", resident=False)
    with pytest.raises(Residency):
        ledger.registry.open_account("tourist", "dKRW.hanriver")
    with pytest.raises(Residency):
        ledger.payments.deposit("tourist", 5, "hanriver")
    ledger.registry.open_account("tourist", "KRWS")  # stablecoins are not domestic-only
    assert [a.id for a in ledger.registry.accounts(owner="tourist")] == ["tourist:KRWS"]


def test_no_leg_may_credit_a_deposit_token_to_a_non_resident_however_it_arrives(ledger: Ledger) -> None:
    # An account opened before the rule (written straight into the registry) still cannot be credited.
    from wonledger.domain.model import Account

    ledger.registry.add_participant("expat", "individual", "KR", resident=False)
    ledger._store.writing(lambda uow: uow.registry.add_account(Account(id="expat:dKRW.hanriver", owner="expat", asset="dKRW.hanriver")))
    before = counters(ledger)
    with pytest.raises(Residency):
        ledger.payments.transfer(ALICE, "expat:dKRW.hanriver", 10)
    with pytest.raises(Residency):
        ledger.payments.transfer(ALICE, "expat:dKRW.hanriver", 10, hold_timeout_s=60)
    outcome = ledger.submit_many([ledger.sign(transfer_tx(ledger.id, ALICE, "expat:dKRW.hanriver", "dKRW.hanriver", 10))])
    assert isinstance(outcome[0], Residency)
    assert counters(ledger) == before


def test_the_registry_refuses_a_second_account_of_the_same_id(ledger: Ledger) -> None:
    with pytest.raises(AlreadyExists):
        ledger.registry.open_account("alice", "dKRW.hanriver")


def test_a_participant_of_the_world_is_resident_where_it_is_registered(ledger: Ledger) -> None:
    alice: Participant = ledger.registry.participant("alice")
    assert (alice.jurisdiction, alice.resident) == ("KR", True)
    assert account_id("alice", "dKRW.hanriver") == ALICE


def test_wholesale_central_bank_money_stays_with_the_central_bank_and_its_banks(ledger: Ledger) -> None:
    for outsider in ("alice", "kstable", "harbour"):  # a customer, a bank consortium, a bank abroad
        with pytest.raises(HolderNotEligible, match="wholesale central-bank money"):
            ledger.registry.open_account(outsider, "wKRW")
    assert [r.code for r in ledger.reports.rejections()] == ["HOLDER_NOT_ELIGIBLE"] * 3
