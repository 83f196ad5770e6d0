"""Fixtures of the reliability suite: the console script and harness workers as real processes.

`wonledger` is :func:`harness.run_wonledger`; `start_worker(script, *args)`
starts one of the scripts in `workers/` as a real subprocess (killed at
teardown if still running); `small_disk(size)` mounts a tmpfs of that size
(`harness.remount` changes its options) when we may mount, as root
in CI; otherwise it returns None and the test uses its fallback.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
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
            stdin=subprocess.PIPE,
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
        for stream in (p.stdin, p.stdout, p.stderr):
            if stream is not None:
                stream.close()



@pytest.fixture(name="raw_sql")
def raw_sql_fixture() -> Callable[[str, str], None]:
    return raw_sql


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str], Path | None]]:
    """small_disk("512k"): a directory on a tmpfs of that size, or None where mounting is not allowed."""
    mounted: list[Path] = []

    def mount(size: str) -> Path | None:
        target = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
        target.mkdir()
        if os.geteuid() != 0 or shutil.which("mount") is None:
            return None
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(target)], capture_output=True)
        if done.returncode != 0:
            return None
        mounted.append(target)
        return target

    yield mount
    for target in mounted:
        if subprocess.run(["umount", str(target)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(target)], capture_output=True)

