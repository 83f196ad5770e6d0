"""Write throughput on the cluster beside one server, measured in the same run: what synchronous replication costs.

    python tests/cluster/bench_cluster.py [--count 10000] [--writers 1,4] [--transfers 150]

Brings the manual's three-node cluster up (as tests/cluster does; the ports
must be free), then, on the single PostgreSQL server named by
WONLEDGER_TEST_PG_URL and on the cluster (through the multi-host URL), in
throw-away databases:

- **batch**: ``wonledger bench --count N --rounds 1 --db URL``, the
  console script's own measure of ``wonledger submit`` (1,000 lines a
  transaction);
- **single transactions**: W processes at once, each making T transfers
  through the library (``ledger.payments.transfer``: one read and one write
  transaction each), between accounts of their own; commits per second, for
  each W of ``--writers``;
- **the chain head alone**: W threads at once, each running 300 bare
  transactions of the chain head's pattern (lock one row ``FOR UPDATE``,
  update it, commit) with psycopg: the ceiling of one ledger's commits per
  second when the ledger's own work costs nothing.

Every write transaction of a ledger takes the chain head's row lock first
(``Book._write``), and holds it through its commit, which on the cluster
includes the synchronous standby's flush: commits of one ledger are one at
a time, whatever the number of writers. The figures show where that binds.
Timings depend on the machine and on what else it runs: compare the two
columns of one run, not runs. Prints a table and the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from patroni_cluster import CLUSTER_URL, Cluster, ports_in_use

from wonledger import Ledger
from wonledger.store import throwaway_database
from wonledger.tools.bench import ASSET, _payer_ids, _set_up, wonledger_script


def batch(server: str, count: int) -> dict[str, object]:
    done = subprocess.run(
        [str(wonledger_script()), "--json", "bench", "--count", str(count), "--rounds", "1", "--db", server], capture_output=True, check=True
    )
    result = json.loads(done.stdout)
    return {"per_s": result["ingest_per_s"], "seconds": result["ingest_s"]}


def _writer(url: str, keys: str, writer: int, transfers: int, start: float, out: multiprocessing.Queue) -> None:
    payers = _payer_ids()
    payer, payee = payers[2 * writer], payers[2 * writer + 1]
    with Ledger.open(url, keys) as ledger:
        ledger.balances([payer])  # connected and checked before the clock starts
        while time.time() < start:
            time.sleep(0.001)
        began = time.perf_counter()
        for n in range(transfers):
            ledger.payments.transfer(f"{payer}:{ASSET}", f"{payee}:{ASSET}", 1, tx_id=f"w{writer}-{n}")
        out.put(time.perf_counter() - began)


def single_transactions(server: str, writers: int, transfers: int, work: Path) -> dict[str, object]:
    with throwaway_database(server, "wonledger_bench_cluster") as url:
        keys = work / f"keys-{writers}-{abs(hash(server)) % 10_000}"
        _set_up(url, keys, f"wl-{os.urandom(6).hex()}")
        out: multiprocessing.Queue = multiprocessing.Queue()
        start = time.time() + 3
        processes = [multiprocessing.Process(target=_writer, args=(url, str(keys), w, transfers, start, out)) for w in range(writers)]
        for p in processes:
            p.start()
        took = [out.get(timeout=600) for _ in processes]
        for p in processes:
            p.join()
    total = writers * transfers
    return {"writers": writers, "commits_per_s": round(total / max(took)), "ms_per_commit_each": round(1000 * sum(took) / total, 1)}


def head_lock(server: str, writers: int, rounds: int = 300) -> dict[str, object]:
    """Commits per second of bare chain-head transactions (lock a row, update it, commit) by ``writers`` threads at once."""
    import threading

    import sqlalchemy

    with throwaway_database(server, "wonledger_bench_head") as url:
        engine = sqlalchemy.create_engine(url, pool_size=writers)
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE head (id int PRIMARY KEY, seq bigint)")
            conn.exec_driver_sql("INSERT INTO head VALUES (1, 0)")
        took: list[float] = []

        def loop() -> None:
            with engine.connect() as conn:
                began = time.perf_counter()
                for _ in range(rounds):
                    with conn.begin():
                        conn.exec_driver_sql("SELECT seq FROM head WHERE id = 1 FOR UPDATE")
                        conn.exec_driver_sql("UPDATE head SET seq = seq + 1 WHERE id = 1")
                took.append(time.perf_counter() - began)

        threads = [threading.Thread(target=loop) for _ in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        engine.dispose()
    total = writers * rounds
    return {"writers": writers, "commits_per_s": round(total / max(took)), "ms_per_commit": round(1000 * max(took) / total, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--writers", default="1,4")
    parser.add_argument("--transfers", type=int, default=150)
    args = parser.parse_args()
    single = os.environ.get("WONLEDGER_TEST_PG_URL")
    if not single:
        raise SystemExit("set WONLEDGER_TEST_PG_URL to the single PostgreSQL server to compare with")
    if ports_in_use():
        raise SystemExit(f"ports {ports_in_use()} are in use: the cluster needs them")
    home = Path(tempfile.mkdtemp(prefix="wonledger-cluster-", dir="/tmp"))
    cluster = Cluster(home, log=lambda event: print(event, file=sys.stderr))
    figures: dict[str, dict[str, object]] = {}
    try:
        cluster.up()
        servers = {"single server": single, "cluster": CLUSTER_URL.replace("/wonledger?", "/postgres?")}
        with tempfile.TemporaryDirectory() as tmp:
            for name, server in servers.items():
                figures[name] = {"batch": batch(server, args.count)}
                for w in (int(x) for x in args.writers.split(",")):
                    figures[name][f"writers_{w}"] = single_transactions(server, w, args.transfers, Path(tmp))
                    figures[name][f"head_{w}"] = head_lock(server, w)
                print(name, figures[name], file=sys.stderr)
    finally:
        cluster.down()
    print(f"{'':44}{'single server':>16}{'cluster':>16}")
    print(f"{'batch submit, transfers/s':44}{figures['single server']['batch']['per_s']:>16}{figures['cluster']['batch']['per_s']:>16}")  # type: ignore[index]
    for key in figures["cluster"]:
        if key == "batch":
            continue
        kind, writers = key.split("_")
        row = f"{'transfers' if kind == 'writers' else 'chain head alone'}, {writers} writer(s), commits/s"
        print(f"{row:44}{figures['single server'][key]['commits_per_s']:>16}{figures['cluster'][key]['commits_per_s']:>16}")  # type: ignore[index]
    print(json.dumps({"count": args.count, "transfers_per_writer": args.transfers, **figures}))


if __name__ == "__main__":
    main()
