"""Matching a statement's entries to the ledger's legs, and naming every break.

Both sides arrive as streams in booking-date order (a statement lists its
entries by day; the journal is in commit order) and are merged by date.
Each new item is first matched **by reference**: the account servicer
reference, the end-to-end id (the transaction id), the UETR or the
instruction id. An item left unmatched waits in a window of
``window_days``; when the merge has moved past it, an entry that names none
of the ledger's payments may still pair with a leg **of the same amount,
direction and currency whose date is within ``tolerance_days``**; whatever
is still alone then is a break. A reference counts as naming a payment only
if it is one of ours (a servicer reference of this ledger, or the id of a
transaction on the account): a bank's own ``AcctSvcrRef``, or the payer's
end-to-end id on an incoming payment, does not stop the amount/date match.

A batched entry (one ``Ntry``, several ``TxDtls``) arrives as one item per
transaction; when they do not add up to the entry, that is an
``amount_mismatch`` of the entry itself (``ledger`` empty, the statement
side giving ``batch_entry`` and ``batch_total``).
Memory therefore grows with the breaks and with how far the two sides are
out of step, never with the length of the statement.

Breaks (the ``kind`` of ``reconcile``'s JSON in docs/cli.md):

- ``missing_in_ledger``: the statement books what the ledger never did;
- ``missing_in_statement``: a leg of the ledger the statement lacks;
- ``amount_mismatch``: the same payment with another amount, direction or currency;
- ``date_mismatch``: the same payment on a value date further off than the tolerance
  (or booked outside the statement's period in the ledger);
- ``duplicate``: the statement books again a payment it already booked;
- ``balance_mismatch``: an opening or closing balance the ledger does not have
  (added by :mod:`wonledger.audit.operations`, which can read balances).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from typing import cast

from wonledger.statements.statement import BOOKED, StatementEntry, short_ref

MISSING_IN_LEDGER = "missing_in_ledger"
MISSING_IN_STATEMENT = "missing_in_statement"
AMOUNT_MISMATCH = "amount_mismatch"
DATE_MISMATCH = "date_mismatch"
DUPLICATE = "duplicate"
BALANCE_MISMATCH = "balance_mismatch"
BREAK_KINDS = (MISSING_IN_LEDGER, MISSING_IN_STATEMENT, AMOUNT_MISMATCH, DATE_MISMATCH, DUPLICATE, BALANCE_MISMATCH)


@dataclass(frozen=True, slots=True)
class BookedLeg:
    """A leg on the reconciled account as the ledger booked it."""

    tx_id: str
    seq: int
    idx: int
    kind: str
    amount: int
    credit: bool
    booking_date: str
    servicer_ref: str
    uetr: str

    def to_json(self) -> dict[str, object]:
        return {
            "tx": self.tx_id,
            "seq": self.seq,
            "leg": self.idx,
            "kind": self.kind,
            "amount": self.amount,
            "credit_debit": "CRDT" if self.credit else "DBIT",
            "booking_date": self.booking_date,
            "value_date": self.booking_date,
            "account_servicer_ref": self.servicer_ref,
            "uetr": self.uetr,
        }


def statement_json(e: StatementEntry) -> dict[str, object]:
    out: dict[str, object] = {
        "entry": e.position,
        "amount": e.amount,
        "credit_debit": e.indicator,
        "currency": e.currency,
        "booking_date": e.booking_date,
        "value_date": e.value_date,
        "account_servicer_ref": e.servicer_ref,
        "end_to_end_id": e.end_to_end_id,
        "uetr": e.uetr,
    }
    if e.batch_index:
        out["transaction"] = e.batch_index  # which TxDtls of a batched entry
    if e.instruction_id:
        out["instruction_id"] = e.instruction_id
    if e.memo:
        out["memo"] = e.memo
    return out


@dataclass(frozen=True, slots=True)
class Break:
    kind: str
    ref: str | None
    ledger: dict[str, object] | None
    statement: dict[str, object] | None

    account: str | None = None  # the ledger account, when a file held statements of several

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind, "ref": self.ref, "ledger": self.ledger, "statement": self.statement}
        if self.account is not None:
            out["account"] = self.account
        return out


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
    breaks: list[Break] = field(default_factory=list)
    statement_id: str | None = None
    statement_account: str | None = None  # the account as the statement names it (IBAN, :25:, Othr/Id)
    statements: list[ReconcileReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks

    def by_kind(self) -> dict[str, int]:
        """How many breaks of each kind, the commonest first (ties in the order of :data:`BREAK_KINDS`)."""
        counts = dict.fromkeys(BREAK_KINDS, 0)
        for b in self.breaks:
            counts[b.kind] = counts.get(b.kind, 0) + 1
        order = sorted(counts, key=lambda kind: -counts[kind])  # stable: ties keep BREAK_KINDS' order
        return {kind: counts[kind] for kind in order if counts[kind]}

    def add(self, part: ReconcileReport) -> None:
        """Count ``part`` (one statement of the file) into this report."""
        several = bool(self.statements)
        self.statements.append(part)
        self.matched += part.matched
        self.statement_entries += part.statement_entries
        self.ledger_entries += part.ledger_entries
        self.skipped += part.skipped
        self.unreported += part.unreported
        self.format = self.format or part.format
        if len(self.statements) == 1:
            self.account, self.statement_id, self.statement_account = part.account, part.statement_id, part.statement_account
        if not several and len(self.statements) == 2:  # from now on each break says whose it is
            self.breaks = [replace(b, account=self.statements[0].account) for b in self.breaks]
        self.breaks.extend(replace(b, account=part.account) if len(self.statements) > 1 else b for b in part.breaks)

    def to_json(self, max_breaks: int | None = None) -> dict[str, object]:
        shown = self.breaks if max_breaks is None else self.breaks[:max_breaks]
        out: dict[str, object] = {
            "matched": self.matched,
            "breaks": [b.to_json() for b in shown],
            "summary": self.by_kind(),
            "break_count": len(self.breaks),
            "account": self.account,
            "format": self.format,
            "statement_id": self.statement_id,
            "statement_account": self.statement_account,
            "statement_entries": self.statement_entries,
            "ledger_entries": self.ledger_entries,
            "skipped": self.skipped,
            "unreported": self.unreported,
        }
        if len(self.statements) > 1:
            out["statements"] = [
                {
                    "account": s.account, "statement_id": s.statement_id, "statement_account": s.statement_account,
                    "format": s.format, "matched": s.matched, "breaks": len(s.breaks), "summary": s.by_kind(),
                    "statement_entries": s.statement_entries, "ledger_entries": s.ledger_entries, "skipped": s.skipped,
                }
                for s in self.statements
            ]
        return out


class _Item:
    """A leg or an entry waiting for its partner."""

    __slots__ = ("amount", "credit", "currency", "day", "done", "is_statement", "named", "ours", "refs", "source", "value_day")

    def __init__(self, source: StatementEntry | BookedLeg) -> None:
        self.source = source
        self.done = False
        self.ours: bool | None = None  # does one of its references name one of the ledger's payments? (statement side)
        if isinstance(source, StatementEntry):
            self.is_statement = True
            self.refs = source.references
            self.named = bool(self.refs)
            self.day = _day(source.booking_date)
            self.value_day = _day(source.value_date)
            self.currency = source.currency
        else:
            self.is_statement = False
            short = short_ref(source.tx_id)
            self.refs = (source.servicer_ref, source.tx_id, source.uetr) + ((short,) if short != source.tx_id else ())
            self.named = self.ours = True
            self.day = self.value_day = _day(source.booking_date)
            self.currency = ""
        self.credit = source.credit
        self.amount = source.amount

    @property
    def ref(self) -> str | None:
        s = self.source
        if isinstance(s, BookedLeg):
            return s.tx_id
        return s.end_to_end or s.servicer_ref or s.uetr


def _day(text: str) -> int:
    return date.fromisoformat(text).toordinal()


class _Waiting:
    """One side's unmatched items, indexed by reference, by amount and by day."""

    def __init__(self) -> None:
        self.by_ref: dict[str, list[_Item]] = {}
        self.by_amount: dict[tuple[bool, int], list[_Item]] = {}
        self.by_day: dict[int, dict[int, _Item]] = {}
        self._days: list[int] = []
        self.count = 0

    def add(self, item: _Item) -> None:
        for r in item.refs:
            self.by_ref.setdefault(r, []).append(item)
        self.by_amount.setdefault((item.credit, item.amount), []).append(item)
        bucket = self.by_day.get(item.day)
        if bucket is None:
            bucket = self.by_day[item.day] = {}
            heapq.heappush(self._days, item.day)
        bucket[id(item)] = item
        self.count += 1

    def remove(self, item: _Item) -> None:
        item.done = True
        self.count -= 1
        for r in item.refs:
            _drop(self.by_ref, r, item)
        _drop(self.by_amount, (item.credit, item.amount), item)
        bucket = self.by_day.get(item.day)
        if bucket is not None:
            bucket.pop(id(item), None)

    def by_reference(self, other: _Item) -> _Item | None:
        """The best waiting partner sharing a reference with ``other``: same amount and direction first."""
        for r in other.refs:
            found = self.by_ref.get(r)
            if found:
                return min(found, key=lambda c: (c.credit != other.credit, c.amount != other.amount, abs(c.day - other.day)))
        return None

    def by_amount_and_date(self, other: _Item, tolerance: int, fits: Callable[[_Item], bool]) -> _Item | None:
        """The waiting item nearest in value date with ``other``'s amount and direction, within ``tolerance``, that ``fits``."""
        found = [
            c for c in self.by_amount.get((other.credit, other.amount), ())
            if abs(c.value_day - other.value_day) <= tolerance and fits(c)
        ]
        return min(found, key=lambda c: abs(c.value_day - other.value_day)) if found else None

    def before(self, cutoff: float) -> list[_Item]:
        """Take out every waiting item booked before ``cutoff``."""
        out: list[_Item] = []
        while self._days and self._days[0] < cutoff:
            out.extend(self.by_day.pop(heapq.heappop(self._days)).values())
        return out


def _drop(index: dict, key: object, item: _Item) -> None:
    found = index.get(key)
    if found is not None:
        try:
            found.remove(item)
        except ValueError:
            return
        if not found:
            del index[key]


class Matcher:
    """Runs one reconciliation; see the module's docstring for the rules."""

    def __init__(
        self,
        report: ReconcileReport,
        currency: str,
        lookup: Callable[[list[str]], list[BookedLeg]],
        period: tuple[str | None, str | None],
        tolerance_days: int = 1,
        window_days: int = 31,
        own_prefix: str | None = None,
        partial: bool = False,
    ) -> None:
        self.report = report
        self.currency = currency
        self.lookup = lookup
        #: this ledger's servicer references start with it (``<ledger id>:``)
        self.own_prefix = own_prefix
        #: the statement reports some movements only (a camt.054 notification): a leg it lacks is no break
        self.partial = partial
        self.first_day: int | None = None  # the first statement entry's booking day (an ordinal), once read
        self.period = period
        self.tolerance = tolerance_days
        self.window = max(window_days, tolerance_days)
        self.statement = _Waiting()
        self.ledger = _Waiting()
        self._breaks: list[Break | None] = []
        self._missing: dict[str, list[tuple[int, _Item]]] = {}  # tx id → missing_in_statement breaks
        self._parked: dict[str, list[_Item]] = {}  # entries whose leg is further on in the journal
        self._last_seq = 0

    def run(self, entries: Iterable[StatementEntry], ledger_legs: Callable[[], Iterator[BookedLeg]]) -> ReconcileReport:
        s_iter = self._booked(entries)
        s_next = next(s_iter, None)  # reading the first entry completes the statement's header
        self.first_day = s_next.day if s_next is not None else None
        l_iter = ledger_legs()
        l_next = _next_item(l_iter)
        cutoff = float("-inf")
        while s_next is not None or l_next is not None:
            # The statement's entry goes first when the ledger has none left or it is not later;
            # otherwise the ledger's leg (one of the two is waiting, or the loop would have ended).
            if s_next is not None and (
                l_next is None or (s_next.day, self.statement.count) <= (l_next.day, self.ledger.count)
            ):
                self._arrive(s_next, self.ledger, self.statement)
                s_next = next(s_iter, None)
            elif l_next is not None:
                self._last_seq = cast(BookedLeg, l_next.source).seq  # the ledger's items wrap its legs (_next_item)
                parked = self._parked.get(l_next.ref or "")
                if parked:
                    self._pair(parked.pop(), l_next)
                    if not parked:
                        del self._parked[l_next.ref or ""]
                else:
                    self._arrive(l_next, self.statement, self.ledger)
                l_next = _next_item(l_iter)
                self.report.ledger_entries += 1
            horizon = min(s_next.day if s_next else float("inf"), l_next.day if l_next else float("inf")) - self.window
            if horizon > cutoff:
                cutoff = horizon
                self._evict(cutoff)
        self._evict(float("inf"))
        for waiting in self._parked.values():
            for item in waiting:
                self._add_break(MISSING_IN_LEDGER, item, None)
        self.report.breaks = [b for b in self._breaks if b is not None]
        return self.report

    def _booked(self, entries: Iterable[StatementEntry]) -> Iterator[_Item]:
        for e in entries:
            if e.status != BOOKED:
                self.report.skipped += 1
                continue
            self.report.statement_entries += 1
            if e.batch_entry is not None:
                ref = e.servicer_ref or f"entry {e.position}"
                side = statement_json(e) | {"batch_entry": e.batch_entry, "batch_total": e.batch_total}
                self._breaks.append(Break(AMOUNT_MISMATCH, ref, None, side))
            yield _Item(e)

    def _classify(self, items: Iterable[_Item]) -> None:
        """Decide for each statement item whether a reference of it names one of the ledger's payments."""
        unknown: dict[str, list[_Item]] = {}
        for item in items:
            if item.ours is not None:
                continue
            entry = item.source
            assert isinstance(entry, StatementEntry)
            if not item.named:
                item.ours = False
            elif self.own_prefix and entry.servicer_ref and entry.servicer_ref.startswith(self.own_prefix):
                item.ours = True
            else:
                item.ours = False
                for ref in (entry.end_to_end, entry.instruction_id):
                    if ref:
                        unknown.setdefault(ref, []).append(item)
        if unknown:
            for leg in self.lookup(sorted(unknown)):
                for item in unknown.get(leg.tx_id, ()):
                    item.ours = True

    def _free(self, item: _Item) -> bool:
        """May this statement item pair by amount and date? Only if it names none of ours and its currency fits."""
        if item.currency and item.currency != self.currency:
            return False
        if item.ours is None:
            self._classify([item])
        return not item.ours

    def _arrive(self, item: _Item, other: _Waiting, own: _Waiting) -> None:
        partner = other.by_reference(item)
        if partner is not None:
            other.remove(partner)
            self._pair(item, partner)
        else:
            own.add(item)

    def _pair(self, a: _Item, b: _Item) -> None:
        s, l = (a, b) if a.is_statement else (b, a)
        entry, leg = s.source, l.source
        assert isinstance(entry, StatementEntry) and isinstance(leg, BookedLeg)
        if s.credit != l.credit or s.amount != l.amount or (entry.currency and entry.currency != self.currency):
            self._add_break(AMOUNT_MISMATCH, s, l)
        elif abs(s.value_day - l.value_day) > self.tolerance:
            self._add_break(DATE_MISMATCH, s, l)
        else:
            self.report.matched += 1

    def _add_break(self, kind: str, s: _Item | None, l: _Item | None) -> int:
        ref = (l.ref if l is not None else None) or (s.ref if s is not None else None)
        self._breaks.append(
            Break(
                kind,
                ref,
                l.source.to_json() if l is not None else None,  # type: ignore[union-attr]
                statement_json(s.source) if s is not None else None,  # type: ignore[arg-type]
            )
        )
        return len(self._breaks) - 1

    def _evict(self, cutoff: float) -> None:
        gone = sorted(self.statement.before(cutoff) + self.ledger.before(cutoff), key=lambda i: (i.day, not i.is_statement))
        self._classify(i for i in gone if i.is_statement and not i.done)
        orphans: list[_Item] = []
        for item in gone:
            if item.done:
                continue
            if item.is_statement:
                self.statement.remove(item)
                free = not item.ours and (not item.currency or item.currency == self.currency)
                partner = self.ledger.by_amount_and_date(item, self.tolerance, lambda c: True) if free else None
                if partner is not None:
                    self.ledger.remove(partner)
                    self._pair(item, partner)
                else:
                    orphans.append(item)
            else:
                self.ledger.remove(item)
                partner = self.statement.by_amount_and_date(item, self.tolerance, self._free)
                if partner is not None:
                    self.statement.remove(partner)
                    self._pair(partner, item)
                elif self.partial:
                    self.report.unreported += 1
                    self._missing.setdefault(item.ref or "", []).append((-1, item))
                else:
                    n = self._add_break(MISSING_IN_STATEMENT, None, item)
                    self._missing.setdefault(item.ref or "", []).append((n, item))
        if orphans:
            self._place(orphans)

    def _place(self, orphans: list[_Item]) -> None:
        """Entries no leg waited for: is their payment further on, already reported, matched once, or unknown?"""
        named = sorted({o.source.end_to_end for o in orphans if o.source.end_to_end and o.ours})  # type: ignore[union-attr]
        known: dict[str, list[BookedLeg]] = {}
        for leg in self.lookup(named) if named else []:
            known.setdefault(leg.tx_id, []).append(leg)
        start, end = self.period
        for o in orphans:
            e2e = o.source.end_to_end  # type: ignore[union-attr]
            legs = known.get(e2e or "", [])
            if not legs:
                self._add_break(MISSING_IN_LEDGER, o, None)
                continue
            reported = self._missing.get(e2e or "")
            if reported:
                n, leg_item = min(reported, key=lambda r: (r[1].credit != o.credit, r[1].amount != o.amount))
                reported.remove((n, leg_item))
                if n >= 0:
                    self._breaks[n] = None
                else:
                    self.report.unreported -= 1
                self._pair(o, leg_item)
                continue
            inside = [g for g in legs if (start is None or g.booking_date >= start) and (end is None or g.booking_date <= end)]
            if any(g.seq > self._last_seq for g in inside):
                self._parked.setdefault(e2e or "", []).append(o)
            elif not inside:
                self._add_break(DATE_MISMATCH, o, _Item(legs[0]))
            else:
                self._add_break(DUPLICATE, o, _Item(inside[0]))


def _next_item(legs: Iterator[BookedLeg]) -> _Item | None:
    leg = next(legs, None)
    return _Item(leg) if leg is not None else None
