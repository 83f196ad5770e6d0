"""Statements as values, whatever file they came from, and the helpers every format's module shares.

A statement is a header (the account, its currency, the opening and closing
booked balances and their dates) and a stream of entries; amounts are
integers of minor units here too, the credit/debit indicator says the sign.
The files are ISO 20022 camt.052/053/054 (:mod:`wonledger.statements.camt053`),
SWIFT MT940 (:mod:`wonledger.statements.mt940file`) and CSV
(:mod:`wonledger.statements.csvfile`); each of those modules imports the values
here, and :mod:`wonledger.statements.formats` (the table of formats and the
door that reads a file of any of them) imports the modules, never the
reverse. Every reader streams, so a statement of a million entries never
sits in memory whole; ids longer than ISO 20022 allows travel as
:func:`short_ref` of them.

Two things every reader does the same way live here. **The period** a
statement covers is its own (:meth:`StatementHeader.period`): the from/to
dates it states (camt ``FrToDt``, the CSV's balance rows), else the span of
its booked entries bounded by its balances' dates, where an entry booked
on the opening balance's own date is inside. **Its own arithmetic**
(:func:`close_page`): opening + the booked entries = closing, per page of a
statement cut into pages and for the whole; what does not add up is written
into ``header.problems`` as the file is read, for the reconciliation to
report.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import BinaryIO

from wonledger.domain.errors import BadAmount, BadStatement
from wonledger.domain.money import format_amount, parse_amount

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
    memo: str | None = None  # remittance information (the transaction's memo)
    instruction_id: str | None = None  # InstrId: the instructing party's id (camt.054 is often matched by it)
    #: in a batched entry (one ``Ntry``, several ``TxDtls``), which transaction of it (1-based); 0 if not batched
    batch_index: int = 0
    #: on a batch's last item: the entry's signed amount, and the signed sum of its transactions' amounts
    #: (None when they carry none: then the ledger's legs they name give theirs)
    batch_entry: int | None = None
    batch_total: int | None = None
    #: False for a transaction of a batch whose details give no amount of its own (``amount`` is then 0)
    amount_given: bool = True
    asset: str | None = None  # the ledger asset a row names (CSV); None where the format has no such field
    #: more ids it may be matched by, when they name one of the ledger's payments (MT940's reference for the
    #: account owner, a remittance line that is a single id)
    other_refs: tuple[str, ...] = ()

    @property
    def indicator(self) -> str:
        return CREDIT if self.credit else DEBIT

    @property
    def references(self) -> tuple[str, ...]:
        """The ids it may be matched by, most specific first."""
        refs = (self.servicer_ref, self.end_to_end_id, self.uetr, self.instruction_id, *self.other_refs)
        return tuple(dict.fromkeys(r for r in refs if r and r != NOT_PROVIDED))

    @property
    def signed(self) -> int:
        return self.amount if self.credit else -self.amount

    @property
    def end_to_end(self) -> str | None:
        return self.end_to_end_id if self.end_to_end_id and self.end_to_end_id != NOT_PROVIDED else None


@dataclass(slots=True)
class StatementHeader:
    """What the statement says besides its entries; filled in as the file is read."""

    account: str | None = None
    currency: str | None = None
    asset: str | None = None  # the ledger asset the file names (the CSV's asset column)
    account_name: str | None = None  # camt ``Acct/Nm``: a bank's name for the account; wonledger writes the asset there
    #: the period the file states (camt ``FrToDt``, the CSV's OPBD and CLBD rows), if it states one
    from_date: str | None = None
    to_date: str | None = None
    opening: int | None = None  # signed minor units: credit positive
    closing: int | None = None
    opening_date: str | None = None  # the balances' own dates
    closing_date: str | None = None
    statement_id: str | None = None
    message_id: str | None = None
    #: the account's id as the file gives it (Acct/Id/IBAN or Othr/Id, MT940 :25:), before any mapping
    external_account: str | None = None
    sequence: int | None = None  # ElctrncSeqNb, MT940 :28C:: the statement's number
    message: str | None = None  # what the file is: "camt.053.001.08", "camt.052.001.02", "MT940", "CSV"
    #: a notification (camt.054) reports single movements, not all of the account's: legs it lacks are no break
    partial: bool = False
    #: what identifies the statement among others of its account: the same twice in one file is a duplicate
    fingerprint: tuple[str, ...] = ()
    first_booking: str | None = None  # the first and last booking dates of its booked entries
    last_booking: str | None = None
    booked_total: int = 0  # the signed sum of its booked entries
    pages: int = 1
    #: where its own arithmetic fails: one dict per page that does not add up or does not continue the last
    problems: list[dict[str, object]] = field(default_factory=list)
    complete: bool = False  # every entry has been read (the closing balance of an MT940 comes last)

    def booked(self, signed: int, booking_date: str) -> None:
        """Count a booked entry (not one item of a batch: the entry) into the statement's arithmetic and span."""
        self.booked_total += signed
        if self.first_booking is None or booking_date < self.first_booking:
            self.first_booking = booking_date
        if self.last_booking is None or booking_date > self.last_booking:
            self.last_booking = booking_date

    def period(self) -> tuple[str | None, str | None]:
        """The days the statement covers, first and last (inclusive), as far as it has been read.

        The dates it states, where it states them; else the span of its booked
        entries bounded by its balances' dates. An opening balance is the
        balance at the end of its date (SWIFT's reading of ``:60F:``), so the
        period starts the day after it, unless an entry is booked on that date
        or before it (then the opening was the balance at the start of that
        day: many banks date it so); a statement of one day and no entries
        covers that day.
        """
        if self.from_date or self.to_date:
            return self.from_date, self.to_date
        start, end = self.opening_date, self.closing_date
        if start is not None:
            later = self.first_booking if self.first_booking is not None else end
            if later is not None and later > start:
                start = next_day(start)
        if self.first_booking is not None and (start is None or self.first_booking < start):
            start = self.first_booking
        if self.last_booking is not None and (end is None or self.last_booking > end):
            end = self.last_booking
        return start, end


def next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def close_page(header: StatementHeader, opening: int, total: int, closing: int, page: int | None = None) -> None:
    """Check one page (or a whole statement) of ``header``: ``opening`` + ``total`` of its entries must be ``closing``."""
    if opening + total != closing:
        problem: dict[str, object] = {"statement_id": header.statement_id}
        if page is not None:
            problem["page"] = page
        problem |= {"opening": opening, "entries_total": total, "closing": closing, "difference": opening + total - closing}
        header.problems.append(problem)


def continue_page(header: StatementHeader, previous_closing: int, opening: int, page: int) -> None:
    """A page must open with the balance the page before it closed with."""
    if previous_closing != opening:
        header.problems.append(
            {"statement_id": header.statement_id, "page": page, "previous_closing": previous_closing, "opening": opening, "difference": previous_closing - opening}
        )


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


#: ISO 20022 ids (EndToEndId, MsgId, Stmt/Id, AcctSvcrRef) are at most 35 characters, Acct/Othr/Id 34.
MAX35, MAX34 = 35, 34
_SHORT = "wl-"


def short_ref(text: str, limit: int = MAX35) -> str:
    """``text`` itself when it fits in ``limit`` characters, else a stable reference of exactly ``limit``.

    The reference is ``wl-`` and the first hex digits of SHA-256 of the text:
    the same id always gets the same reference (so a re-export matches), and
    the full id travels beside it in a field that allows it.
    """
    if len(text) <= limit:
        return text
    return _SHORT + hashlib.sha256(text.encode()).hexdigest()[: limit - len(_SHORT)]


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
        raise BadStatement(f"{what}: {quoted(text)} is not a date (YYYY-MM-DD)") from None
    return day


def quoted(text: str, limit: int = 40) -> str:
    """A piece of a file, shown in a message: in double quotes, cut at ``limit``, control characters as spaces."""
    shown = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text.strip())
    return f'"{shown[:limit]}…"' if len(shown) > limit else f'"{shown}"'


class CountingReader(io.RawIOBase):
    """A binary stream that reports how many bytes were read (for a progress bar)."""

    def __init__(self, stream: BinaryIO, progress: Callable[[int], None] | None) -> None:
        super().__init__()
        self._stream = stream
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._stream.read(len(buffer))
        n = len(chunk)
        buffer[:n] = chunk
        if self._progress is not None and n:
            self._progress(n)
        return n


#: Given a statement's header (account, currency, ids) before its amounts are read: the exponent of the
#: ledger asset to read them in, or None to skip the statement.
Choose = Callable[[StatementHeader], "int | None"]
