"""Statements and reconciliation: an account's own statement reconciles clean; every break is named.

Each test runs on SQLite and on the real PostgreSQL. Crafted statements are
made by reading the ledger's own export, changing it, and writing it back
with the same writers, so each test changes exactly one thing; the closing
balance is written as the edited entries add up to, as a bank's statement
of them would be.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from wonledger import AssetMismatch, BadInput, Ledger
from wonledger.statements import camt053, csvfile
from wonledger.statements.formats import read_statement
from wonledger.statements.statement import StatementEntry, StatementHeader

#: Tests the store has nothing new to say about run on SQLite only (a PostgreSQL ledger costs seconds).
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

ALICE = "alice:dKRW.hanriver"
SEOUL = "seoul-exports:dKRW.hanriver"


class SteppingClock:
    """A clock that moves on by ``step`` each time it is read: entries land on different days."""

    def __init__(self, start: datetime, step: timedelta) -> None:
        self.now, self.step = start, step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


@pytest.fixture
def busy(ledger: Ledger) -> Ledger:
    """alice pays seoul-exports three times and is paid back once (seoul-exports opens its account first)."""
    ledger.registry.open_account("seoul-exports", "dKRW.hanriver")
    for n, amount in enumerate((100_000, 250_000, 300_000), 1):
        ledger.payments.transfer(ALICE, SEOUL, amount, tx_id=f"t-{n}", memo=f"invoice {n}")
    ledger.payments.transfer(SEOUL, ALICE, 50_000, tx_id="refund-1")
    return ledger


def export(ledger: Ledger, fmt: str, account: str = ALICE, **period: str) -> bytes:
    out = io.StringIO()
    ledger.statements.write(account, fmt, out, **period)
    return out.getvalue().encode()


def parsed(data: bytes) -> tuple[StatementHeader, list[StatementEntry]]:
    reader = read_statement(io.BytesIO(data), exponent=0)
    entries = list(reader)
    return reader.header, entries


def rewrite(fmt: str, header: StatementHeader, entries: list[StatementEntry], out_by: int = 0) -> bytes:
    """The statement written again; its closing is what its booked entries add up to, and ``out_by`` more."""
    header.closing = (header.opening or 0) + sum(e.signed for e in entries if e.status == "BOOK") + out_by
    out = io.StringIO()
    if fmt == "camt053":
        camt053.write(out, header, entries, 0, "2026-11-22T00:00:00Z")
    else:
        csvfile.write(out, header, entries, 0)
    return out.getvalue().encode()


def breaks(ledger: Ledger, data: bytes, account: str = ALICE, tolerance: int = 1) -> list[tuple[str, str | None]]:
    report = ledger.statements.reconcile(io.BytesIO(data), account, tolerance)
    return sorted((b.kind, b.ref) for b in report.breaks)


@pytest.mark.parametrize(
    ("backend", "fmt"),
    [("sqlite", "camt053"), ("sqlite", "csv"), pytest.param("postgres", "camt053", marks=pytest.mark.postgres)],
    indirect=["backend"],
)
def test_an_accounts_own_statement_reconciles_clean(busy: Ledger, fmt: str) -> None:
    data = export(busy, fmt)
    report = busy.statements.reconcile(io.BytesIO(data), ALICE)
    assert report.ok and report.breaks == []
    assert report.matched == report.statement_entries == report.ledger_entries == 5  # funding deposit + 4 transfers
    header, entries = parsed(data)
    assert header.opening == 0
    assert header.closing == busy.registry.account(ALICE).balance
    assert [e.end_to_end_id for e in entries] == ["genesis-deposit-alice", "t-1", "t-2", "t-3", "refund-1"]
    assert [e.indicator for e in entries] == ["CRDT", "DBIT", "DBIT", "DBIT", "CRDT"]
    assert len({e.uetr for e in entries}) == 5 and len({e.servicer_ref for e in entries}) == 5


@sqlite_only
def test_the_statement_carries_every_field_the_issue_names(busy: Ledger) -> None:
    from xml.etree import ElementTree

    ns = {"c": camt053.NAMESPACE}
    root = ElementTree.fromstring(export(busy, "camt053"))
    stmt = root.find("c:BkToCstmrStmt/c:Stmt", ns)
    assert [b.findtext("c:Tp/c:CdOrPrtry/c:Cd", namespaces=ns) for b in stmt.findall("c:Bal", ns)] == ["OPBD", "CLBD"]
    t2 = next(n for n in stmt.findall("c:Ntry", ns) if n.findtext("c:NtryDtls/c:TxDtls/c:Refs/c:EndToEndId", namespaces=ns) == "t-2")
    assert t2.find("c:Amt", ns).text == "250000" and t2.find("c:Amt", ns).get("Ccy") == "KRW"
    assert t2.findtext("c:CdtDbtInd", namespaces=ns) == "DBIT"
    assert t2.findtext("c:Sts/c:Cd", namespaces=ns) == "BOOK"
    today = datetime.now(UTC).date().isoformat()
    assert t2.findtext("c:BookgDt/c:Dt", namespaces=ns) == today == t2.findtext("c:ValDt/c:Dt", namespaces=ns)
    assert t2.findtext("c:AcctSvcrRef", namespaces=ns).startswith(busy.id + ":")
    uetr = t2.findtext("c:NtryDtls/c:TxDtls/c:Refs/c:UETR", namespaces=ns)
    assert len(uetr) == 36 and uetr[14] == "4"  # a UUIDv4, as CBPR+ wants
    # the same transaction gets the same UETR in every export
    assert uetr == next(e.uetr for e in parsed(export(busy, "csv"))[1] if e.end_to_end_id == "t-2")


@pytest.mark.parametrize(
    ("backend", "fmt"),
    [("sqlite", "camt053"), ("sqlite", "csv"), pytest.param("postgres", "csv", marks=pytest.mark.postgres)],
    indirect=["backend"],
)
def test_each_kind_of_break_is_reported_from_a_crafted_statement(busy: Ledger, fmt: str) -> None:
    header, entries = parsed(export(busy, fmt))
    by_id = {e.end_to_end_id: e for e in entries}
    later = (date.fromisoformat(by_id["t-3"].value_date) + timedelta(days=5)).isoformat()
    crafted = [
        by_id["genesis-deposit-alice"],
        replace(by_id["t-1"], amount=100_001),  # altered amount
        # t-2 dropped
        replace(by_id["t-3"], value_date=later),  # value date beyond the tolerance
        by_id["refund-1"],
        by_id["refund-1"],  # booked twice
        replace(by_id["refund-1"], end_to_end_id="foreign-9", servicer_ref=None, uetr=None, amount=777),  # not ours
    ]
    # this statement's closing is one won more than its entries add up to
    assert breaks(busy, rewrite(fmt, header, crafted, out_by=1)) == sorted(
        [
            ("amount_mismatch", "t-1"),
            ("date_mismatch", "t-3"),
            ("duplicate", "refund-1"),
            ("missing_in_ledger", "foreign-9"),
            ("missing_in_statement", "t-2"),
            ("unbalanced_statement", header.statement_id),
        ]
    )


@sqlite_only
def test_a_reversed_direction_is_an_amount_mismatch(busy: Ledger) -> None:
    header, entries = parsed(export(busy, "csv"))
    flipped = [replace(e, credit=not e.credit) if e.end_to_end_id == "t-1" else e for e in entries]
    assert breaks(busy, rewrite("csv", header, flipped)) == [("amount_mismatch", "t-1")]


@sqlite_only
def test_entries_without_references_are_matched_by_amount_and_date_within_the_tolerance(busy: Ledger) -> None:
    header, entries = parsed(export(busy, "csv"))
    shifted = (date.fromisoformat(entries[2].value_date) + timedelta(days=1)).isoformat()
    anonymous = [replace(e, servicer_ref=None, end_to_end_id="NOTPROVIDED", uetr=None) for e in entries]
    anonymous[2] = replace(anonymous[2], value_date=shifted)
    assert breaks(busy, rewrite("csv", header, anonymous), tolerance=1) == []
    # outside the tolerance the same entry no longer pairs: one leg and one entry are left alone
    assert breaks(busy, rewrite("csv", header, anonymous), tolerance=0) == [
        ("missing_in_ledger", None),
        ("missing_in_statement", "t-2"),
    ]


def test_a_statement_of_a_period_starts_from_the_balance_before_it(make_ledger) -> None:  # type: ignore[no-untyped-def]
    ledger = make_ledger()
    clock = SteppingClock(datetime.now(UTC) + timedelta(days=1), timedelta(days=1))  # after the funding
    with Ledger.open(ledger._store.url, ledger._keys.directory, clock=clock) as dated:
        dated.registry.open_account("seoul-exports", "dKRW.hanriver")
        for n in range(1, 6):
            dated.payments.transfer(ALICE, SEOUL, 10_000 * n, tx_id=f"d-{n}")
        days = {e.tx.id: e.at[:10] for e in dated.history(ALICE)}
        data = export(dated, "camt053", since=days["d-2"], until=days["d-4"])
        header, entries = parsed(data)
        assert [e.end_to_end_id for e in entries] == ["d-2", "d-3", "d-4"]
        assert header.opening == 5_000_000 - 10_000
        assert header.closing == 5_000_000 - 10_000 - 20_000 - 30_000 - 40_000
        assert header.from_date == days["d-2"] and header.to_date == days["d-4"]
        assert dated.statements.reconcile(io.BytesIO(data), ALICE).ok
        header.opening = 0
        assert breaks(dated, rewrite("camt053", header, entries)) == [("balance_mismatch", "OPBD")]


@sqlite_only
def test_a_statement_in_another_currency_or_with_bad_dates_is_refused(busy: Ledger) -> None:
    header, entries = parsed(export(busy, "csv"))
    header.currency = "HKD"
    with pytest.raises(AssetMismatch):
        busy.statements.reconcile(io.BytesIO(rewrite("csv", header, [replace(e, currency="HKD") for e in entries])), ALICE)
    with pytest.raises(BadInput):
        busy.statements.write(ALICE, "csv", io.StringIO(), since="2026-13-01")
    with pytest.raises(BadInput):
        busy.statements.write(ALICE, "csv", io.StringIO(), since="2026-05-02", until="2026-05-01")
