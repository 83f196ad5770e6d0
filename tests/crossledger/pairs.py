"""Helpers of the cross-ledger tests: two operators' ledgers that know each other, and the CLI run as a real process.

A `Pair` is a directory with `kr/` (the Korean operator's world) and `hk/`
(the Hong Kong operator's), each holding `wonledger.db` and `keys/`, each
ledger holding the other's partner card. Calling it runs the installed
`wonledger` script there, as a user types it, with no WONLEDGER_* variable of
the surrounding environment but those the test gives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


