"""Matching a statement's entries to the ledger's legs, and naming every break.

Both sides arrive as streams in booking-date order (a statement lists its
entries by day; the journal is in commit order) and are merged by date.
Each new item is first matched **by reference**: the account servicer
reference, the end-to-end id (the transaction id), the UETR, the
instruction id, or another id the file gives (MT940's reference for the
account owner, a remittance line that is one id). An item left unmatched
waits in a window of ``window_days``; when the merge has moved past it, an
entry that names none of the ledger's payments may still pair with a leg
**of the same amount, direction and currency whose date is within
``tolerance_days``**; whatever is still alone then is a break. A reference
counts as naming a payment only if it is one of ours (a servicer reference
of this ledger, or the id of a transaction on the account): a bank's own
``AcctSvcrRef``, or the payer's end-to-end id on an incoming payment, does
not stop the amount/date match.

A batched entry (one ``Ntry``, several ``TxDtls``) arrives as one item per
transaction. When they carry amounts and do not add up to the entry, that
is an ``amount_mismatch`` of the entry itself (``ledger`` empty, the
statement side giving ``batch_entry`` and ``batch_total``); when they carry
none, each pairs by reference only and the legs it pairs with must add up
to the entry. An entry in another currency or of another asset than the
account's never pairs by amount, and whatever it pairs with by reference is
an ``asset_mismatch``, never a match.

Each break carries its **effect** on the closing balance (statement minus
ledger), so that the reconciliation can tell a closing difference the entry
breaks explain from one they do not. Memory grows with how far the two
sides are out of step (the window), not with the statement's length nor
with the number of breaks (:class:`~wonledger.statements.report.BreakLog`).
The kinds of break are listed in :mod:`wonledger.statements.report`.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import cast

from wonledger.statements.report import (
    AMOUNT_MISMATCH,
    ASSET_MISMATCH,
    BALANCE_MISMATCH,
    BREAK_KINDS,
    DATE_MISMATCH,
    DUPLICATE,
    DUPLICATE_STATEMENT,
    MISSING_IN_LEDGER,
    MISSING_IN_STATEMENT,
    OVERLAPPING_STATEMENT,
    UNBALANCED_STATEMENT,
    Break,
    BreakLog,
    ReconcileReport,
)
from wonledger.statements.statement import BOOKED, StatementEntry, short_ref

__all__ = [
    "AMOUNT_MISMATCH", "ASSET_MISMATCH", "BALANCE_MISMATCH", "BREAK_KINDS", "DATE_MISMATCH", "DUPLICATE", "DUPLICATE_STATEMENT",
    "MISSING_IN_LEDGER", "MISSING_IN_STATEMENT", "OVERLAPPING_STATEMENT", "UNBALANCED_STATEMENT", "BookedLeg", "Break", "BreakLog", "Matcher",
    "ReconcileReport", "statement_json",
]


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

    @property
    def signed(self) -> int:
        return self.amount if self.credit else -self.amount

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
        "amount": e.amount if e.amount_given else None,
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
    if e.asset:
        out["asset"] = e.asset
    if e.memo:
        out["memo"] = e.memo
    return out


class _Item:
    """A leg or an entry waiting for its partner."""

    __slots__ = ("amount", "credit", "day", "done", "foreign", "is_statement", "named", "ours", "refs", "source", "tx", "value_day")

    def __init__(self, source: StatementEntry | BookedLeg, foreign: bool = False) -> None:
        self.source = source
        self.done = False
        self.ours: bool | None = None  # does one of its references name one of the ledger's payments? (statement side)
        self.tx: str | None = None  # the ledger transaction a reference of it names, once known
        #: another currency or asset than the account's: it never pairs by amount, and never matches
        self.foreign = foreign
        if isinstance(source, StatementEntry):
            self.is_statement = True
            self.refs = source.references
            self.named = bool(self.refs)
            self.day = _day(source.booking_date)
            self.value_day = _day(source.value_date)
        else:
            self.is_statement = False
            short = short_ref(source.tx_id)
            self.refs = (source.servicer_ref, source.tx_id, source.uetr) + ((short,) if short != source.tx_id else ())
            self.named = self.ours = True
            self.tx = source.tx_id
            self.day = self.value_day = _day(source.booking_date)
        self.credit = source.credit
        self.amount = source.amount

    @property
    def ref(self) -> str | None:
        s = self.source
        if isinstance(s, BookedLeg):
            return s.tx_id
        return self.tx or s.end_to_end or s.servicer_ref or s.uetr or next(iter(s.other_refs), None)

    @property
    def signed(self) -> int:
        return self.amount if self.credit else -self.amount


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

    def waiting_before(self, cutoff: float) -> list[_Item]:
        """The waiting items booked before ``cutoff``, left where they are."""
        return [item for day, bucket in self.by_day.items() if day < cutoff for item in bucket.values()]

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


class _Batch:
    """A batched entry whose transactions carry no amounts: the legs they pair with must add up to the entry."""

    __slots__ = ("entry", "legs", "open", "orphans", "position")

    def __init__(self, position: int) -> None:
        self.position = position
        self.entry: int | None = None  # the entry's signed amount, once its last transaction has arrived
        self.open = 0  # transactions neither paired nor given up on yet
        self.legs = 0  # the signed sum of the legs its transactions paired with
        self.orphans = 0


class Matcher:
    """Runs one reconciliation; see the module's docstring for the rules.

    ``period()`` says which days the statement covers as far as it has been
    read (an MT940's closing balance comes after its entries): legs after
    its last day are not the statement's.
    """

    def __init__(
        self,
        report: ReconcileReport,
        currency: str,
        lookup: Callable[[list[str]], list[BookedLeg]],
        period: Callable[[], tuple[str | None, str | None]] | tuple[str | None, str | None],
        tolerance_days: int = 1,
        window_days: int = 31,
        own_prefix: str | None = None,
        partial: bool = False,
        asset: str | None = None,
    ) -> None:
        self.report = report
        self.currency = currency
        self.asset = asset
        self.lookup = lookup
        #: this ledger's servicer references start with it (``<ledger id>:``)
        self.own_prefix = own_prefix
        #: the statement reports some movements only (a camt.054 notification): a leg it lacks is no break
        self.partial = partial
        self.first_day: int | None = None  # the first statement entry's booking day (an ordinal), once read
        self.period = period if callable(period) else (lambda: period)
        self.tolerance = tolerance_days
        self.window = max(window_days, tolerance_days)
        self.statement = _Waiting()
        self.ledger = _Waiting()
        self.log: BreakLog = report.log
        self._missing: dict[str, list[tuple[int, _Item]]] = {}  # tx id → missing_in_statement breaks
        self._parked: dict[str, list[_Item]] = {}  # entries whose leg is further on in the journal
        self._batches: dict[int, _Batch] = {}
        self._last_seq = 0

    def run(self, entries: Iterable[StatementEntry], ledger_legs: Callable[[], Iterator[BookedLeg]]) -> ReconcileReport:
        s_iter = self._booked(entries)
        s_next = next(s_iter, None)  # reading the first entry completes the statement's header
        self.first_day = s_next.day if s_next is not None else None
        l_iter = ledger_legs()
        l_next = _next_item(l_iter)
        cutoff = settled = float("-inf")
        crowded = 1_000
        while s_next is not None or l_next is not None:
            # The statement's entry goes first when the ledger has none left or it is not later;
            # otherwise the ledger's leg (one of the two is waiting, or the loop would have ended).
            if s_next is not None and (
                l_next is None or (s_next.day, self.statement.count) <= (l_next.day, self.ledger.count)
            ):
                self._arrive(s_next, self.ledger, self.statement)
                s_next = next(s_iter, None)
            elif l_next is not None:
                if s_next is None and self._after_period(l_next):
                    break  # the statement has ended, and so has its period: later legs are not its
                self._leg(l_next)
                l_next = _next_item(l_iter)
            front = min(s_next.day if s_next else float("inf"), l_next.day if l_next else float("inf"))
            # every leg booked before the ledger's next one has arrived: entries valued more than the tolerance
            # before it have seen every leg they could pair with by amount (in a day of many entries and no legs,
            # a batch is settled whenever as many entries wait as were left waiting last time, and a thousand)
            near = (l_next.day if l_next else float("inf")) - self.tolerance
            if near > settled or (near > float("-inf") and self.statement.count >= crowded):
                settled = near
                self._settle(settled)
                crowded = max(1_000, 2 * self.statement.count)
            if front - self.window > cutoff:
                cutoff = front - self.window
                self._evict(cutoff)
        self._evict(float("inf"))
        for waiting in self._parked.values():
            for item in waiting:
                self._orphan_break(item)
        return self.report

    def _after_period(self, item: _Item) -> bool:
        end = self.period()[1]
        return end is not None and item.day > _day(end)

    def _leg(self, item: _Item) -> None:
        self._last_seq = cast(BookedLeg, item.source).seq  # the ledger's items wrap its legs (_next_item)
        parked = self._parked.get(item.ref or "")
        if parked:
            self._pair(parked.pop(), item)
            if not parked:
                del self._parked[item.ref or ""]
        else:
            self._arrive(item, self.statement, self.ledger)
        self.report.ledger_entries += 1

    def _booked(self, entries: Iterable[StatementEntry]) -> Iterator[_Item]:
        for e in entries:
            if e.status != BOOKED:
                self.report.skipped += 1
                continue
            self.report.statement_entries += 1
            if not e.amount_given:
                batch = self._batches.setdefault(e.position, _Batch(e.position))
                batch.open += 1
            if e.batch_entry is not None:
                self._batch_end(e)
            foreign = bool((e.currency and e.currency != self.currency) or (e.asset and self.asset and e.asset != self.asset))
            yield _Item(e, foreign)

    def _batch_end(self, e: StatementEntry) -> None:
        """The last transaction of a batch: with amounts, they must add up to the entry; without, the legs must (later)."""
        if e.batch_total is not None:
            if e.batch_total != e.batch_entry:
                ref = e.servicer_ref or f"entry {e.position}"
                side = statement_json(e) | {"batch_entry": e.batch_entry, "batch_total": e.batch_total}
                self.log.add(Break(AMOUNT_MISMATCH, ref, None, side, effect=cast(int, e.batch_entry) - e.batch_total))
            return
        batch = self._batches.get(e.position)
        if batch is not None:
            batch.entry = e.batch_entry
            self._batch_check(batch)

    def _batch_item_done(self, item: _Item, leg: BookedLeg | None) -> None:
        entry = cast(StatementEntry, item.source)
        batch = self._batches.get(entry.position)
        if batch is None:
            return
        batch.open -= 1
        if leg is None:
            batch.orphans += 1
        else:
            batch.legs += leg.signed
        self._batch_check(batch)

    def _batch_check(self, batch: _Batch) -> None:
        if batch.open or batch.entry is None:
            return
        del self._batches[batch.position]
        residual = batch.entry - batch.legs
        if not residual:
            return
        if batch.orphans:
            self.log.effect += residual  # what its unmatched transactions (already breaks) were worth
        else:
            side: dict[str, object] = {"entry": batch.position, "batch_entry": batch.entry, "batch_total": batch.legs}
            self.log.add(Break(AMOUNT_MISMATCH, f"entry {batch.position}", None, side, effect=residual))

    def _classify(self, items: Iterable[_Item]) -> None:
        """Decide for each statement item whether a reference of it names one of the ledger's payments."""
        unknown: dict[str, list[_Item]] = {}
        for item in items:
            if item.ours is not None:
                continue
            entry = cast(StatementEntry, item.source)
            if not item.named:
                item.ours = False
            elif self.own_prefix and entry.servicer_ref and entry.servicer_ref.startswith(self.own_prefix):
                item.ours = True  # a statement of this ledger: its end-to-end id is the transaction's id
                item.tx = entry.end_to_end
            else:
                item.ours = False
                for ref in (entry.end_to_end, entry.instruction_id, *entry.other_refs):
                    if ref:
                        unknown.setdefault(ref, []).append(item)
        if unknown:
            for leg in self.lookup(sorted(unknown)):
                for item in unknown.get(leg.tx_id, ()):
                    item.ours = True
                    item.tx = item.tx or leg.tx_id

    def _free(self, item: _Item) -> bool:
        """May this statement item pair by amount and date? Only if it names none of ours and is of the account's asset."""
        if item.foreign or not cast(StatementEntry, item.source).amount_given:
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

    def _pair(self, a: _Item, b: _Item, inside: bool = True) -> None:
        """An entry and a leg that name the same payment: a match, or the one break that says how they differ.

        ``inside``: the leg is one of those compared (booked within the statement's period).
        """
        s, l = (a, b) if a.is_statement else (b, a)
        entry, leg = cast(StatementEntry, s.source), cast(BookedLeg, l.source)
        counted = leg.signed if inside else 0  # what the leg adds to the ledger's side of the period
        if not entry.amount_given:
            self._batch_item_done(s, leg)
            if s.foreign or s.credit != l.credit:
                self._add_break(ASSET_MISMATCH if s.foreign else AMOUNT_MISMATCH, s, l, 0)
            elif abs(s.value_day - l.value_day) > self.tolerance:
                self._add_break(DATE_MISMATCH, s, l, leg.signed - counted)
            else:
                self.report.matched += 1
        elif s.foreign:
            self._add_break(ASSET_MISMATCH, s, l, s.signed - counted)
        elif s.credit != l.credit or s.amount != l.amount:
            self._add_break(AMOUNT_MISMATCH, s, l, s.signed - counted)
        elif abs(s.value_day - l.value_day) > self.tolerance or not inside:
            self._add_break(DATE_MISMATCH, s, l, s.signed - counted)
        else:
            self.report.matched += 1

    def _add_break(self, kind: str, s: _Item | None, l: _Item | None, effect: int) -> int:
        ref = (l.ref if l is not None else None) or (s.ref if s is not None else None)
        return self.log.add(
            Break(
                kind,
                ref,
                cast(BookedLeg, l.source).to_json() if l is not None else None,
                statement_json(cast(StatementEntry, s.source)) if s is not None else None,
                effect=effect,
            )
        )

    def _orphan_break(self, item: _Item) -> None:
        """An entry that names no leg of the period: missing in the ledger (or of another asset)."""
        entry = cast(StatementEntry, item.source)
        if not entry.amount_given:
            self._batch_item_done(item, None)
        self._add_break(ASSET_MISMATCH if item.foreign else MISSING_IN_LEDGER, item, None, item.signed if entry.amount_given else 0)

    def _settle(self, cutoff: float) -> None:
        """Entries booked before ``cutoff`` that name none of the ledger's payments and that no waiting leg could pair with.

        Every leg within the tolerance of them has arrived (the merge is in
        date order), and no leg will name them later (they name none of
        ours): they are missing in the ledger now, not a window later. So
        a statement of payments the ledger never made holds the entries of
        a few days in memory, not of a month.
        """
        # (an entry pairs by value date: one valued later than it was booked waits until legs of that day have come)
        waiting = [i for i in self.statement.waiting_before(cutoff) if i.value_day < cutoff and cast(StatementEntry, i.source).amount_given]
        if not waiting:
            return
        self._classify(waiting)
        for item in waiting:
            if item.ours or item.done:
                continue
            if item.foreign or self.ledger.by_amount_and_date(item, self.tolerance, lambda c: True) is None:
                self.statement.remove(item)
                self._orphan_break(item)

    def _evict(self, cutoff: float) -> None:
        gone = sorted(self.statement.before(cutoff) + self.ledger.before(cutoff), key=lambda i: (i.day, not i.is_statement))
        self._classify(i for i in gone if i.is_statement and not i.done)
        orphans: list[_Item] = []
        for item in gone:
            if item.done:
                continue
            if item.is_statement:
                self.statement.remove(item)
                partner = self.ledger.by_amount_and_date(item, self.tolerance, lambda c: True) if self._free(item) else None
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
                    n = self._add_break(MISSING_IN_STATEMENT, None, item, -item.signed)
                    self._missing.setdefault(item.ref or "", []).append((n, item))
        if orphans:
            self._place(orphans)

    def _place(self, orphans: list[_Item]) -> None:
        """Entries no leg waited for: is their payment further on, already reported, matched once, or unknown?"""
        named = sorted({o.tx for o in orphans if o.tx and o.ours})
        known: dict[str, list[BookedLeg]] = {}
        for leg in self.lookup(named) if named else []:
            known.setdefault(leg.tx_id, []).append(leg)
        start, end = self.period()
        for o in orphans:
            legs = known.get(o.tx or "", [])
            if not legs:
                self._orphan_break(o)
                continue
            reported = self._missing.get(o.tx or "")
            if reported:
                n, leg_item = min(reported, key=lambda r: (r[1].credit != o.credit, r[1].amount != o.amount))
                reported.remove((n, leg_item))
                if n >= 0:
                    self.log.retract(n, MISSING_IN_STATEMENT, -leg_item.signed)
                else:
                    self.report.unreported -= 1
                self._pair(o, leg_item)
                continue
            inside = [g for g in legs if (start is None or g.booking_date >= start) and (end is None or g.booking_date <= end)]
            if any(g.seq > self._last_seq for g in inside):
                self._parked.setdefault(o.tx or "", []).append(o)
            elif not inside:
                self._pair(o, _Item(legs[0]), inside=False)
            else:
                if not cast(StatementEntry, o.source).amount_given:
                    self._batch_item_done(o, None)
                self._add_break(DUPLICATE, o, _Item(inside[0]), o.signed)


def _next_item(legs: Iterator[BookedLeg]) -> _Item | None:
    leg = next(legs, None)
    return _Item(leg) if leg is not None else None
