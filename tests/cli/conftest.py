"""Fixtures of the CLI tests: the command line in-process (CliRunner) and as a real process.

`wl` runs `wonledger --db … --keys … ARGS` through click's CliRunner against a
fresh copy of the session's template ledger (default world); `wl_empty` does
the same on the empty world. `sh` runs the installed console script as a
user types it, in an empty temporary working directory, with WONLEDGER_DB /
WONLEDGER_KEYS naming a template copy; `process` runs it with whatever
arguments, directory and environment a test gives. All return a `Run` with
the exit code, stdout and stderr kept apart. No WONLEDGER_* variable of the
surrounding environment leaks into a test.

Helpers on those objects: `Run.error(CODE)` (exactly one `error: CODE: message`
line on stderr, no traceback), `Ledger.state()` (what `--json balance` and
`--json info` say, to prove a refused command changed nothing) and
`Ledger.sign(tx, signers)` (a wire-format line signed with participants' PEM
keys, using only `cryptography` and `rfc8785`, not wonledger's own code).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from wonledger_cli.main import cli

#: The console script installed beside the interpreter running the tests.
WONLEDGER = str(Path(sys.executable).parent / "wonledger")

#: Variables the tests control themselves; inherited values are dropped.
_OURS = ("WONLEDGER_DB", "WONLEDGER_KEYS", "WONLEDGER_KEY_PASSPHRASE", "WONLEDGER_DEBUG")


@dataclass(frozen=True)
class Run:
    """What one command did."""

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

    def error(self, code: str, exit_code: int | None = None) -> str:
        """Exactly one line `error: CODE: message` on stderr, no traceback; returns the message.

        Without ``exit_code`` any refusal (1) or bad input (2) will do.
        """
        assert "Traceback" not in self.stderr, self.stderr
        lines = self.stderr.splitlines()
        assert len(lines) == 1, f"expected one error line, got {self.stderr!r}"
        prefix = f"error: {code}: "
        assert lines[0].startswith(prefix), f"expected {prefix!r}, got {lines[0]!r}"
        assert len(lines[0]) > len(prefix), "the error line has no message"
        if exit_code is not None:
            assert self.exit_code == exit_code, f"exit {self.exit_code}, expected {exit_code}: {self.stderr}"
        else:
            assert self.exit_code in (1, 2), f"exit {self.exit_code}: {self.stderr}"
        return lines[0][len(prefix) :]


class Ledger:
    """A ledger directory (wonledger.db and keys/) and a way to run commands on it."""

    def __init__(self, base: Path, runner: Callable[..., Run], reader: Callable[..., Run] | None = None, cwd: Path | None = None) -> None:
        self.base = base
        self.db = f"sqlite:///{base / 'wonledger.db'}"
        self.keys = base / "keys"
        self.cwd = cwd
        self._runner = runner
        self._reader = reader or runner

    def __call__(self, *args: str, input: str | bytes | None = None) -> Run:
        return self._runner(self, args, input)

    def read(self, *args: str) -> Run:
        """A read-only command to look at the ledger (in-process even for `sh`: it is not what is tested)."""
        return self._reader(self, args, None).ok()

    def id(self) -> str:
        return self.read("--json", "info").json()["ledger"]

    def balances(self) -> dict[str, dict[str, int]]:
        return {a["id"]: a for a in self.read("--json", "balance").json()["accounts"]}

    def tx(self, tx_id: str) -> dict[str, Any]:
        return self.read("--json", "tx", "show", tx_id).json()

    def key(self, participant: str) -> Path:
        return self.keys / f"{participant}.pem"

    def state(self) -> tuple[Any, int]:
        """Every account's counters and the number of transactions: what a refusal must not change."""
        return self.read("--json", "balance").json(), self.read("--json", "info").json()["transactions"]

    def sign(self, tx: dict[str, Any], signers: Sequence[str]) -> str:
        """One wire-format line: ``tx`` signed by ``signers`` with their keys in this ledger's key directory.

        Uses only `cryptography` and `rfc8785`, not wonledger's own signing code.
        """
        payload = rfc8785.dumps(tx)
        signatures = [{"signer": s, "sig": sign_with_pem(self.key(s), payload)} for s in signers]
        return json.dumps({"tx": tx, "signatures": signatures}, ensure_ascii=False)

    def transfer_tx(self, tx_id: str, debit: str, credit: str, asset: str, amount: Any, memo: str = "", ledger_id: str | None = None) -> dict[str, Any]:
        """A one-leg transfer's ``tx`` object for this ledger (or ``ledger_id``)."""
        return {
            "ledger": ledger_id or self.id(),
            "id": tx_id,
            "kind": "transfer",
            "memo": memo,
            "legs": [{"debit": debit, "credit": credit, "asset": asset, "amount": amount}],
        }


# -- in-process, through click's CliRunner -------------------------------------


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env=dict.fromkeys(_OURS))


def invoke(runner: CliRunner, args: Sequence[str], input: str | bytes | None = None) -> Run:
    result = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
    return Run(tuple(args), result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def cli_run(runner: CliRunner) -> Callable[..., Run]:
    """``cli_run(*args, input=None)``: `wonledger ARGS` in-process, no --db/--keys added."""

    def run(*args: str, input: str | bytes | None = None) -> Run:
        return invoke(runner, args, input)

    return run


def in_process(runner: CliRunner) -> Callable[..., Run]:
    def run(ledger: Ledger, args: Sequence[str], input: str | bytes | None) -> Run:
        return invoke(runner, ["--db", ledger.db, "--keys", str(ledger.keys), *args], input)

    return run


@pytest.fixture
def wl_factory(sqlite_ledger_dir: Callable[[str], Path], runner: CliRunner) -> Callable[[str], Ledger]:
    def make(world: str = "default") -> Ledger:
        return Ledger(sqlite_ledger_dir(world), in_process(runner))

    return make


@pytest.fixture
def wl(wl_factory: Callable[[str], Ledger]) -> Ledger:
    """A fresh default-world ledger driven through CliRunner."""
    return wl_factory("default")


@pytest.fixture
def wl_empty(wl_factory: Callable[[str], Ledger]) -> Ledger:
    """A fresh empty-world ledger driven through CliRunner."""
    return wl_factory("empty")


# -- as a real process ----------------------------------------------------------


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _OURS}
    env.update(extra)
    return env


def run_process(
    args: Sequence[str], cwd: Path, env: dict[str, str] | None = None, input: str | bytes | None = None, umask: int | None = None
) -> Run:
    done = subprocess.run(
        [WONLEDGER, *args],
        cwd=cwd,
        env=env if env is not None else clean_env(),
        input=input.encode() if isinstance(input, str) else input,
        capture_output=True,
        timeout=120,
        preexec_fn=None if umask is None else (lambda: os.umask(umask)),
    )
    return Run(tuple(args), done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8"))


@pytest.fixture
def process() -> Callable[..., Run]:
    """Run the console script: ``process(*args, cwd=DIR, env=None, input=None, umask=None)``.

    ``env`` defaults to the inherited environment without any WONLEDGER_* variable.
    """

    def run(*args: str, cwd: Path, env: dict[str, str] | None = None, input: str | bytes | None = None, umask: int | None = None) -> Run:
        return run_process(args, cwd, env, input, umask)

    return run


@pytest.fixture
def sh(sqlite_ledger_dir: Callable[[str], Path], tmp_path: Path, runner: CliRunner) -> Ledger:
    """A fresh default-world ledger driven by the console script in a subprocess.

    The working directory is an empty temporary one; WONLEDGER_DB and
    WONLEDGER_KEYS name the ledger, as a user's shell would. `read` (and so
    `state`, `balances`, `tx`) looks through CliRunner, which is quicker.
    """
    cwd = tmp_path / "cwd"
    cwd.mkdir()

    def run(ledger: Ledger, args: Sequence[str], input: str | bytes | None) -> Run:
        env = clean_env(WONLEDGER_DB=ledger.db, WONLEDGER_KEYS=str(ledger.keys))
        return run_process(args, cwd, env, input)

    return Ledger(sqlite_ledger_dir("default"), run, reader=in_process(runner), cwd=cwd)


# -- signing outside wonledger --------------------------------------------------


def sign_with_pem(pem_path: Path, payload: bytes) -> str:
    key = serialization.load_pem_private_key(pem_path.read_bytes(), password=None)
    return base64.urlsafe_b64encode(key.sign(payload)).rstrip(b"=").decode("ascii")  # type: ignore[call-arg, union-attr]
