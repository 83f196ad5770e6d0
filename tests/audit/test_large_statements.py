"""Large statements are read and matched in bounded memory: the peak does not grow with the file.

A camt.053 (and a CSV) of 10,000 entries is written by the streaming writers
and matched against the same number of legs; tracemalloc's peak must stay
far below the file's size and about where it is for 1,000 entries. The legs
come from a generator here (the store pages them 5,000 at a time), so what
is measured is the parser and the matcher. The same holds for a statement
of payments the ledger never made (every entry a break: the breaks beyond
a thousand go to a file), and for one entry that batches 10,000
transactions (each ``TxDtls`` is handed on as it ends).
"""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from wonledger.statements import camt053, csvfile
from wonledger.statements.formats import read_statement
from wonledger.statements.matching import BookedLeg, Matcher, ReconcileReport
from wonledger.statements.statement import StatementEntry, StatementHeader

LEDGER = "wl-000000000000"


def legs(count: int, per_day: int = 500) -> Iterator[BookedLeg]:
    start = date(2026, 1, 1)
    for n in range(count):
        day = (start + timedelta(days=n // per_day)).isoformat()  # 500 a day: the merge crosses many days
        yield BookedLeg(f"tx-{n}", n + 1, 0, "transfer", 1000 + n % 977, n % 3 == 0, day, f"{LEDGER}:{n + 1}:0", f"uetr-{n}")


def entries(count: int, per_day: int = 500) -> Iterator[StatementEntry]:
    for leg in legs(count, per_day):
        yield StatementEntry(
            leg.amount, leg.credit, "KRW", leg.booking_date, leg.booking_date,
            servicer_ref=leg.servicer_ref, end_to_end_id=leg.tx_id, uetr=leg.uetr, kind=leg.kind,
        )


def write(path: Path, fmt: str, count: int, per_day: int = 500) -> None:
    header = StatementHeader(account="a:KRWS", currency="KRW", asset="KRWS", opening=0, closing=0)
    with path.open("w", encoding="utf-8", newline="") as out:
        if fmt == "camt053":
            camt053.write(out, header, entries(count, per_day), 0, "2026-11-22T00:00:00Z")
        else:
            csvfile.write(out, header, entries(count, per_day), 0)


def peak_while_reconciling(path: Path, count: int, ledger_legs: bool = True) -> tuple[int, ReconcileReport]:
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            reader = read_statement(stream, 0)
            report = ReconcileReport("a:KRWS", reader.format)
            Matcher(report, "KRW", lambda ids: [], (None, None)).run(reader, lambda: legs(count) if ledger_legs else iter(()))
            shown = sum(1 for _ in report.iter_breaks())  # reading the breaks back, as the report is printed
        assert shown == report.break_count
        return tracemalloc.get_traced_memory()[1], report
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("fmt", ["camt053", "csv"])
def test_a_10000_entry_statement_reconciles_in_memory_that_does_not_grow_with_it(tmp_path: Path, fmt: str) -> None:
    small, large = tmp_path / "small", tmp_path / "large"
    write(small, fmt, 1_000)
    write(large, fmt, 10_000)
    small_peak, small_report = peak_while_reconciling(small, 1_000)
    large_peak, large_report = peak_while_reconciling(large, 10_000)
    assert small_report.ok and small_report.matched == 1_000
    assert large_report.ok and large_report.matched == 10_000
    assert large.stat().st_size > 1_000_000
    assert large_peak < large.stat().st_size / 4, (large_peak, large.stat().st_size)
    assert large_peak < 2 * small_peak + 500_000, (small_peak, large_peak)


@pytest.mark.slow
@pytest.mark.parametrize(("fmt", "per_day"), [("camt053", 500), ("csv", 500), ("csv", 10_000)])
def test_a_statement_of_payments_the_ledger_never_made_reconciles_in_memory_that_does_not_grow_with_its_breaks(
    tmp_path: Path, fmt: str, per_day: int
) -> None:
    # 500 entries a day (both files are long enough for the matcher's few days of waiting entries to be full),
    # or every entry on one day, when no day passes before the end of the file
    small, large = tmp_path / "small", tmp_path / "large"
    write(small, fmt, 2_500, per_day)
    write(large, fmt, 10_000, per_day)
    small_peak, small_report = peak_while_reconciling(small, 2_500, ledger_legs=False)
    large_peak, large_report = peak_while_reconciling(large, 10_000, ledger_legs=False)
    assert small_report.by_kind() == {"missing_in_ledger": 2_500} and large_report.by_kind() == {"missing_in_ledger": 10_000}
    # the first thousand breaks are held, the rest written to a file: four times the breaks, not four times the memory
    assert large_peak < 1.2 * small_peak + 200_000, (small_peak, large_peak)


def test_one_entry_that_batches_10000_transactions_is_read_one_transaction_at_a_time(tmp_path: Path) -> None:
    def batch(count: int) -> bytes:
        txs = "".join(
            f"<TxDtls><Refs><EndToEndId>p-{n}</EndToEndId></Refs><Amt Ccy=\"KRW\">1</Amt><CdtDbtInd>DBIT</CdtDbtInd>"
            f"<RmtInf><Ustrd>salary {n}</Ustrd></RmtInf></TxDtls>"
            for n in range(count)
        )
        return (
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><GrpHdr><MsgId>M</MsgId></GrpHdr><Stmt><Id>S</Id>'
            '<Acct><Id><Othr><Id>a:KRWS</Id></Othr></Id><Ccy>KRW</Ccy></Acct>'
            f'<Ntry><Amt Ccy="KRW">{count}</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-12-01</Dt></BookgDt>'
            f"<NtryDtls><Btch><NbOfTxs>{count}</NbOfTxs></Btch>{txs}</NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>"
        ).encode()

    peaks = []
    for count in (1_000, 10_000):
        path = tmp_path / f"batch-{count}.xml"
        path.write_bytes(batch(count))
        tracemalloc.start()
        try:
            with path.open("rb") as stream:
                items = sum(1 for _ in read_statement(stream, 0))
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert items == count
    assert peaks[1] < 2 * peaks[0] + 200_000, peaks


def reconciled(text: str) -> ReconcileReport:
    report = ReconcileReport("a:KRWS", "csv")
    Matcher(report, "KRW", lambda ids: [], (None, None)).run(read_statement(io.BytesIO(text.encode()), 0), lambda: legs(5_000))
    return report


def test_in_a_large_statement_one_entry_that_names_another_payment_is_the_only_break(tmp_path: Path) -> None:
    path = tmp_path / "one-off.csv"
    write(path, "csv", 5_000)
    text = path.read_text().replace(",tx-4321,", ",tx-4321-edited,")
    # the servicer reference still names the leg, so only a reference was changed, not the payment
    report = reconciled(text)
    assert report.ok and report.matched == 5_000
    # with only a reference that names none of the ledger's payments, the entry still pairs by amount and date
    text = text.replace(f",{LEDGER}:4322:0,tx-4321-edited,uetr-4321,", ",,tx-4321-edited,,")
    report = reconciled(text)
    assert report.ok and report.matched == 5_000
    # and once its amount differs too, it is an entry the ledger lacks and the leg is missing from the statement
    amount = 1000 + 4321 % 977
    text = "\n".join(
        line.replace(f",{amount},", ",999999,") if ",tx-4321-edited," in line else line for line in text.splitlines()
    ) + "\n"
    report = reconciled(text)
    assert sorted((b.kind, b.ref) for b in report.breaks) == [("missing_in_ledger", "tx-4321-edited"), ("missing_in_statement", "tx-4321")]
