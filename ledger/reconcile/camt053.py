"""ISO 20022 camt.053 (bank-to-customer statement): writing it, and reading it safely.

Written as ``camt.053.001.08`` with the standard library's streaming
:class:`xml.sax.saxutils.XMLGenerator` (every name and text escaped by it,
one entry at a time, so a statement of any length takes constant memory):
opening and closing booked balances (OPBD, CLBD), then one ``<Ntry>`` per
leg with amount and currency, credit/debit indicator, status BOOK, booking
and value dates, the account servicer reference, the kind as a proprietary
bank transaction code, and in ``NtryDtls/TxDtls/Refs`` the end-to-end id
(the transaction id) and a UETR.

Read with ``defusedxml``'s ``iterparse``: a DTD of any kind is refused before
anything in it is expanded or fetched (no entity expansion, no external
entities, nothing read from disk), and each ``<Ntry>`` is dropped from the
tree once read, so memory stays flat however many entries there are. Any
camt.053 version is read (``Sts`` as text, as in version 2, or as ``<Cd>``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO, TextIO
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import XMLGenerator

import defusedxml.ElementTree as safe_et
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
    except ParseError as exc:
        raise BadStatement(f"the statement is not well-formed XML: {exc}") from None


def _parse(stream: BinaryIO, exponent: int, header: StatementHeader) -> Iterator[StatementEntry]:
    events = safe_et.iterparse(stream, events=("start", "end"), forbid_dtd=True)
    ns = ""
    stmt: Element | None = None
    statements = 0
    position = 0
    depth = 0
    for event, elem in events:
        if event == "start":
            depth += 1
            if depth == 1:
                ns = _namespace_of(elem.tag)
            elif depth == 3 and elem.tag == f"{{{ns}}}Stmt":
                statements += 1
                if statements > 1:
                    raise BadStatement("the file holds several statements; reconcile one account's statement at a time")
                stmt = elem
            continue
        depth -= 1
        if stmt is None or depth != 3:
            if depth == 2 and elem.tag == f"{{{ns}}}GrpHdr":
                header.statement_id = _text(elem, ns, "MsgId")
            continue
        name = elem.tag[len(ns) + 2 :]
        if name == "Ntry":
            position += 1
            entry = _entry(elem, ns, exponent, position)
            stmt.remove(elem)  # keep the tree from growing with the file
            yield entry
        elif name == "Acct":
            header.account = _text(elem, ns, "Id/Othr/Id") or _text(elem, ns, "Id/IBAN")
            header.currency = _text(elem, ns, "Ccy")
            header.asset = _text(elem, ns, "Nm")
        elif name == "FrToDt":
            header.from_date = check_date(_text(elem, ns, "FrDtTm"), "FrToDt/FrDtTm")
            header.to_date = check_date(_text(elem, ns, "ToDtTm"), "FrToDt/ToDtTm")
        elif name == "Id":
            header.statement_id = (elem.text or "").strip() or header.statement_id
        elif name == "Bal":
            _balance(elem, ns, exponent, header)
    if statements == 0:
        raise BadStatement("the camt.053 document has no <Stmt>")


def _namespace_of(tag: str) -> str:
    ns = tag[1:].partition("}")[0] if tag.startswith("{") else ""
    local = tag.rpartition("}")[2]
    if local != "Document" or not _CAMT053.fullmatch(ns):
        what = f"a {ns.rpartition(':')[2]} document" if ns else f"an XML document with root <{local}>"
        raise BadStatement(f"this is {what}, not a camt.053 statement (urn:iso:std:iso:20022:tech:xsd:camt.053.001.*)")
    return ns


def _text(elem: Element, ns: str, path: str) -> str | None:
    found = elem.find("/".join(f"{{{ns}}}{p}" for p in path.split("/")))
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _balance(elem: Element, ns: str, exponent: int, header: StatementHeader) -> None:
    code = _text(elem, ns, "Tp/CdOrPrtry/Cd")
    if code not in ("OPBD", "CLBD"):
        return  # other balances (available, interim) are not reconciled
    amount = minor_units(_text(elem, ns, "Amt"), exponent, f"balance {code}", allow_zero=True)
    indicator = _text(elem, ns, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise BadStatement(f"balance {code} has credit/debit indicator {indicator!r}, not CRDT or DBIT")
    signed = amount if indicator == "CRDT" else -amount
    day = _text(elem, ns, "Dt/Dt") or _text(elem, ns, "Dt/DtTm")
    if code == "OPBD":
        header.opening = signed
        header.from_date = header.from_date or (check_date(day, "balance OPBD") if day else None)
    else:
        header.closing = signed
        header.to_date = header.to_date or (check_date(day, "balance CLBD") if day else None)


def _entry(elem: Element, ns: str, exponent: int, position: int) -> StatementEntry:
    where = f"entry {position}"
    amt = elem.find(f"{{{ns}}}Amt")
    if amt is None:
        raise BadStatement(f"{where} has no <Amt>")
    indicator = _text(elem, ns, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise BadStatement(f"{where} has credit/debit indicator {indicator!r}, not CRDT or DBIT")
    status = _text(elem, ns, "Sts/Cd") or _text(elem, ns, "Sts") or BOOKED
    booking = _text(elem, ns, "BookgDt/Dt") or _text(elem, ns, "BookgDt/DtTm")
    value = _text(elem, ns, "ValDt/Dt") or _text(elem, ns, "ValDt/DtTm") or booking
    booking = booking or value
    refs = f"NtryDtls/TxDtls/Refs"
    return StatementEntry(
        amount=minor_units(amt.text, exponent, where),
        credit=indicator == "CRDT",
        currency=(amt.get("Ccy") or "").strip(),
        booking_date=check_date(booking, f"{where} booking date"),
        value_date=check_date(value, f"{where} value date"),
        status=status,
        servicer_ref=_text(elem, ns, "AcctSvcrRef") or _text(elem, ns, f"{refs}/AcctSvcrRef"),
        end_to_end_id=_text(elem, ns, f"{refs}/EndToEndId"),
        uetr=_text(elem, ns, f"{refs}/UETR"),
        kind=_text(elem, ns, "BkTxCd/Prtry/Cd"),
        position=position,
    )
