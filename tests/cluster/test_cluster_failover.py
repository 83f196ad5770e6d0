"""A real failover, several times over: the leader of a three-node Patroni cluster killed while clients write.

Clients run as real `wonledger` processes through the libpq multi-host URL
of the manual, each with its stderr on a pseudo-terminal (so what a person
would be told is recorded): two loop over `wonledger submit FILE` (files
of 200 signed transfers, each submitted once), one over `wonledger pay`
without `--id`. Meanwhile the leader is killed with SIGKILL (its Patroni
and its postmaster) ``WONLEDGER_CLUSTER_KILLS`` times (3), after a random
pause (``WONLEDGER_CLUSTER_SEED`` replays one run), every other kill while
commits wait for the synchronous standby; each time the dead node is
started again and must rewind itself and follow the new leader before the
next kill.

Then: every command exited 0 and printed no traceback; in every failover
some command waited for the database and went on; every line of every file
submitted and every payment is in the journal exactly once (the journal
holds exactly the entries the clients were told of, no more); the journal
is the same on every node; `verify` passes. Each failover's length and
what the clients saw are recorded (the terminal summary, and
$WONLEDGER_FIGURES); docs/operations.md quotes them. Bounded: two to three
minutes here, five at most.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness import WONLEDGER, clean_env, run_wonledger
from patroni_cluster import CLUSTER_URL, NODES, Cluster, record

from wonledger import Ledger, Leg, Tx

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

KILLS = int(os.environ.get("WONLEDGER_CLUSTER_KILLS", "3"))
SEED = int(os.environ.get("WONLEDGER_CLUSTER_SEED", str(time.time_ns() % 1_000_000)))
SUBMITTERS = 2
FILES = 40
LINES = 200
ALICE = "alice:dKRW.hanriver"
BANK = "hanriver:dKRW.hanriver"


@dataclass(frozen=True)
class Command:
    client: str
    args: tuple[str, ...]
    started: float
    ended: float
    exit_code: int
    stdout: str
    shown: str  # stderr: at a terminal for the payer

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def make_database(cluster: Cluster, name: str) -> str:
    """A new database on the cluster's primary; its multi-host URL."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(CLUSTER_URL.replace("/wonledger?", "/postgres?"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()
    return CLUSTER_URL.replace("/wonledger?", f"/{name}?")


def signed_files(url: str, keys: Path, out: Path) -> list[list[Path]]:
    """FILES files of LINES signed transfers of 1 from alice for each submitter; every id once."""
    made: list[list[Path]] = []
    with Ledger.open(url, keys) as ledger:
        for client in range(SUBMITTERS):
            files = []
            for n in range(FILES):
                lines = []
                for i in range(LINES):
                    tx = Tx(ledger=ledger.id, id=f"c{client}-f{n}-{i}", kind="transfer", legs=(Leg(ALICE, BANK, "dKRW.hanriver", 1),))
                    signed = ledger.sign(tx, ["alice"])
                    lines.append(json.dumps({"tx": signed.tx.to_wire(), "signatures": [s.to_wire() for s in signed.signatures]}))
                path = out / f"c{client}-f{n}.jsonl"
                path.write_text("\n".join(lines) + "\n")
                files.append(path)
            made.append(files)
    return made


def run_command(client: str, url: str, keys: Path, *args: str, terminal: bool = False) -> Command:
    """One wonledger command as a real process; with ``terminal``, its stderr on a pseudo-terminal."""
    command = [WONLEDGER, "--db", url, "--keys", str(keys), *args]
    started = time.monotonic()
    if not terminal:
        done = subprocess.run(command, capture_output=True, timeout=300, env=clean_env())
        return Command(client, args, started, time.monotonic(), done.returncode, done.stdout.decode(), done.stderr.decode())
    leader, follower = os.openpty()
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower, env=clean_env())
    os.close(follower)
    shown = bytearray()
    reader = threading.Thread(target=_drain, args=(leader, shown), daemon=True)
    reader.start()
    out, _ = process.communicate(timeout=300)
    reader.join(timeout=5)
    os.close(leader)
    return Command(client, args, started, time.monotonic(), process.returncode, out.decode(), as_seen(shown.decode("utf-8", "replace")))


def as_seen(terminal: str) -> str:
    """What a terminal shows of ``terminal``'s output: each line as its last carriage return left it, without escapes."""
    lines = terminal.replace("\r\n", "\n").split("\n")
    return "\n".join(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line.rsplit("\r", 1)[-1]) for line in lines)


def _drain(fd: int, into: bytearray) -> None:
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return
        if not chunk:
            return
        into.extend(chunk)


def test_killing_the_leader_during_ingest_is_only_latency_for_every_client(cluster: Cluster, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    url, keys = CLUSTER_URL, tmp_path / "keys"  # the database the manual's recipe made
    run_wonledger(url, "init", keys=keys).ok()
    initial = len(cluster.query(cluster.leader() or NODES[0], "SELECT id FROM journal"))
    files = signed_files(url, keys, tmp_path)
    commands: list[Command] = []
    stop = threading.Event()

    def submitter(n: int) -> None:
        for path in files[n]:
            if stop.is_set():
                return
            commands.append(run_command(f"submit-{n}", url, keys, "--json", "submit", str(path), terminal=True))

    def payer() -> None:
        n = 0
        while not stop.is_set():
            commands.append(run_command("pay", url, keys, "pay", "alice", "seoul-exports", "1000", "--memo", f"cluster-pay-{n}", terminal=True))
            n += 1

    clients = [threading.Thread(target=submitter, args=(n,)) for n in range(SUBMITTERS)] + [threading.Thread(target=payer)]
    for c in clients:
        c.start()
    failovers = []
    try:
        for k in range(KILLS):
            time.sleep(rng.uniform(1.0, 6.0))
            kill = cluster.kill_leader(during_commit=k % 2 == 1)
            cluster.wait_for(lambda dead=kill.node: cluster.leader() not in (None, dead) and cluster.writable(), 90, "new primary")
            promoted = time.monotonic()
            cluster.start(kill.node)
            cluster.wait_for(lambda dead=kill.node: cluster.following(dead), 120, f"{kill.node} following the new leader")
            cluster.wait_for(lambda: cluster.sync_standby() is not None, 60, "a synchronous standby")
            failovers.append(
                {"killed": kill.node, "during_commit": k % 2 == 1, "commits_in_flight": kill.in_flight, "failover_s": round(promoted - kill.at, 1),
                 "rejoin_s": round(time.monotonic() - promoted, 1), "rewound": cluster.rewound(kill.node), "at": kill.at, "back_at": promoted}
            )
            cluster.log(f"failover {k + 1}: {failovers[-1]}")
    finally:
        stop.set()
        for c in clients:
            c.join(timeout=300)

    _report(failovers, commands)
    # Every client finished every command it started with exit 0, and none printed a traceback.
    failed = [(c.client, c.args, c.exit_code, c.shown[-500:]) for c in commands if c.exit_code != 0 or "Traceback" in c.stdout + c.shown]
    assert not failed, failed
    # The failovers happened under the clients' feet: in each, some command waited for the database and went on.
    for f in failovers:
        assert any(c.started < float(str(f["back_at"])) < c.ended and "waiting for the database" in c.shown for c in commands), f"no command waited through {f}"
    # A commit cut off on its way left the old leader ahead of the new one: it came back by rewinding.
    assert all(f["rewound"] for f in failovers if f["commits_in_flight"]), failovers
    _assert_each_acknowledged_transaction_once(cluster, commands, initial)
    cluster.wait_for(cluster.caught_up, 60, "standbys caught up")
    journals = {node: cluster.query(node, "SELECT count(*), coalesce(max(seq), 0), md5(string_agg(id || ':' || hash, ',' ORDER BY seq)) FROM journal")[0] for node in NODES}
    assert len(set(journals.values())) == 1, journals
    run_wonledger(url, "verify", keys=keys).ok()


def _assert_each_acknowledged_transaction_once(cluster: Cluster, commands: list[Command], initial: int) -> None:
    leader = cluster.leader()
    assert leader is not None
    landed = [str(r[0]) for r in cluster.query(leader, "SELECT id FROM journal ORDER BY seq")]
    submitted = [c for c in commands if c.args[1] == "submit"]
    for c in submitted:
        told = json.loads(c.stdout)
        # Told exactly: a chunk whose acknowledgement was lost is this command's posting, not a "duplicate".
        assert told == {"posted": LINES, "duplicates": 0, "rejected": []}, (c.args, told)
    paid = [c.stdout.split()[1] for c in commands if c.args[0] == "pay"]
    expected = {f"{Path(c.args[2]).stem}-{i}" for c in submitted for i in range(LINES)} | set(paid)
    new = landed[initial:]
    assert len(new) == len(set(new)) == len(expected), (len(new), len(expected))
    assert set(new) == expected
    memos = cluster.query(leader, "SELECT count(*), count(DISTINCT body) FROM journal WHERE body LIKE '%%cluster-pay-%%'")[0]
    assert memos == (len(paid), len(paid))


def _report(failovers: list[dict[str, object]], commands: list[Command]) -> None:
    waits = sorted({line.split(":", 2)[2].split(";")[0].strip() for c in commands for line in c.shown.splitlines() if line.startswith("wonledger: waiting")})
    spanning = [c for c in commands if "waiting for the database" in c.shown]
    record(
        "cluster.jsonl",
        seed=SEED,
        failovers_s=[f["failover_s"] for f in failovers],
        rejoins_s=[f["rejoin_s"] for f in failovers],
        during_commit=[f["commits_in_flight"] for f in failovers],
        rewound=[f["rewound"] for f in failovers],
        commands=len(commands),
        exits=sorted({c.exit_code for c in commands}),
        longest_command_s=round(max((c.seconds for c in commands), default=0), 1),
        waited=len(spanning),
        longest_that_waited_s=round(max((c.seconds for c in spanning), default=0), 1),
        typical_command_s=round(sorted(c.seconds for c in commands)[len(commands) // 2], 1) if commands else 0,
        terminal_said=waits,
    )


def test_reports_read_on_a_standby_and_a_write_there_is_refused_or_waited_for(cluster: Cluster, tmp_path: Path) -> None:
    url, keys = make_database(cluster, "wonledger_standby_reads"), tmp_path / "keys"
    run_wonledger(url, "init", keys=keys).ok()
    standby_url = url.replace("target_session_attrs=read-write", "target_session_attrs=standby")
    # Reports read on a standby: what the primary acknowledged is there once the standby has replayed it (the lag).
    lags = _replay_lags(cluster, url, keys, "wonledger_standby_reads", 30)
    for reading in (("balance", "alice"), ("history", ALICE), ("report", "trial-balance"), ("report", "supply"), ("verify",), ("info",)):
        run_wonledger(standby_url, *reading, keys=keys).ok()
    assert run_wonledger(standby_url, "--json", "balance", "alice", keys=keys).ok().json()["accounts"][0]["balance"] == 5_000_000 - 30
    # A write through a URL that asks for a standby is refused at once; through one naming a standby alone, waited for.
    assert "read-only" in run_wonledger(standby_url, "transfer", ALICE, BANK, "1", keys=keys).error("DB_READ_ONLY", 1)
    replica = next(n for n in NODES if n != cluster.leader())
    one_standby = f"postgresql+psycopg://postgres:pg@127.0.0.1:{5432 + NODES.index(replica) + 1}/wonledger_standby_reads"
    waited = run_wonledger(one_standby, "--wait-db", "2", "transfer", ALICE, BANK, "1", keys=keys).error("DB_UNAVAILABLE", 75)
    assert "the server is a standby now" in waited, waited
    lags.sort()
    record("standby-reads.jsonl", samples=len(lags), median_ms=round(lags[len(lags) // 2] * 1000, 1), max_ms=round(lags[-1] * 1000, 1))


def _replay_lags(cluster: Cluster, url: str, keys: Path, database: str, count: int) -> list[float]:
    """Seconds from a transfer's acknowledgement by the primary to its being visible on the synchronous standby, ``count`` times."""
    import sqlalchemy

    standby = cluster.sync_standby() or NODES[0]
    engine = sqlalchemy.create_engine(cluster.node_url(standby, database), poolclass=sqlalchemy.pool.NullPool)
    lags = []
    try:
        with Ledger.open(url, keys) as ledger, engine.connect() as conn:
            for n in range(count):
                ledger.payments.transfer(ALICE, BANK, 1, tx_id=f"lag-{n}")
                acknowledged = time.monotonic()
                while conn.exec_driver_sql(f"SELECT 1 FROM journal WHERE id = 'lag-{n}'").first() is None:
                    conn.rollback()  # a new snapshot for the next look
                    if time.monotonic() - acknowledged > 10:
                        raise TimeoutError(f"lag-{n} never reached the standby")
                lags.append(time.monotonic() - acknowledged)
                conn.rollback()
    finally:
        engine.dispose()
    return lags
