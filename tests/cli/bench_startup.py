"""How long `wonledger` takes to start, against bare Python importing what it needs.

    python tests/cli/bench_startup.py [--runs 20] [--dir DIR]

Runs each pair of whole processes alternately (so that a busy machine slows
both sides alike) and prints the medians of wall-clock and of CPU time (user
plus system, which another program's load disturbs less) and their ratios:

- `wonledger --help` against `python -c "import click"`;
- `wonledger balance alice:dKRW.hanriver` (on a fresh default ledger made in
  DIR, a temporary directory by default) against
  `python -c "import sqlalchemy, click, cryptography"`.

With ``--instructions`` it also counts the instructions each process
executes under valgrind's callgrind (where valgrind is installed): one run
each, the same count whatever else the machine is doing, so the ratio can be
read on a busy machine too (valgrind makes each run some 50 times slower).

Not a test: timings are never pass/fail here. The README's Performance
section quotes what it printed. wonledger's modules are compiled to bytecode
first, as `pip install` does, because an editable install on a machine with
PYTHONDONTWRITEBYTECODE set would otherwise compile them at every start.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WONLEDGER = str(Path(sys.executable).parent / "wonledger")


def timed(argv: list[str], cwd: str) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds user + system) of one whole process."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv} exited {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def compare(name: str, ours: list[str], floor: list[str], runs: int, cwd: str) -> None:
    for _ in range(3):  # warm the file cache
        timed(ours, cwd)
        timed(floor, cwd)
    a, b = [], []
    for _ in range(runs):
        a.append(timed(ours, cwd))
        b.append(timed(floor, cwd))
    for what, i in (("wall clock", 0), ("CPU (user+sys)", 1)):
        ma, mb = statistics.median(x[i] for x in a), statistics.median(x[i] for x in b)
        print(f"{name}, {what}: {ma * 1000:.0f} ms against {mb * 1000:.0f} ms, ratio {ma / mb:.2f} (medians of {runs} alternating runs each)")


def instructions(argv: list[str], cwd: str) -> int:
    """Instructions one whole process executes (valgrind's callgrind; deterministic for the same inputs)."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv], cwd=cwd, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"{argv} exited {done.returncode} under valgrind")
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit("valgrind printed no instruction count")
    return int(found.group(1))


def compare_instructions(name: str, ours: list[str], floor: list[str], cwd: str) -> None:
    a, b = instructions(ours, cwd), instructions(floor, cwd)
    print(f"{name}, instructions: {a / 1e6:,.0f} M against {b / 1e6:,.0f} M, ratio {a / b:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--dir")
    parser.add_argument("--instructions", action="store_true", help="also count instructions under valgrind (one run each)")
    args = parser.parse_args()
    if args.instructions and shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind")
    env_dir = args.dir or tempfile.mkdtemp(prefix="wonledger-startup-")
    os.environ.pop("WONLEDGER_DB", None)
    os.environ.pop("WONLEDGER_KEYS", None)
    if not Path(env_dir, "wonledger.db").exists():
        subprocess.run([WONLEDGER, "init"], cwd=env_dir, stdout=subprocess.DEVNULL, check=True)
    for package in ("wonledger_cli", "wonledger"):
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.submodule_search_locations
        compileall.compile_dir(next(iter(spec.submodule_search_locations)), quiet=1)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    pairs = (
        ("wonledger --help", [WONLEDGER, "--help"], [sys.executable, "-c", "import click"]),
        ("wonledger balance alice:dKRW.hanriver", [WONLEDGER, "balance", "alice:dKRW.hanriver"], [sys.executable, "-c", "import sqlalchemy, click, cryptography"]),
    )
    for name, ours, floor in pairs:
        compare(name, ours, floor, args.runs, env_dir)
    if args.instructions:
        for name, ours, floor in pairs:
            compare_instructions(name, ours, floor, env_dir)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
