"""Concurrency: eight processes hammer five hot accounts with transfers, holds, posts and voids.

On a SQLite file and on PostgreSQL, for a fixed count of operations. At the
end the stored counters equal a serial replay of the journal (this test
replays it itself, from the rows, beside `verify`), no account is overdrawn
at any point of the replay, every asset sums to zero, every receipt a
process got is in the journal exactly once, and no process saw a lock,
deadlock or storage error: those are retried inside the book, within a bound.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from harness import record_figure

from wonledger import Ledger

pytestmark = pytest.mark.slow  # eight processes of random operations on each backend (docs/testing.md: the lanes)

PROCESSES = 8
OPS = 80
HOT = ("alice", "hot-1", "hot-2", "hot-3", "hot-4")
ASSET = "dKRW.hanriver"


def serial_replay(ledger: Ledger) -> dict[str, list[int]]:
    """Counters from the journal alone, one entry after another, checking no protected account is ever overdrawn."""
    counters: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    held: dict[str, tuple] = {}
    protected = {a.id for a in ledger.registry.accounts() if not a.may_overdraw}
    for stored, legs in ledger._store.stream_journal():
        kind, ref = stored.kind, stored.ref
        if kind in ("post", "void", "expire"):
            for leg in held.pop(ref):
                counters[leg.debit][2] -= leg.amount
                counters[leg.credit][3] -= leg.amount
        for leg in legs:
            pending = kind == "hold"
            counters[leg.debit][2 if pending else 0] += leg.amount
            counters[leg.credit][3 if pending else 1] += leg.amount
        if kind == "hold":
            held[stored.id] = legs
        for leg in legs:
            dp, cp, dq, _ = counters[leg.debit]
            assert leg.debit not in protected or cp - dp - dq >= 0, f"{leg.debit} overdrawn by {stored.id}"
    return counters


def test_eight_processes_on_hot_accounts_keep_every_counter_equal_to_a_serial_replay(ledger: Ledger, backend: str, start_worker, tmp_path: Path) -> None:
    for name in HOT[1:]:
        ledger.registry.add_participant(name, "corporate", "KR")
        ledger.payments.deposit(name, 1_000_000, "hanriver")
    accounts = [f"{name}:{ASSET}" for name in HOT]
    go = tmp_path / "go"
    workers = [
        start_worker("hammer.py", ledger._store.url, str(ledger._keys.directory), str(n), str(OPS), "11", str(go), *accounts)
        for n in range(PROCESSES)
    ]
    time.sleep(0.5)
    go.touch()
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-2000:]
        reports.append(json.loads(out))
    assert [t for r in reports for t in r["trouble"]] == []
    outcomes = sum((Counter(r["outcomes"]) for r in reports), Counter())
    assert sum(outcomes.values()) == PROCESSES * OPS
    assert set(outcomes) <= {"transfer", "hold", "post", "void", "INSUFFICIENT_FUNDS"}
    assert outcomes["post"] and outcomes["void"] and outcomes["hold"] and outcomes["transfer"]

    receipts = [i for r in reports for i in r["receipts"]]
    journal = [stored.id for stored, _ in ledger._store.stream_journal()]
    assert Counter(i for i in journal if i.startswith("w")) == Counter(receipts)  # each acknowledged once, nothing else
    replayed = serial_replay(ledger)
    stored = {a.id: [a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending] for a in ledger.registry.accounts()}
    assert {k: v for k, v in stored.items() if any(v)} == {k: v for k, v in replayed.items() if any(v)}
    sums: dict[str, int] = defaultdict(int)
    for account in ledger.registry.accounts():
        sums[account.asset] += account.balance
    assert set(sums.values()) == {0}
    report = ledger.verify()
    assert report.ok, report.problems[:3]

    elapsed = max(r["elapsed"] for r in reports)
    record_figure(
        f"concurrency.{backend}", processes=PROCESSES, ops=PROCESSES * OPS, seconds=round(elapsed, 2),
        ops_per_s=round(PROCESSES * OPS / elapsed), outcomes=dict(outcomes), lock_errors=0,
    )
