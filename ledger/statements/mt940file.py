"""SWIFT MT940 (customer statement message), read through the ``mt-940`` parser.

Many banks still send MT940 beside or instead of camt.053. The file is
parsed by the ``mt-940`` package (``mt940.parse_statements``: one statement
per ``:20:`` block), and each block becomes a statement like any other:

- ``:25:`` the account (compared with the ledger account, or mapped);
- ``:60F:``/``:60M:`` and ``:62F:``/``:62M:`` the opening and closing booked
  balances. The opening balance is the balance at the end of its date, so
  the statement's period starts the day after it;
- each ``:61:`` line an entry: value date, entry (booking) date, ``C``/``D``
  (``RC``/``RD``, reversals, count as the opposite direction), amount, the
  reference for the account owner (the ledger's transaction id when it fits
  in MT940's 16 characters; ``NONREF`` is no reference), and after ``//`` the
  bank's own reference;
- ``:86:`` the information to the account owner: ``/EREF/`` gives the
  end-to-end id in full and ``/UETR/`` the UETR (SWIFT's structured codes,
  also written ``EREF+`` in the German variant); the rest is the memo.

An MT940 file is a few statements of a day, not a stream of millions: it is
read whole (up to :data:`MAX_BYTES`), unlike camt and CSV.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import mt940

from wonledger.domain.errors import BadStatement
from wonledger.statements.statement import BOOKED, Choose, StatementEntry, StatementHeader, StatementReader, minor_units

MAX_BYTES = 64 * 1024 * 1024
_EREF = re.compile(r"(?:/EREF/|EREF\+)([^/\s?]+)")
_UETR = re.compile(r"/UETR/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})")
_REMI = re.compile(r"/REMI/(.*?)(?=/[A-Z]{4}/|$)", re.S)


def read(stream: io.RawIOBase, choose: Choose) -> Iterator[StatementReader]:
    """Each statement (``:20:`` block) of an MT940 file that ``choose`` takes."""
    raw = stream.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise BadStatement(f"the MT940 file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # SWIFT's character set is a subset of both; banks' exports use either
    try:
        blocks = mt940.parse_statements(text)
    except Exception as exc:  # the parser raises plain exceptions of several kinds on malformed input
        raise BadStatement(f"the MT940 statement is malformed: {exc}") from None
    if not blocks:
        raise BadStatement("the MT940 file has no statement (no :20: field)")
    for n, block in enumerate(blocks, 1):
        header = _header(block.data, n)
        exponent = choose(header)
        if exponent is None:
            continue
        _balances(block.data, exponent, header, n)
        yield StatementReader(header, _entries(block, exponent, n), "MT940")


def _header(data: dict[str, Any], n: int) -> StatementHeader:
    header = StatementHeader(message="MT940")
    header.statement_id = data.get("transaction_reference")
    header.account = header.external_account = data.get("account_identification")
    number = str(data.get("statement_number") or "")
    header.sequence = int(number) if number.isdigit() else None
    opening = data.get("final_opening_balance") or data.get("opening_balance")
    closing = data.get("final_closing_balance") or data.get("closing_balance")
    for balance in (opening, closing):
        if balance is not None and getattr(balance.amount, "currency", None):
            header.currency = header.currency or balance.amount.currency
    if opening is None or closing is None:
        raise BadStatement(f"MT940 statement {n} lacks its opening (:60F:) or closing (:62F:) balance")
    return header


def _minor(value: Decimal, exponent: int, what: str) -> int:
    """A signed decimal amount of the parser as signed minor units."""
    magnitude = minor_units(format(abs(value), "f"), exponent, what, allow_zero=True)
    return -magnitude if value < 0 else magnitude


def _balances(data: dict[str, Any], exponent: int, header: StatementHeader, n: int) -> None:
    opening = data.get("final_opening_balance") or data.get("opening_balance")
    closing = data.get("final_closing_balance") or data.get("closing_balance")
    if opening is None or closing is None:  # _header has refused this already; said again for the type checker
        raise BadStatement(f"MT940 statement {n} lacks its opening (:60F:) or closing (:62F:) balance")
    header.opening = _minor(opening.amount.amount, exponent, f"MT940 statement {n} :60F:")
    header.closing = _minor(closing.amount.amount, exponent, f"MT940 statement {n} :62F:")
    # :60F: is the balance at the end of its date: the statement covers the days after it
    header.from_date = (_day(opening.date) + timedelta(days=1)).isoformat()
    header.to_date = _day(closing.date).isoformat()


def _day(value: Any) -> date:
    return date(value.year, value.month, value.day)


def _entries(block: Any, exponent: int, n: int) -> Iterator[StatementEntry]:
    for position, tx in enumerate(block, 1):
        data = tx.data
        where = f"MT940 statement {n}, :61: line {position}"
        status = data.get("status")
        if status not in ("C", "D", "RC", "RD"):
            raise BadStatement(f"{where} has debit/credit mark {status!r}, not C, D, RC or RD")
        value_day = _day(data["date"])
        booking_day = _day(data.get("entry_date") or data["date"])
        details = str(data.get("transaction_details") or "")
        reference = data.get("customer_reference")
        eref, uetr = _EREF.search(details), _UETR.search(details)
        remi = _REMI.search(details)
        memo = (remi.group(1) if remi else details).replace("\n", "").strip()
        yield StatementEntry(
            amount=abs(_minor(data["amount"].amount, exponent, where)),
            credit=status in ("C", "RD"),
            currency=data.get("currency") or "",
            booking_date=booking_day.isoformat(),
            value_date=value_day.isoformat(),
            status=BOOKED,
            servicer_ref=data.get("bank_reference") or None,
            end_to_end_id=eref.group(1) if eref else (reference if reference and reference != "NONREF" else None),
            uetr=uetr.group(1).lower() if uetr else None,
            kind=data.get("id"),
            position=position,
            memo=memo or None,
        )
