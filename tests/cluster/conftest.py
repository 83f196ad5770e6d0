"""The cluster harness's fixtures: one cluster per module, brought up from the manual and torn down whatever happens.

`cluster` installs `patroni` and `etcd-server` when they are missing (as
root, with apt-get), checks that the cluster's ports are free, and brings
the three nodes up from docs/operations.md's recipe (see
`patroni_cluster.py`). Where that cannot be done it skips, except in CI
(``CI`` set), where the harness must run. The figures a test records are
printed at the end of the run, and appended to $WONLEDGER_FIGURES if set.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from patroni_cluster import FIGURES, Cluster, install_tools, missing_tools, ports_in_use

sys.path.append(str(Path(__file__).resolve().parents[1] / "reliability"))  # harness.py (appended: it must shadow no other folder's module)


def _cannot(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"the cluster harness must run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    if missing_tools() and not install_tools():
        _cannot(f"missing {', '.join(missing_tools())} (install patroni and etcd-server, PostgreSQL 15)")
    busy = ports_in_use()
    if busy:
        _cannot(f"ports {busy} are in use (the cluster needs 5433-5435, 8008-8010, 2379-2380 on 127.0.0.1)")
    home = Path(tempfile.mkdtemp(prefix="wonledger-cluster-", dir="/tmp"))
    started = time.monotonic()
    made = Cluster(home, log=lambda event: print(f"[cluster {time.monotonic() - started:6.1f} s] {event}", flush=True))
    try:
        made.up()
        made.log(f"up: leader {made.leader()}, synchronous standby {made.sync_standby()}")
        yield made
    finally:
        made.down()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("cluster harness figures")
    for name, figures in FIGURES:
        terminalreporter.write_line(f"{name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))
