"""Fixtures of the storage tests: a clock to drive, raw access to the tables, fresh databases.

`clocked` gives a ledger on the test's backend whose book reads a
:class:`FakeClock` the test moves by hand (sharing the store of `ledger`);
`fresh_url` gives the URL of an empty database on the test's backend;
`raw` runs SQL against a ledger's database through a connection of its own,
as someone with access to the database (not to wonledger) would.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from wonledger import Ledger

#: The console script installed beside the interpreter running the tests.
WONLEDGER = str(Path(sys.executable).with_name("wonledger"))


class FakeClock:
    """An aware UTC clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clocked(ledger: Ledger, clock: FakeClock) -> Iterator[Ledger]:
    """The database of `ledger` (either backend) opened again with a book that tells time by `clock`."""
    opened = Ledger.open(ledger._store.url, ledger._keys.directory, clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def fresh_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], str]:
    """A factory of URLs of empty databases on the test's backend."""

    def make() -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'fresh-{uuid.uuid4().hex[:8]}.db'}"
        return request.getfixturevalue("pg_database")()

    return make


class Raw:
    """SQL on a database through an engine of its own, outside wonledger."""

    def __init__(self, url: str) -> None:
        self.engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)

    def execute(self, sql: str, **params: Any) -> sqlalchemy.CursorResult[Any]:
        with self.engine.begin() as conn:
            return conn.execute(sqlalchemy.text(sql), params)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sqlalchemy.text(sql), params).scalar()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(sqlalchemy.text(sql), params))


@pytest.fixture
def raw() -> Iterator[Callable[[Ledger | str], Raw]]:
    made: list[Raw] = []

    def open_raw(target: Ledger | str) -> Raw:
        r = Raw(target._store.url if isinstance(target, Ledger) else target)
        made.append(r)
        return r

    yield open_raw
    for r in made:
        r.engine.dispose()


def run_cli(url: str, *args: str, keys: str | os.PathLike[str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`wonledger --db URL [--keys DIR] ARGS…` as a separate process."""
    command = [WONLEDGER, "--db", url]
    if keys is not None:
        command += ["--keys", str(keys)]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=timeout, env=clean_env())


def clean_env() -> dict[str, str]:
    """This environment without the WONLEDGER_* settings a developer may have exported."""
    return {k: v for k, v in os.environ.items() if not k.startswith("WONLEDGER_") or k == "WONLEDGER_TEST_PG_URL"}


@pytest.fixture
def wonledger() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the `wonledger` console script: wonledger(url, *args, keys=None)."""
    return run_cli


@pytest.fixture
def start_wonledger() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start `wonledger --db URL [--keys DIR] ARGS…` without waiting for it (killed at teardown if still running)."""
    started: list[subprocess.Popen[str]] = []

    def start(url: str, *args: str, keys: str | os.PathLike[str] | None = None) -> subprocess.Popen[str]:
        command = [WONLEDGER, "--db", url, *(["--keys", str(keys)] if keys is not None else []), *args]
        p = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
        started.append(p)
        return p

    yield start
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait()


RACE_WORKER = Path(__file__).with_name("race_worker.py")
RACE_WORKERS = 6


@dataclass(frozen=True)
class Outcome:
    """What one racing request got back."""

    worker: int
    line: int
    code: str  # "posted", "duplicate", or an error code
    seq: int | None
    hash: str | None
    message: str


class RaceWorker:
    """One long-lived race_worker.py process, its stdout read line by line into a queue."""

    def __init__(self, logdir: Path, n: int) -> None:
        self.log = logdir / f"worker-{n}.stderr"
        self._stderr = self.log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, str(RACE_WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=clean_env(),
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()
        self.expect("started", timeout=60)

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, job: dict[str, str]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()

    def read(self, key: str, job: str | None, timeout: float) -> Any:
        """The next message carrying ``key`` (for ``job``), skipping any left over from an earlier job."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"a race worker said nothing for {timeout} s") from None
            if line is None:
                raise AssertionError(f"a race worker died: {self.log.read_text()[-2000:]}")
            message = json.loads(line)
            if key in message and message.get("id") == job:
                return message[key]

    def expect(self, key: str, timeout: float, job: str | None = None) -> None:
        self.read(key, job, timeout)

    def stop(self, wait: float = 10) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._pump_thread.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()


@pytest.fixture(scope="session")
def race_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[RaceWorker]]:
    """Six writer processes, started once: a race pays no interpreter start-up."""
    logdir = tmp_path_factory.mktemp("race-workers")
    workers = [RaceWorker(logdir, n) for n in range(RACE_WORKERS)]
    yield workers
    for w in workers:
        w.stop()


@pytest.fixture
def race(tmp_path: Path, race_workers: list[RaceWorker]) -> Callable[..., list[list[Outcome]]]:
    """race(url, lines_per_worker): one OS process per list of signed JSON lines, all released at once.

    Each process submits its lines one request at a time (see race_worker.py);
    the result is each worker's outcomes, in its order.
    """

    def run(url: str, lines_per_worker: list[list[str]], timeout: float = 120) -> list[list[Outcome]]:
        assert len(lines_per_worker) <= len(race_workers)
        for n, w in enumerate(race_workers):
            if not w.alive():
                race_workers[n] = RaceWorker(w.log.parent, n)
        job = uuid.uuid4().hex[:8]
        workdir = tmp_path / f"race-{job}"
        workdir.mkdir()
        go = workdir / "go"
        taking_part = race_workers[: len(lines_per_worker)]
        try:
            for n, (worker, lines) in enumerate(zip(taking_part, lines_per_worker, strict=False)):
                batch = workdir / f"worker-{n}.jsonl"
                batch.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
                worker.send({"id": job, "url": url, "lines": str(batch), "go": str(go)})
            for worker in taking_part:
                worker.expect("ready", 60, job)
            go.touch()
            results = []
            for n, worker in enumerate(taking_part):
                rows = worker.read("outcomes", job, timeout)
                results.append([Outcome(n, line, code, seq, hash_, message) for line, code, seq, hash_, message in rows])
            return results
        except BaseException:
            for n, worker in enumerate(taking_part):  # a stuck or confused worker is replaced, not reused
                worker.stop(wait=0)
                race_workers[n] = RaceWorker(worker.log.parent, n)
            raise

    return run
