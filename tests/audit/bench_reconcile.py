"""Manual benchmark (not collected by pytest): statement export and reconcile throughput and peak memory.

    python tests/audit/bench_reconcile.py --entries 1000000 [--dir DIR]

Makes a throw-away ledger in DIR (a temporary directory by default), signs
and submits ENTRIES transfers of 1 KRW from alice to seoul-exports, then
times, as separate processes of the installed `wonledger`:
`statement alice --format camt053|csv --out FILE` and
`reconcile FILE --account alice`, and `history alice:dKRW.hanriver` (text and
``--json``, printed to /dev/null), reporting entries per second and each
process's peak resident memory (GNU time's %M). The README's figures come from
this script.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wonledger import Ledger
from wonledger.flows import transfer_tx

WONLEDGER = str(Path(sys.executable).parent / "wonledger")
ALICE, SEOUL = "alice:dKRW.hanriver", "seoul-exports:dKRW.hanriver"


def timed(args: list[str], env: dict[str, str]) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    """Wall time and peak RSS (KiB, from GNU time) of one `wonledger` process."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name, WONLEDGER, *args], capture_output=True, text=True, env=env)
        elapsed = time.perf_counter() - start
        peak = int(rss.read().split()[-1])
    if done.returncode not in (0, 3):
        raise SystemExit(f"wonledger {' '.join(args)} failed: {done.stderr}")
    return elapsed, peak, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--dir", type=Path)
    args = parser.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="wonledger-bench-reconcile-"))
    base.mkdir(parents=True, exist_ok=True)
    url, keys = f"sqlite:///{base / 'bench.db'}", base / "keys"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WONLEDGER_")} | {"WONLEDGER_DB": url, "WONLEDGER_KEYS": str(keys)}

    if not (base / "bench.db").exists():
        start = time.perf_counter()
        with Ledger.create(url, keys) as ledger:
            ledger.registry.open_account("seoul-exports", "dKRW.hanriver")
            lines = (
                json.dumps(ledger.sign(transfer_tx(ledger.id, ALICE, SEOUL, "dKRW.hanriver", 1, tx_id=f"b-{n}"), ["alice"]).to_wire())
                for n in range(args.entries)
            )
            result = ledger.ingest(lines)
        print(f"made the ledger: {result.posted} transfers in {time.perf_counter() - start:.0f} s", flush=True)

    for fmt in ("camt053", "csv"):
        out = base / f"alice.{fmt}"
        seconds, peak, _ = timed(["statement", "alice", "--format", fmt, "--out", str(out)], env)
        size = out.stat().st_size
        print(f"statement {fmt}: {args.entries + 1:,} entries, {size / 2**20:.0f} MiB in {seconds:.1f} s "
              f"= {(args.entries + 1) / seconds:,.0f} entries/s, peak RSS {peak / 1024:.0f} MiB", flush=True)
        seconds, peak, done = timed(["--json", "reconcile", str(out), "--account", "alice"], env)
        report = json.loads(done.stdout)
        print(f"reconcile {fmt}: matched {report['matched']:,}, breaks {len(report['breaks'])} in {seconds:.1f} s "
              f"= {report['matched'] / seconds:,.0f} entries/s, peak RSS {peak / 1024:.0f} MiB", flush=True)
    for shape in ((), ("--json",)):
        seconds, peak, _ = timed([*shape, "history", ALICE], env)
        print(f"history{' --json' if shape else ''}: {args.entries + 1:,} entries in {seconds:.1f} s "
              f"= {(args.entries + 1) / seconds:,.0f} entries/s, peak RSS {peak / 1024:.0f} MiB", flush=True)
    print(f"(ledger kept in {base})")


if __name__ == "__main__":
    main()
