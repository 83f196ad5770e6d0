"""ISO 20022 bank-to-customer messages: writing camt.053, and reading camt.052, camt.053 and camt.054 safely.

Written as ``camt.053.001.08`` with the standard library's streaming
:class:`xml.sax.saxutils.XMLGenerator` (every name and text escaped by it,
one entry at a time, so a statement of any length takes constant memory),
valid against the official schema whatever the ledger holds: a message id
and a statement id of their own, pagination, the electronic sequence number
(the journal position the statement runs to), date-times with an explicit
``+00:00`` offset (CBPR+), opening and closing booked balances (OPBD, CLBD),
then one ``<Ntry>`` per leg with amount and currency, credit/debit
indicator, status BOOK, booking and value dates, the account servicer
reference, the bank transaction code both as ISO's external code (domain
PMNT, family ICDT or RCDT, a sub-family by kind) and as wonledger's
proprietary kind, and in ``NtryDtls/TxDtls`` the end-to-end id (the
transaction id), the UETR and the memo as remittance information. Ids too
long for ISO 20022 (35 characters; 34 for an account) are written as a
stable short reference with the full id in ``AddtlTxInf`` /
``AddtlStmtInf``, and read back whole. :func:`schema_problems` checks a file
against the schema (``xmlschema``, an optional dependency).

Read with ``defusedxml``'s expat reader, fed 64 KiB at a time: a DTD of any
kind is refused before anything in it is expanded or fetched (no entity
expansion, no external entities, nothing read from disk), and no tree is
built: each ``<Ntry>`` becomes a flat record of its fields, and each of its
``TxDtls`` a record of its own, handed on as soon as it ends, so memory
holds one entry and one transaction of it however many entries there are
and however many transactions a batch books. (A SAX reader rather than
``defusedxml.ElementTree.iterparse`` with ``clear()``: iterparse keeps every
cleared element's empty husk under its parent until the parent ends, which
for the ``Stmt`` of a large statement is the whole file; SAX keeps nothing.)
Any version
``.001.NN`` of camt.052 (intraday reports, whose entries may be pending),
camt.053 and camt.054 (notifications) is read, with or without a namespace
prefix, as the document or inside an envelope (a wrapper element holding a
business application header and the document); a file may hold several
statements (``Stmt``/``Rpt``/``Ntfctn``), each with its own account; a
batched entry (several ``TxDtls``) becomes one entry per transaction, with
or without amounts of their own (without, the ledger's legs they name give
the amounts, and their sum must be the entry's). An entry that is not
booked (``PDNG``, ``INFO``, ``FUTR``) may lack dates: it is read, counted as
not booked and left out of the match. The opening balance is ``OPBD`` (or
``PRCD``, the previous day's closing, which some banks send instead), the
closing ``CLBD``; the statement's own arithmetic (opening + booked entries =
closing) is checked as it is read.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import TextIO, cast
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler
from xml.sax.saxutils import XMLGenerator

from defusedxml.common import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.expatreader import DefusedExpatParser

from wonledger.domain.errors import BadInput, BadStatement
from wonledger.statements.statement import (
    BOOKED,
    MAX34,
    NOT_PROVIDED,
    Choose,
    StatementEntry,
    StatementHeader,
    StatementReader,
    check_date,
    close_page,
    decimal_text,
    minor_units,
    quoted,
    short_ref,
)

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


# -- writing ------------------------------------------------------------------------


class _Writer:
    """XMLGenerator with two-space indentation (whitespace only between elements, never inside text)."""

    def __init__(self, out: TextIO) -> None:
        # Every text stream handed here is an io.TextIOBase underneath (a file, StringIO, sys.stdout),
        # as XMLGenerator needs: it would write bytes to any other; typing's TextIO names no base class.
        self.xml = XMLGenerator(cast(io.TextIOBase, out), encoding="utf-8", short_empty_elements=True)
        self._open: list[bool] = []  # per open element: has it children yet?

    def _indent(self) -> None:
        if not self._open:
            return  # the root follows the XML declaration's own line break
        self._open[-1] = True
        self.xml.ignorableWhitespace("\n" + "  " * len(self._open))

    def start(self, name: str, attrs: dict[str, str] | None = None) -> None:
        self._indent()
        self.xml.startElement(name, attrs or {})  # type: ignore[arg-type]  # typeshed asks for AttributesImpl; XMLGenerator only calls .items(), which a dict has
        self._open.append(False)

    def end(self, name: str) -> None:
        if self._open.pop():
            self.xml.ignorableWhitespace("\n" + "  " * len(self._open))
        self.xml.endElement(name)

    def leaf(self, name: str, text: str, attrs: dict[str, str] | None = None) -> None:
        self._indent()
        self.xml.startElement(name, attrs or {})  # type: ignore[arg-type]  # a dict: see start()
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


#: ISO 20022 external bank transaction codes (ExternalBankTransactionSubFamily1Code) by transaction kind:
#: domain PMNT (payments), family ICDT (issued credit transfers) for a debit and RCDT (received) for a credit.
_SUB_FAMILY = {
    "transfer": "BOOK",  # internal book transfer: both accounts are in this ledger
    "hold": "BOOK",
    "post": "BOOK",
    "fulfil": "BOOK",  # a conditional hold settled whole by its preimage, as a post settles a hold
    "pay": "DMCT",  # domestic credit transfer (across banks, through central-bank money)
    "deposit": "DMCT",
    "withdraw": "DMCT",
    "send": "XBCT",  # cross-border credit transfer
}
#: Max140Text: an unstructured remittance line; a longer memo takes several.
_USTRD = 140


def remittance_text(memo: str) -> str:
    """A memo as one line of XML text: control characters and what XML 1.0 cannot hold become spaces.

    The wire takes any memo but NUL; XML refuses most C0 controls, U+FFFE/U+FFFF
    and lone surrogates, and a parser turns a bare CR into LF. The CSV keeps
    the memo exactly.
    """
    return "".join(
        " " if unicodedata.category(c) in ("Cc", "Cs") or c in "\ufffe\uffff" else c for c in memo
    )


def bank_transaction_code(kind: str | None, credit: bool) -> tuple[str, str, str]:
    """(domain, family, sub-family) of ISO 20022's external code set for a leg of ``kind``."""
    return "PMNT", "RCDT" if credit else "ICDT", _SUB_FAMILY.get(kind or "", "OTHR")


def iso_offset(moment: str) -> str:
    """``...Z`` as ``...+00:00``: CBPR+ usage rules want an explicit offset on every date-time."""
    return moment[:-1] + "+00:00" if moment.endswith("Z") else moment


def write(
    out: TextIO,
    header: StatementHeader,
    entries: Iterable[StatementEntry],
    exponent: int,
    created_at: str,
) -> int:
    """Write a camt.053.001.08 document to the text stream ``out``; returns the number of entries.

    Valid against the official schema whatever the ids: an account id longer
    than 34 characters or a transaction id longer than 35 is written as
    :func:`short_ref` of it, and the full id goes beside it (``AddtlStmtInf``,
    ``AddtlTxInf``, which allow 500), where :func:`read` takes it back.
    """
    w = _Writer(out)
    currency = header.currency or "XXX"
    created_at = iso_offset(created_at)
    account = header.account or ""
    statement_id = header.statement_id or short_ref(f"{account}/{header.from_date}/{header.to_date}/{created_at}")
    w.xml.startDocument()
    w.start("Document", {"xmlns": NAMESPACE})
    w.start("BkToCstmrStmt")
    w.start("GrpHdr")
    w.leaf("MsgId", header.message_id or statement_id)
    w.leaf("CreDtTm", created_at)
    w.end("GrpHdr")
    w.start("Stmt")
    w.leaf("Id", statement_id)
    w.start("StmtPgntn")  # one statement, one page: no statement is ever cut into pages
    w.leaf("PgNb", "1")
    w.leaf("LastPgInd", "true")
    w.end("StmtPgntn")
    if header.sequence is not None:
        w.leaf("ElctrncSeqNb", str(header.sequence))
    w.leaf("CreDtTm", created_at)
    if header.from_date and header.to_date:
        w.start("FrToDt")
        w.leaf("FrDtTm", f"{header.from_date}T00:00:00+00:00")
        w.leaf("ToDtTm", f"{header.to_date}T23:59:59+00:00")
        w.end("FrToDt")
    w.start("Acct")
    w.path(["Id", "Othr", "Id"], short_ref(account, MAX34))
    w.leaf("Ccy", currency)
    if header.asset:
        w.leaf("Nm", header.asset[:70])  # read back as the account's name: naming the ledger asset is how a reader tells
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
        _write_entry(w, e, exponent)
    if short_ref(account, MAX34) != account:
        w.leaf("AddtlStmtInf", account)
    w.end("Stmt")
    w.end("BkToCstmrStmt")
    w.end("Document")
    w.xml.endDocument()
    out.write("\n")
    return count


def _write_entry(w: _Writer, e: StatementEntry, exponent: int) -> None:
    """One ``Ntry``: amount, status, dates, the bank transaction code and the references a bank matches on."""
    w.start("Ntry")
    w.leaf("Amt", decimal_text(e.amount, exponent), {"Ccy": e.currency})
    w.leaf("CdtDbtInd", e.indicator)
    w.path(["Sts", "Cd"], e.status)
    w.path(["BookgDt", "Dt"], e.booking_date)
    w.path(["ValDt", "Dt"], e.value_date)
    if e.servicer_ref:
        w.leaf("AcctSvcrRef", short_ref(e.servicer_ref))
    domain, family, sub_family = bank_transaction_code(e.kind, e.credit)
    w.start("BkTxCd")
    w.start("Domn")
    w.leaf("Cd", domain)
    w.start("Fmly")
    w.leaf("Cd", family)
    w.leaf("SubFmlyCd", sub_family)
    w.end("Fmly")
    w.end("Domn")
    w.start("Prtry")
    w.leaf("Cd", (e.kind or "transfer")[:35])
    w.leaf("Issr", "wonledger")
    w.end("Prtry")
    w.end("BkTxCd")
    w.start("NtryDtls")
    w.start("TxDtls")
    w.start("Refs")
    if e.servicer_ref:
        w.leaf("AcctSvcrRef", short_ref(e.servicer_ref))
    e2e = e.end_to_end_id or NOT_PROVIDED
    w.leaf("EndToEndId", short_ref(e2e))
    if e.uetr:
        w.leaf("UETR", e.uetr)
    w.end("Refs")
    w.leaf("Amt", decimal_text(e.amount, exponent), {"Ccy": e.currency})
    w.leaf("CdtDbtInd", e.indicator)
    memo = remittance_text(e.memo).strip() if e.memo else ""
    if memo:
        w.start("RmtInf")
        for i in range(0, len(memo), _USTRD):
            w.leaf("Ustrd", memo[i : i + _USTRD])
        w.end("RmtInf")
    if short_ref(e2e) != e2e:
        w.leaf("AddtlTxInf", e2e)
    w.end("TxDtls")
    w.end("NtryDtls")
    w.end("Ntry")


# -- reading --------------------------------------------------------------------------

_CAMT = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.(05[234])\.001\.(\d\d)")
#: The message element and the element it repeats once per account, by message number.
_MESSAGES = {
    "053": ("BkToCstmrStmt", "Stmt"),  # end-of-day statement
    "052": ("BkToCstmrAcctRpt", "Rpt"),  # intraday report: entries may be provisional
    "054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),  # debit/credit notification
}
_CHUNK = 64 * 1024
#: Lines of remittance information are kept whole (a memo longer than one line was cut into several).
_JOINED = ("RmtInf/Ustrd",)


class _Handler(ContentHandler):
    """Turns SAX events into flat records, one per entry or header part; keeps nothing else.

    The camt ``Document`` may be the root or sit in any envelope (a business
    application header ``AppHdr`` beside it, under a wrapper element of any
    name): the first ``Document`` of a camt.052, .053 or .054 namespace is
    read, with its ``GrpHdr`` and each ``Stmt`` / ``Rpt`` / ``Ntfctn``; the
    envelope's other elements are skipped. Events land in :attr:`done` as
    ``(kind, fields)``: ``begin`` and ``end`` around each statement, ``GrpHdr``,
    and one per child of the statement (``Acct``, ``Bal``, ``Ntry`` …); each
    ``TxDtls`` of an entry is an event of its own, ``("TxDtls", {"entry": the
    entry's record so far, "tx": its fields})``, before the entry's.
    """

    def __init__(self) -> None:
        super().__init__()
        self.path: list[str] = []  # local names (any namespace prefix dropped), from the root down
        self.scopes: list[tuple[int, dict[str, str]]] = []  # namespace declarations: (depth, prefix → uri)
        self.root: str | None = None
        self.doc: int | None = None  # depth of the camt Document being read
        self.message: str | None = None  # "camt.053.001.08"
        self.names: tuple[str, str] = ("", "")
        self.documents = 0
        self.record: dict[str, object] | None = None
        self.record_depth = 0
        self.sub: dict[str, object] | None = None  # the TxDtls being read inside an entry
        self.sub_depth = 0
        self.text: list[str] = []
        self.done: list[tuple[str, dict]] = []

    def _uri(self, prefix: str) -> str:
        for _, mapping in reversed(self.scopes):
            if prefix in mapping:
                return mapping[prefix]
        return ""

    def startElement(self, name: str, attrs) -> None:
        prefix, _, local = name.rpartition(":")
        self.path.append(local)
        depth = len(self.path)
        if self.record is not None:
            if local == "TxDtls" and self.sub is None and self.path[-2] == "NtryDtls" and depth == self.record_depth + 2:
                self.sub, self.sub_depth = {}, depth
            elif local == "Amt":  # only amounts carry attributes worth keeping (Ccy)
                target, base = (self.sub, self.sub_depth) if self.sub is not None else (self.record, self.record_depth)
                target.setdefault("/".join(self.path[base:]) + "@Ccy", attrs.get("Ccy", ""))
            self.text = []
            return
        if attrs:
            declared = {n[6:]: attrs[n] for n in attrs.getNames() if n == "xmlns" or n.startswith("xmlns:")}
            if declared:
                self.scopes.append((depth, declared))
        if self.root is None:
            self.root = name
        if self.doc is None:
            if local == "Document":
                uri = self._uri(prefix)
                found = _CAMT.fullmatch(uri)
                if not found:
                    what = f"a {uri.rpartition(':')[2]} document" if uri else "a Document of no ISO 20022 namespace"
                    raise BadStatement(f"this is {what}, not a bank statement (camt.052, camt.053 or camt.054, urn:iso:std:iso:20022:tech:xsd:camt.05x.001.*)")
                self.doc, self.documents = depth, self.documents + 1
                self.message = f"camt.{found[1]}.001.{found[2]}"
                self.names = _MESSAGES[found[1]]
            return
        level = depth - self.doc
        if level == 1:
            if local != self.names[0]:
                raise BadStatement(f"the {self.message} Document holds <{local}>, not <{self.names[0]}>")
        elif level == 2:
            if local == self.names[1]:
                self.done.append(("begin", {"message": self.message}))
            elif local == "GrpHdr":
                self.record, self.record_depth = {}, depth
        elif level == 3 and self.path[-2] == self.names[1]:
            self.record, self.record_depth = {}, depth

    def characters(self, content: str) -> None:
        if self.record is not None:
            self.text.append(content)

    def endElement(self, name: str) -> None:
        path = self.path
        record = self.record
        if record is not None:
            depth = len(path)
            if depth == self.record_depth:
                if not record and self.text:
                    record["."] = "".join(self.text).strip()
                self.done.append((path[-1], record))
                self.record = self.sub = None
            elif self.sub is not None and depth == self.sub_depth:
                self.done.append(("TxDtls", {"entry": record, "tx": self.sub}))
                self.sub = None
            elif self.text:
                # A leaf's text; an element with children has only the whitespace after its last child here.
                raw = "".join(self.text)
                value = raw.strip()
                if value:
                    sub = self.sub
                    target, base = (sub, self.sub_depth) if sub is not None else (record, self.record_depth)
                    rel = "/".join(path[base:])
                    if rel.endswith(_JOINED):
                        target[rel] = str(target.get(rel, "")) + raw
                    elif rel not in target:
                        target[rel] = value
            self.text = []
        else:
            depth = len(path)
            if self.doc is not None:
                level = depth - self.doc
                if level == 2 and path[-1] == self.names[1]:
                    self.done.append(("end", {}))
                elif level == 0:
                    self.doc = None
            if self.scopes and self.scopes[-1][0] == depth:  # declarations are only followed outside records
                self.scopes.pop()
        path.pop()


def read(stream: io.RawIOBase, choose: Choose) -> Iterator[StatementReader]:
    """Each statement (``Stmt``, ``Rpt`` or ``Ntfctn``) of the file that ``choose`` takes, in file order.

    ``choose(header)`` sees the statement's header as far as it goes before
    the first entry (id, sequence number, account, currency, period, the
    balances' dates and its :attr:`~StatementHeader.fingerprint`) and returns
    the exponent of the ledger asset to read its amounts in, or None to skip
    the statement. Each reader's entries must be read before the next reader
    is asked for.
    """
    events = _events(stream)
    message_id: str | None = None
    for kind, fields in events:
        if kind == "GrpHdr":
            message_id = fields.get("MsgId")
        elif kind == "begin":
            message: str = fields["message"]
            header = StatementHeader(message=message, message_id=message_id)
            header.partial = message.startswith("camt.054")
            first: tuple[str, dict] | None = None
            balances: list[dict] = []
            for kind, fields in events:
                if kind in ("Ntry", "TxDtls", "end"):
                    first = (kind, fields)
                    break
                if kind == "Bal":
                    balances.append(fields)
                    _balance_date(fields, header)
                else:
                    _header_part(kind, fields, header)
            if first is None:
                break
            header.fingerprint = _fingerprint(header, balances)
            exponent = choose(header)
            if exponent is None:
                if first[0] != "end":
                    for kind, _ in events:
                        if kind == "end":
                            break
                continue
            for balance in balances:
                _balance(balance, exponent, header)
            entries = _statement_entries(first, events, header, exponent)
            yield StatementReader(header, entries, header.message or "camt")
            for _ in entries:  # whatever the reader left unread
                pass


def _fingerprint(header: StatementHeader, balances: list[dict]) -> tuple[str, ...]:
    """What tells one statement of an account from another: its id, number, period and opening balance as written."""
    opening = next((b for b in balances if b.get("Tp/CdOrPrtry/Cd") in _OPENING), {})
    parts = (header.statement_id, header.sequence, header.from_date, header.to_date, opening.get("Amt"), opening.get("CdtDbtInd"), header.opening_date)
    return tuple("" if p is None else str(p) for p in parts)


def _header_part(kind: str, fields: dict, header: StatementHeader) -> None:
    if kind == "Id":
        header.statement_id = fields.get(".")
    elif kind == "ElctrncSeqNb":
        number = fields.get(".", "")
        header.sequence = int(number) if number.isdigit() else None
    elif kind == "Acct":
        header.external_account = fields.get("Id/IBAN") or fields.get("Id/Othr/Id")
        header.account = header.external_account
        header.currency = fields.get("Ccy") or header.currency
        header.account_name = fields.get("Nm")
    elif kind == "FrToDt":
        header.from_date = check_date(fields.get("FrDtTm") or fields.get("FrDt"), "FrToDt/FrDtTm")
        header.to_date = check_date(fields.get("ToDtTm") or fields.get("ToDt"), "FrToDt/ToDtTm")
    elif kind == "AddtlStmtInf":
        full = fields.get(".") or ""
        if header.external_account and full and short_ref(full, MAX34) == header.external_account != full:
            header.account = full  # the account id the short one stands for (a statement wonledger wrote)


class _Entry:
    """The entry being read: its own fields once, then its transactions one at a time (the last held back).

    The last ``TxDtls`` is held until the next arrives or the entry ends, so
    that a single transaction takes the entry's amount, and the last of a
    batch carries the batch's totals.
    """

    def __init__(self, fields: dict, exponent: int, position: int, header: StatementHeader) -> None:
        self.fields, self.exponent, self.position = fields, exponent, position
        where = self.where = f"entry {position}"
        if "Amt" not in fields:
            raise BadStatement(f"{where} has no <Amt>")
        indicator = fields.get("CdtDbtInd")
        if indicator not in ("CRDT", "DBIT"):
            raise BadStatement(f"{where} has credit/debit indicator {quoted(str(indicator or ''))}, not CRDT or DBIT")
        self.credit = indicator == "CRDT"
        self.amount = minor_units(fields["Amt"], exponent, where)
        self.currency = str(fields.get("Amt@Ccy", "")).strip()
        status = fields.get("Sts/Cd") or fields.get("Sts") or BOOKED
        booking = fields.get("BookgDt/Dt") or fields.get("BookgDt/DtTm")
        value = fields.get("ValDt/Dt") or fields.get("ValDt/DtTm") or booking
        booking = booking or value
        if status == BOOKED or booking:  # an entry not booked yet (PDNG, INFO) may have no dates at all
            booking = check_date(booking, f"{where} booking date")
            value = check_date(value, f"{where} value date")
        self.common = {
            "booking_date": booking or "",
            "value_date": value or "",
            "status": status,
            "kind": fields.get("BkTxCd/Prtry/Cd"),
            "position": position,
        }
        if status == BOOKED:
            header.booked(self.amount if self.credit else -self.amount, cast(str, booking))
        self.held: dict | None = None
        self.count = 0
        self.total: int | None = 0

    def transaction(self, tx: dict) -> StatementEntry | None:
        """Take the entry's next ``TxDtls``; gives the one before it, now known to be one of a batch."""
        before = self._batch_item(self.held, self.count) if self.held is not None else None
        self.held = tx
        self.count += 1
        return before

    def finish(self) -> StatementEntry:
        """The entry's last item: the entry itself, its one transaction, or its batch's last with the batch's totals."""
        if self.count <= 1:
            tx = self.held or {}
            return _item(tx, self.fields, self.amount, self.credit, self.currency, self.common, 0)
        last = self._batch_item(cast(dict, self.held), self.count)
        signed = self.amount if self.credit else -self.amount
        return StatementEntry(**{**_fields(last), "batch_entry": signed, "batch_total": self.total})

    def _batch_item(self, tx: dict, n: int) -> StatementEntry:
        text, tx_currency = _tx_amount(tx)
        indicator = tx.get("CdtDbtInd") or ("CRDT" if self.credit else "DBIT")
        if indicator not in ("CRDT", "DBIT"):
            raise BadStatement(f"{self.where}, transaction {n} has credit/debit indicator {quoted(indicator)}, not CRDT or DBIT")
        currency = (tx_currency or self.currency).strip()
        if text is None:
            self.total = None  # the ledger's legs will say what each transaction was
            item = _item(tx, self.fields, 0, indicator == "CRDT", currency, self.common, n)
            return StatementEntry(**{**_fields(item), "amount_given": False})
        amount = minor_units(text, self.exponent, f"{self.where}, transaction {n}")
        if self.total is not None:
            self.total += amount if indicator == "CRDT" else -amount
        return _item(tx, self.fields, amount, indicator == "CRDT", currency, self.common, n)


def _fields(entry: StatementEntry) -> dict:
    return {name: getattr(entry, name) for name in StatementEntry.__slots__}


def _statement_entries(first: tuple[str, dict], events: Iterator[tuple[str, dict]], header: StatementHeader, exponent: int) -> Iterator[StatementEntry]:
    position = 0
    entry: _Entry | None = None
    pending: tuple[str, dict] | None = first
    while True:
        if pending is not None:
            kind, fields = pending
            pending = None
        else:
            step = next(events, None)
            if step is None:
                return
            kind, fields = step
        if kind in ("TxDtls", "Ntry"):
            record = fields["entry"] if kind == "TxDtls" else fields
            if entry is None or entry.fields is not record:
                position += 1
                entry = _Entry(record, exponent, position, header)
            if kind == "TxDtls":
                item = entry.transaction(fields["tx"])
                if item is not None:
                    yield item
            else:
                yield entry.finish()
                entry = None
        elif kind == "end":
            if header.opening is not None and header.closing is not None:
                close_page(header, header.opening, header.booked_total, header.closing)
            header.complete = True
            return
        elif kind == "Bal":
            _balance_date(fields, header)
            _balance(fields, exponent, header)
        else:
            _header_part(kind, fields, header)


def _events(stream: io.RawIOBase) -> Iterator[tuple[str, dict]]:
    try:
        yield from _parse(stream)
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


def _parse(stream: io.RawIOBase) -> Iterator[tuple[str, dict]]:
    # defusedxml's expat reader, fed in chunks: pull-style reading in constant memory, no tree at all.
    parser = DefusedExpatParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    # Namespace processing stays off (it doubles the cost per element); xmlns attributes are followed by hand.
    handler = _Handler()
    parser.setContentHandler(handler)
    statements = 0
    while True:
        chunk = stream.read(_CHUNK)
        if chunk:
            parser.feed(chunk)
        else:
            parser.close()
        for event in handler.done:
            statements += event[0] == "begin"
            yield event
        handler.done.clear()
        if not chunk:
            break
    if handler.documents == 0:
        raise BadStatement(
            f"this is an XML document with root <{handler.root}> and no ISO 20022 camt.052, camt.053 or camt.054 "
            "Document in it, not a bank statement"
        )
    if statements == 0:
        raise BadStatement(f"the {handler.message} document has no <{handler.names[1]}>")


#: Balance types taken as the opening (OPBD, or PRCD: the previous day's closing booked balance) and the closing.
_OPENING, _CLOSING = ("OPBD", "PRCD"), ("CLBD",)


def _balance_date(fields: dict, header: StatementHeader) -> None:
    """The opening or closing balance's date, before its amount is read: a statement is chosen by its period."""
    code = fields.get("Tp/CdOrPrtry/Cd")
    day = fields.get("Dt/Dt") or fields.get("Dt/DtTm")
    if not day:
        return
    if code in _OPENING and (code == "OPBD" or header.opening_date is None):
        header.opening_date = check_date(day, f"balance {code}")
    elif code in _CLOSING:
        header.closing_date = check_date(day, f"balance {code}")


def _balance(fields: dict, exponent: int, header: StatementHeader) -> None:
    code = fields.get("Tp/CdOrPrtry/Cd")
    if code not in _OPENING + _CLOSING:
        return  # other balances (available, interim) are not reconciled
    amount = minor_units(fields.get("Amt"), exponent, f"balance {code}", allow_zero=True)
    indicator = fields.get("CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise BadStatement(f"balance {code} has credit/debit indicator {quoted(str(indicator or ''))}, not CRDT or DBIT")
    signed = amount if indicator == "CRDT" else -amount
    currency = fields.get("Amt@Ccy")
    if currency and header.currency and currency != header.currency:
        raise BadStatement(f"balance {code} is in {currency} but the statement's account is in {header.currency}")
    header.currency = header.currency or currency
    if code in _OPENING:
        if code == "OPBD" or header.opening is None:
            header.opening = signed
    else:
        header.closing = signed


def _tx_amount(tx: dict) -> tuple[str | None, str | None]:
    """A TxDtls's amount and currency: ``Amt`` (from version 3), else the transaction amount of ``AmtDtls``."""
    for key in ("Amt", "AmtDtls/TxAmt/Amt", "AmtDtls/InstdAmt/Amt"):
        if key in tx:
            return tx[key], tx.get(key + "@Ccy")
    return None, None


def _item(tx: dict, fields: dict, amount: int, credit: bool, currency: str, common: dict, index: int) -> StatementEntry:
    e2e = tx.get("Refs/EndToEndId")
    full = tx.get("AddtlTxInf")
    if e2e and full and short_ref(full) == e2e != full:
        e2e = full  # the transaction id the short reference stands for (a statement wonledger wrote)
    memo = tx.get("RmtInf/Ustrd") or fields.get("AddtlNtryInf")
    return StatementEntry(
        amount=amount,
        credit=credit,
        currency=currency,
        servicer_ref=tx.get("Refs/AcctSvcrRef") or fields.get("AcctSvcrRef"),
        end_to_end_id=e2e,
        uetr=tx.get("Refs/UETR"),
        instruction_id=tx.get("Refs/InstrId"),
        memo=memo.strip() if memo else None,
        batch_index=index,
        **common,
    )


# -- validating ---------------------------------------------------------------------

SCHEMA = "camt.053.001.08.xsd"


def schema_problems(path: str, limit: int = 20) -> list[str]:
    """What the official ISO 20022 schema of camt.053.001.08 finds wrong with the file at ``path`` (at most ``limit``).

    The schema ships with wonledger (``wonledger_fixtures/schemas``); the
    checking is ``xmlschema``'s, reading the file lazily so that a large
    statement is not held in memory as a tree. ``xmlschema`` is an optional
    dependency (``pip install 'wonledger[validate]'``).
    """
    try:
        import xmlschema
    except ImportError:
        raise BadInput("checking a statement against the ISO 20022 schema needs xmlschema: pip install 'wonledger[validate]'") from None
    from importlib.resources import as_file, files

    with as_file(files("wonledger_fixtures").joinpath("schemas", SCHEMA)) as xsd:
        schema = xmlschema.XMLSchema(str(xsd))
    try:
        # lazy at depth 3 (Document/BkToCstmrStmt/Stmt/Ntry): one entry at a time is held, then dropped
        resource = xmlschema.XMLResource(path, lazy=3, defuse="always")
    except (xmlschema.XMLResourceError, OSError, SyntaxError) as exc:  # ParseError is a SyntaxError
        return [f"not a readable XML document: {exc}"]
    problems = []
    for error in schema.iter_errors(resource):
        problems.append(f"{error.path or '/'}: {error.reason}")
        if len(problems) >= limit:
            break
    return problems
