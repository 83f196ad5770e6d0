"""ISO 20022 camt.053 (bank-to-customer statement): writing it, and reading it safely.

Written as ``camt.053.001.08`` with the standard library's streaming
:class:`xml.sax.saxutils.XMLGenerator` (every name and text escaped by it,
one entry at a time, so a statement of any length takes constant memory):
opening and closing booked balances (OPBD, CLBD), then one ``<Ntry>`` per
leg with amount and currency, credit/debit indicator, status BOOK, booking
and value dates, the account servicer reference, the kind as a proprietary
bank transaction code, and in ``NtryDtls/TxDtls/Refs`` the end-to-end id
(the transaction id) and a UETR.

Read with ``defusedxml``'s expat reader, fed 64 KiB at a time: a DTD of any
kind is refused before anything in it is expanded or fetched (no entity
expansion, no external entities, nothing read from disk), and no tree is
built: each ``<Ntry>`` becomes a flat record of its fields and then an entry,
so memory stays flat however many entries there are. Any
camt.053 version is read (``Sts`` as text, as in version 2, or as ``<Cd>``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO, TextIO
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler
from xml.sax.saxutils import XMLGenerator

from defusedxml.expatreader import DefusedExpatParser
from defusedxml.common import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

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

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
_CAMT053 = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.\d\d")


# -- writing ------------------------------------------------------------------------


class _Writer:
    """XMLGenerator with two-space indentation (whitespace only between elements, never inside text)."""

    def __init__(self, out: TextIO) -> None:
        self.xml = XMLGenerator(out, encoding="utf-8", short_empty_elements=True)
        self._open: list[bool] = []  # per open element: has it children yet?

    def _indent(self) -> None:
        if not self._open:
            return  # the root follows the XML declaration's own line break
        self._open[-1] = True
        self.xml.ignorableWhitespace("\n" + "  " * len(self._open))

    def start(self, name: str, attrs: dict[str, str] | None = None) -> None:
        self._indent()
        self.xml.startElement(name, attrs or {})
        self._open.append(False)

    def end(self, name: str) -> None:
        if self._open.pop():
            self.xml.ignorableWhitespace("\n" + "  " * len(self._open))
        self.xml.endElement(name)

    def leaf(self, name: str, text: str, attrs: dict[str, str] | None = None) -> None:
        self._indent()
        self.xml.startElement(name, attrs or {})
        self.xml.characters(text)
        self.xml.endElement(name)

    def path(self, names: Iterable[str], text: str) -> None:
        """``path(["A", "B"], t)`` writes ``<A><B>t</B></A>``."""
        names = list(names)
        for n in names[:-1]:
            self.start(n)
        self.leaf(names[-1], text)
        for n in reversed(names[:-1]):
            self.end(n)


def write(
    out: TextIO,
    header: StatementHeader,
    entries: Iterable[StatementEntry],
    exponent: int,
    created_at: str,
) -> int:
    """Write a camt.053 document to the text stream ``out``; returns the number of entries."""
    w = _Writer(out)
    currency = header.currency or "XXX"
    w.xml.startDocument()
    w.start("Document", {"xmlns": NAMESPACE})
    w.start("BkToCstmrStmt")
    w.start("GrpHdr")
    w.leaf("MsgId", header.statement_id or "")
    w.leaf("CreDtTm", created_at)
    w.end("GrpHdr")
    w.start("Stmt")
    w.leaf("Id", header.statement_id or "")
    w.leaf("CreDtTm", created_at)
    if header.from_date and header.to_date:
        w.start("FrToDt")
        w.leaf("FrDtTm", f"{header.from_date}T00:00:00Z")
        w.leaf("ToDtTm", f"{header.to_date}T23:59:59Z")
        w.end("FrToDt")
    w.start("Acct")
    w.path(["Id", "Othr", "Id"], header.account or "")
    w.leaf("Ccy", currency)
    if header.asset:
        w.leaf("Nm", header.asset)
    w.end("Acct")
    for code, amount, day in (("OPBD", header.opening, header.from_date), ("CLBD", header.closing, header.to_date)):
        if amount is None:
            continue
        w.start("Bal")
        w.path(["Tp", "CdOrPrtry", "Cd"], code)
        w.leaf("Amt", decimal_text(amount, exponent), {"Ccy": currency})
        w.leaf("CdtDbtInd", "CRDT" if amount >= 0 else "DBIT")
        w.path(["Dt", "Dt"], day or "")
        w.end("Bal")
    count = 0
    for e in entries:
        count += 1
        w.start("Ntry")
        w.leaf("Amt", decimal_text(e.amount, exponent), {"Ccy": e.currency})
        w.leaf("CdtDbtInd", e.indicator)
        w.path(["Sts", "Cd"], e.status)
        w.path(["BookgDt", "Dt"], e.booking_date)
        w.path(["ValDt", "Dt"], e.value_date)
        if e.servicer_ref:
            w.leaf("AcctSvcrRef", e.servicer_ref)
        w.start("BkTxCd")
        w.start("Prtry")
        w.leaf("Cd", e.kind or "transfer")
        w.leaf("Issr", "wonledger")
        w.end("Prtry")
        w.end("BkTxCd")
        w.start("NtryDtls")
        w.start("TxDtls")
        w.start("Refs")
        if e.servicer_ref:
            w.leaf("AcctSvcrRef", e.servicer_ref)
        w.leaf("EndToEndId", e.end_to_end_id or "NOTPROVIDED")
        if e.uetr:
            w.leaf("UETR", e.uetr)
        w.end("Refs")
        w.leaf("Amt", decimal_text(e.amount, exponent), {"Ccy": e.currency})
        w.leaf("CdtDbtInd", e.indicator)
        w.end("TxDtls")
        w.end("NtryDtls")
        w.end("Ntry")
    w.end("Stmt")
    w.end("BkToCstmrStmt")
    w.end("Document")
    w.xml.endDocument()
    out.write("\n")
    return count


# -- reading --------------------------------------------------------------------------

#: Elements read whole, as a flat record of "relative/path" → text: entries, balances and the rest of the header.
_RECORDS = {("BkToCstmrStmt", "GrpHdr"), ("BkToCstmrStmt", "Stmt", "Ntry"), ("BkToCstmrStmt", "Stmt", "Bal"),
            ("BkToCstmrStmt", "Stmt", "Acct"), ("BkToCstmrStmt", "Stmt", "FrToDt")}
_CHUNK = 64 * 1024


class _Handler(ContentHandler):
    """Turns SAX events into flat records, one per entry or header part; keeps nothing else."""

    def __init__(self) -> None:
        super().__init__()
        self.path: list[str] = []  # local names (any namespace prefix dropped), from <Document> down
        self.record: dict[str, str] | None = None
        self.record_depth = 0
        self.text: list[str] = []
        self.done: list[tuple[str, dict[str, str]]] = []  # (record kind, fields)
        self.statements = 0

    def startElement(self, name: str, attrs) -> None:  # type: ignore[no-untyped-def, override]
        prefix, _, local = name.rpartition(":")
        if not self.path:
            uri = attrs.get(f"xmlns:{prefix}" if prefix else "xmlns", "")
            if local != "Document" or not _CAMT053.fullmatch(uri):
                what = f"a {uri.rpartition(':')[2]} document" if uri else f"an XML document with root <{name}>"
                raise BadStatement(f"this is {what}, not a camt.053 statement (urn:iso:std:iso:20022:tech:xsd:camt.053.001.*)")
        self.path.append(local)
        if self.record is not None:
            if local == "Amt" and len(self.path) == self.record_depth + 1 and "Amt@Ccy" not in self.record:
                self.record["Amt@Ccy"] = attrs.get("Ccy", "")
            self.text = []
            return
        inner = tuple(self.path[1:])
        if inner == ("BkToCstmrStmt", "Stmt"):
            self.statements += 1
            if self.statements > 1:
                raise BadStatement("the file holds several statements; reconcile one account's statement at a time")
        elif inner in _RECORDS:
            self.record, self.record_depth = {}, len(self.path)

    def characters(self, content: str) -> None:
        if self.record is not None:
            self.text.append(content)

    def endElement(self, name: str) -> None:
        if self.record is not None:
            if len(self.path) == self.record_depth:
                self.done.append((self.path[-1], self.record))
                self.record = None
            else:
                rel = "/".join(self.path[self.record_depth :])
                value = "".join(self.text).strip()
                if value and rel not in self.record:
                    self.record[rel] = value
                self.text = []
        self.path.pop()


def read(stream: BinaryIO, exponent: int) -> StatementReader:
    header = StatementHeader()
    return StatementReader(header, _entries(stream, exponent, header), "camt053")


def _entries(stream: BinaryIO, exponent: int, header: StatementHeader) -> Iterator[StatementEntry]:
    try:
        yield from _parse(stream, exponent, header)
    except DTDForbidden:
        raise BadStatement("refused: the XML has a document type declaration (DTD); statements need none, and a DTD is how entity bombs and external entities get in") from None
    except EntitiesForbidden:
        raise BadStatement("refused: the XML declares entities (a possible entity-expansion bomb)") from None
    except ExternalReferenceForbidden:
        raise BadStatement("refused: the XML refers to an external resource") from None
    except DefusedXmlException as exc:
        raise BadStatement(f"refused unsafe XML: {exc}") from None
    except SAXParseException as exc:
        raise BadStatement(f"the statement is not well-formed XML: {exc.getMessage()} (line {exc.getLineNumber()}, column {exc.getColumnNumber()})") from None


def _parse(stream: BinaryIO, exponent: int, header: StatementHeader) -> Iterator[StatementEntry]:
    # defusedxml's expat reader, fed in chunks: pull-style reading in constant memory, no tree at all.
    parser = DefusedExpatParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    # Namespace processing stays off (it doubles the cost per element); the root's xmlns is checked by hand.
    handler = _Handler()
    parser.setContentHandler(handler)
    position = 0
    while True:
        chunk = stream.read(_CHUNK)
        if chunk:
            parser.feed(chunk)
        else:
            parser.close()
        for kind, fields in handler.done:
            if kind == "Ntry":
                position += 1
                yield _entry(fields, exponent, position)
            elif kind == "Bal":
                _balance(fields, exponent, header)
            elif kind == "Acct":
                header.account = fields.get("Id/Othr/Id") or fields.get("Id/IBAN")
                header.currency = fields.get("Ccy")
                header.asset = fields.get("Nm")
            elif kind == "FrToDt":
                header.from_date = check_date(fields.get("FrDtTm"), "FrToDt/FrDtTm")
                header.to_date = check_date(fields.get("ToDtTm"), "FrToDt/ToDtTm")
            elif kind == "GrpHdr":
                header.statement_id = fields.get("MsgId")
        handler.done.clear()
        if not chunk:
            break
    if handler.statements == 0:
        raise BadStatement("the camt.053 document has no <Stmt>")


def _balance(fields: dict[str, str], exponent: int, header: StatementHeader) -> None:
    code = fields.get("Tp/CdOrPrtry/Cd")
    if code not in ("OPBD", "CLBD"):
        return  # other balances (available, interim) are not reconciled
    amount = minor_units(fields.get("Amt"), exponent, f"balance {code}", allow_zero=True)
    indicator = fields.get("CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise BadStatement(f"balance {code} has credit/debit indicator {indicator!r}, not CRDT or DBIT")
    signed = amount if indicator == "CRDT" else -amount
    day = fields.get("Dt/Dt") or fields.get("Dt/DtTm")
    if code == "OPBD":
        header.opening = signed
        header.from_date = header.from_date or (check_date(day, "balance OPBD") if day else None)
    else:
        header.closing = signed
        header.to_date = header.to_date or (check_date(day, "balance CLBD") if day else None)


_REFS = "NtryDtls/TxDtls/Refs/"


def _entry(fields: dict[str, str], exponent: int, position: int) -> StatementEntry:
    where = f"entry {position}"
    if "Amt" not in fields:
        raise BadStatement(f"{where} has no <Amt>")
    indicator = fields.get("CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise BadStatement(f"{where} has credit/debit indicator {indicator!r}, not CRDT or DBIT")
    booking = fields.get("BookgDt/Dt") or fields.get("BookgDt/DtTm")
    value = fields.get("ValDt/Dt") or fields.get("ValDt/DtTm") or booking
    booking = booking or value
    return StatementEntry(
        amount=minor_units(fields["Amt"], exponent, where),
        credit=indicator == "CRDT",
        currency=fields.get("Amt@Ccy", "").strip(),
        booking_date=check_date(booking, f"{where} booking date"),
        value_date=check_date(value, f"{where} value date"),
        status=fields.get("Sts/Cd") or fields.get("Sts") or BOOKED,
        servicer_ref=fields.get("AcctSvcrRef") or fields.get(_REFS + "AcctSvcrRef"),
        end_to_end_id=fields.get(_REFS + "EndToEndId"),
        uetr=fields.get(_REFS + "UETR"),
        kind=fields.get("BkTxCd/Prtry/Cd"),
        position=position,
    )
