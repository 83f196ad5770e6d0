"""Fixtures of the reliability suite: the console script and harness workers as real processes.

`wonledger` is :func:`harness.run_wonledger`; `start_worker(script, *args)`
starts one of the scripts in `workers/` as a real subprocess (killed at
teardown if still running).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness import WORKERS, Run, clean_env, raw_sql, run_wonledger


@pytest.fixture
def wonledger() -> Callable[..., Run]:
    return run_wonledger


@pytest.fixture
def start_worker() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """start_worker(script, *args): a harness worker from workers/ as a real process, stdout piped."""
    started: list[subprocess.Popen[str]] = []

    def start(script: str, *args: str, stdout: Any = subprocess.PIPE) -> subprocess.Popen[str]:
        p = subprocess.Popen(
            [sys.executable, str(WORKERS / script), *args],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(),
        )
        started.append(p)
        return p

    yield start
    for p in started:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        p.wait()
        for stream in (p.stdout, p.stderr):
            if stream is not None:
                stream.close()



@pytest.fixture(name="raw_sql")
def raw_sql_fixture() -> Callable[[str, str], None]:
    return raw_sql
