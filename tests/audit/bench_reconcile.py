"""Manual benchmark (not collected by pytest): statement export and reconcile throughput and peak memory.

    python tests/audit/bench_reconcile.py --entries 1000000 [--dir DIR] [--only statements|foreign|history]

Makes a throw-away ledger in DIR (a temporary directory by default), signs
and submits ENTRIES transfers of 1 KRW from alice to seoul-exports, then
times, as separate processes of the installed `wonledger`:
`statement alice --format camt053|csv --out FILE` and
`reconcile FILE --account alice`; then a bank's camt.053 of ENTRIES payments
the ledger never made (every entry a break; `reconcile` as a script reads it,
``--json``, and as a person does, ``--max-breaks 20``); and
`history alice:dKRW.hanriver` (text and ``--json``, printed to /dev/null),
reporting entries per second and each process's peak resident memory (GNU
time's %M). docs/performance.md's figures come from this script.
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
    parser.add_argument("--only", choices=("statements", "foreign", "read", "history"))
    parser.add_argument("--per-day", type=int, default=200, help="entries a day in the bank's file of payments the ledger never made")
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

    for fmt in ("camt053", "csv") if args.only in (None, "statements") else ():
        out = base / f"alice.{fmt}"
        seconds, peak, _ = timed(["statement", "alice", "--format", fmt, "--out", str(out)], env)
        size = out.stat().st_size
        print(f"statement {fmt}: {args.entries + 1:,} entries, {size / 2**20:.0f} MiB in {seconds:.1f} s "
              f"= {(args.entries + 1) / seconds:,.0f} entries/s, peak RSS {peak / 1024:.0f} MiB", flush=True)
        seconds, peak, done = timed(["--json", "reconcile", str(out), "--account", "alice"], env)
        report = json.loads(done.stdout)
        print(f"reconcile {fmt}: matched {report['matched']:,}, breaks {len(report['breaks'])} in {seconds:.1f} s "
              f"= {report['matched'] / seconds:,.0f} entries/s, peak RSS {peak / 1024:.0f} MiB", flush=True)
    if args.only in (None, "foreign"):
        foreign(base, args.entries, env, args.per_day)
    if args.only in (None, "read"):
        reading(base, args.entries)
    for shape in ((), ("--json",)) if args.only in (None, "history") else ():
        seconds, peak, _ = timed([*shape, "history", ALICE], env)
        print(f"history{' --json' if shape else ''}: {args.entries + 1:,} entries in {seconds:.1f} s "
              f"= {(args.entries + 1) / seconds:,.0f} entries/s, peak RSS {peak / 1024:.0f} MiB", flush=True)
    print(f"(ledger kept in {base})")


#: Read a statement file through the reader and keep nothing: what reading alone costs.
READ_ONLY = (
    "import sys, time; from wonledger.statements.formats import read_statement; start = time.perf_counter(); "
    "n = sum(1 for _ in read_statement(open(sys.argv[1], 'rb'), 0)); print(n, round(time.perf_counter() - start, 1))"
)


def reading(base: Path, entries: int) -> None:
    """The reader alone, in a process of its own: alice's camt.053 (from the statements step), and one entry batching ENTRIES transactions."""
    batch = base / "batch.xml"
    with batch.open("w", encoding="utf-8") as out:
        out.write(
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><GrpHdr><MsgId>M</MsgId></GrpHdr><Stmt><Id>S</Id>'
            '<Acct><Id><Othr><Id>a:KRWS</Id></Othr></Id><Ccy>KRW</Ccy></Acct>'
            f'<Ntry><Amt Ccy="KRW">{entries}</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-12-01</Dt></BookgDt>'
            f"<NtryDtls><Btch><NbOfTxs>{entries}</NbOfTxs></Btch>"
        )
        for n in range(entries):
            out.write(
                f'<TxDtls><Refs><EndToEndId>p-{n}</EndToEndId></Refs><Amt Ccy="KRW">1</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
                f"<RmtInf><Ustrd>salary payment number {n} of the month</Ustrd></RmtInf></TxDtls>\n"
            )
        out.write("</NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>")
    for path in (base / "alice.camt053", batch):
        if not path.exists():
            continue
        with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
            done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name, sys.executable, "-c", READ_ONLY, str(path)], capture_output=True, text=True)
            peak = int(rss.read().split()[-1])
        items, seconds = done.stdout.split()
        print(f"read {path.name} ({path.stat().st_size / 2**20:.0f} MiB): {int(items):,} items in {seconds} s, peak RSS {peak / 1024:.0f} MiB", flush=True)


def foreign(base: Path, entries: int, env: dict[str, str], per_day: int = 200) -> None:
    """A bank's camt.053 of ``entries`` payments alice's ledger never made, ``per_day`` a day: every entry is a break."""
    from datetime import date, timedelta

    from wonledger.statements import camt053
    from wonledger.statements.statement import StatementEntry, StatementHeader

    path = base / "bank-foreign.xml"
    start = date.today() - timedelta(days=entries // per_day + 1)

    def rows():  # type: ignore[no-untyped-def]
        for n in range(entries):
            day = (start + timedelta(days=n // per_day)).isoformat()
            yield StatementEntry(
                1000 + n % 977, n % 3 == 0, "KRW", day, day, servicer_ref=f"BNK{n:012d}", end_to_end_id=f"theirs-{n}", kind="transfer", memo=f"invoice {n}"
            )

    end = start + timedelta(days=(entries - 1) // per_day)
    header = StatementHeader(account=ALICE, currency="KRW", asset="dKRW.hanriver", from_date=start.isoformat(), to_date=end.isoformat(), opening=0, closing=0)
    with path.open("w", encoding="utf-8") as out:
        camt053.write(out, header, rows(), 0, "2026-12-07T00:00:00Z")
    size = path.stat().st_size
    for shape in (["--json"], ["--max-breaks", "20"]):
        args = [shape[0], "reconcile", str(path), "--account", ALICE] if shape == ["--json"] else ["reconcile", str(path), "--account", ALICE, *shape]
        seconds, peak, done = timed(args, env)
        breaks = json.loads(done.stdout)["break_count"] if shape == ["--json"] else int(done.stdout.split(" break", 1)[0].replace(",", ""))
        print(f"reconcile {' '.join(shape)} of a {size / 2**20:.0f} MiB camt.053 of {entries:,} payments the ledger never made, {per_day:,} a day: "
              f"{breaks:,} breaks in {seconds:.1f} s, peak RSS {peak / 1024:.0f} MiB", flush=True)


if __name__ == "__main__":
    main()
