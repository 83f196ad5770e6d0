"""Property: for random ledgers and random edits to the exported statement, reconcile finds exactly the edits.

A ledger gets a random run of transfers between alice and seoul-exports on a
clock that jumps a random number of days between them. Its statement for
alice (camt.053 or CSV) is then edited at random: entries dropped, amounts
changed, directions flipped, dates moved past the tolerance, entries booked
twice, foreign entries added; its closing balance is then what the edited
entries add up to, as in a bank's statement of them (the difference that
leaves against the ledger's closing is the entry breaks' own, and is not a
second break). Then perhaps the opening balance is changed (with the
closing, so that it still adds up: a ``balance_mismatch`` of the opening),
or the closing alone (it no longer adds up: an ``unbalanced_statement``).
Each edit must come back as exactly one break of its kind naming its
transaction, and nothing else may.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wonledger import Ledger
from wonledger.statements import camt053, csvfile
from wonledger.statements.formats import read_statement
from wonledger.statements.statement import StatementEntry

ALICE = "alice:dKRW.hanriver"
SEOUL = "seoul-exports:dKRW.hanriver"
TOLERANCE = 1

transfers = st.lists(
    st.tuples(st.booleans(), st.integers(1, 90_000), st.integers(0, 3)),  # (alice pays?, amount, days later)
    min_size=1,
    max_size=10,
)
edit_kinds = st.sampled_from(["keep", "keep", "keep", "drop", "amount", "flip", "date", "duplicate"])


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(days=1)

    def __call__(self) -> datetime:
        return self.now


def shifted(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    moves=transfers,
    fmt=st.sampled_from(["camt053", "csv"]),
    data=st.data(),
)
def test_reconcile_finds_exactly_the_edits_made_to_a_statement(templates: dict[str, Path], moves, fmt, data) -> None:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "ledger"
        shutil.copytree(templates["default"], base)
        clock = Clock()
        with Ledger.open(f"sqlite:///{base / 'wonledger.db'}", base / "keys", clock=clock) as ledger:
            ledger.registry.open_account("seoul-exports", "dKRW.hanriver")
            ledger.payments.deposit("seoul-exports", 1_000_000, "hanriver", tx_id="fund-seoul")
            for n, (alice_pays, amount, gap) in enumerate(moves):
                clock.now += timedelta(days=gap, minutes=1)
                debit, credit = (ALICE, SEOUL) if alice_pays else (SEOUL, ALICE)
                ledger.payments.transfer(debit, credit, amount, tx_id=f"m-{n}")

            out = io.StringIO()
            ledger.statements.write(ALICE, fmt, out)
            reader = read_statement(io.BytesIO(out.getvalue().encode()), 0)
            entries = list(reader)
            header = reader.header

            edited: list[StatementEntry] = []
            expected: list[tuple[str, str | None]] = []
            for entry in entries:
                kind = data.draw(edit_kinds, label=f"edit of {entry.end_to_end_id}")
                ref = entry.end_to_end_id
                if kind == "keep":
                    edited.append(entry)
                    continue
                if kind == "drop":
                    expected.append(("missing_in_statement", ref))
                elif kind == "amount":
                    delta = data.draw(st.integers(1, 1000), label="amount delta")
                    edited.append(replace(entry, amount=entry.amount + delta))
                    expected.append(("amount_mismatch", ref))
                elif kind == "flip":
                    edited.append(replace(entry, credit=not entry.credit))
                    expected.append(("amount_mismatch", ref))
                elif kind == "date":
                    days = data.draw(st.integers(TOLERANCE + 1, 10) | st.integers(-10, -TOLERANCE - 1), label="days moved")
                    moved = shifted(entry.value_date, days)
                    edited.append(replace(entry, booking_date=moved, value_date=moved))
                    expected.append(("date_mismatch", ref))
                elif kind == "duplicate":
                    edited += [entry, entry]
                    expected.append(("duplicate", ref))
            first, last = entries[0].booking_date, entries[-1].booking_date
            for n in range(data.draw(st.integers(0, 2), label="foreign entries")):
                day = shifted(first, data.draw(st.integers(0, (date.fromisoformat(last) - date.fromisoformat(first)).days)))
                # larger than any transfer here: an entry naming none of the ledger's payments may pair with
                # a leg of its amount, direction and date, so a foreign entry must not share one with a dropped leg
                amount = data.draw(st.integers(100_001, 10**6), label="foreign amount")
                edited.append(StatementEntry(amount, data.draw(st.booleans()), "KRW", day, day, end_to_end_id=f"foreign-{n}"))
                expected.append(("missing_in_ledger", f"foreign-{n}"))
            header.closing = (header.opening or 0) + sum(e.signed for e in edited)
            balance_edit = data.draw(st.sampled_from(["none", "none", "opening", "closing"]), label="balance edit")
            delta = data.draw(st.integers(1, 10**6) | st.integers(-(10**6), -1), label="balance delta")
            if balance_edit == "opening":
                header.opening = (header.opening or 0) + delta
                header.closing += delta
                expected.append(("balance_mismatch", "OPBD"))
            elif balance_edit == "closing":
                header.closing += delta
                # out by delta; unless the entry edits add up to just that (then its balances are the ledger's)
                if -delta != sum(e.signed for e in edited) - sum(e.signed for e in entries):
                    expected.append(("unbalanced_statement", header.statement_id))
            edited.sort(key=lambda e: e.booking_date)  # a statement lists its entries by booking date

            crafted = io.StringIO()
            if fmt == "camt053":
                camt053.write(crafted, header, edited, 0, "2026-11-22T00:00:00Z")
            else:
                csvfile.write(crafted, header, edited, 0)
            report = ledger.statements.reconcile(io.BytesIO(crafted.getvalue().encode()), ALICE, TOLERANCE)
            found = sorted(((b.kind, b.ref) for b in report.breaks), key=lambda k: (k[0], k[1] or ""))
            assert found == sorted(expected, key=lambda k: (k[0], k[1] or ""))
            assert report.matched == sum(1 for e in entries) - len([k for k in expected if k[0] in ("missing_in_statement", "amount_mismatch", "date_mismatch")])
