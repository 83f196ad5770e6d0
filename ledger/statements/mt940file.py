"""SWIFT MT940 (customer statement message) as banks send it, read line by line by a reader of our own.

Many banks still send MT940 beside or instead of camt.053, each with its own
habits, and the reader takes them as they come:

- **around the messages**: a bank's header lines before ``:20:`` (ABN AMRO's
  ``ABNANL2A`` / ``940``, ING's ``0000 01INGBNL2AXXXX00001``, Rabobank's
  ``:940:``), SWIFT envelopes (``{1:…}{2:O940…}{3:{108:…}}{4:`` … ``-}``
  ``{5:{CHK:…}}``, several on one line), trailers (``-``, ``-}``, ``-XXX``),
  files whose lines are separated by ``@@``; blank lines; UTF-8 or Latin-1;
- **several statements per file**, and **multi-page statements**: a page
  that opens with ``:60M:`` continues the statement of the same account
  whose page closed with ``:62M:``; the pages are stitched into one
  statement, each page must open with the balance the one before closed
  with, and each must add up (opening + its entries = closing);
- ``:25:`` the account, ``:28C:`` (or ``:28:``) the statement number in any
  of its forms (``00143/1``, ``0``, ``/1``, ``19321/1``, broken over two
  lines as ING does), ``:60F:``/``:60M:`` and ``:62F:``/``:62M:`` the
  balances (``:64:``, ``:65:`` and a statement's closing ``:86:`` are read
  and not compared);
- each ``:61:`` an entry: value date, entry date (``MMDD``, across a year's
  end; blank as ASN writes it), ``C``/``D``/``RC``/``RD`` (a reversal counts
  the other way), the funds code (``DR20,00``: the third letter of the
  currency), the amount (``9,``, ``000000001000,00``), the transaction type
  (``NTRF``, ``NOV ``), the reference for the account owner (of any length:
  banks exceed SWIFT's 16 characters; ``NONREF`` is none), ``//`` the bank's
  reference, and a line of supplementary details;
- ``:86:`` the information to the account owner, structured three ways: the
  German ``GV-code?00…?20…?29…?32…`` subfields with SEPA keywords
  (``EREF+``, ``KREF+``, ``SVWZ+`` …), the Dutch and SWIFT slash codes
  (``/EREF/…/CNTP/…/REMI/USTD//…/``), or free text. ``/EREF/`` and
  ``EREF+`` give the end-to-end id, ``/UETR/`` the UETR; the remittance
  (``/REMI/``, ``SVWZ+``) is the memo, and a remittance that is a single id,
  the reference for the account owner and ``KREF+`` are further ids to
  match by.

A file that is not one of these is refused with the line and what was
expected there ("MT940 line 7: expected the opening balance :60F: …, found
:61:"), never with a Python object's text.

**Why not the ``mt-940`` package.** It served until banks' own files were
tried: it takes a header line before ``:20:`` for a separate statement,
does not stitch ``:60M:``/``:62M:`` pages, and meets a quirk with an
exception whose message is the repr of its own objects. Its tag processors
can patch single fields, but what was wrong was the structure around them
(pages, envelopes, statement-level ``:86:``) and the errors; it also reads
the whole file into memory first. MT940 is a line format of a dozen fields:
a reader of our own is about as long as the configuration would have been,
streams line by line (a statement's memory is one entry), and says which
line is wrong and why.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from wonledger.domain.errors import BadStatement
from wonledger.statements.statement import (
    BOOKED,
    NOT_PROVIDED,
    Choose,
    StatementEntry,
    StatementHeader,
    StatementReader,
    close_page,
    continue_page,
    quoted,
)

#: No line of an MT940 is this long; a file with one is not MT940 (or has no line breaks at all).
MAX_LINE = 64 * 1024
_FIELD = re.compile(r":(\d\d[A-Z]?):(.*)", re.S)
_END = re.compile(r"-\s*$|-\}|-X+\s*$")
_BALANCE = re.compile(r"([CD])(\d{6})([A-Z]{3})(\d[\d,]*)")
_STATEMENT_NUMBER = re.compile(r"(\d{0,5})(?:/(\d{1,5}))?")
_LINE = re.compile(
    r"(?P<value>\d{6})(?P<entry>\d{4}|\s{4})?(?P<mark>RC|RD|C|D)(?P<funds>[A-Z])?(?P<amount>\d[\d,]*)"
    r"(?P<type>[A-Z][A-Z0-9 ]{3})(?P<ref>.*?)(?://(?P<bank>.*))?"
)
#: Fields that continue over further lines (the information to the owner, an entry's supplementary details).
_CONTINUED = ("86", "61", "NS")
#: Fields of an MT942 interim report, which is not a statement.
_MT942 = ("34F", "13D", "90D", "90C")
#: The Dutch and SWIFT codes of a structured :86: (ING, ABN AMRO, Rabobank, Triodos, Knab, bunq ...).
_SLASH_CODES = re.compile(
    r"/(EREF|PREF|MARF|CSID|CNTP|BENM|ORDP|REMI|PURP|RTRN|IREF|ISDT|TRTP|IBAN|BIC|NAME|ADDR|UETR|KREF|OCMT|CHGS|EXCH|ULTB|ULTC|ULTD|BUSP|TRCD|SVCL|CDTRREF|CDTRREFTP|ORDR|BENE)/"
)
#: SEPA keywords in German ?20..?29 purpose lines.
_SEPA = re.compile(r"(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|COAM|OAMT|IBAN|BIC)\+")
_UETR = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: A remittance line that is one id (a digit in it, and a separator or letters: "INV-2026-0301", "po-1201-1").
_SINGLE_ID = re.compile(r"(?=.*\d)(?=.*[A-Za-z._:-])[A-Za-z0-9][A-Za-z0-9._:-]{3,127}")
_NO_REFERENCE = ("NONREF", "NOTPROVIDED", "EREF", "")


@dataclass(slots=True)
class _Field:
    tag: str  # "20", "60F", ...; "END" for the end of a message block
    value: str
    line: int
    more: list[str] = field(default_factory=list)  # continuation lines

    def text(self, joiner: str = "\n") -> str:
        return joiner.join([self.value, *self.more])


def _fail(line: int, what: str) -> BadStatement:
    return BadStatement(f"MT940 line {line}: {what}")


def _lines(stream: io.RawIOBase) -> Iterator[tuple[int, str]]:
    """The file's lines, numbered from 1, each decoded on its own (UTF-8, else Latin-1), ``@@`` taken as a line break."""
    buffered = io.BufferedReader(stream)
    number = 0
    at_signs: bool | None = None
    while True:
        raw = buffered.readline(MAX_LINE + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE:
            raise _fail(number + 1, f"the line is longer than {MAX_LINE // 1024} KiB: this is not an MT940 file")
        try:
            text = raw.decode("utf-8-sig" if number == 0 else "utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")  # SWIFT's character set is a subset of both; banks' exports use either
        text = text.rstrip("\r\n")
        if at_signs is None and text.strip():
            at_signs = "@@" in text  # a file written with @@ for its line breaks (some German banks' exports)
        for part in text.split("@@") if at_signs else (text,):
            number += 1
            yield number, part


def _fields(lines: Iterator[tuple[int, str]]) -> Iterator[_Field]:
    """Fields, with their continuation lines, and an END field where a message block ends; other lines are skipped.

    Outside a message (before its ``:20:``, after its closing balance or its
    end marker) a line that is no field is a header or trailer. Inside, it
    continues the field before it if that field continues (``:86:``,
    ``:61:``, ``:28C:`` broken after its number); anything else is an error.
    """
    current: _Field | None = None
    inside = False
    for number, text in lines:
        pending = [text]
        while pending:
            text = pending.pop()
            if text.startswith("{") or (not inside and "{4:" in text):
                start = text.find("{4:")
                if start < 0:
                    continue  # a block of the envelope ({1:}, {2:}, {3:}, {5:}) or a bank's header
                if current is not None:
                    yield current
                    current = None
                yield _Field("END", "", number)
                inside = True
                rest = text[start + 3 :]
                if rest.strip():
                    pending.append(rest)
                continue
            found = _FIELD.match(text)
            if found:
                if current is not None:
                    yield current
                current = _Field(found[1], found[2].strip() if found[1] != "86" else found[2], number)
                inside = current.tag not in ("62F", "62M", "64", "65")
                continue
            if _END.match(text) or text.startswith("}"):
                if current is not None:
                    yield current
                    current = None
                yield _Field("END", "", number)
                inside = False
                rest = text[text.find("}") + 1 :] if "}" in text else ""
                if "{4:" in rest:
                    pending.append(rest)
                continue
            if current is not None and (current.tag in _CONTINUED or (current.tag in ("28C", "28") and re.fullmatch(r"\s*[\d/]+\s*", text))):
                current.more.append(text)
                continue
            if not text.strip() or not inside:
                continue
            shown = f":{current.tag}:" if current is not None else "the start of the message"
            raise _fail(number, f"expected a field such as :61:, :86: or :62F: after {shown}, found {quoted(text)}")
    if current is not None:
        yield current


class _Fields:
    """The fields of a file with as many of them put back as the reader needs to look ahead."""

    def __init__(self, stream: io.RawIOBase) -> None:
        self._iter = _fields(_lines(stream))
        self._back: list[_Field] = []
        self.last_line = 0

    def next(self) -> _Field | None:
        found = self._back.pop() if self._back else next(self._iter, None)
        if found is not None:
            self.last_line = found.line
        return found

    def push(self, *fields: _Field) -> None:
        self._back.extend(reversed(fields))

    def skip_ends(self) -> _Field | None:
        while True:
            found = self.next()
            if found is None or found.tag != "END":
                return found


@dataclass(slots=True)
class _Page:
    """A message's fields up to and including its opening balance (and those fields, to put back if need be)."""

    reference: str
    account: str | None
    number: str
    opening: _Field
    read: list[_Field]


def _page(fields: _Fields) -> _Page | None:
    """The next message's header, or None at the end of the file."""
    first = fields.skip_ends()
    if first is None:
        return None
    if first.tag in _MT942:
        raise _fail(first.line, f"field :{first.tag}: belongs to an MT942 interim report, not to an MT940 statement")
    if first.tag != "20":
        raise _fail(first.line, f"a statement starts with its reference :20:, found :{first.tag}:")
    read, account, number = [first], None, ""
    while True:
        found = fields.next()
        if found is None or found.tag == "END":
            raise _fail(found.line if found else fields.last_line, f"statement {quoted(first.value)} ends before its opening balance :60F:")
        read.append(found)
        if found.tag in ("25", "25P"):
            account = found.value.strip() or None
        elif found.tag in ("28C", "28"):
            number = found.text("").replace(" ", "")
        elif found.tag in ("60F", "60M"):
            if account is None:
                raise _fail(found.line, f"statement {quoted(first.value)} names no account (:25:) before its opening balance")
            return _Page(first.value.strip(), account, number, found, read)
        elif found.tag in _MT942:
            raise _fail(found.line, f"field :{found.tag}: belongs to an MT942 interim report, not to an MT940 statement")
        elif found.tag not in ("21", "13", "NS"):
            raise _fail(found.line, f"expected the opening balance :60F: (or :60M: on a continuation page) after the statement's header, found :{found.tag}:")


@dataclass(frozen=True, slots=True)
class _Balance:
    credit: bool
    day: str
    currency: str
    amount: str  # as written ("1000,00")
    line: int


def _balance(found: _Field) -> _Balance:
    text = found.text("").strip()
    match = _BALANCE.fullmatch(text)
    if not match:
        raise _fail(found.line, f":{found.tag}: is {quoted(text)}; expected C or D, a date YYMMDD, a currency and an amount, as in C261130KRW1000,00")
    return _Balance(match[1] == "C", _yymmdd(match[2], found.line), match[3], match[4], found.line)


def _yymmdd(text: str, line: int) -> str:
    try:
        return date(2000 + int(text[:2]) if int(text[:2]) < 80 else 1900 + int(text[:2]), int(text[2:4]), int(text[4:6])).isoformat()
    except ValueError:
        raise _fail(line, f"{text} is not a date (YYMMDD)") from None


def _minor(text: str, exponent: int, line: int) -> int:
    """An MT940 amount (a decimal comma, maybe no decimals: ``9,``, ``1000,50``; Knab writes ``500``) in minor units."""
    whole, _, fraction = text.partition(",")
    if not whole.isdigit() or (fraction and not fraction.isdigit()):
        raise _fail(line, f"{quoted(text)} is not an MT940 amount (digits and one decimal comma, as in 1000,00)")
    if len(fraction.rstrip("0")) > exponent:
        raise _fail(line, f"amount {text} has more decimals than the account's currency ({exponent})")
    minor = int(whole) * 10**exponent + (int(fraction[:exponent].ljust(exponent, "0")) if exponent else 0)
    if minor >= 2**63:
        raise _fail(line, f"amount {text} is larger than any amount the ledger holds")
    return minor


def _signed(balance: _Balance, exponent: int) -> int:
    amount = _minor(balance.amount, exponent, balance.line)
    return amount if balance.credit else -amount


def read(stream: io.RawIOBase, choose: Choose) -> Iterator[StatementReader]:
    """Each statement of an MT940 file that ``choose`` takes; pages of one statement come as one."""
    fields = _Fields(stream)
    found_any = False
    while True:
        page = _page(fields)
        if page is None:
            break
        found_any = True
        opening = _balance(page.opening)
        header = StatementHeader(message="MT940")
        header.statement_id = page.reference
        header.account = header.external_account = page.account
        number = _STATEMENT_NUMBER.fullmatch(page.number)
        if page.number and not number:
            raise _fail(page.read[0].line, f"the statement number :28C: is {quoted(page.number)}; expected digits, maybe /page, as in 00143/1")
        header.sequence = int(number[1]) if number and number[1] else None
        header.currency = opening.currency
        header.opening_date = opening.day
        header.fingerprint = (page.reference, page.account or "", page.number, page.opening.text(""))
        exponent = choose(header)
        entries = _Statement(fields, page, opening, header, exponent).entries()
        if exponent is None:
            for _ in entries:  # read through it: its pages must still be told from the next statement's
                pass
            continue
        yield StatementReader(header, entries, "MT940")
        for _ in entries:
            pass
    if not found_any:
        raise BadStatement("the MT940 file has no statement (no :20: field)")


class _Statement:
    """One statement's entries, page after page; checks each page's arithmetic and the pages' continuity."""

    def __init__(self, fields: _Fields, page: _Page, opening: _Balance, header: StatementHeader, exponent: int | None) -> None:
        self.fields, self.page, self.header, self.exponent = fields, page, header, exponent
        self.opening = opening
        self.position = 0
        self.page_number = 1
        self.page_opening = 0  # the signed opening balance of the page being read

    def entries(self) -> Iterator[StatementEntry]:
        header, exponent = self.header, self.exponent
        self.page_opening = _signed(self.opening, exponent) if exponent is not None else 0
        header.opening = self.page_opening if exponent is not None else None
        page_total = 0
        while True:
            found = self.fields.next()
            if found is None or found.tag in ("END", "20"):
                line = found.line if found is not None else self.fields.last_line
                raise _fail(line, f"statement {quoted(self.page.reference)} ends without its closing balance :62F:")
            if found.tag == "61":
                details = self.fields.next()
                if details is not None and details.tag != "86":
                    self.fields.push(details)
                    details = None
                self.position += 1
                if exponent is None:
                    continue
                entry = _entry(found, details, self.opening.currency, exponent, self.position)
                header.booked(entry.signed, entry.booking_date)
                page_total += entry.signed
                yield entry
            elif found.tag in ("62F", "62M"):
                closing = _balance(found)
                self._same_currency(closing)
                header.closing_date = closing.day
                if exponent is not None:
                    header.closing = _signed(closing, exponent)
                    close_page(header, self.page_opening, page_total, header.closing, self.page_number if found.tag == "62M" or self.page_number > 1 else None)
                self._trailer()
                if found.tag == "62F" or not self._next_page(closing):
                    header.complete = True
                    return
                page_total = 0
            elif found.tag in ("86", "64", "65", "NS", "21", "13"):
                continue  # information to the owner about the statement as a whole, available balances
            elif found.tag in ("60F", "60M"):
                raise _fail(found.line, f"a second opening balance :{found.tag}: in statement {quoted(self.page.reference)}, before its closing balance :62F:")
            else:
                raise _fail(found.line, f"expected an entry :61:, its details :86: or the closing balance :62F:, found :{found.tag}:")

    def _same_currency(self, balance: _Balance) -> None:
        if balance.currency != self.opening.currency:
            raise _fail(balance.line, f"the balance is in {balance.currency} but the statement's opening balance is in {self.opening.currency}")

    def _trailer(self) -> None:
        """Read past the fields after the closing balance (available balances, the statement's :86:)."""
        while True:
            found = self.fields.next()
            if found is None:
                return
            if found.tag not in ("64", "65", "86", "NS"):
                self.fields.push(found)
                return

    def _next_page(self, closing: _Balance) -> bool:
        """After a :62M:, take the next message as the next page if it continues this statement (same account, :60M:)."""
        page = _page(self.fields)
        if page is None:
            return False
        if page.opening.tag != "60M" or page.account != self.page.account:
            self.fields.push(*page.read)
            return False
        opening = _balance(page.opening)
        self._same_currency(opening)
        self.page_number += 1
        self.header.pages = self.page_number
        self.page_opening = _signed(opening, self.exponent) if self.exponent is not None else 0
        if self.exponent is not None and self.header.closing is not None:
            continue_page(self.header, self.header.closing, self.page_opening, self.page_number)
        return True


def _entry(line: _Field, details: _Field | None, currency: str, exponent: int, position: int) -> StatementEntry:
    first, *rest = [line.value, *line.more]
    match = _LINE.fullmatch(first.strip())
    if not match:
        raise _fail(
            line.line,
            f":61: is {quoted(first)}; expected a value date YYMMDD, an entry date MMDD, C or D, an amount, "
            "a transaction type and a reference, as in 2612011201D1200000,NTRFpo-1201-1//BANKREF",
        )
    value_day = _yymmdd(match["value"], line.line)
    booking_day = _entry_day(value_day, match["entry"], line.line)
    amount = _minor(match["amount"], exponent, line.line)
    info = _Details(details.text() if details is not None else "", " ".join(r.strip() for r in rest))
    reference = (match["ref"] or "").strip()
    bank = (match["bank"] or "").strip()
    own = reference if reference.upper() not in _NO_REFERENCE and not reference.endswith("+") else None
    end_to_end = info.end_to_end or own
    others = tuple(dict.fromkeys(r for r in (own, info.customer_ref, info.single_id) if r and r != end_to_end))
    return StatementEntry(
        amount=amount,
        credit=match["mark"] in ("C", "RD"),  # a reversed debit puts money back; a reversed credit takes it out
        currency=currency,
        booking_date=booking_day,
        value_date=value_day,
        status=BOOKED,
        servicer_ref=bank if bank.upper() not in _NO_REFERENCE else None,
        end_to_end_id=end_to_end,
        uetr=info.uetr,
        kind=match["type"].strip() or None,
        position=position,
        memo=info.memo,
        other_refs=others,
    )


def _entry_day(value_day: str, mmdd: str | None, line: int) -> str:
    """The entry (booking) date: ``MMDD`` in the year that puts it nearest the value date (a statement may cross a year's end)."""
    if mmdd is None or not mmdd.strip():
        return value_day
    value = date.fromisoformat(value_day)
    candidates = []
    for year in (value.year - 1, value.year, value.year + 1):
        try:
            candidates.append(date(year, int(mmdd[:2]), int(mmdd[2:])))
        except ValueError:
            continue
    if not candidates:
        raise _fail(line, f"the entry date {mmdd} is not a date (MMDD)")
    return min(candidates, key=lambda d: abs((d - value).days)).isoformat()


class _Details:
    """What an entry's ``:86:`` (and its ``:61:``'s supplementary line) says, in any of the three structures."""

    def __init__(self, text: str, supplementary: str) -> None:
        self.end_to_end: str | None = None
        self.uetr: str | None = None
        self.customer_ref: str | None = None
        self.memo: str | None = None
        self.single_id: str | None = None
        stripped = text.strip()
        if re.match(r"\d{3}\s*[?>]\d\d", stripped) or "?20" in stripped:
            self._german(text.replace("\n", ""), "?" if re.match(r"\d{3}\s*\?", stripped) or "?20" in stripped else ">")
        elif stripped.startswith("/") and _SLASH_CODES.search(stripped):
            self._slashes(text.replace("\n", ""))
        else:
            self.memo = " ".join(part.strip() for part in text.splitlines() if part.strip()) or supplementary or None
            self._sepa(self.memo or "")
        uetr = _UETR.search(text)
        if uetr and self.uetr is None and "UETR" in text:
            self.uetr = uetr[0].lower()
        if self.memo and _SINGLE_ID.fullmatch(self.memo.strip()):
            self.single_id = self.memo.strip()

    def _german(self, text: str, mark: str) -> None:
        parts = re.split(re.escape(mark) + r"(\d\d)", text)
        sub: dict[str, str] = {}
        for code, value in zip(parts[1::2], parts[2::2], strict=True):
            sub[code] = sub.get(code, "") + value
        purpose = "".join(sub.get(f"{n:02d}", "") for n in (*range(20, 30), *range(60, 64)))
        if not self._sepa(purpose):
            self.memo = purpose.strip() or sub.get("00", "").strip() or None

    def _sepa(self, text: str) -> bool:
        """German SEPA keywords (``EREF+…SVWZ+…``); True when there were any."""
        pieces = _SEPA.split(text)
        if len(pieces) < 3:
            return False
        found = {key: value.strip() for key, value in zip(pieces[1::2], pieces[2::2], strict=True)}
        self.end_to_end = found.get("EREF") if found.get("EREF") not in (None, "", NOT_PROVIDED) else None
        self.customer_ref = found.get("KREF") or None
        self.memo = found.get("SVWZ") or self.memo
        return True

    def _slashes(self, text: str) -> None:
        pieces = _SLASH_CODES.split(text)
        found: dict[str, str] = {}
        for code, value in zip(pieces[1::2], pieces[2::2], strict=True):
            found.setdefault(code, value)
        eref = found.get("EREF", "").strip().strip("/")
        self.end_to_end = eref if eref and eref != NOT_PROVIDED else None
        self.uetr = found.get("UETR", "").strip("/ ").lower() or None
        self.customer_ref = (found.get("PREF") or found.get("KREF") or "").strip("/ ") or None
        remittance = found.get("REMI", "")
        remittance = re.sub(r"^(USTD|STRD)?/+(CUR/)?", "", remittance)  # ING's /REMI/USTD//text/, /REMI/STRD/CUR/ref/
        self.memo = remittance.strip().strip("/").strip() or None
