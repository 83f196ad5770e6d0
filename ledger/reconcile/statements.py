"""Statements as values, whatever file they came from, and the one door to read them.

A statement is a header (the account, its currency, the period, the opening
and closing booked balances) and a stream of entries; amounts are integers of
minor units here too, the credit/debit indicator says the sign. The files
are camt.053 (:mod:`ledger.reconcile.camt053`) and CSV
(:mod:`ledger.reconcile.csvfile`); :func:`read_statement` tells them apart
by their first bytes and streams either, so a statement of a million
entries never sits in memory whole.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

from ledger.errors import BadAmount, BadStatement
from ledger.money import format_amount, parse_amount

BOOKED = "BOOK"
CREDIT, DEBIT = "CRDT", "DBIT"
#: ISO 20022's placeholder for "the end-to-end id was not given".
NOT_PROVIDED = "NOTPROVIDED"


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """One booked movement on the account (one leg, when the ledger wrote it)."""

    amount: int  # minor units, positive
    credit: bool  # CRDT: money came in
    currency: str
    booking_date: str  # YYYY-MM-DD
    value_date: str
    status: str = BOOKED
    servicer_ref: str | None = None
    end_to_end_id: str | None = None
    uetr: str | None = None
    kind: str | None = None
    position: int = 0  # the entry's number in its file (1-based), to find it again

    @property
    def indicator(self) -> str:
        return CREDIT if self.credit else DEBIT

    @property
    def references(self) -> tuple[str, ...]:
        """The ids it may be matched by, most specific first."""
        refs = (self.servicer_ref, self.end_to_end_id, self.uetr)
        return tuple(r for r in refs if r and r != NOT_PROVIDED)

    @property
    def end_to_end(self) -> str | None:
        return self.end_to_end_id if self.end_to_end_id and self.end_to_end_id != NOT_PROVIDED else None


@dataclass(slots=True)
class StatementHeader:
    """What the statement says besides its entries; filled in as the file is read."""

    account: str | None = None
    currency: str | None = None
    asset: str | None = None
    from_date: str | None = None
    to_date: str | None = None
    opening: int | None = None  # signed minor units: credit positive
    closing: int | None = None
    statement_id: str | None = None


class StatementReader:
    """A header and an iterator of entries, read lazily from one file."""

    def __init__(self, header: StatementHeader, entries: Iterator[StatementEntry], format: str) -> None:
        self.header = header
        self.format = format
        self._entries = entries

    def __iter__(self) -> Iterator[StatementEntry]:
        return self._entries


def uetr_for(ledger_id: str, tx_id: str) -> str:
    """A UUIDv4-shaped UETR that the same transaction always gets (so a re-export matches)."""
    digest = hashlib.sha256(f"wonledger-uetr\x00{ledger_id}\x00{tx_id}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def servicer_ref(ledger_id: str, seq: int, idx: int) -> str:
    """The ledger's own reference of one leg: unique, and at most 35 characters as ISO 20022 wants."""
    return f"{ledger_id}:{seq}:{idx}"[:35]


def minor_units(text: str | None, exponent: int, what: str, allow_zero: bool = False) -> int:
    """A statement's decimal amount (major units) as minor units; refuses what is not one."""
    if text is None or not text.strip():
        raise BadStatement(f"{what} has no amount")
    cleaned = text.strip()
    if allow_zero and cleaned.strip("0.") == "" and cleaned[0] == "0":
        return 0
    try:
        return parse_amount(cleaned, exponent)
    except BadAmount as exc:
        raise BadStatement(f"{what}: {exc.message}") from None


def decimal_text(minor: int, exponent: int) -> str:
    return format_amount(abs(minor), exponent, grouping=False)


def check_date(text: str | None, what: str) -> str:
    """``YYYY-MM-DD`` (a date-time's date part is taken)."""
    if text is None or not text.strip():
        raise BadStatement(f"{what} has no date")
    day = text.strip()[:10]
    try:
        date.fromisoformat(day)
    except ValueError:
        raise BadStatement(f"{what}: {text.strip()[:40]!r} is not a date (YYYY-MM-DD)") from None
    return day


class CountingReader(io.RawIOBase):
    """A binary stream that reports how many bytes were read (for a progress bar)."""

    def __init__(self, stream: BinaryIO, progress: Callable[[int], None] | None) -> None:
        super().__init__()
        self._stream = stream
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        chunk = self._stream.read(len(buffer))
        n = len(chunk)
        buffer[:n] = chunk
        if self._progress is not None and n:
            self._progress(n)
        return n


def read_statement(stream: BinaryIO, exponent: int, progress: Callable[[int], None] | None = None) -> StatementReader:
    """Read a camt.053 or CSV statement (told apart by its first bytes) as a stream of entries."""
    from ledger.reconcile import camt053, csvfile

    if not hasattr(stream, "peek"):
        stream = io.BufferedReader(stream)  # type: ignore[arg-type]
    head = stream.peek(512)[:512]  # type: ignore[attr-defined]
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    counted = CountingReader(stream, progress)
    if not start:
        raise BadStatement("the statement file is empty")
    if start.startswith(b"<"):
        return camt053.read(counted, exponent)
    return csvfile.read(counted, exponent)
