"""What a reconciliation found: its breaks, kept in bounded memory, and the report that counts them.

The kinds of break (the ``kind`` of ``reconcile``'s JSON in docs/cli.md):

- ``missing_in_ledger``: the statement books what the ledger never did;
- ``missing_in_statement``: a leg of the ledger the statement lacks;
- ``amount_mismatch``: the same payment with another amount or direction
  (also a batched entry whose transactions do not add up to it);
- ``date_mismatch``: the same payment on a value date further off than the
  tolerance (or booked outside the statement's period in the ledger);
- ``duplicate``: the statement books again a payment it already booked;
- ``asset_mismatch``: an entry in another currency, or of another asset,
  than the account's (never matched, whatever its references say);
- ``balance_mismatch``: an opening balance the ledger does not have, or a
  closing balance whose difference the other breaks do not explain;
- ``unbalanced_statement``: the statement's own arithmetic fails (opening +
  entries is not its closing, or a page does not open with the balance the
  page before it closed with);
- ``duplicate_statement``: the file holds the same statement twice (same
  account, id, number, period and opening); the copy is not matched again;
- ``overlapping_statement``: the file holds another statement of the account
  for some of the same days (under another id, say), so that those days'
  payments are counted twice: each statement is matched, and the file is
  not clean.

**Memory.** A :class:`BreakLog` holds the first :data:`KEEP` breaks and
writes the rest to an anonymous temporary file as JSON lines, so that a
statement of a million entries of which none is in the ledger reconciles
in the memory of a few entries; the report is read back from the file as
it is printed (:meth:`ReconcileReport.json_chunks`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import IO

MISSING_IN_LEDGER = "missing_in_ledger"
MISSING_IN_STATEMENT = "missing_in_statement"
AMOUNT_MISMATCH = "amount_mismatch"
DATE_MISMATCH = "date_mismatch"
DUPLICATE = "duplicate"
ASSET_MISMATCH = "asset_mismatch"
BALANCE_MISMATCH = "balance_mismatch"
UNBALANCED_STATEMENT = "unbalanced_statement"
DUPLICATE_STATEMENT = "duplicate_statement"
OVERLAPPING_STATEMENT = "overlapping_statement"
BREAK_KINDS = (
    MISSING_IN_LEDGER, MISSING_IN_STATEMENT, AMOUNT_MISMATCH, DATE_MISMATCH, DUPLICATE, ASSET_MISMATCH,
    BALANCE_MISMATCH, UNBALANCED_STATEMENT, DUPLICATE_STATEMENT, OVERLAPPING_STATEMENT,
)
#: How many breaks a log holds in memory before it writes the rest to its file.
KEEP = 1000


@dataclass(frozen=True, slots=True)
class Break:
    kind: str
    ref: str | None
    ledger: dict[str, object] | None
    statement: dict[str, object] | None

    account: str | None = None  # the ledger account, when a file held statements of several
    #: what the break adds to the statement's closing balance against the ledger's (statement minus ledger, signed
    #: minor units): the part of a closing difference it explains. Not shown.
    effect: int = 0

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind, "ref": self.ref, "ledger": self.ledger, "statement": self.statement}
        if self.account is not None:
            out["account"] = self.account
        return out

    @classmethod
    def from_json(cls, data: dict) -> Break:
        return cls(data["kind"], data["ref"], data["ledger"], data["statement"], data.get("account"))


class BreakLog:
    """Breaks in the order found: counted by kind, the first ``keep`` in memory, the rest in a temporary file.

    A break may be taken back (:meth:`retract`) while the matching runs:
    a leg reported missing whose entry turns up much later in the file.
    """

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self._held: list[Break | None] = []
        self._file: IO[str] | None = None
        self._written = 0
        self._retracted: set[int] = set()
        self.counts: dict[str, int] = {}
        self.effect = 0  # the sum of the breaks' effects on the closing balance

    def add(self, found: Break) -> int:
        """Log ``found``; returns its number (for :meth:`retract`)."""
        number = len(self._held) + self._written
        if len(self._held) < self.keep:
            self._held.append(found)
        else:
            if self._file is None:
                self._file = tempfile.TemporaryFile("w+", encoding="utf-8")
            self._file.write(json.dumps(found.to_json(), ensure_ascii=False) + "\n")
            self._written += 1
        self.counts[found.kind] = self.counts.get(found.kind, 0) + 1
        self.effect += found.effect
        return number

    def retract(self, number: int, kind: str, effect: int) -> None:
        """Take back break ``number`` (of ``kind``, with ``effect``)."""
        if number < len(self._held):
            self._held[number] = None
        else:
            self._retracted.add(number)
        self.counts[kind] -= 1
        self.effect -= effect

    def __len__(self) -> int:
        return sum(self.counts.values())

    def __iter__(self) -> Iterator[Break]:
        yield from (b for b in self._held if b is not None)
        if self._file is None:
            return
        self._file.flush()
        self._file.seek(0)
        for number, line in enumerate(self._file, len(self._held)):
            if number not in self._retracted:
                yield Break.from_json(json.loads(line))


@dataclass(slots=True)
class ReconcileReport:
    """One statement matched against one account; or, with ``statements``, several added up."""

    account: str
    format: str = ""
    matched: int = 0
    statement_entries: int = 0
    ledger_entries: int = 0
    skipped: int = 0  # entries whose status is not BOOK (pending or information only)
    unreported: int = 0  # ledger legs a notification (camt.054) does not mention: not breaks
    log: BreakLog = field(default_factory=BreakLog)
    statement_id: str | None = None
    statement_account: str | None = None  # the account as the statement names it (IBAN, :25:, Othr/Id)
    #: the days compared, first and last: the statement's own period (None: open at that end)
    period: tuple[str | None, str | None] = (None, None)
    statements: list[ReconcileReport] = field(default_factory=list)
    notification: bool = False  # of a camt.054: some movements of its days, not all of them

    def iter_breaks(self) -> Iterator[Break]:
        """Every break, in the order found; each names its account when the file held several statements."""
        if not self.statements:
            yield from self.log
            return
        several = len(self.statements) > 1
        for part in self.statements:
            for found in part.log:
                yield replace(found, account=part.account) if several else found

    @property
    def breaks(self) -> list[Break]:
        return list(self.iter_breaks())

    @property
    def break_count(self) -> int:
        return sum(len(part.log) for part in self.statements) if self.statements else len(self.log)

    @property
    def ok(self) -> bool:
        return self.break_count == 0

    def by_kind(self) -> dict[str, int]:
        """How many breaks of each kind, the commonest first (ties in the order of :data:`BREAK_KINDS`)."""
        counts = dict.fromkeys(BREAK_KINDS, 0)
        for part in self.statements or [self]:
            for kind, n in part.log.counts.items():
                counts[kind] = counts.get(kind, 0) + n
        order = sorted(counts, key=lambda kind: -counts[kind])  # stable: ties keep BREAK_KINDS' order
        return {kind: counts[kind] for kind in order if counts[kind]}

    def add(self, part: ReconcileReport) -> None:
        """Count ``part`` (one statement of the file) into this report."""
        self.statements.append(part)
        self.matched += part.matched
        self.statement_entries += part.statement_entries
        self.ledger_entries += part.ledger_entries
        self.skipped += part.skipped
        self.unreported += part.unreported
        self.format = self.format or part.format
        if len(self.statements) == 1:
            self.account, self.statement_id, self.statement_account = part.account, part.statement_id, part.statement_account
        starts = [s.period[0] for s in self.statements if s.period[0]]
        ends = [s.period[1] for s in self.statements if s.period[1]]
        self.period = (min(starts) if starts else None, max(ends) if ends else None)

    def _head(self) -> dict[str, object]:
        out: dict[str, object] = {
            "matched": self.matched,
            "breaks": [],
            "summary": self.by_kind(),
            "break_count": self.break_count,
            "account": self.account,
            "format": self.format,
            "statement_id": self.statement_id,
            "statement_account": self.statement_account,
            "period": {"from": self.period[0], "to": self.period[1]},
            "statement_entries": self.statement_entries,
            "ledger_entries": self.ledger_entries,
            "skipped": self.skipped,
            "unreported": self.unreported,
        }
        if len(self.statements) > 1:
            out["statements"] = [
                {
                    "account": s.account, "statement_id": s.statement_id, "statement_account": s.statement_account,
                    "format": s.format, "period": {"from": s.period[0], "to": s.period[1]}, "matched": s.matched,
                    "breaks": s.break_count, "summary": s.by_kind(), "statement_entries": s.statement_entries,
                    "ledger_entries": s.ledger_entries, "skipped": s.skipped,
                }
                for s in self.statements
            ]
        return out

    def to_json(self, max_breaks: int | None = None) -> dict[str, object]:
        out = self._head()
        out["breaks"] = [b.to_json() for b in islice(self.iter_breaks(), max_breaks)]
        return out

    def json_chunks(self, max_breaks: int | None = None) -> Iterator[str]:
        """:meth:`to_json` as JSON text, one break at a time: ``"".join(...)`` is ``json.dumps(to_json(...))``."""
        before, after = json.dumps(self._head(), ensure_ascii=False).split('"breaks": []', 1)
        yield before + '"breaks": ['
        for n, found in enumerate(islice(self.iter_breaks(), max_breaks)):
            yield (", " if n else "") + json.dumps(found.to_json(), ensure_ascii=False)
        yield "]" + after
