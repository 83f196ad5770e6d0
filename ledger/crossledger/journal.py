"""The driver's own durable journal of steps (SQLite, beside the ledgers) and the lock that keeps one driver per payment.

The driver's journal is not a ledger: it records what the driver planned
(the payment, the receiver's preimage until the receiver uses it, the quote)
and each step it saw finish, so that ``xresume`` knows which payments a
killed driver began. What happened is always read again from the two ledgers
(their journals are the truth); this one only says where to look. Each write
is its own committed transaction with ``synchronous=FULL``.

A payment is locked by ``flock`` on ``locks/<payment>.lock`` in the driver's
directory: the kernel releases it when the process that held it dies, however
it dies, so a killed driver never leaves a payment locked, and a second
driver (or ``xresume`` while ``xsend`` runs) is refused at once.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from wonledger.crossledger.plan import Plan
from wonledger.domain.errors import BadInput, PaymentLocked
from wonledger.domain.timestamps import iso, utc_now

_SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    id TEXT PRIMARY KEY,
    plan TEXT NOT NULL,
    preimage TEXT NOT NULL,
    outcome TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS steps (
    payment TEXT NOT NULL REFERENCES payments(id),
    n INTEGER NOT NULL,
    step TEXT NOT NULL,
    at TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (payment, n)
);
"""


@dataclass(frozen=True, slots=True)
class Recorded:
    plan: Plan
    preimage: str
    outcome: str | None
    steps: tuple[tuple[str, str, str], ...]  # (step, at, detail)


class DriverJournal:
    """``DIR/driver.db`` and ``DIR/locks/``."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "locks").mkdir(exist_ok=True)
        self._db = sqlite3.connect(self.directory / "driver.db", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def start(self, plan: Plan, preimage: bytes) -> None:
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT INTO payments (id, plan, preimage, created_at) VALUES (?, ?, ?, ?)", (plan.payment, plan.to_json(), preimage.hex(), iso(utc_now()))
            )
            self._add_step(plan.payment, "planned", "")

    def update_plan(self, plan: Plan, step: str) -> None:
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("UPDATE payments SET plan = ? WHERE id = ?", (plan.to_json(), plan.payment))
            self._add_step(plan.payment, step, "")

    def step(self, payment: str, step: str, detail: str = "") -> None:
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._add_step(payment, step, detail)

    def finish(self, payment: str, outcome: str) -> None:
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("UPDATE payments SET outcome = ? WHERE id = ?", (outcome, payment))
            self._add_step(payment, "finished", outcome)

    def _add_step(self, payment: str, step: str, detail: str) -> None:
        n = self._db.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM steps WHERE payment = ?", (payment,)).fetchone()[0]
        self._db.execute("INSERT INTO steps (payment, n, step, at, detail) VALUES (?, ?, ?, ?, ?)", (payment, n, step, iso(utc_now()), detail))

    def get(self, payment: str) -> Recorded:
        row = self._db.execute("SELECT plan, preimage, outcome FROM payments WHERE id = ?", (payment,)).fetchone()
        if row is None:
            raise BadInput(f"the driver in {self.directory} began no payment {payment}")
        steps = self._db.execute("SELECT step, at, detail FROM steps WHERE payment = ? ORDER BY n", (payment,)).fetchall()
        return Recorded(Plan.from_json(row[0]), row[1], row[2], tuple((s, a, d) for s, a, d in steps))

    def unfinished(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT id FROM payments WHERE outcome IS NULL ORDER BY created_at, id")]

    def all(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT id FROM payments ORDER BY created_at, id")]

    @contextmanager
    def lock(self, payment: str) -> Iterator[None]:
        """Hold ``payment``'s lock for the block; PAYMENT_LOCKED at once if another process holds it."""
        fd = os.open(self.directory / "locks" / f"{payment}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise PaymentLocked(f"another driver is running payment {payment} now; wait for it, or for it to die") from None
            yield
        finally:
            os.close(fd)  # (closing the descriptor releases the lock)


__all__ = ["DriverJournal", "Recorded"]
