"""Fixtures of the cross-ledger tests: two operators' ledgers that know each other, and the CLI run as a real process.

`pair` copies, per test, a template made once per session: `kr/` (the
Korean operator's world) and `hk/` (the Hong Kong operator's), each a
directory with `wonledger.db` and `keys/`, each holding the other's partner
card. `wl(*args, env=...)` runs the installed `wonledger` script in the
pair's directory, as a user types it, with no WONLEDGER_* variable of the
surrounding environment but those the test gives.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from wonledger import Ledger

WONLEDGER = str(Path(sys.executable).parent / "wonledger")


@dataclass(frozen=True)
class Run:
    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def ok(self) -> Run:
        assert self.exit_code == 0, f"wonledger {' '.join(self.args)} exited {self.exit_code}: {self.stderr}"
        assert "Traceback" not in self.stderr, self.stderr
        return self


def run(cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Run:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WONLEDGER_")}
    environment.update(env or {})
    done = subprocess.run([WONLEDGER, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout)
    return Run(tuple(args), done.returncode, done.stdout, done.stderr)


@dataclass(frozen=True)
class Pair:
    """Two ledgers in one directory: ``kr/`` and ``hk/``, and the driver's ``wonledger-driver/`` once a payment ran."""

    root: Path

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Run:
        return run(self.root, *args, env=env)

    def on(self, side: str, *args: str) -> Run:
        """A command on one ledger of the pair."""
        return self("--db", f"sqlite:///{side}/wonledger.db", "--keys", f"{side}/keys", *args)

    def ledger(self, side: str) -> Ledger:
        return Ledger.open(f"sqlite:///{self.root / side / 'wonledger.db'}", self.root / side / "keys")

    def balance(self, side: str, account: str) -> int:
        with self.ledger(side) as ledger:
            return ledger.balances([account])[0].balance

    def wait_past(self, deadline: str) -> None:
        """Sleep until ``deadline`` (an ISO 8601 UTC time) has passed on this machine's clock."""
        from wonledger.domain.timestamps import parse_iso, utc_now

        left = (parse_iso(deadline) - utc_now()).total_seconds()
        if left > 0:
            time.sleep(left + 0.2)


def make_pair(base: Path, kr_url: str | None = None, hk_url: str | None = None) -> tuple[Ledger, Ledger]:
    """The two operators' ledgers under ``base`` (or at the URLs given), each holding the other's card."""
    kr = Ledger.create(kr_url or f"sqlite:///{base / 'kr' / 'wonledger.db'}", base / "kr" / "keys", world="kr")
    hk = Ledger.create(hk_url or f"sqlite:///{base / 'hk' / 'wonledger.db'}", base / "hk" / "keys", world="hk")
    kr.partners.add(hk.partners.card())
    hk.partners.add(kr.partners.card())
    return kr, hk


@pytest.fixture(scope="session")
def pair_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("pair-template")
    (base / "kr").mkdir()
    (base / "hk").mkdir()
    for ledger in make_pair(base):
        ledger.close()
    return base


@pytest.fixture
def pair(tmp_path: Path, pair_template: Path) -> Pair:
    root = tmp_path / "pair"
    shutil.copytree(pair_template, root)
    return Pair(root)


@pytest.fixture
def crash_at() -> Callable[[str], dict[str, str]]:
    """The environment that stops a driver or node at a named step."""
    from wonledger.crossledger import CRASH_ENV, STEPS

    def env(step: str) -> dict[str, str]:
        assert step in STEPS
        return {CRASH_ENV: step}

    return env
