"""What a statement says of itself is checked: its arithmetic, its pages, its copies, its asset; broken files are refused in words.

Statements that do not add up, files holding a statement twice, entries of
another asset or currency never reconcile clean; an MT940 that is truly
broken is refused with the line and what was expected there; CSV cells a
spreadsheet would run are written so that it does not, and read back as
they were; the breaks of a statement larger than memory go to a file.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from wonledger import AssetMismatch, BadStatement, Ledger
from wonledger.statements import csvfile
from wonledger.statements.formats import read_statement, read_statements
from wonledger.statements.report import Break, BreakLog, ReconcileReport
from wonledger.statements.statement import StatementEntry, StatementHeader

ALICE = "alice:dKRW.hanriver"
SEOUL = "seoul-exports:dKRW.hanriver"
TODAY = datetime.now(UTC).strftime("%y%m%d")
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def paid(ledger: Ledger) -> Ledger:
    """alice pays seoul-exports twice today."""
    ledger.registry.open_account("seoul-exports", "dKRW.hanriver")
    ledger.payments.transfer(ALICE, SEOUL, 250_000, tx_id="inv-7", memo="invoice 7")
    ledger.payments.transfer(ALICE, SEOUL, 1_000, tx_id="inv-8", memo="invoice 8")
    return ledger


def mt940(*pages: str, account: str = ALICE) -> bytes:
    """An MT940 file of ``pages`` (each the fields after :28C:), in a SWIFT envelope each."""
    out = []
    for n, body in enumerate(pages, 1):
        out.append(f"{{1:F01HANRKRSEAXXX0000000000}}{{2:O940HANRKRSEAXXXN}}{{4:\n:20:HR{TODAY}{n:03d}\n:25:{account}\n:28C:00077/{n}\n{body}-}}\n")
    return "".join(out).encode()


def reconcile(ledger: Ledger, data: bytes, account: str = ALICE):  # type: ignore[no-untyped-def]
    return ledger.statements.reconcile(io.BytesIO(data), account)


def kinds(report) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    return sorted(((b.kind, b.ref) for b in report.breaks), key=lambda k: (k[0], k[1] or ""))


# -- the MT940 a bank sends, against the ledger ---------------------------------------------------------

#: The day's movements on alice's account, as her bank would list them: the world's funding (made today, with the
#: ledger) and her two payments; her opening balance at the start of today is 0 and her closing 4,749,000.
PAYMENTS = (
    f":61:{TODAY}C5000000,NTRFgenesis-deposit-alice//HR0000\n:86:/REMI/DEPOSIT\n"
    f":61:{TODAY}D250000,NTRFinv-7//HR0001\n:86:/EREF/inv-7/REMI/invoice 7\n:61:{TODAY}D1000,NTRFinv-8//HR0002\n:86:/EREF/inv-8/REMI/invoice 8\n"
)


@sqlite_only
def test_an_mt940_of_alices_payments_with_its_opening_dated_today_reconciles_clean(paid: Ledger) -> None:
    # the opening balance is dated on the day of the first entry: that day is inside the period
    report = reconcile(paid, mt940(f":60F:C{TODAY}KRW0,\n{PAYMENTS}:62F:C{TODAY}KRW4749000,\n"))
    assert report.ok, [b.to_json() for b in report.breaks]
    assert report.matched == 3 and report.period == (datetime.now(UTC).date().isoformat(),) * 2


@sqlite_only
def test_a_statement_whose_closing_its_entries_do_not_add_up_to_is_an_unbalanced_statement(paid: Ledger) -> None:
    report = reconcile(paid, mt940(f":60F:C{TODAY}KRW0,\n{PAYMENTS}:62F:C{TODAY}KRW4749500,\n"))
    assert kinds(report) == [("unbalanced_statement", f"HR{TODAY}001")]
    (only,) = report.breaks
    assert only.statement == {"statement_id": f"HR{TODAY}001", "opening": 0, "entries_total": 4_749_000, "closing": 4_749_500, "difference": -500}


@sqlite_only
def test_pages_that_do_not_continue_are_an_unbalanced_statement_naming_the_page(paid: Ledger) -> None:
    first = f":60F:C{TODAY}KRW0,\n:61:{TODAY}C5000000,NTRFgenesis-deposit-alice\n:61:{TODAY}D250000,NTRFinv-7//HR0001\n:62M:C{TODAY}KRW4750000,\n"
    good = f":60M:C{TODAY}KRW4750000,\n:61:{TODAY}D1000,NTRFinv-8//HR0002\n:62F:C{TODAY}KRW4749000,\n"
    report = reconcile(paid, mt940(first, good))
    assert report.ok and report.matched == 3 and report.statements[0].statement_id == f"HR{TODAY}001"
    # the second page opens with 100 more than the first closed with (and adds up from there)
    bad = good.replace("KRW4750000,", "KRW4750100,").replace("KRW4749000,", "KRW4749100,")
    report = reconcile(paid, mt940(first, bad))
    assert [(b.kind, b.statement) for b in report.breaks] == [
        ("unbalanced_statement", {"statement_id": f"HR{TODAY}001", "page": 2, "previous_closing": 4_750_000, "opening": 4_750_100, "difference": -100})
    ]


@sqlite_only
def test_a_page_that_misstates_its_opening_but_closes_right_is_named_though_the_differences_cancel(paid: Ledger) -> None:
    # page 2 opens 100 above where page 1 closed, and its own entries do not reach its (true) closing: the
    # two differences cancel over the statement, the page is still wrong twice over, and each is named
    first = f":60F:C{TODAY}KRW0,\n:61:{TODAY}C5000000,NTRFgenesis-deposit-alice\n:61:{TODAY}D250000,NTRFinv-7//HR0001\n:62M:C{TODAY}KRW4750000,\n"
    misstated = f":60M:C{TODAY}KRW4750100,\n:61:{TODAY}D1000,NTRFinv-8//HR0002\n:62F:C{TODAY}KRW4749000,\n"
    report = reconcile(paid, mt940(first, misstated))
    assert [(b.kind, b.statement) for b in report.breaks] == [
        ("unbalanced_statement", {"statement_id": f"HR{TODAY}001", "page": 2, "previous_closing": 4_750_000, "opening": 4_750_100, "difference": -100}),
        ("unbalanced_statement", {"statement_id": f"HR{TODAY}001", "page": 2, "opening": 4_750_100, "entries_total": -1_000, "closing": 4_749_000, "difference": 100}),
    ]
    assert report.matched == 3


@sqlite_only
def test_a_file_holding_the_same_statement_twice_is_a_duplicate_statement_and_matched_once(paid: Ledger) -> None:
    once = mt940(f":60F:C{TODAY}KRW0,\n{PAYMENTS}:62F:C{TODAY}KRW4749000,\n")
    report = reconcile(paid, once + once)
    assert kinds(report) == [("duplicate_statement", f"HR{TODAY}001")]
    assert report.matched == 3 and report.breaks[0].statement == {
        "statement_id": f"HR{TODAY}001", "sequence": 77, "statement_account": ALICE, "copy_of": 1,
    }
    # the same id and number on another day is another statement (a savings bank's :20:STARTUMSE every day)
    yesterday = once.replace(f":60F:C{TODAY}".encode(), b":60F:C200101")
    assert not any(b.kind == "duplicate_statement" for b in reconcile(paid, yesterday + once).breaks)


@sqlite_only
def test_a_camt_statement_sent_twice_in_one_message_is_a_duplicate(paid: Ledger) -> None:
    out = io.StringIO()
    paid.statements.write(ALICE, "camt053", out)
    text = out.getvalue()
    stmt = text[text.index("<Stmt>") : text.index("</Stmt>") + len("</Stmt>")]
    twice = text.replace(stmt, stmt + stmt)
    report = reconcile(paid, twice.encode())
    assert [b.kind for b in report.breaks] == ["duplicate_statement"] and report.matched == 3


@sqlite_only
def test_a_csv_statement_of_another_asset_is_refused_and_a_row_of_another_asset_is_a_break(paid: Ledger) -> None:
    out = io.StringIO()
    paid.statements.write(ALICE, "csv", out)
    rows = out.getvalue().splitlines()
    every_row_xyz = "\n".join(r.replace(",dKRW.hanriver,", ",XYZ,") for r in rows) + "\n"
    with pytest.raises(AssetMismatch, match=re.escape("of the asset XYZ but alice:dKRW.hanriver holds dKRW.hanriver")):
        reconcile(paid, every_row_xyz.encode())
    one_row = "\n".join(r.replace(",dKRW.hanriver,", ",KRWS,") if ",inv-8," in r else r for r in rows) + "\n"
    report = reconcile(paid, one_row.encode())
    assert kinds(report) == [("asset_mismatch", "inv-8")]
    assert report.breaks[0].statement is not None and report.breaks[0].statement["asset"] == "KRWS"
    assert report.matched == 2


@sqlite_only
def test_a_camt_naming_another_ledger_asset_as_its_account_is_refused(paid: Ledger) -> None:
    out = io.StringIO()
    paid.statements.write(ALICE, "camt053", out)
    with pytest.raises(AssetMismatch, match="of the asset KRWS"):
        reconcile(paid, out.getvalue().replace("<Nm>dKRW.hanriver</Nm>", "<Nm>KRWS</Nm>").encode())
    # a bank's name for the account is no asset
    assert reconcile(paid, out.getvalue().replace("<Nm>dKRW.hanriver</Nm>", "<Nm>ALICE KIM</Nm>").encode()).ok


@sqlite_only
def test_an_entry_in_another_currency_never_matches_even_by_its_reference(paid: Ledger) -> None:
    data = mt940(f":60F:C{TODAY}KRW0,\n{PAYMENTS}:62F:C{TODAY}KRW4749000,\n")
    out = io.StringIO()
    paid.statements.write(ALICE, "csv", out)
    edited = "\n".join(r.replace(",KRW,", ",USD,") if ",inv-8," in r else r for r in out.getvalue().splitlines()) + "\n"
    assert kinds(reconcile(paid, edited.encode())) == [("asset_mismatch", "inv-8")]
    assert reconcile(paid, data).ok


# -- MT940 that is truly broken: the line and what was expected --------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (":20:X\n:25:A\n:28C:1\n:61:2612011201D1,NTRFNONREF\n", "MT940 line 4: expected the opening balance :60F: (or :60M: on a continuation page) after the statement's header, found :61:"),
        (":20:X\n:25:A\n:28C:1\n:60F:C26113KRW1,\n", 'MT940 line 4: :60F: is "C26113KRW1,"; expected C or D, a date YYMMDD, a currency and an amount'),
        (":20:X\n:25:A\n:28C:1\n:60F:C261301KRW1,\n", "MT940 line 4: 261301 is not a date (YYMMDD)"),
        (":20:X\n:25:A\n:60F:C261201KRW1,\n:61:2612011201X1,NTRFNONREF\n:62F:C261201KRW1,\n", 'MT940 line 4: :61: is "2612011201X1,NTRFNONREF"; expected a value date'),
        (":20:X\n:25:A\n:60F:C261201KRW1,\n:61:2612011201D1.000,00NTRFNONREF\n", "MT940 line 4: :61: is"),
        (":20:X\n:25:A\n:60F:C261201EUR1,\n:61:2612011201D1,005NTRFNONREF\n:62F:C261201EUR1,\n", "MT940 line 4: amount 1,005 has more decimals than the account's currency (2)"),
        (":20:X\n:25:A\n:60F:C261201KRW1,\n:61:2612011201D1,NTRFNONREF\n", 'statement "X" ends without its closing balance :62F:'),
        (":20:X\n:25:A\nplease call us\n:60F:C261201KRW1,\n", 'MT940 line 3: expected a field such as :61:, :86: or :62F: after :25:, found "please call us"'),
        (":20:X\n:28C:1\n:60F:C261201KRW1,\n:62F:C261201KRW1,\n", 'MT940 line 3: statement "X" names no account (:25:) before its opening balance'),
        (":20:X\n:25:A\n:60F:C261201KRW1,\n:62F:C261201USD1,\n", "MT940 line 4: the balance is in USD but the statement's opening balance is in KRW"),
        (":20:X\n:25:A\n:28C:1\n:34F:KRW0,\n:13D:2612011200+0900\n", "MT940 line 4: field :34F: belongs to an MT942 interim report, not to an MT940 statement"),
        (":25:A\n:20:X\n", "MT940 line 1: a statement starts with its reference :20:, found :25:"),
        (":20:X\n:25:A\n:60F:C261201KRW1,\n:60F:C261201KRW1,\n", "MT940 line 4: a second opening balance :60F:"),
    ],
)
def test_a_broken_mt940_is_refused_with_the_line_and_what_was_expected(text: str, says: str) -> None:
    with pytest.raises(BadStatement) as refused:
        for reader in read_statements(io.BytesIO(text.encode()), lambda header: 2 if header.currency == "EUR" else 0):
            list(reader)
    assert says in refused.value.message
    assert not re.search(r"<\w+[.\w]* object|Decimal\(|\bNone\b|Traceback", refused.value.message)  # words, never a repr


def test_an_mt940_after_a_banks_header_lines_is_read_as_mt940_not_taken_for_csv() -> None:
    text = b"ABNANL2A\r\n940\r\nABNANL2A\r\n:20:ABN AMRO BANK NV\r\n:25:517852257\r\n:28:1/1\r\n:60F:C261130EUR1,00\r\n:62F:C261130EUR1,00\r\n-\r\n"
    reader = read_statement(io.BytesIO(text), 2)
    assert reader.format == "MT940" and list(reader) == [] and reader.header.opening == 100


# -- CSV safe in a spreadsheet, and read back as written -----------------------------------------------------

FORMULAS = ["=cmd|' /c calc'!A1", '=HYPERLINK("http://evil.example","click")', "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1", "'=already quoted", "'", "plain memo"]


@pytest.mark.parametrize("memo", FORMULAS)
def test_a_csv_cell_a_spreadsheet_would_run_is_quoted_and_reads_back_exactly(memo: str) -> None:
    header = StatementHeader(account="a:KRWS", currency="KRW", asset="KRWS", opening=0, closing=1, from_date="2026-12-01", to_date="2026-12-01")
    entry = StatementEntry(1, True, "KRW", "2026-12-01", "2026-12-01", end_to_end_id=memo.strip() or "x", memo=memo, kind="-1")
    out = io.StringIO()
    csvfile.write(out, header, [entry], 0)
    import csv

    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    for row in rows:
        for cell in row:
            assert not cell.startswith(csvfile.FORMULA_STARTS), (cell, memo)  # nothing a spreadsheet would take for a formula
    read_back = list(read_statement(io.BytesIO(out.getvalue().encode()), 0))
    assert read_back[0].memo == memo and read_back[0].kind == "-1"


@sqlite_only
def test_a_payers_memo_that_starts_with_equals_reaches_the_payees_csv_as_text(paid: Ledger) -> None:
    paid.payments.transfer(ALICE, SEOUL, 10, tx_id="evil-1", memo="=HYPERLINK(\"http://evil.example\",\"invoice\")")
    out = io.StringIO()
    paid.statements.write(SEOUL, "csv", out)
    line = next(row for row in out.getvalue().splitlines() if ",evil-1," in row)
    assert line.endswith(',"\'=HYPERLINK(""http://evil.example"",""invoice"")"')
    assert reconcile(paid, out.getvalue().encode(), SEOUL).ok


# -- memory: breaks beyond a thousand go to a file ------------------------------------------------------------


def test_a_break_log_keeps_a_thousand_in_memory_writes_the_rest_and_takes_back_a_break_wherever_it_is() -> None:
    log = BreakLog(keep=3)
    numbers = [log.add(Break("missing_in_ledger", f"r{n}", None, {"entry": n, "memo": "écrit"}, effect=n)) for n in range(6)]
    log.retract(numbers[1], "missing_in_ledger", 1)
    log.retract(numbers[4], "missing_in_ledger", 4)
    assert [b.ref for b in log] == ["r0", "r2", "r3", "r5"] and len(log) == 4 and log.effect == 0 + 2 + 3 + 5
    assert list(log)[3].statement == {"entry": 5, "memo": "écrit"}


def test_the_json_report_written_a_break_at_a_time_is_the_report() -> None:
    report = ReconcileReport("a:KRWS", "MT940", matched=2, period=("2026-12-01", "2026-12-02"))
    report.log = BreakLog(keep=2)
    for n in range(5):
        report.log.add(Break("missing_in_statement", f"t{n}", {"tx": f"t{n}", "amount": n}, None))
    total = ReconcileReport("a:KRWS")
    total.add(report)
    for limit in (None, 0, 3):
        assert "".join(total.json_chunks(limit)) == json.dumps(total.to_json(limit), ensure_ascii=False)
    shown = json.loads("".join(total.json_chunks()))
    assert shown["period"] == {"from": "2026-12-01", "to": "2026-12-02"} and shown["break_count"] == 5
    assert list(shown)[:2] == ["matched", "breaks"]  # the shape scripts rely on, grown only


def test_a_batch_whose_transactions_add_up_but_whose_entry_was_changed_is_one_break() -> None:
    items = [StatementEntry(n, False, "KRW", "2026-12-01", "2026-12-01", end_to_end_id=f"p-{n}", position=1, batch_index=n) for n in (1, 2)]
    items[-1] = replace(items[-1], batch_entry=-4, batch_total=-3)
    from wonledger.statements.matching import Matcher

    report = ReconcileReport("a:KRWS")
    Matcher(report, "KRW", lambda ids: [], (None, None)).run(items, lambda: iter(()))
    assert sorted(b.kind for b in report.breaks) == ["amount_mismatch", "missing_in_ledger", "missing_in_ledger"]
    assert report.log.effect == -1 - 2 + (-4 - -3)


@sqlite_only
def test_a_second_statement_of_the_same_days_under_another_id_is_an_overlapping_statement(paid: Ledger) -> None:
    once = mt940(f":60F:C{TODAY}KRW0,\n{PAYMENTS}:62F:C{TODAY}KRW4749000,\n")
    again = once.replace(f":20:HR{TODAY}001".encode(), f":20:HR{TODAY}999".encode()).replace(b":28C:00077/1", b":28C:00078/1")
    report = reconcile(paid, once + again)
    # each alone is clean; together they count the day's payments twice
    assert kinds(report) == [("overlapping_statement", f"HR{TODAY}999")]
    today = datetime.now(UTC).date().isoformat()
    assert report.breaks[0].statement == {
        "statement_id": f"HR{TODAY}999", "period": {"from": today, "to": today}, "overlaps": 1, "overlapped_period": {"from": today, "to": today},
    }
