"""Crash safety: `submit` and streams of payments killed with SIGKILL at random points, and a power-cut copy.

After every kill `verify` passes, every transaction that landed landed whole
(a three-leg payment has its three legs or is absent), nothing acknowledged
is missing, and resubmitting the same input posts exactly what had not
landed: each transaction once, none twice. On SQLite and on PostgreSQL.

The power-cut model (SQLite): a writer is frozen at a random instant, the
database and its write-ahead log are copied as they are at that instant (as
a crash leaves them, a half-written log frame included), and the copy is
opened: it verifies, it is a prefix of the journal the writer went on to
write, and it holds everything acknowledged before the freeze.

Kill delays are drawn from a seeded generator (WONLEDGER_CRASH_SEED to replay
one); the counts are bounded so the suite stays within CI's budget.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy

from harness import WONLEDGER, WORKERS, clean_env, journal_ids, legs_per_entry, record_figure, write_lines
from ledger import Ledger, Leg, Tx

SUBMIT_TRIALS = 8
STREAM_TRIALS = 12
CLI_STREAM_TRIALS = 2
SNAPSHOTS = 12
BATCH = 1100  # more than one chunk of 1000 lines, so a kill can fall between two commits
SEED = int(os.environ.get("WONLEDGER_CRASH_SEED", "7"))

ALICE = "alice:dKRW.hanriver"


@pytest.fixture
def ledger_copies(backend: str, sqlite_ledger_dir, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[[], tuple[str, Path]]]:
    """copy() -> (url, keys): a fresh copy of one default-world ledger, the same id and keys each time."""
    if backend == "sqlite":

        def copy_sqlite() -> tuple[str, Path]:
            base = sqlite_ledger_dir("default")
            return f"sqlite:///{base / 'wonledger.db'}", base / "keys"

        yield copy_sqlite
        return
    template = request.getfixturevalue("pg_database")()
    keys = tmp_path / "keys"
    Ledger.create(template, keys).close()
    admin = sqlalchemy.create_engine(os.environ["WONLEDGER_TEST_PG_URL"], isolation_level="AUTOCOMMIT")
    made: list[str] = []
    template_name = sqlalchemy.engine.make_url(template).database

    def copy_pg() -> tuple[str, Path]:
        name = f"wl_crash_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
        made.append(name)
        return sqlalchemy.engine.make_url(template).set(database=name).render_as_string(hide_password=False), keys

    yield copy_pg
    with admin.connect() as conn:
        for name in made:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def batch_lines(url: str, keys: Path) -> tuple[list[str], dict[str, int]]:
    """BATCH signed lines: one-leg transfers, and every fifth a three-leg payment across banks."""
    import json

    lines, legs = [], {}
    with Ledger.open(url, keys) as ledger:
        for n in range(BATCH):
            if n % 5 == 4:
                tx_legs = (
                    Leg(ALICE, "hanriver:dKRW.hanriver", "dKRW.hanriver", 1),
                    Leg("hanriver:wKRW", "namsan:wKRW", "wKRW", 1),
                    Leg("namsan:dKRW.namsan", "seoul-exports:dKRW.namsan", "dKRW.namsan", 1),
                )
                tx = Tx(ledger=ledger.id, id=f"batch-{n}", kind="pay", legs=tx_legs)
            else:
                tx = Tx(ledger=ledger.id, id=f"batch-{n}", kind="transfer", legs=(Leg(ALICE, "kstable:dKRW.hanriver:reserve", "dKRW.hanriver", 1),))
            lines.append(json.dumps(ledger.sign(tx).to_wire()))
            legs[tx.id] = len(tx.legs)
    return lines, legs


def assert_whole_and_verified(url: str, keys: Path, expected_legs: dict[str, int]) -> set[str]:
    """verify passes and every transaction of ours that landed has all its legs; returns those that landed."""
    with Ledger.open(url, keys) as ledger:
        report = ledger.verify()
    assert report.ok, report.problems[:3]
    stored = legs_per_entry(url)
    landed = {i for i in stored if i in expected_legs}
    assert all(stored[i] == expected_legs[i] for i in landed)
    return landed


def test_submit_killed_at_random_points_loses_nothing_and_a_rerun_posts_exactly_the_rest(ledger_copies, backend: str, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    url, keys = ledger_copies()
    lines, expected_legs = batch_lines(url, keys)
    batch = write_lines(tmp_path / "batch.jsonl", lines)
    started = time.monotonic()
    subprocess.run([WONLEDGER, "--db", url, "--keys", str(keys), "submit", str(batch)], check=True, capture_output=True, env=clean_env())
    whole_run = time.monotonic() - started  # how long an unkilled submit takes here: kills fall across it
    partly, nothing, everything = 0, 0, 0
    for _ in range(SUBMIT_TRIALS):
        url, keys = ledger_copies()
        proc = subprocess.Popen([WONLEDGER, "--db", url, "--keys", str(keys), "submit", str(batch)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=clean_env())
        time.sleep(rng.uniform(0.4 * whole_run, whole_run * 1.05))  # the first half is start-up and parsing
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        landed = assert_whole_and_verified(url, keys, expected_legs)
        partly += 0 < len(landed) < BATCH
        nothing += not landed
        everything += len(landed) == BATCH
        with Ledger.open(url, keys) as ledger:
            result = ledger.ingest(lines)
        assert (result.posted, result.duplicates, result.rejected) == (BATCH - len(landed), len(landed), [])
        ours = [i for i in journal_ids(url) if i in expected_legs]
        assert sorted(ours) == sorted(expected_legs)  # every transaction exactly once
        assert assert_whole_and_verified(url, keys, expected_legs) == set(expected_legs)
    record_figure(f"crash.submit.{backend}", trials=SUBMIT_TRIALS, lines=BATCH, killed_between_chunks=partly, killed_before_any=nothing, killed_after_all=everything, failures=0)


def read_lines_into(stream, into: list[str]) -> threading.Thread:
    def pump() -> None:
        for line in stream:
            into.append(line.strip())

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def check_stream_after_kill(url: str, keys: Path, acknowledged: list[str]) -> int:
    """The stream's payments landed in order, whole, none acknowledged is missing; rerunning it lands the rest once."""
    expected = {f"stream-{n}": 1 if n % 2 == 0 else 3 for n in range(10_000)}
    assert_whole_and_verified(url, keys, expected)
    landed = [i for i in journal_ids(url) if i.startswith("stream-")]
    assert landed == [f"stream-{n}" for n in range(len(landed))]
    assert landed[: len(acknowledged)] == acknowledged and len(landed) - len(acknowledged) <= 1  # only the one in flight may be unacknowledged
    total = len(landed) + 3
    with Ledger.open(url, keys) as ledger:
        before = ledger.account(ALICE).balance
        receipts = [
            ledger.transfer(ALICE, "hanriver:dKRW.hanriver", 1, tx_id=f"stream-{n}") if n % 2 == 0
            else ledger.pay(ALICE, "seoul-exports:dKRW.namsan", 1, tx_id=f"stream-{n}")
            for n in range(total)
        ]
        assert [r.duplicate for r in receipts] == [True] * len(landed) + [False] * 3
        assert ledger.account(ALICE).balance == before - 3
    assert [i for i in journal_ids(url) if i.startswith("stream-")] == [f"stream-{n}" for n in range(total)]
    return len(landed)


def test_a_stream_of_payments_killed_at_random_points_loses_nothing_acknowledged(ledger_copies, backend: str, start_worker) -> None:
    rng = random.Random(SEED + 1)
    landed_counts = []
    for _ in range(STREAM_TRIALS):
        url, keys = ledger_copies()
        worker = start_worker("transfer_stream.py", url, str(keys), "100000")
        acknowledged: list[str] = []
        pump = read_lines_into(worker.stdout, acknowledged)
        time.sleep(rng.uniform(0.4, 1.2))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        pump.join(timeout=10)
        landed_counts.append(check_stream_after_kill(url, keys, acknowledged))
    record_figure(f"crash.stream.{backend}", trials=STREAM_TRIALS, payments_landed_before_kill=landed_counts, failures=0)


def test_a_stream_of_wonledger_commands_killed_mid_command_loses_nothing_acknowledged(ledger_copies, backend: str) -> None:
    rng = random.Random(SEED + 2)
    for _ in range(CLI_STREAM_TRIALS):
        url, keys = ledger_copies()
        worker = subprocess.Popen(
            [sys.executable, str(WORKERS / "transfer_stream.py"), url, str(keys), "1000", "--cli"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=clean_env(), start_new_session=True,
        )
        acknowledged: list[str] = []
        pump = read_lines_into(worker.stdout, acknowledged)
        try:
            time.sleep(rng.uniform(0.5, 2.5))
        finally:
            os.killpg(worker.pid, signal.SIGKILL)  # the stream and the `wonledger` command it is running
            worker.wait()
        pump.join(timeout=10)
        worker.stdout.close()
        check_stream_after_kill(url, keys, acknowledged)
    record_figure(f"crash.cli_stream.{backend}", trials=CLI_STREAM_TRIALS, failures=0)


def test_a_power_cut_copy_of_a_sqlite_ledger_opens_verifies_and_holds_everything_acknowledged(sqlite_ledger_dir, start_worker, tmp_path: Path) -> None:
    rng = random.Random(SEED + 3)
    base = sqlite_ledger_dir("default")
    db, keys = base / "wonledger.db", base / "keys"
    worker = start_worker("transfer_stream.py", f"sqlite:///{db}", str(keys), "100000")
    acknowledged: list[str] = []
    pump = read_lines_into(worker.stdout, acknowledged)
    time.sleep(0.6)  # let it start writing
    snapshots = []
    for n in range(SNAPSHOTS):
        time.sleep(rng.uniform(0.02, 0.25))
        worker.send_signal(signal.SIGSTOP)
        try:
            time.sleep(0.05)  # let the pump read what was printed before the freeze
            seen = len(acknowledged)
            copy = tmp_path / f"cut-{n}"
            copy.mkdir()
            for suffix in ("", "-wal"):  # the WAL index (-shm) is rebuilt on open, as after a reboot
                if Path(f"{db}{suffix}").exists():
                    shutil.copyfile(f"{db}{suffix}", copy / f"wonledger.db{suffix}")
        finally:
            worker.send_signal(signal.SIGCONT)
        snapshots.append((copy, seen))
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    pump.join(timeout=10)
    final = journal_ids(f"sqlite:///{db}")
    expected = {f"stream-{n}": 1 if n % 2 == 0 else 3 for n in range(100_000)}
    for copy, seen in snapshots:
        url = f"sqlite:///{copy / 'wonledger.db'}"
        landed = assert_whole_and_verified(url, keys, expected)
        ids = journal_ids(url)
        assert ids == final[: len(ids)]
        assert len(landed) >= seen
    record_figure("crash.power_cut.sqlite", snapshots=SNAPSHOTS, failures=0, payments_in_snapshots=[len(journal_ids(f"sqlite:///{c / 'wonledger.db'}")) for c, _ in snapshots])
