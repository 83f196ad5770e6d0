"""Statements as CSV: the same fields as camt.053, one row each, streamed both ways.

The first row names the columns (:data:`COLUMNS`). ``record`` is ``OPBD``
or ``CLBD`` for the opening and closing booked balances (``booking_date``
is the balance's date, ``amount`` unsigned with ``credit_debit`` giving the
sign) and ``NTRY`` for an entry. Amounts are in major units, as in camt.053;
``memo`` is the transaction's memo (camt.053's remittance information).
A file whose header lacks a required column is refused as foreign. The
``OPBD`` row's date is the first day of the statement's period and the
``CLBD`` row's the last, so a CSV statement states its own period.

**Safe to open in a spreadsheet.** Every cell that a spreadsheet would take
for a formula (one that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return: a payer's memo ``=HYPERLINK(...)`` reaches the payee's own
statement) is written with a single quote before it, as OWASP's advice on
CSV injection has it, and so is a cell that starts with a single quote
itself; the reader takes exactly one such quote off again, so what is
written reads back as it was.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO

from wonledger.domain.errors import BadStatement
from wonledger.statements.statement import (
    BOOKED,
    Choose,
    StatementEntry,
    StatementHeader,
    StatementReader,
    check_date,
    close_page,
    decimal_text,
    minor_units,
    quoted,
)

COLUMNS = (
    "record",
    "account",
    "asset",
    "currency",
    "amount",
    "credit_debit",
    "status",
    "booking_date",
    "value_date",
    "account_servicer_ref",
    "end_to_end_id",
    "uetr",
    "kind",
    "memo",
)
REQUIRED = ("record", "amount", "credit_debit", "booking_date")
#: What a spreadsheet runs when a cell starts with it (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = "'"


def spreadsheet_safe(text: str) -> str:
    """``text`` as a cell no spreadsheet runs: a single quote before a formula's first character (or before a quote)."""
    return _QUOTE + text if text.startswith((*FORMULA_STARTS, _QUOTE)) else text


def unquoted(text: str) -> str:
    """The cell :func:`spreadsheet_safe` made ``text`` into, read back as ``text``."""
    return text[1:] if text.startswith(_QUOTE) and text[1:].startswith((*FORMULA_STARTS, _QUOTE)) else text


def write(out: TextIO, header: StatementHeader, entries: Iterable[StatementEntry], exponent: int, created_at: str | None = None) -> int:
    """Write the statement as CSV to ``out``; returns the number of entries (``created_at``: a CSV statement carries none)."""
    rows = csv.writer(out, lineterminator="\n")
    # the csv module quotes a cell that holds a line feed but not one that holds a lone carriage return, which
    # would end the row there for a reader: a row with one is written with every cell quoted
    quoted_rows = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    rows.writerow(COLUMNS)

    def row(values: Iterable[str]) -> None:
        cells = [spreadsheet_safe(v) for v in values]
        (quoted_rows if any("\r" in c for c in cells) else rows).writerow(cells)

    common = {"account": header.account or "", "asset": header.asset or "", "currency": header.currency or ""}
    for code, amount, day in (("OPBD", header.opening, header.from_date), ("CLBD", header.closing, header.to_date)):
        if amount is not None:
            cells = dict.fromkeys(COLUMNS, "") | common
            cells.update(record=code, amount=decimal_text(amount, exponent), credit_debit="CRDT" if amount >= 0 else "DBIT", booking_date=day or "")
            row(cells[c] for c in COLUMNS)
    count = 0
    for e in entries:
        count += 1
        row(
            (
                "NTRY", common["account"], common["asset"], e.currency, decimal_text(e.amount, exponent), e.indicator,
                e.status, e.booking_date, e.value_date, e.servicer_ref or "", e.end_to_end_id or "", e.uetr or "", e.kind or "",
                e.memo or "",
            )
        )
    return count


def read(stream: io.RawIOBase, choose: Choose) -> Iterator[StatementReader]:
    """The file's one statement, if ``choose`` takes it (see :data:`wonledger.statements.statement.Choose`)."""
    header = StatementHeader(message="CSV")
    text = io.TextIOWrapper(io.BufferedReader(stream), encoding="utf-8-sig", newline="")
    with _errors():
        reader = csv.reader(text)
        names = next(reader, None)
        if names is None:
            raise BadStatement("the statement file is empty")
        names = [n.strip() for n in names]
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            raise BadStatement(
                f"not a wonledger statement: the first line ({quoted(','.join(names), 80)}) lacks the column(s) {', '.join(missing)} "
                "(a statement is camt.052/053/054 XML, SWIFT MT940, or CSV with the columns wonledger writes)"
            )
        col = {n: i for i, n in enumerate(names)}
        first = next((row for row in reader if row and any(cell.strip() for cell in row)), None)
    if first is not None:
        header.account = header.external_account = _get(col, first, "account")
        header.asset = _get(col, first, "asset")
        header.currency = _get(col, first, "currency")
    exponent = choose(header)
    if exponent is None:
        return
    yield StatementReader(header, _entries(reader, col, first, exponent, header), "csv")


class _errors:
    """Turns what the csv module and the UTF-8 decoder raise into BAD_STATEMENT."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> None:
        if isinstance(exc, UnicodeDecodeError):
            raise BadStatement("the statement is neither XML, MT940 nor UTF-8 CSV text") from None
        if isinstance(exc, csv.Error):
            raise BadStatement(f"the CSV statement is malformed: {exc}") from None


def _get(col: dict[str, int], row: list[str], name: str) -> str | None:
    i = col.get(name)
    value = unquoted(row[i]).strip() if i is not None and i < len(row) else ""
    return value or None


def _memo(col: dict[str, int], row: list[str]) -> str | None:
    """The memo exactly as written (blanks kept): it is the payer's text, not a field of ours."""
    i = col.get("memo")
    value = unquoted(row[i]) if i is not None and i < len(row) else ""
    return value if value.strip() else None


def _entries(reader, col: dict[str, int], first: list[str] | None, exponent: int, header: StatementHeader) -> Iterator[StatementEntry]:
    with _errors():
        if first is not None:
            yield from _rows(reader, col, first, exponent, header)
    header.complete = True


def _rows(reader, col: dict[str, int], first: list[str], exponent: int, header: StatementHeader) -> Iterator[StatementEntry]:
    def get(row: list[str], name: str) -> str | None:
        return _get(col, row, name)

    def rows() -> Iterator[list[str]]:
        yield first
        yield from reader

    position = 0
    for row in rows():
        if not row or all(not cell.strip() for cell in row):
            continue
        line = reader.line_num
        record = (get(row, "record") or "").upper()
        if record in ("OPBD", "CLBD"):
            _balance_row(get, row, record, line, exponent, header)
            continue
        if record != "NTRY":
            raise BadStatement(f"line {line}: record {quoted(record)} is not OPBD, CLBD or NTRY")
        position += 1
        booking = get(row, "booking_date")
        value = get(row, "value_date") or booking
        entry = StatementEntry(
            amount=minor_units(get(row, "amount"), exponent, f"line {line}"),
            credit=_indicator(get(row, "credit_debit"), line),
            currency=get(row, "currency") or "",
            booking_date=check_date(booking, f"line {line} booking_date"),
            value_date=check_date(value, f"line {line} value_date"),
            status=get(row, "status") or BOOKED,
            servicer_ref=get(row, "account_servicer_ref"),
            end_to_end_id=get(row, "end_to_end_id"),
            uetr=get(row, "uetr"),
            kind=get(row, "kind"),
            memo=_memo(col, row),
            position=position,
            asset=get(row, "asset"),
        )
        if entry.status == BOOKED:
            header.booked(entry.signed, entry.booking_date)
        yield entry
    if header.opening is not None and header.closing is not None:
        close_page(header, header.opening, header.booked_total, header.closing)
    header.complete = True


def _balance_row(
    get: Callable[[list[str], str], str | None], row: list[str], record: str, line: int, exponent: int, header: StatementHeader
) -> None:
    """An OPBD or CLBD row: the balance, and its date as the first or last day of the statement's period."""
    amount = minor_units(get(row, "amount"), exponent, f"line {line} ({record})", allow_zero=True)
    signed = amount if _indicator(get(row, "credit_debit"), line) else -amount
    day = get(row, "booking_date")
    day = check_date(day, f"line {line}") if day else None
    currency = get(row, "currency")
    if currency and header.currency and currency != header.currency:
        raise BadStatement(f"line {line}: the {record} balance is in {currency} but the statement is in {header.currency}")
    if record == "OPBD":
        header.opening, header.from_date, header.opening_date = signed, day, day
    else:
        header.closing, header.to_date, header.closing_date = signed, day, day


def _indicator(value: str | None, line: int) -> bool:
    if value not in ("CRDT", "DBIT"):
        raise BadStatement(f"line {line}: credit_debit is {quoted(value or '')}, not CRDT or DBIT")
    return value == "CRDT"
