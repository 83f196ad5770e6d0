"""How long `wonledger verify` takes against checking the same signatures alone on both cores.

Not a test (timings never decide pass or fail): run it by hand,
``python tests/storage/bench_verify.py --count 100000``. It makes a default
ledger in a temporary directory, submits ``count`` signed transfers with
`wonledger submit`, then alternately times (a) verify's own pool of signature
workers checking every signature of the journal and nothing else, and (b)
`wonledger verify` as a whole process, which also reads every entry back,
hashes it, replays it through the rulebook and compares every table.

Each side is also given in CPU time (user + system of this process and its
children over the same span), which other programs on a shared machine
disturb less than wall-clock time: the CPU ratio is what the wall-clock ratio
would be if both cores were always busy on both sides.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wonledger import Ledger, Leg, Tx
from wonledger.book.signature_pool import Verifier
from wonledger.domain.signing import unb64url


def cpu_seconds() -> float:
    """User + system time of this process and of its children that have ended."""
    mine, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def signatures_alone(db: Path) -> tuple[float, float]:
    """Seconds and CPU-seconds (workers' included) the pool takes over every signature of the journal."""
    conn = sqlite3.connect(db)
    keys = {p: bytes(k) for p, k in conn.execute("SELECT participant, public_key FROM participant_keys WHERE retired_at IS NULL")}
    rows = conn.execute("SELECT body, signatures FROM journal ORDER BY seq").fetchall()
    conn.close()
    start, cpu = time.perf_counter(), cpu_seconds()
    verifier, pending, chunk = Verifier(), [], []
    for body, signatures in rows:
        chunk.extend((keys[s["signer"]], body.encode(), unb64url(s["sig"])) for s in json.loads(signatures))
        if len(chunk) >= 2000:
            pending.append(verifier.submit(chunk))
            chunk = []
    if chunk:
        pending.append(verifier.submit(chunk))
    if not all(all(p.result()) for p in pending):
        raise SystemExit("a signature did not verify")
    verifier.close()  # its workers end here, so their time is counted
    return time.perf_counter() - start, cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    wonledger = str(Path(sys.executable).parent / "wonledger")
    with tempfile.TemporaryDirectory() as tmp:
        db, keys = Path(tmp) / "l.db", Path(tmp) / "keys"
        ledger = Ledger.create(f"sqlite:///{db}", keys=keys)
        with open(Path(tmp) / "batch.jsonl", "w") as out:
            for n in range(args.count):
                tx = Tx(ledger=ledger.id, id=f"t-{n}", kind="transfer", legs=(Leg("alice:dKRW.hanriver", "hanriver:dKRW.hanriver", "dKRW.hanriver", 1),))
                out.write(json.dumps(ledger.sign(tx, ["alice"]).to_wire(), separators=(",", ":")) + "\n")
        ledger.close()
        base = [wonledger, "--db", f"sqlite:///{db}", "--keys", str(keys)]
        subprocess.run([*base, "submit", str(Path(tmp) / "batch.jsonl")], check=True, capture_output=True)
        for n in range(1, args.rounds + 1):
            alone, alone_cpu = signatures_alone(db)
            start, cpu = time.perf_counter(), cpu_seconds()
            subprocess.run([*base, "verify"], check=True, capture_output=True)
            whole, whole_cpu = time.perf_counter() - start, cpu_seconds() - cpu
            print(
                f"round {n}: signatures alone {alone:.2f} s ({alone_cpu:.2f} CPU-s), wonledger verify {whole:.2f} s "
                f"({whole_cpu:.2f} CPU-s), ratio {whole / alone:.2f} (CPU {whole_cpu / alone_cpu:.2f})"
            )


if __name__ == "__main__":
    main()
