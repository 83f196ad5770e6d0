"""`wonledger bench`: `wonledger submit` as a user runs it, beside the floor of this machine.

Builds a throw-away ledger (the default world plus payers with funded
accounts), signs ``count`` transfers in the wire format into a file, then
times, round after round, two processes over that file:

* **the floor**: ``python bench_floor.py`` (ledger/tools/bench_floor.py, run by
  path so it imports nothing of wonledger), a bare one-core script that
  parses each line with `json`, takes the canonical bytes with `rfc8785`,
  verifies the Ed25519 signatures with `cryptography`, chains the SHA-256
  hashes as the journal does and writes the same rows with `sqlite3` in one
  transaction; and
* **ingest**: ``wonledger submit FILE``, the console script next to this
  Python, as a whole process (start-up, every check of the book, signatures
  on every core, hash chain, chunked writes) into a fresh copy of the ledger:
  a SQLite file, or with ``db`` a throw-away database made on that PostgreSQL
  server and dropped afterwards.

Both are timed from launch to exit, start-up included (wonledger's modules
are compiled to bytecode first, as ``pip install`` leaves them). The floor is a
yardstick, not a ledger: it checks no balance, account or duplicate. Each
side's best round is reported (the least disturbed by other work on the
machine), with every round's time beside it; ``throughput_ratio`` (submit's
rate over the floor's, above 1 when submit is faster) and ``ratio`` (its
inverse, submit's time over the floor's) are what to compare across
machines. Bench checks that every round did what it claims: submit posted
all ``count`` transfers and the floor wrote ``count`` journal rows.
"""

from __future__ import annotations

import json
import os
import platform
import random
import resource
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack, closing
from dataclasses import asdict, dataclass
from pathlib import Path

from wonledger.book.signature_pool import usable_cpus
from wonledger.domain.chain import iso, utc_now
from wonledger.domain.model import account_id
from wonledger.domain.signing import KeyStore, canonical_bytes, public_bytes
from wonledger.flows import transfer_tx
from wonledger.service.facade import Ledger
from wonledger.store import postgres_server, safe_url, throwaway_database

PAYERS = 64
FUNDING = 1_000_000_000
ASSET = "dKRW.hanriver"
#: The floor script, run by path so that it imports nothing of wonledger.
FLOOR_SCRIPT = Path(__file__).with_name("bench_floor.py")


@dataclass(frozen=True, slots=True)
class BenchResult:
    count: int
    db: str
    rounds: int
    ingest_s: float
    floor_s: float
    ingest_per_s: int
    floor_per_s: int
    ratio: float
    throughput_ratio: float
    ingest_runs_s: tuple[float, ...]
    floor_runs_s: tuple[float, ...]
    #: CPU seconds (user + system, with submit's workers) of each side's least costly round:
    #: what other programs on the machine disturb less than the wall clock.
    ingest_cpu_s: float
    floor_cpu_s: float
    peak_rss_mib: float
    platform: str
    cpus: int
    python: str
    #: the part of submit its workers do (parse, admit, canonical bytes, signatures), alone on every core:
    #: submit cannot finish before it; its best round, wall and CPU seconds
    lines_alone_s: float = 0.0
    lines_alone_cpu_s: float = 0.0
    ingest_command: str = "wonledger submit FILE (whole process)"
    floor_command: str = "python bench_floor.py (whole process, one core)"

    def to_json(self) -> dict[str, object]:
        out = asdict(self)
        out["ingest_runs_s"] = list(self.ingest_runs_s)
        out["floor_runs_s"] = list(self.floor_runs_s)
        return out


def check_server(db: str | None) -> None:
    """Refuse at once a ``db`` that is not a PostgreSQL server bench may make a database on."""
    if db is not None:
        postgres_server(db)


def run(
    count: int, db: str | None = None, rounds: int = 2, workdir: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> BenchResult:
    """Sign ``count`` transfers and time ingest and the floor ``rounds`` times each.

    ``progress(stage, done, total)`` hears how far signing (``"signing"``, in
    transfers) and the timed rounds (``"timing"``, in runs of either side) have
    got; it is called between timed runs, never inside one.
    """
    tell = progress or (lambda _stage, _done, _total: None)
    check_server(db)
    with tempfile.TemporaryDirectory(prefix="wonledger-bench-", dir=workdir) as tmp, ExitStack() as scratch:
        base = Path(tmp)
        keys = base / "keys"
        ledger_id = f"wl-{secrets.token_hex(6)}"

        def fresh_ledger(n: int) -> str:
            url = scratch.enter_context(throwaway_database(db)) if db else f"sqlite:///{base / f'ingest-{n}.db'}"
            _set_up(url, keys, ledger_id)
            return url

        _compile_wonledger()
        first = fresh_ledger(0)
        batch = base / "batch.jsonl"
        payers = _sign_batch(batch, KeyStore(keys), ledger_id, count, lambda done: tell("signing", done, count))
        public_keys = base / "floor-keys.json"
        public_keys.write_text(json.dumps({p: public_bytes(KeyStore(keys).load(p)).hex() for p in payers}))
        ingest_runs, floor_runs, ingest_cpu, floor_cpu, alone_runs, alone_cpu = [], [], [], [], [], []
        for n in range(rounds):
            wall, cpu = _lines_alone(batch, public_keys, ledger_id, count, base)
            alone_runs.append(wall)
            alone_cpu.append(cpu)
            wall, cpu = _floor(base / f"floor-{n}.db", batch, public_keys, count)
            floor_runs.append(wall)
            floor_cpu.append(cpu)
            tell("timing", 2 * n + 1, 2 * rounds)
            url = first if n == 0 else fresh_ledger(n)
            wall, cpu = _submit(url, keys, batch, count, base)
            ingest_runs.append(wall)
            ingest_cpu.append(cpu)
            tell("timing", 2 * n + 2, 2 * rounds)
        used = db or "sqlite"
    ingest_s, floor_s = min(ingest_runs), min(floor_runs)
    peak_kib = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return BenchResult(
        count=count,
        db=safe_url(used) if db else used,
        rounds=rounds,
        ingest_s=round(ingest_s, 3),
        floor_s=round(floor_s, 3),
        ingest_per_s=round(count / ingest_s),
        floor_per_s=round(count / floor_s),
        ratio=round(ingest_s / floor_s, 2),
        throughput_ratio=round(floor_s / ingest_s, 2),
        ingest_runs_s=tuple(round(s, 3) for s in ingest_runs),
        floor_runs_s=tuple(round(s, 3) for s in floor_runs),
        ingest_cpu_s=round(min(ingest_cpu), 3),
        floor_cpu_s=round(min(floor_cpu), 3),
        peak_rss_mib=round(peak_kib / 1024, 1),
        platform=platform.platform(),
        cpus=usable_cpus(),
        python=platform.python_version(),
        lines_alone_s=round(min(alone_runs), 3),
        lines_alone_cpu_s=round(min(alone_cpu), 3),
    )


def _set_up(url: str, keys: Path, ledger_id: str) -> None:
    """The default world plus funded payers; the same ledger id and keys every time."""
    with Ledger.create(url, keys, ledger_id=ledger_id) as ledger:
        for p in _payer_ids():
            ledger.registry.add_participant(p, "individual", "KR")
            ledger.registry.open_account(p, ASSET)
        funding = [
            ledger.sign(transfer_tx(ledger.id, f"hanriver:{ASSET}", account_id(p, ASSET), ASSET, FUNDING, kind="deposit", tx_id=f"fund-{p}"))
            for p in _payer_ids()
        ]
        ledger.submit_many(funding)


def _payer_ids() -> list[str]:
    return [f"payer-{n:03d}" for n in range(PAYERS)]


def _sign_batch(path: Path, keys: KeyStore, ledger_id: str, count: int, signed: Callable[[int], None]) -> list[str]:
    """``count`` signed transfers between the payers, one JSON line each, written to ``path``."""
    payers = _payer_ids()
    rng = random.Random(20261122)
    with path.open("wb") as out:
        for n in range(count):
            payer, payee = rng.sample(payers, 2)
            tx = transfer_tx(
                ledger_id, account_id(payer, ASSET), account_id(payee, ASSET), ASSET, rng.randint(1, 10_000),
                tx_id=f"bench-{n:08d}", memo=f"invoice {n}",
            )
            wire = tx.to_wire()  # the one wire form: what it encodes is what is signed
            payload = canonical_bytes(wire)
            line = {"tx": wire, "signatures": [keys.sign(payer, payload).to_wire()]}
            out.write(json.dumps(line, separators=(",", ":")).encode() + b"\n")
            if (n + 1) % 1000 == 0 or n + 1 == count:
                signed(n + 1)
    return payers


def _compile_wonledger() -> None:
    """wonledger's modules to bytecode, as ``pip install`` leaves them, so submit's start-up is a user's.

    (An editable install under ``PYTHONDONTWRITEBYTECODE`` would otherwise compile them at every start.)
    """
    import compileall
    import importlib.util

    for package in ("wonledger_cli", "wonledger"):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            compileall.compile_dir(next(iter(spec.submodule_search_locations)), quiet=2)


def wonledger_script() -> Path:
    """The console script a user runs, installed beside this Python."""
    script = Path(sys.executable).parent / "wonledger"
    if not script.exists():
        raise RuntimeError(f"bench times the installed console script and there is none at {script}")
    return script


def _run(command: list[str], cwd: Path | None = None) -> tuple[subprocess.CompletedProcess[bytes], float, float]:
    """Run a whole process; its result, wall-clock seconds and CPU seconds (its workers' included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done, elapsed, cpu


def measured(command: list[str], cwd: Path | None = None) -> tuple[subprocess.CompletedProcess[bytes], float, float, float]:
    """Run a whole process: its result, wall-clock seconds, CPU seconds and largest resident set in MiB (its workers' included).

    The resident set is read through ``/usr/bin/time`` where it is installed (0 where not): a process
    forked from this one carries this one's high-water mark into its own until it executes the command.
    """
    timer = shutil.which("time", path="/usr/bin")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as peak:
        argv = [timer, "-f", "%M", "-o", peak.name, *command] if timer else command
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        done = subprocess.CompletedProcess(command, proc.returncode, out.read(), err.read())
        written = peak.read().split()
    peak_mib = int(written[-1]) / 1024 if timer and written and written[-1].isdigit() else 0.0
    return done, elapsed, usage.ru_utime + usage.ru_stime, peak_mib


def _submit(url: str, keys: Path, batch: Path, count: int, cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of ``wonledger submit`` of the batch as a whole process; it must post every line."""
    done, elapsed, cpu = _run([str(wonledger_script()), "--db", url, "--keys", str(keys), "--json", "submit", str(batch)], cwd)
    try:
        result = json.loads(done.stdout)
    except ValueError:
        result = {}
    if done.returncode != 0 or result.get("posted") != count:
        first = (result.get("rejected") or [None])[0] or done.stderr.decode(errors="replace")[-400:]
        raise RuntimeError(f"bench batch did not post whole: {result.get('posted')}/{count} (exit {done.returncode}), first refusal {first}")
    return elapsed, cpu


def _lines_alone(batch: Path, public_keys: Path, ledger_id: str, count: int, cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of a whole process that only has the batch's lines parsed and checked on every core, as submit's workers do."""
    script = f"from wonledger.tools.bench import lines_alone; print(lines_alone({str(batch)!r}, {str(public_keys)!r}, {ledger_id!r}))"
    done, elapsed, cpu, _ = measured([sys.executable, "-c", script], cwd)
    if done.returncode != 0 or done.stdout.strip() != str(count).encode():
        raise RuntimeError(f"the lines-alone run failed: {done.stderr.decode(errors='replace')[-400:]}")
    return elapsed, cpu


def lines_alone(batch: str, public_keys: str, ledger_id: str) -> int:
    """Parse and check every line of ``batch`` in the book's worker pool, as submit does, and nothing else; how many signatures held."""
    from collections import deque

    from wonledger.book.lines import KEYS, LEDGER, ParsedLine, check_lines
    from wonledger.book.signature_pool import Pending, Verifier
    from wonledger.domain.errors import LedgerError

    verifier = Verifier()
    verifier.share(LEDGER, {"id": ledger_id})
    verifier.share(KEYS, {p: bytes.fromhex(k) for p, k in json.loads(Path(public_keys).read_text()).items()})
    held, chunk = 0, []
    waiting: deque[Pending[ParsedLine | LedgerError]] = deque()

    def settle() -> int:
        held = 0
        for line in waiting.popleft().result():
            if not isinstance(line, LedgerError) and not isinstance(line[3], LedgerError):
                held += all(holds for _, _, holds in line[3])
        return held

    with open(batch, "rb") as lines:
        for line in lines:
            chunk.append(line)
            if len(chunk) == 1000:
                waiting.append(verifier.map(check_lines, chunk))
                chunk = []
                if len(waiting) > 2:
                    held += settle()
    if chunk:
        waiting.append(verifier.map(check_lines, chunk))
    while waiting:
        held += settle()
    verifier.close()
    return held


def _floor(path: Path, batch: Path, public_keys: Path, count: int) -> tuple[float, float]:
    """Wall and CPU seconds of the floor script as a whole process; it must write a journal row per line."""
    # -P: the script's folder (ledger/) does not go on the path, so nothing of wonledger can be imported.
    done, elapsed, cpu = _run([sys.executable, "-P", str(FLOOR_SCRIPT), str(batch), str(public_keys), str(path), iso(utc_now())])
    if done.returncode != 0:
        raise RuntimeError(f"the floor script failed (exit {done.returncode}): {done.stderr.decode(errors='replace')[-400:]}")
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT count(*) FROM journal").fetchone()[0]
    if rows != count or done.stdout.strip() != str(count).encode():
        raise RuntimeError(f"the floor wrote {rows} journal rows, not {count}")
    return elapsed, cpu
