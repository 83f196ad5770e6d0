"""Three PostgreSQL 15 nodes under Patroni and one etcd on loopback, brought up by docs/operations.md's own recipe.

The manual's cluster block (the one whose "not run" mark names
tests/cluster) is run here as it is written, in a directory of our own:
its ``/tmp/wonledger-cluster`` and ``$PWD/deploy/patroni`` become the
harness's directory and a copy of ``deploy/patroni/``, and nothing else
changes; so the recipe a reader follows is the one CI runs. As root (in CI)
it runs as the ``postgres`` user, since PostgreSQL refuses to run as root.

:class:`Cluster` then kills a leader (Patroni and postmaster, ``SIGKILL``),
optionally while commits wait for the synchronous standby, starts a node
again (Patroni rewinds it with ``pg_rewind`` and it follows the new leader),
and reads each node on its own. Every process the cluster started is found
by its working directory, which lies inside the harness's directory, and
ended by id at teardown, with the directory itself; the system's PostgreSQL
(port 5432) is never touched.

Why our own harness: the pieces are Patroni's and etcd's (Debian packages);
what no tool does for us is kill the leader at the moment that matters and
hold a ledger's clients to what they were told.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "docs" / "operations.md"
DEPLOY = ROOT / "deploy" / "patroni"
#: What the recipe names, and what the harness puts in their place.
RECIPE_DIR = "/tmp/wonledger-cluster"
RECIPE_DEPLOY = "$PWD/deploy/patroni"
NODES = ("node1", "node2", "node3")
PG_PORTS = {"node1": 5433, "node2": 5434, "node3": 5435}
API_PORTS = {"node1": 8008, "node2": 8009, "node3": 8010}
ETCD_PORTS = (2379, 2380)
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PASSWORD = "pg"
#: The libpq multi-host URL of the manual: the primary, whichever node it is.
CLUSTER_URL = (
    "postgresql+psycopg://postgres:pg@/wonledger?host=127.0.0.1:5433&host=127.0.0.1:5434&host=127.0.0.1:5435&target_session_attrs=read-write"
)


#: What the cluster tests measured, printed in the terminal summary (tests/cluster/conftest.py).
FIGURES: list[tuple[str, dict[str, Any]]] = []


def record(name: str, **figures: Any) -> None:
    """Keep a figure for the summary, and in $WONLEDGER_FIGURES (as the rest of the suite's figures)."""
    from harness import record_figure  # tests/reliability/harness.py, put on the path by tests/cluster/conftest.py

    FIGURES.append((name, figures))
    record_figure(name, **figures)


def recipe_commands() -> list[str]:
    """The commands of the manual's cluster block (``$ `` lines), in order."""
    lines = OPERATIONS.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("<!-- not run:") and "tests/cluster" in line:
            fence = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            end = next(j for j in range(fence + 1, len(lines)) if lines[j].startswith("```"))
            return [body[2:] for body in lines[fence + 1 : end] if body.startswith("$ ")]
    raise LookupError(f"{OPERATIONS} has no cluster block marked for tests/cluster")


def missing_tools() -> list[str]:
    return [tool for tool in ("patroni", "patronictl", "etcd", "psql") if shutil.which(tool) is None] + (
        [] if (PG_BIN / "postgres").exists() else [str(PG_BIN / "postgres")]
    )


def install_tools() -> bool:
    """apt-get install patroni and etcd-server (as root, where apt-get exists), never starting their system services."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return False
    policy = Path("/usr/sbin/policy-rc.d")
    made_policy = not policy.exists()
    if made_policy:  # Debian's way to keep a package's service from starting on install (it would take port 2379)
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        done = subprocess.run(["apt-get", "install", "-y", "-q", "patroni", "etcd-server"], env=env, capture_output=True, timeout=600)
        if done.returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600)
            subprocess.run(["apt-get", "install", "-y", "-q", "patroni", "etcd-server"], env=env, capture_output=True, timeout=600)
    finally:
        if made_policy:
            policy.unlink()
    return not missing_tools()


def ports_in_use() -> list[int]:
    busy = []
    for port in (*PG_PORTS.values(), *API_PORTS.values(), *ETCD_PORTS):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                busy.append(port)
    return busy


@dataclass(frozen=True)
class Kill:
    node: str
    at: float
    in_flight: int  # backends of the leader waiting for the synchronous standby at the kill: commits on their way


class Cluster:
    """The cluster in ``home`` (see the module docstring); ``log(event)`` hears what it does."""

    def __init__(self, home: Path, log: Callable[[str], None] = lambda _event: None) -> None:
        self.home = home
        self.log = log
        self.deploy = home / "deploy"
        self.as_postgres = os.geteuid() == 0
        self._started: list[subprocess.Popen[bytes]] = []

    # -- up and down -----------------------------------------------------------
    def up(self, timeout: float = 180) -> None:
        """Run the manual's recipe here; return once there is a leader and a synchronous standby."""
        self.home.mkdir(parents=True, exist_ok=True)
        shutil.copytree(DEPLOY, self.deploy)
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            for path in (self.home, self.deploy, *self.deploy.iterdir()):
                os.chown(path, user.pw_uid, user.pw_gid)
        script = "\n".join(
            ["set -e", *(c.replace(RECIPE_DIR, str(self.home)).replace(RECIPE_DEPLOY, str(self.deploy)) for c in recipe_commands())]
        )
        done = self._run(["bash", "-c", script], timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"the manual's cluster recipe failed ({done.returncode}):\n{done.stdout.decode()}\n{done.stderr.decode()}")
        self.wait_for(lambda: self.leader() is not None and self.sync_standby() is not None, timeout, "a leader and a synchronous standby")

    def down(self) -> None:
        """End every process started in ``home`` (by id, found by working directory) and remove it."""
        for _ in range(3):
            pids = self._our_pids()
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if not pids:
                break
            time.sleep(0.5)
        for p in self._started:
            p.wait(timeout=10)
        shutil.rmtree(self.home, ignore_errors=True)

    def _our_pids(self) -> list[int]:
        home = str(self.home)
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                cwd = os.readlink(f"/proc/{entry}/cwd")
            except OSError:
                continue
            if cwd == home or cwd.startswith(home + "/"):
                found.append(int(entry))
        return found

    def _run(self, command: list[str], timeout: float) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(self._as_user(command), cwd=self.home, env=self._env(), capture_output=True, timeout=timeout, start_new_session=True)

    def _as_user(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command] if self.as_postgres else command

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WONLEDGER_", "PG", "VIRTUAL_ENV"))}
        env["HOME"] = str(self.home)
        env["PATH"] = ":".join(p for p in env.get("PATH", "").split(":") if ".venv" not in p) or "/usr/bin:/bin"
        return env

    # -- what the cluster is ---------------------------------------------------
    def members(self) -> list[dict[str, object]]:
        for node in NODES:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{API_PORTS[node]}/cluster", timeout=2) as answer:
                    return list(json.load(answer)["members"])
            except OSError:
                continue
        return []

    def leader(self) -> str | None:
        return next((str(m["name"]) for m in self.members() if m["role"] == "leader" and m["state"] == "running"), None)

    def sync_standby(self) -> str | None:
        return next((str(m["name"]) for m in self.members() if m["role"] == "sync_standby" and m["state"] == "running"), None)

    def node_url(self, node: str, database: str = "wonledger") -> str:
        return f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:{PG_PORTS[node]}/{database}"

    def query(self, node: str, sql: str, database: str = "wonledger") -> list[tuple[object, ...]]:
        engine = sqlalchemy.create_engine(self.node_url(node, database), poolclass=sqlalchemy.pool.NullPool, connect_args={"connect_timeout": 5})
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.exec_driver_sql(sql)]
        finally:
            engine.dispose()

    def writable(self) -> bool:
        """Whether the multi-host URL finds a primary that takes a connection now."""
        engine = sqlalchemy.create_engine(CLUSTER_URL.replace("/wonledger?", "/postgres?"), poolclass=sqlalchemy.pool.NullPool, connect_args={"connect_timeout": 2})
        try:
            with engine.connect() as conn:
                return conn.exec_driver_sql("SELECT NOT pg_is_in_recovery()").scalar() is True
        except sqlalchemy.exc.DBAPIError:
            return False
        finally:
            engine.dispose()

    @staticmethod
    def wait_for(ready: Callable[[], bool], timeout: float, what: str) -> float:
        """Poll ``ready`` every 0.1 s; the seconds it took, or an error after ``timeout``."""
        started = time.monotonic()
        while not ready():
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"no {what} after {timeout:.0f} s")
            time.sleep(0.1)
        return time.monotonic() - started

    # -- faults ----------------------------------------------------------------
    def kill_leader(self, during_commit: bool) -> Kill:
        """SIGKILL the leader's Patroni and postmaster; with ``during_commit``, while commits wait for the synchronous standby.

        To be sure commits are on their way, the synchronous standby's WAL
        receiver is paused (SIGSTOP) until a backend of the leader waits for
        it (``SyncRep``), for at most 20 s; it runs on once the leader is dead.
        """
        leader = self.leader()
        if leader is None:
            raise RuntimeError("no leader to kill")
        paused: int | None = None
        in_flight = 0
        if during_commit and (standby := self.sync_standby()) is not None:
            rows = self.query(standby, "SELECT pid FROM pg_stat_wal_receiver", "postgres")
            paused = int(str(rows[0][0])) if rows else None
            if paused is not None:
                os.kill(paused, signal.SIGSTOP)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and in_flight == 0:
                in_flight = int(str(self.query(leader, "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'", "postgres")[0][0]))
                time.sleep(0.02)
        patroni, postmaster = self._patroni_pid(leader), self._postmaster_pid(leader)
        at = time.monotonic()
        for pid in (patroni, postmaster):
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
        if paused is not None:
            os.kill(paused, signal.SIGCONT)
        self.log(f"killed {leader} (patroni {patroni}, postmaster {postmaster}); commits in flight: {in_flight}")
        return Kill(leader, at, in_flight)

    def start(self, node: str) -> None:
        """Start ``node``'s Patroni again, as the recipe does (it rewinds the node and follows the leader)."""
        with open(self.home / f"{node}.log", "ab") as log:
            self._started.append(
                subprocess.Popen(
                    self._as_user(["patroni", str(self.deploy / f"{node}.yml")]),
                    cwd=self.home, env=self._env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                )
            )

    def rewound(self, node: str) -> bool:
        return "pg_rewind exit code=0" in (self.home / f"{node}.log").read_text(errors="replace")

    def following(self, node: str) -> bool:
        """``node`` runs as a standby streaming from the leader."""
        member = next((m for m in self.members() if m["name"] == node), None)
        if member is None or member["state"] != "running" or member["role"] not in ("replica", "sync_standby"):
            return False
        leader = self.leader()
        return leader is not None and any(
            row[0] == node for row in self.query(leader, "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'", "postgres")
        )

    def caught_up(self) -> bool:
        """Every standby has replayed all the leader has written."""
        leader = self.leader()
        if leader is None:
            return False
        head = self.query(leader, "SELECT pg_current_wal_lsn()::text", "postgres")[0][0]
        for node in NODES:
            if node != leader and not self.query(node, f"SELECT pg_last_wal_replay_lsn() >= '{head}'::pg_lsn", "postgres")[0][0]:
                return False
        return True

    def _patroni_pid(self, node: str) -> int | None:
        """The Patroni process of ``node`` itself (Python running /usr/bin/patroni), not a shell or runuser that started it."""
        config = str(self.deploy / f"{node}.yml")
        for pid in self._our_pids():
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_text(errors="replace").split("\0")
            except OSError:
                continue
            if config in argv and re.search(r"(^|/)python3?[.\d]*$", argv[0]):
                return pid
        return None

    def _postmaster_pid(self, node: str) -> int | None:
        try:
            return int((self.home / node / "data" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
