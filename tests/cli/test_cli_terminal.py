"""Commands run at a terminal: stderr (and for Ctrl-C the controlling terminal) is a pseudo-terminal.

A progress bar appears only when a person watches stderr, so these paths are
invisible to tests that capture output through pipes. Each test starts the
installed console script as a real process whose stderr is the slave side of
a pty (`os.openpty`) and reads what a person would see from the master side.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import rfc8785
from cryptography.hazmat.primitives import serialization

if TYPE_CHECKING:
    from conftest import Ledger

#: The console script installed beside the interpreter running the tests.
WONLEDGER = str(Path(sys.executable).parent / "wonledger")
ALICE = "alice:dKRW.hanriver"
BANK = "hanriver:dKRW.hanriver"


def clean_env(**extra: str) -> dict[str, str]:
    """The inherited environment without any WONLEDGER_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WONLEDGER_")}
    env.update(extra)
    return env


class Terminal:
    """A pseudo-terminal: the slave end for a child process, the master end to read and type into."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        self.seen = b""

    def read_until(self, wanted: bytes, proc: subprocess.Popen[bytes], timeout: float = 60) -> bytes:
        """Read the screen until ``wanted`` shows (or the process ends and nothing more comes)."""
        deadline = time.monotonic() + timeout
        while wanted not in self.seen and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # EIO: every slave end is closed
                    break
                if not chunk:
                    break
                self.seen += chunk
            elif proc.poll() is not None:
                # drain what is left, then stop
                if not select.select([self.master], [], [], 0.2)[0]:
                    break
        return self.seen

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


@pytest.fixture
def terminal() -> Terminal:
    t = Terminal()
    yield t  # type: ignore[misc]
    t.close()


def start(ledger: Ledger, args: Sequence[str], terminal: Terminal, stdin: int | None, *, controlling: bool = False) -> subprocess.Popen[bytes]:
    """`wonledger ARGS` with stderr on the terminal (and, when ``controlling``, the terminal as its controlling tty)."""
    env = clean_env(WONLEDGER_DB=ledger.db, WONLEDGER_KEYS=str(ledger.keys), COLUMNS="100")
    slave = terminal.slave

    def own_the_terminal() -> None:
        # a new session whose controlling terminal is the pty: typing ^C there sends SIGINT to it
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    return subprocess.Popen(
        [WONLEDGER, *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=slave,
        cwd=ledger.cwd,
        env=env,
        preexec_fn=own_the_terminal if controlling else None,
        start_new_session=not controlling,
    )


def finish(proc: subprocess.Popen[bytes], terminal: Terminal) -> tuple[int, str, str]:
    out, _ = proc.communicate(timeout=120)
    screen = terminal.read_until(b"\x00never", proc, timeout=2).decode("utf-8", "replace")
    return proc.returncode, out.decode(), screen


def batch(ledger: Ledger, count: int, prefix: str = "t") -> bytes:
    """``count`` one-won transfers from alice, signed with her PEM key (read once) outside wonledger."""
    ledger_id = ledger.id()
    key = serialization.load_pem_private_key(ledger.key("alice").read_bytes(), password=None)
    out = []
    for n in range(count):
        tx = ledger.transfer_tx(f"{prefix}-{n}", ALICE, BANK, "dKRW.hanriver", 1, ledger_id=ledger_id)
        sig = base64.urlsafe_b64encode(key.sign(rfc8785.dumps(tx))).rstrip(b"=").decode()  # type: ignore[call-arg, union-attr]
        out.append(json.dumps({"tx": tx, "signatures": [{"signer": "alice", "sig": sig}]}) + "\n")
    return "".join(out).encode()


def test_submit_from_a_redirected_file_shows_a_progress_bar_and_posts_everything(sh: Ledger, terminal: Terminal, tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_bytes(batch(sh, 3))
    with path.open("rb") as stdin:
        proc = start(sh, ["submit", "-"], terminal, stdin.fileno())
        code, out, screen = finish(proc, terminal)
    assert code == 0, screen
    assert "Traceback" not in screen and "INTERNAL" not in screen, screen
    assert "submitting" in screen and "100%" in screen, screen
    assert out.strip() == "posted 3, duplicates 0, rejected 0"


def test_submit_from_a_pipe_counts_bytes_read_instead_of_crashing(sh: Ledger, terminal: Terminal) -> None:
    lines = batch(sh, 3)
    proc = start(sh, ["submit", "-"], terminal, subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(lines)
    proc.stdin.close()
    proc.stdin = None
    code, out, screen = finish(proc, terminal)
    assert code == 0, screen
    assert "INTERNAL" not in screen and "Traceback" not in screen, screen
    assert f"{len(lines):,} bytes read" in screen, screen
    assert out.strip() == "posted 3, duplicates 0, rejected 0"


def test_reconcile_from_a_pipe_at_a_terminal_reports_like_from_a_file(sh: Ledger, terminal: Terminal) -> None:
    statement = sh("statement", ALICE, "--format", "csv").ok().stdout.encode()
    proc = start(sh, ["reconcile", "-", "--account", ALICE], terminal, subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(statement)
    proc.stdin.close()
    proc.stdin = None
    code, out, screen = finish(proc, terminal)
    assert code == 0, screen
    assert "INTERNAL" not in screen and "Traceback" not in screen, screen
    assert "reconciling" in screen, screen
    assert "clean" in out, out


def test_verify_at_a_terminal_draws_its_bar_on_stderr_and_keeps_stdout_clean(sh: Ledger, terminal: Terminal) -> None:
    proc = start(sh, ["verify"], terminal, subprocess.DEVNULL)
    code, out, screen = finish(proc, terminal)
    assert code == 0, screen
    assert "verifying" in screen and "100%" in screen, screen
    assert out.startswith("ok: ") and "verifying" not in out


def test_ctrl_c_in_submit_says_how_many_lines_had_posted_and_a_rerun_posts_the_rest(sh: Ledger, terminal: Terminal) -> None:
    # 2,500 lines through a pipe that stays open: the first chunk of 1,000 commits once the
    # second is read, then submit waits for more input; ^C typed at the terminal stops it there.
    lines = batch(sh, 2500, prefix="c")
    before = sh.read("--json", "info").json()["transactions"]
    proc = start(sh, ["submit", "-"], terminal, subprocess.PIPE, controlling=True)
    assert proc.stdin is not None
    proc.stdin.write(lines)
    proc.stdin.flush()
    deadline = time.monotonic() + 90
    while sh.read("--json", "info").json()["transactions"] < before + 1000:
        assert proc.poll() is None, terminal.read_until(b"error", proc, timeout=1)
        assert time.monotonic() < deadline, "the first chunk never committed"
        time.sleep(0.2)
    os.write(terminal.master, b"\x03")  # Ctrl-C, as typed
    code, out, screen = finish(proc, terminal)
    proc.stdin.close()
    assert code == 130, screen
    assert "Traceback" not in screen, screen
    assert "error: INTERRUPTED: stopped by Ctrl-C: 1,000 line(s) had posted" in " ".join(screen.split()), screen
    assert out == ""
    assert sh.read("--json", "info").json()["transactions"] == before + 1000

    rerun = sh("--json", "submit", "-", input=lines).ok().json()
    assert rerun == {"posted": 1500, "duplicates": 1000, "rejected": []}
    assert sh("verify").exit_code == 0


def test_sigint_without_a_terminal_ends_submit_with_exit_130_and_one_error_line(sh: Ledger, tmp_path: Path) -> None:
    lines = batch(sh, 2100, prefix="s")  # the first chunk commits once the second is read
    proc = subprocess.Popen(
        [WONLEDGER, "submit", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=sh.cwd,
        env=clean_env(WONLEDGER_DB=sh.db, WONLEDGER_KEYS=str(sh.keys)),
    )
    assert proc.stdin is not None
    proc.stdin.write(lines)
    proc.stdin.flush()
    deadline = time.monotonic() + 90
    while not _posted(sh, "s-999"):
        assert proc.poll() is None
        assert time.monotonic() < deadline, "the first chunk never committed"
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    text = err.decode()
    assert "Traceback" not in text, text
    errors = [line for line in text.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: INTERRUPTED: stopped by Ctrl-C: 1,000 line(s) had posted"), text
    assert out == b""


def _posted(ledger: Ledger, tx_id: str) -> bool:
    from click.testing import CliRunner

    from wonledger_cli.main import cli

    result = CliRunner(env={"WONLEDGER_DB": None, "WONLEDGER_KEYS": None}).invoke(cli, ["--db", ledger.db, "--keys", str(ledger.keys), "--json", "tx", "show", tx_id])
    return result.exit_code == 0


def test_bench_at_a_terminal_shows_its_progress_and_prints_its_figures_on_stdout(sh: Ledger, terminal: Terminal) -> None:
    proc = start(sh, ["bench", "--count", "50", "--rounds", "1"], terminal, subprocess.DEVNULL)
    code, out, screen = finish(proc, terminal)
    assert code == 0, screen
    assert "signing the batch" in screen and "timing floor and ingest" in screen and "100%" in screen, screen
    assert "ingest (wonledger submit)" in out and "signing the batch" not in out
