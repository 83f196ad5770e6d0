"""SQLite specifics (the README's "Storage"): WAL, BEGIN IMMEDIATE for writes, deferred BEGIN for reads.

A person running `wonledger balance` while a long batch is being written
must get an answer at once, and a second writer must wait its turn rather
than fail with "database is locked".
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from wonledger import Ledger

ALICE = "alice:dKRW.hanriver"
RESERVE = "kstable:dKRW.hanriver:reserve"


@pytest.fixture
def sqlite_ledger(sqlite_ledger_dir) -> Iterator[Ledger]:
    base = sqlite_ledger_dir("default")
    ledger = Ledger.open(f"sqlite:///{base / 'wonledger.db'}", base / "keys")
    yield ledger
    ledger.close()


def db_path(ledger: Ledger) -> Path:
    return Path(ledger._store.url.removeprefix("sqlite:///"))


class Writer:
    """Another connection in BEGIN IMMEDIATE with an uncommitted change, as a long batch would be."""

    def __init__(self, ledger: Ledger, release_after: float) -> None:
        self.conn = sqlite3.connect(db_path(ledger), isolation_level=None, check_same_thread=False, timeout=5)
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute("UPDATE accounts SET credits_posted = credits_posted + 999 WHERE id = ?", (ALICE,))
        self.released = threading.Event()
        self._release_now = threading.Event()
        self._thread = threading.Thread(target=self._hold, args=(release_after,), daemon=True)
        self._thread.start()

    def _hold(self, release_after: float) -> None:
        self._release_now.wait(release_after)
        self.conn.execute("ROLLBACK")
        self.released.set()

    def release(self) -> None:
        self._release_now.set()
        self._thread.join()
        self.conn.close()


@contextmanager
def writer_holding_the_lock(ledger: Ledger, release_after: float) -> Iterator[threading.Event]:
    """Hold the write lock from another connection; it is rolled back after ``release_after`` s
    (or on leaving the block). The event yielded is set once the lock is released."""
    writer = Writer(ledger, release_after)
    try:
        yield writer.released
    finally:
        writer.release()


def test_the_database_is_in_wal_mode(sqlite_ledger: Ledger) -> None:
    sqlite_ledger.registry.account(ALICE)
    with sqlite3.connect(db_path(sqlite_ledger)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_reading_balances_is_not_blocked_by_a_long_writer(sqlite_ledger: Ledger) -> None:
    # The writer holds its lock until the block ends (or for 60 s): reads that waited for it would
    # finish only after its release, which the assertions below would see. No clock is read.
    with writer_holding_the_lock(sqlite_ledger, release_after=60) as released:
        alice = sqlite_ledger.registry.account(ALICE)
        accounts = sqlite_ledger.registry.accounts()
        entry = sqlite_ledger.transaction("genesis-deposit-alice")
        info = sqlite_ledger.info()
        report = sqlite_ledger.verify()
        assert not released.is_set(), "the reads waited for the writer"
        assert the_write_lock_is_held(sqlite_ledger), "the reads ran after the writer had let go"
    assert alice.balance == 5_000_000  # the writer's uncommitted change is not seen
    assert len(accounts) == info.accounts and entry.status == "posted" and report.ok


def the_write_lock_is_held(ledger: Ledger) -> bool:
    """Whether another connection holds the write lock now (asked without waiting)."""
    probe = sqlite3.connect(db_path(ledger), isolation_level=None, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        return "locked" in str(exc)
    else:
        probe.execute("ROLLBACK")
        return False
    finally:
        probe.close()


def test_the_balance_command_answers_while_another_process_writes(sqlite_ledger: Ledger, wonledger) -> None:
    with writer_holding_the_lock(sqlite_ledger, release_after=20) as released:
        done = wonledger(sqlite_ledger._store.url, "--json", "balance", ALICE, timeout=15)
        answered_while_locked = not released.is_set()
    assert answered_while_locked
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["accounts"][0]["balance"] == 5_000_000


def test_a_writer_waits_for_another_writer_instead_of_failing(sqlite_ledger: Ledger) -> None:
    with writer_holding_the_lock(sqlite_ledger, release_after=2.0) as released:
        assert the_write_lock_is_held(sqlite_ledger)
        receipt = sqlite_ledger.payments.transfer(ALICE, RESERVE, 1_000, tx_id="waited")
        assert released.is_set(), "the transfer committed while another writer held the lock"
    assert receipt.status == "posted"
    assert sqlite_ledger.registry.account(ALICE).balance == 5_000_000 - 1_000  # and the rolled-back change never landed
    assert sqlite_ledger.verify().ok


def test_the_transfer_command_waits_for_another_writer_and_then_succeeds(sqlite_ledger: Ledger, wonledger) -> None:
    with writer_holding_the_lock(sqlite_ledger, release_after=2.0) as released:
        done = wonledger(sqlite_ledger._store.url, "transfer", ALICE, RESERVE, "1000", keys=sqlite_ledger._keys.directory)
        finished_after_the_writer = released.is_set()
    assert finished_after_the_writer
    assert done.returncode == 0, done.stderr
    assert "locked" not in done.stderr
    assert sqlite_ledger.registry.account(ALICE).balance == 5_000_000 - 1_000
