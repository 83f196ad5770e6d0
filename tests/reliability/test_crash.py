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

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from harness import WONLEDGER, WORKERS, clean_env, journal_ids, legs_per_entry, record_figure, write_lines

from wonledger import Ledger, Leg, Tx

pytestmark = pytest.mark.slow  # kills processes at random moments, many times on each backend: minutes (docs/testing.md: the lanes)

SUBMIT_TRIALS = 10
STREAM_TRIALS = 18
CLI_STREAM_TRIALS = 2
SNAPSHOTS = 12
BATCH = 1100  # more than one chunk of 1000 lines, so a kill can fall between two commits
SEED = int(os.environ.get("WONLEDGER_CRASH_SEED", "7"))

ALICE = "alice:dKRW.hanriver"


@pytest.fixture
def ledger_for_trial(backend: str, sqlite_ledger_dir, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], tuple[str, Path]]:
    """trial() -> (url, keys): on SQLite a fresh copy of one default-world ledger (a file copy);
    on PostgreSQL the same database every time (making one per trial costs seconds), so each
    trial uses ids of its own and the journal grows across trials, as a real one does."""
    if backend == "sqlite":

        def copy_sqlite() -> tuple[str, Path]:
            base = sqlite_ledger_dir("default")
            return f"sqlite:///{base / 'wonledger.db'}", base / "keys"

        return copy_sqlite
    url, keys = request.getfixturevalue("pg_database")(), tmp_path / "keys"
    Ledger.create(url, keys).close()
    return lambda: (url, keys)


def batch_lines(url: str, keys: Path, prefix: str) -> tuple[list[str], dict[str, int]]:
    """BATCH signed lines: one-leg transfers, and every fifth a three-leg payment across banks."""
    lines, legs = [], {}
    with Ledger.open(url, keys) as ledger:
        for n in range(BATCH):
            if n % 5 == 4:
                tx_legs = (
                    Leg(ALICE, "hanriver:dKRW.hanriver", "dKRW.hanriver", 1),
                    Leg("hanriver:wKRW", "namsan:wKRW", "wKRW", 1),
                    Leg("namsan:dKRW.namsan", "seoul-exports:dKRW.namsan", "dKRW.namsan", 1),
                )
                tx, signers = Tx(ledger=ledger.id, id=f"{prefix}{n}", kind="pay", legs=tx_legs), ["alice", "hanriver", "namsan"]
            else:
                tx = Tx(ledger=ledger.id, id=f"{prefix}{n}", kind="transfer", legs=(Leg(ALICE, "kstable:dKRW.hanriver:reserve", "dKRW.hanriver", 1),))
                signers = ["alice"]
            lines.append(json.dumps(ledger.sign(tx, signers).to_wire()))
            legs[tx.id] = len(tx.legs)
    return lines, legs


def assert_no_process_left_running(marker: str, within_s: float = 5) -> None:
    """No process whose command line names ``marker`` outlives a kill (signature workers included)."""
    deadline = time.monotonic() + within_s
    while True:
        left = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if marker.encode() in (entry / "cmdline").read_bytes():
                        left.append(entry.name)
                except OSError:
                    pass
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert left == [], f"processes still running after the kill: {left}"


def assert_whole_and_verified(url: str, keys: Path, expected_legs: dict[str, int]) -> set[str]:
    """verify passes and every transaction of ours that landed has all its legs; returns those that landed."""
    with Ledger.open(url, keys) as ledger:
        report = ledger.verify()
    assert report.ok, report.problems[:3]
    stored = legs_per_entry(url)
    landed = {i for i in stored if i in expected_legs}
    assert all(stored[i] == expected_legs[i] for i in landed)
    return landed


def test_submit_killed_at_random_points_loses_nothing_and_a_rerun_posts_exactly_the_rest(ledger_for_trial, backend: str, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    url, keys = ledger_for_trial()
    lines, _ = batch_lines(url, keys, "calibrate-")
    started = time.monotonic()
    subprocess.run([WONLEDGER, "--db", url, "--keys", str(keys), "submit", str(write_lines(tmp_path / "c.jsonl", lines))], check=True, capture_output=True, env=clean_env())
    whole_run = time.monotonic() - started  # how long an unkilled submit takes here
    seen = {"before_any": 0, "between_chunks": 0, "after_all": 0}
    for trial in range(SUBMIT_TRIALS):
        url, keys = ledger_for_trial()
        lines, expected_legs = batch_lines(url, keys, f"t{trial}-")
        batch = write_lines(tmp_path / f"batch-{trial}.jsonl", lines)
        proc = subprocess.Popen([WONLEDGER, "--db", url, "--keys", str(keys), "submit", str(batch)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=clean_env())
        if trial % 2 == 0:
            time.sleep(rng.uniform(0.1, whole_run))  # anywhere in the run
        else:
            # Right after the first chunk of 1,000 commits, while the second is parsed, checked and written.
            while proc.poll() is None and not set(journal_ids(url, f"t{trial}-", limit=1)):
                time.sleep(0.005)
            time.sleep(rng.uniform(0, 0.15))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert_no_process_left_running(str(batch))
        landed = assert_whole_and_verified(url, keys, expected_legs)
        seen["before_any" if not landed else "after_all" if len(landed) == BATCH else "between_chunks"] += 1
        with Ledger.open(url, keys) as ledger:
            result = ledger.ingest(lines)
        assert (result.posted, result.duplicates, result.rejected) == (BATCH - len(landed), len(landed), [])
        ours = journal_ids(url, f"t{trial}-")
        assert sorted(ours) == sorted(expected_legs)  # every transaction exactly once
    with Ledger.open(url, keys) as ledger:
        assert ledger.verify().ok
    record_figure(f"crash.submit.{backend}", kills=SUBMIT_TRIALS, lines=BATCH, killed=seen, failures=0)


def read_lines_into(stream, into: list[str]) -> threading.Thread:
    def pump() -> None:
        for line in stream:
            into.append(line.strip())

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def check_stream_after_kill(url: str, keys: Path, acknowledged: list[str], prefix: str) -> int:
    """The stream's payments landed in order, whole, none acknowledged is missing; rerunning it lands the rest once."""
    expected = {f"{prefix}{n}": 1 if n % 2 == 0 else 3 for n in range(10_000)}
    assert_whole_and_verified(url, keys, expected)
    landed = journal_ids(url, prefix)
    assert landed == [f"{prefix}{n}" for n in range(len(landed))]
    assert landed[: len(acknowledged)] == acknowledged and len(landed) - len(acknowledged) <= 1  # only the one in flight may be unacknowledged
    total = len(landed) + 3
    with Ledger.open(url, keys) as ledger:
        before = ledger.registry.account(ALICE).balance
        receipts = [
            ledger.payments.transfer(ALICE, "hanriver:dKRW.hanriver", 1, tx_id=f"{prefix}{n}") if n % 2 == 0
            else ledger.payments.pay(ALICE, "seoul-exports:dKRW.namsan", 1, tx_id=f"{prefix}{n}")
            for n in range(total)
        ]
        assert [r.duplicate for r in receipts] == [True] * len(landed) + [False] * 3
        assert ledger.registry.account(ALICE).balance == before - 3
    assert journal_ids(url, prefix) == [f"{prefix}{n}" for n in range(total)]
    return len(landed)


def test_a_stream_of_payments_killed_at_random_points_loses_nothing_acknowledged(ledger_for_trial, backend: str, start_worker) -> None:
    rng = random.Random(SEED + 1)
    landed_counts = []
    for trial in range(STREAM_TRIALS):
        url, keys = ledger_for_trial()
        worker = start_worker("transfer_stream.py", url, str(keys), "100000", f"s{trial}-")
        acknowledged: list[str] = []
        pump = read_lines_into(worker.stdout, acknowledged)
        time.sleep(rng.uniform(0.4, 1.2))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        pump.join(timeout=10)
        landed_counts.append(check_stream_after_kill(url, keys, acknowledged, f"s{trial}-"))
    record_figure(f"crash.stream.{backend}", kills=STREAM_TRIALS, payments_landed_before_kill=landed_counts, failures=0)


def test_a_stream_of_wonledger_commands_killed_mid_command_loses_nothing_acknowledged(ledger_for_trial, backend: str) -> None:
    rng = random.Random(SEED + 2)
    for trial in range(CLI_STREAM_TRIALS):
        url, keys = ledger_for_trial()
        worker = subprocess.Popen(
            [sys.executable, str(WORKERS / "transfer_stream.py"), url, str(keys), "1000", f"c{trial}-", "--cli"],
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
        check_stream_after_kill(url, keys, acknowledged, f"c{trial}-")
    record_figure(f"crash.cli_stream.{backend}", kills=CLI_STREAM_TRIALS, failures=0)


def test_a_power_cut_copy_of_a_sqlite_ledger_opens_verifies_and_holds_everything_acknowledged(sqlite_ledger_dir, start_worker, tmp_path: Path) -> None:
    rng = random.Random(SEED + 3)
    base = sqlite_ledger_dir("default")
    db, keys = base / "wonledger.db", base / "keys"
    worker = start_worker("transfer_stream.py", f"sqlite:///{db}", str(keys), "100000", "stream-")
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
