"""Statements as CSV: the same fields as camt.053, one row each, streamed both ways.

The first row names the columns (:data:`COLUMNS`). ``record`` is ``OPBD``
or ``CLBD`` for the opening and closing booked balances (``booking_date``
is the balance's date, ``amount`` unsigned with ``credit_debit`` giving the
sign) and ``NTRY`` for an entry. Amounts are in major units, as in camt.053.
A file whose header lacks a required column is refused as foreign.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import BinaryIO, TextIO

from ledger.errors import BadStatement
from ledger.reconcile.statements import (
    BOOKED,
    StatementEntry,
    StatementHeader,
    StatementReader,
    check_date,
    decimal_text,
    minor_units,
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
)
REQUIRED = ("record", "amount", "credit_debit", "booking_date")


def write(out: TextIO, header: StatementHeader, entries: Iterable[StatementEntry], exponent: int) -> int:
    rows = csv.writer(out, lineterminator="\n")
    rows.writerow(COLUMNS)
    common = {"account": header.account or "", "asset": header.asset or "", "currency": header.currency or ""}
    for code, amount, day in (("OPBD", header.opening, header.from_date), ("CLBD", header.closing, header.to_date)):
        if amount is not None:
            row = dict.fromkeys(COLUMNS, "") | common
            row.update(record=code, amount=decimal_text(amount, exponent), credit_debit="CRDT" if amount >= 0 else "DBIT", booking_date=day or "")
            rows.writerow([row[c] for c in COLUMNS])
    count = 0
    for e in entries:
        count += 1
        rows.writerow(
            [
                "NTRY", common["account"], common["asset"], e.currency, decimal_text(e.amount, exponent), e.indicator,
                e.status, e.booking_date, e.value_date, e.servicer_ref or "", e.end_to_end_id or "", e.uetr or "", e.kind or "",
            ]
        )
    return count


def read(stream: BinaryIO, exponent: int) -> StatementReader:
    header = StatementHeader()
    text = io.TextIOWrapper(io.BufferedReader(stream), encoding="utf-8-sig", newline="")  # type: ignore[arg-type]
    return StatementReader(header, _entries(text, exponent, header), "csv")


def _entries(text: TextIO, exponent: int, header: StatementHeader) -> Iterator[StatementEntry]:
    try:
        yield from _rows(text, exponent, header)
    except UnicodeDecodeError:
        raise BadStatement("the statement is neither XML nor UTF-8 CSV text") from None
    except csv.Error as exc:
        raise BadStatement(f"the CSV statement is malformed: {exc}") from None


def _rows(text: TextIO, exponent: int, header: StatementHeader) -> Iterator[StatementEntry]:
    reader = csv.reader(text)
    names = next(reader, None)
    if names is None:
        raise BadStatement("the statement file is empty")
    names = [n.strip() for n in names]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        shown = ",".join(names)[:80]
        raise BadStatement(
            f"not a wonledger statement: the first line ({shown!r}) lacks the column(s) {', '.join(missing)} "
            "(a statement is camt.053 XML or CSV with the columns wonledger writes)"
        )
    col = {n: i for i, n in enumerate(names)}

    def get(row: list[str], name: str) -> str | None:
        i = col.get(name)
        value = row[i].strip() if i is not None and i < len(row) else ""
        return value or None

    position = 0
    for row in reader:
        if not row or all(not cell.strip() for cell in row):
            continue
        line = reader.line_num
        record = (get(row, "record") or "").upper()
        if record in ("OPBD", "CLBD"):
            amount = minor_units(get(row, "amount"), exponent, f"line {line} ({record})", allow_zero=True)
            signed = amount if _indicator(get(row, "credit_debit"), line) else -amount
            day = get(row, "booking_date")
            header.account = header.account or get(row, "account")
            header.asset = header.asset or get(row, "asset")
            header.currency = header.currency or get(row, "currency")
            if record == "OPBD":
                header.opening, header.from_date = signed, check_date(day, f"line {line}") if day else None
            else:
                header.closing, header.to_date = signed, check_date(day, f"line {line}") if day else None
            continue
        if record != "NTRY":
            raise BadStatement(f"line {line}: record {record!r} is not OPBD, CLBD or NTRY")
        position += 1
        header.account = header.account or get(row, "account")
        header.currency = header.currency or get(row, "currency")
        booking = get(row, "booking_date")
        value = get(row, "value_date") or booking
        yield StatementEntry(
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
            position=position,
        )


def _indicator(value: str | None, line: int) -> bool:
    if value not in ("CRDT", "DBIT"):
        raise BadStatement(f"line {line}: credit_debit is {value!r}, not CRDT or DBIT")
    return value == "CRDT"
