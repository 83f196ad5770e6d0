"""The installed `wonledger` console script in real subprocesses, as a user types it."""

from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Ledger, Run

WONLEDGER = Path(sys.executable).parent / "wonledger"

ALICE = "alice:dKRW.hanriver"
BANK = "hanriver:dKRW.hanriver"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_console_script_is_installed_beside_the_interpreter() -> None:
    assert os.access(WONLEDGER, os.X_OK)


def test_init_in_an_empty_directory_makes_the_database_and_private_keys_there(process: Callable[..., Run], tmp_path: Path) -> None:
    home = tmp_path / "work"
    home.mkdir()
    run = process("init", cwd=home).ok()
    assert run.stdout.startswith("Created ledger wl-")
    assert (home / "wonledger.db").is_file()
    keys = home / "wonledger-keys"
    assert mode(keys) == 0o700
    pems = sorted(keys.iterdir())
    assert len(pems) == 17 and all(p.suffix == ".pem" for p in pems)  # 16 participants and the operator
    assert [p.name for p in pems if p.name.startswith("_operator-wl-")] == [pems[0].name]
    assert {mode(p) for p in pems} == {0o600}
    assert pems[0].read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    info = process("--json", "info", cwd=home).ok().json()
    assert (info["db"], info["transactions"], info["accounts"]) == ("sqlite:///wonledger.db", 44, 20)
    again = process("init", cwd=home)
    again.error("ALREADY_EXISTS", exit_code=2)
    assert process("--json", "info", cwd=home).ok().json() == info


def test_init_keeps_keys_private_even_under_a_permissive_umask(process: Callable[..., Run], tmp_path: Path) -> None:
    process("--db", f"sqlite:///{tmp_path / 'l.db'}", "--keys", "k", "init", cwd=tmp_path, umask=0o000).ok()
    assert mode(tmp_path / "k") == 0o700
    assert {mode(p) for p in (tmp_path / "k").iterdir()} == {0o600}


def test_init_of_the_empty_world_in_a_subprocess_has_no_transactions(process: Callable[..., Run], tmp_path: Path) -> None:
    info = process("--json", "--db", f"sqlite:///{tmp_path / 'e.db'}", "--keys", str(tmp_path / "k"), "init", "--world", "empty", cwd=tmp_path).ok().json()
    assert (info["transactions"], info["accounts"]) == (0, 0)


def test_a_transfer_in_a_subprocess_uses_the_ledger_named_by_the_environment(sh: Ledger) -> None:
    before = sh.balances()
    run = sh("transfer", ALICE, BANK, "1,234", "--memo", "typed at a prompt").ok()
    assert "1,234 dKRW.hanriver" in run.stdout and run.stderr == ""
    assert sh.balances()[ALICE]["balance"] == before[ALICE]["balance"] - 1234
    assert not list(sh.cwd.iterdir())  # nothing written into the working directory


def test_db_and_keys_options_win_over_the_environment(sh: Ledger, process: Callable[..., Run], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WONLEDGER_")}
    env.update(WONLEDGER_DB=f"sqlite:///{tmp_path / 'elsewhere.db'}", WONLEDGER_KEYS=str(tmp_path / "nokeys"))
    run = process("--db", sh.db, "--keys", str(sh.keys), "--json", "transfer", ALICE, BANK, "5", cwd=tmp_path, env=env).ok()
    assert run.json()["status"] == "posted"
    assert not (tmp_path / "elsewhere.db").exists()


def test_a_transfer_with_an_id_run_twice_in_subprocesses_posts_once_and_both_exit_zero(sh: Ledger) -> None:
    first = sh("--json", "transfer", ALICE, BANK, "700", "--id", "retry-1").ok().json()
    second = sh("--json", "transfer", ALICE, BANK, "700", "--id", "retry-1").ok().json()
    assert second["seq"] == first["seq"] and second["duplicate"] is True
    assert sh.balances()[ALICE]["balance"] == 5_000_000 - 700


def test_submit_in_a_subprocess_posts_a_file_then_finds_only_duplicates(sh: Ledger) -> None:
    ledger_id = sh.id()
    lines = [sh.sign(sh.transfer_tx(f"sub-{n}", ALICE, BANK, "dKRW.hanriver", 100 + n, ledger_id=ledger_id), ["alice"]) for n in range(3)]
    (sh.cwd / "batch.jsonl").write_text("\n".join(lines) + "\n")
    run = sh("--json", "submit", "batch.jsonl").ok()
    assert run.json() == {"posted": 3, "duplicates": 0, "rejected": []}
    state = sh.state()
    assert sh("--json", "submit", "batch.jsonl").ok().json() == {"posted": 0, "duplicates": 3, "rejected": []}
    assert sh.state() == state


def test_submit_in_a_subprocess_reads_standard_input(sh: Ledger) -> None:
    line = sh.sign(sh.transfer_tx("stdin-1", ALICE, BANK, "dKRW.hanriver", 9), ["alice"])
    assert sh("submit", "-", input=line + "\n").ok().stdout.strip() == "posted 1, duplicates 0, rejected 0"


def test_submit_in_a_subprocess_reports_bad_lines_and_posts_good_ones(sh: Ledger) -> None:
    ledger_id = sh.id()
    good = sh.sign(sh.transfer_tx("fine-1", ALICE, BANK, "dKRW.hanriver", 10, ledger_id=ledger_id), ["alice"])
    (sh.cwd / "mixed.jsonl").write_bytes(good.replace("fine-1", "float-1").replace('"amount": 10', '"amount": 10.0').encode() + b"\n" + b"\xde\xad\xbe\xef\n" + good.encode() + b"\n")
    run = sh("--json", "submit", "mixed.jsonl")
    assert run.exit_code == 1
    assert run.json()["posted"] == 1
    assert [(r["line"], r["code"]) for r in run.json()["rejected"]] == [(1, "BAD_AMOUNT"), (2, "BAD_INPUT")]
    assert run.stderr.splitlines()[0].startswith("error: BAD_AMOUNT: line 1: ")
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("args", "code", "exit_code"),
    [
        pytest.param(("transfer", ALICE, BANK, "--", "-5"), "BAD_AMOUNT", 2, id="negative-amount"),
        pytest.param(("transfer", ALICE, BANK, str(2**64)), "BAD_AMOUNT", 2, id="beyond-64-bits"),
        pytest.param(("transfer", ALICE, "nobody:dKRW.hanriver", "5"), "UNKNOWN_ACCOUNT", 2, id="unknown-account"),
        pytest.param(("transfer", ALICE, BANK, "6,000,000"), "INSUFFICIENT_FUNDS", 1, id="insufficient-funds"),
        pytest.param(("submit", "missing.jsonl"), "BAD_INPUT", 2, id="missing-file"),
        pytest.param(("frobnicate",), "BAD_INPUT", 2, id="unknown-command"),
    ],
)
def test_bad_input_in_a_subprocess_is_one_error_line_and_changes_nothing(sh: Ledger, args: tuple[str, ...], code: str, exit_code: int) -> None:
    before = sh.state()
    run = sh("--json", *args)
    message = run.error(code, exit_code=exit_code)
    assert run.json() == {"error": {"code": code, "message": message}}
    assert sh.state() == before


def test_arguments_that_are_not_utf8_are_bad_input_not_a_crash(sh: Ledger) -> None:
    before = sh.state()
    bad_memo = os.fsdecode(b"caf\xe9 in latin-1")
    sh("transfer", ALICE, BANK, "5", "--memo", bad_memo).error("BAD_INPUT", exit_code=2)
    run = sh("--json", "tx", "show", os.fsdecode(b"\xff\xfe"))
    message = run.error("BAD_INPUT", exit_code=2)
    assert run.json() == {"error": {"code": "BAD_INPUT", "message": message}}
    assert sh.state() == before


@pytest.mark.parametrize("url", ["foo://x", "not a url"])
def test_a_bad_db_url_in_a_subprocess_is_bad_input(process: Callable[..., Run], tmp_path: Path, url: str) -> None:
    process("--db", url, "info", cwd=tmp_path).error("BAD_INPUT", exit_code=2)
    assert not list(tmp_path.iterdir())


def test_a_text_file_as_the_database_in_a_subprocess_is_not_a_ledger(process: Callable[..., Run], tmp_path: Path) -> None:
    (tmp_path / "x.db").write_text("not a database")
    process("--db", "sqlite:///x.db", "info", cwd=tmp_path).error("NOT_A_LEDGER", exit_code=2)
    process("--db", "sqlite:///x.db", "init", cwd=tmp_path).error("NOT_A_LEDGER", exit_code=2)
    assert (tmp_path / "x.db").read_text() == "not a database"


def test_no_ledger_in_the_working_directory_says_to_run_init(process: Callable[..., Run], tmp_path: Path) -> None:
    message = process("balance", cwd=tmp_path).error("NOT_A_LEDGER", exit_code=2)
    assert "init" in message
    assert not list(tmp_path.iterdir())


def test_an_expired_hold_can_be_neither_posted_nor_voided(sh: Ledger) -> None:
    before = sh.balances()
    sh("transfer", ALICE, BANK, "800", "--hold", "--timeout", "1", "--id", "short").ok()
    time.sleep(1.2)
    sh("post", "short").error("HOLD_EXPIRED", exit_code=1)
    # The refused post found the hold due and voided it (the ledger's own entry); the money is released.
    assert sh.tx("short")["status"] == "voided"
    assert sh.tx("_expire:short")["kind"] == "expire"
    assert sh.balances() == before
    state = sh.state()
    sh("void", "short").error("HOLD_EXPIRED", exit_code=1)
    sh("post", "short", "100").error("HOLD_EXPIRED", exit_code=1)
    assert sh.state() == state
    assert sh("verify").ok().stdout.startswith("ok: 46 transactions")


def test_a_hold_past_its_timeout_no_longer_counts_as_held_in_balance(sh: Ledger) -> None:
    before = sh.balances()
    sh("transfer", ALICE, BANK, "800", "--hold", "--timeout", "1", "--id", "lapsing").ok()
    assert sh.balances() != before
    time.sleep(1.2)
    assert sh.balances() == before
    assert sh.tx("lapsing")["status"] == "voided"


def test_a_bare_wonledger_prints_help_and_succeeds(process: Callable[..., Run], tmp_path: Path) -> None:
    run = process(cwd=tmp_path).ok()
    assert "transfer" in run.stdout and "verify" in run.stdout
