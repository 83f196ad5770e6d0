"""Bad input through CliRunner: one `error: CODE: message` line, exit 1 or 2, the ledger unchanged."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Ledger, Run

ALICE = "alice:dKRW.hanriver"
BANK = "hanriver:dKRW.hanriver"
KOWLOON = "kowloon-supply:dHKD.harbour"
HARBOUR = "harbour:dHKD.harbour"

BAD_TRANSFERS = [
    pytest.param((ALICE, BANK, "--", "-5"), "BAD_AMOUNT", id="negative-amount"),
    pytest.param((ALICE, BANK, "0"), "BAD_AMOUNT", id="zero-amount"),
    pytest.param((ALICE, BANK, "0.00"), "BAD_AMOUNT", id="zero-with-decimals"),
    pytest.param((ALICE, BANK, "abc"), "BAD_AMOUNT", id="non-numeric-amount"),
    pytest.param((ALICE, BANK, "12abc"), "BAD_AMOUNT", id="trailing-garbage-amount"),
    pytest.param((ALICE, BANK, "NaN"), "BAD_AMOUNT", id="nan-amount"),
    pytest.param((ALICE, BANK, "Infinity"), "BAD_AMOUNT", id="infinite-amount"),
    pytest.param((ALICE, BANK, "1e3"), "BAD_AMOUNT", id="exponent-amount"),
    pytest.param((ALICE, BANK, "0x10"), "BAD_AMOUNT", id="hex-amount"),
    pytest.param((ALICE, BANK, ""), "BAD_AMOUNT", id="empty-amount"),
    pytest.param((ALICE, BANK, "1.5"), "BAD_AMOUNT", id="decimals-on-a-krw-asset"),
    pytest.param((KOWLOON, HARBOUR, "12.505"), "BAD_AMOUNT", id="three-decimals-on-an-hkd-asset"),
    pytest.param((ALICE, BANK, str(2**64)), "BAD_AMOUNT", id="amount-beyond-64-bits"),
    pytest.param((ALICE, BANK, str(2**63)), "BAD_AMOUNT", id="amount-of-2-to-the-63"),
    pytest.param((ALICE, BANK, str(2**53)), "BAD_AMOUNT", id="amount-beyond-signable"),
    pytest.param((ALICE, BANK, "9" * 400), "BAD_AMOUNT", id="amount-of-400-digits"),
    pytest.param((ALICE, BANK, "5 KRWS"), "ASSET_MISMATCH", id="amount-in-another-asset"),
    pytest.param((ALICE, BANK, "5 NOPE"), "ASSET_MISMATCH", id="amount-in-an-unknown-asset-for-an-account"),
    pytest.param(("alice", "hanriver", "5 NOPE"), "UNKNOWN_ASSET", id="unknown-asset"),
    pytest.param((ALICE, "hanriver:wKRW", "5"), "ASSET_MISMATCH", id="accounts-of-two-assets"),
    pytest.param(("alice:KRWS", BANK, "5"), "UNKNOWN_ACCOUNT", id="unknown-debit-account"),
    pytest.param((ALICE, "nobody:dKRW.hanriver", "5"), "UNKNOWN_ACCOUNT", id="unknown-credit-account"),
    pytest.param(("nobody", BANK, "5"), "UNKNOWN_PARTICIPANT", id="unknown-participant"),
    pytest.param(("alice", "kpay", "5"), "UNKNOWN_ACCOUNT", id="participant-without-an-account-in-the-asset"),
    pytest.param(("peakfx", "alice", "5"), "BAD_INPUT", id="owner-with-several-accounts"),
    pytest.param(("Alice", BANK, "5"), "BAD_INPUT", id="malformed-participant"),
    pytest.param((ALICE, ALICE, "5"), "BAD_INPUT", id="same-account-on-both-sides"),
    pytest.param((ALICE, "alice", "5"), "BAD_INPUT", id="same-account-named-two-ways"),
    pytest.param((ALICE, BANK, "5", "--id", "x" * 129), "BAD_INPUT", id="id-of-129-characters"),
    pytest.param((ALICE, BANK, "5", "--id", "has space"), "BAD_INPUT", id="id-with-a-space"),
    pytest.param((ALICE, BANK, "5", "--id", "a/b"), "BAD_INPUT", id="id-with-a-slash"),
    pytest.param((ALICE, BANK, "5", "--id", "café"), "BAD_INPUT", id="id-with-an-accent"),
    pytest.param((ALICE, BANK, "5", "--id", "pay-💸"), "BAD_INPUT", id="id-with-an-emoji"),
    pytest.param((ALICE, BANK, "5", "--id", "a\nb"), "BAD_INPUT", id="id-with-a-newline"),
    pytest.param((ALICE, BANK, "5", "--id", "pay-1\n"), "BAD_INPUT", id="id-ending-in-a-newline"),
    pytest.param((ALICE, BANK, "5", "--id", ""), "BAD_INPUT", id="empty-id"),
    pytest.param((ALICE, BANK, "5", "--id", "_expire:x"), "BAD_INPUT", id="id-in-the-ledgers-own-namespace"),
    pytest.param((ALICE, BANK, "5", "--memo", "m" * 1001), "BAD_INPUT", id="memo-too-long"),
]


@pytest.mark.parametrize(("args", "code"), BAD_TRANSFERS)
def test_a_bad_transfer_is_one_error_line_and_changes_nothing(wl: Ledger, args: tuple[str, ...], code: str) -> None:
    before = wl.state()
    run = wl("transfer", *args)
    run.error(code, exit_code=2)
    assert run.stdout == ""
    assert wl.state() == before


@pytest.mark.parametrize(
    ("args", "code"),
    [p for p in BAD_TRANSFERS if p.id in {"negative-amount", "unknown-asset", "unknown-debit-account", "same-account-on-both-sides", "id-of-129-characters"}],
)
def test_with_json_a_bad_transfer_also_puts_the_error_object_on_stdout(wl: Ledger, args: tuple[str, ...], code: str) -> None:
    before = wl.state()
    run = wl("--json", "transfer", *args)
    message = run.error(code, exit_code=2)
    assert run.json() == {"error": {"code": code, "message": message}}
    assert wl.state() == before


def test_the_json_flag_after_the_command_also_gives_the_error_object(wl: Ledger) -> None:
    run = wl("transfer", ALICE, BANK, "0", "--json")
    assert run.json()["error"]["code"] == "BAD_AMOUNT"
    run.error("BAD_AMOUNT", exit_code=2)


def test_a_long_value_in_an_error_is_cut_so_the_line_stays_readable(wl: Ledger) -> None:
    message = wl("transfer", ALICE, BANK, "5", "--id", "y" * 5000).error("BAD_INPUT", exit_code=2)
    assert len(message) < 300


def test_a_newline_in_a_value_does_not_split_the_error_line(wl: Ledger) -> None:
    run = wl("transfer", "bad\nname", BANK, "5")
    run.error("BAD_INPUT", exit_code=2)


# -- other commands' bad input ---------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("account", "open", "alice", "NOPE"), "UNKNOWN_ASSET"),
        (("account", "open", "nobody", "KRWS"), "UNKNOWN_PARTICIPANT"),
        (("account", "open", "alice", "KRWS", "--label", "Bad Label"), "BAD_INPUT"),
        (("participant", "show", "nobody"), "UNKNOWN_PARTICIPANT"),
        (("balance", "alice", "nobody:KRWS"), "UNKNOWN_ACCOUNT"),
        (("history", "alice:KRWS"), "UNKNOWN_ACCOUNT"),
        (("history", ALICE, "--limit", "0"), "BAD_INPUT"),
        (("tx", "show", "x" * 200), "UNKNOWN_TRANSACTION"),
        (("post", "nope"), "UNKNOWN_TRANSACTION"),
        (("void", "nope"), "UNKNOWN_TRANSACTION"),
        (("reverse", "nope"), "UNKNOWN_TRANSACTION"),
        (("post", "genesis-deposit-alice", "5"), "UNKNOWN_TRANSACTION"),
    ],
    ids=lambda v: "-".join(v) if isinstance(v, tuple) else v,
)
def test_bad_input_to_other_commands_is_one_error_line_and_changes_nothing(wl: Ledger, args: tuple[str, ...], code: str) -> None:
    before = wl.state()
    wl(*args).error(code, exit_code=2)
    assert wl.state() == before


# -- usage errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("frobnicate",), id="unknown-command"),
        pytest.param(("transfer",), id="missing-arguments"),
        pytest.param(("transfer", ALICE, BANK), id="missing-amount"),
        pytest.param(("transfer", ALICE, BANK, "5", "extra"), id="extra-argument"),
        pytest.param(("transfer", ALICE, BANK, "5", "--bogus"), id="unknown-option"),
        pytest.param(("tx", "delete", "x"), id="unknown-subcommand"),
        pytest.param(("init", "--world", "mars"), id="bad-choice"),
        pytest.param(("bench", "--count", "many"), id="non-integer-option"),
        pytest.param(("--db",), id="option-without-its-value"),
    ],
)
def test_a_usage_error_exits_2_with_a_bad_input_line_and_changes_nothing(wl: Ledger, args: tuple[str, ...]) -> None:
    before = wl.state()
    run = wl(*args)
    run.error("BAD_INPUT", exit_code=2)
    assert wl.state() == before


def test_a_usage_error_with_json_puts_the_error_object_on_stdout(wl: Ledger) -> None:
    run = wl("--json", "frobnicate")
    message = run.error("BAD_INPUT", exit_code=2)
    assert run.json() == {"error": {"code": "BAD_INPUT", "message": message}}


def test_a_usage_error_needs_no_database(cli_run: Callable[..., Run], tmp_path: Path) -> None:
    db = tmp_path / "never.db"
    cli_run("--db", f"sqlite:///{db}", "transfer").error("BAD_INPUT", exit_code=2)
    assert not db.exists()


def test_help_and_version_exit_zero(cli_run: Callable[..., Run]) -> None:
    assert "transfer" in cli_run("--help").ok().stdout
    assert "--hold" in cli_run("transfer", "--help").ok().stdout
    assert "0.1.0" in cli_run("--version").ok().stdout


# -- databases that are not wonledger's ---------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("foo://x", id="unknown-scheme"),
        pytest.param("not a url", id="not-a-url"),
        pytest.param("sqlite", id="bare-word"),
        pytest.param("mysql://u@h/d", id="unsupported-database"),
        pytest.param("postgresql+nodriver://u@h/d", id="unknown-driver"),
    ],
)
@pytest.mark.parametrize("command", [("info",), ("--json", "balance"), ("init",)])
def test_a_bad_db_url_is_bad_input(cli_run: Callable[..., Run], tmp_path: Path, url: str, command: tuple[str, ...]) -> None:
    run = cli_run("--db", url, "--keys", str(tmp_path / "keys"), *command)
    run.error("BAD_INPUT", exit_code=2)
    assert not (tmp_path / "keys").exists()


def test_a_sqlite_file_that_does_not_exist_is_not_a_ledger_and_is_not_created(cli_run: Callable[..., Run], tmp_path: Path) -> None:
    db = tmp_path / "missing.db"
    message = cli_run("--db", f"sqlite:///{db}", "info").error("NOT_A_LEDGER", exit_code=2)
    assert "wonledger init" in message
    cli_run("--db", f"sqlite:///{db}", "transfer", ALICE, BANK, "5").error("NOT_A_LEDGER", exit_code=2)
    assert not db.exists()


def _other_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('kim')")
    conn.close()


def _tables(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
    finally:
        conn.close()


@pytest.mark.parametrize(
    "command",
    [("info",), ("--json", "balance"), ("transfer", ALICE, BANK, "5"), ("verify",), ("submit", "-"), ("init",)],
    ids=lambda c: c[-1] if c[0] != "transfer" else "transfer",
)
def test_a_sqlite_database_of_someone_else_is_not_a_ledger_and_is_left_alone(
    cli_run: Callable[..., Run], tmp_path: Path, command: tuple[str, ...]
) -> None:
    db = tmp_path / "other.db"
    _other_sqlite(db)
    run = cli_run("--db", f"sqlite:///{db}", "--keys", str(tmp_path / "keys"), *command, input="")
    run.error("NOT_A_LEDGER", exit_code=2)
    assert _tables(db) == ["customers"]
    assert not (tmp_path / "keys").exists()


@pytest.mark.parametrize("command", [("info",), ("--json", "balance"), ("transfer", ALICE, BANK, "5"), ("init",)], ids=lambda c: c[-1])
def test_a_text_file_named_like_a_database_is_not_a_ledger_and_is_left_alone(
    cli_run: Callable[..., Run], tmp_path: Path, command: tuple[str, ...]
) -> None:
    db = tmp_path / "x.db"
    db.write_text("these are my notes, not a database\n")
    run = cli_run("--db", f"sqlite:///{db}", "--keys", str(tmp_path / "keys"), *command)
    run.error("NOT_A_LEDGER", exit_code=2)
    assert db.read_text() == "these are my notes, not a database\n"
    assert not (tmp_path / "keys").exists()


def test_an_empty_sqlite_file_is_not_a_ledger_until_init(cli_run: Callable[..., Run], tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    db.touch()
    cli_run("--db", f"sqlite:///{db}", "info").error("NOT_A_LEDGER", exit_code=2)
    cli_run("--db", f"sqlite:///{db}", "--keys", str(tmp_path / "keys"), "init", "--world", "empty").ok()
    assert cli_run("--db", f"sqlite:///{db}", "--json", "info").ok().json()["transactions"] == 0


def test_a_directory_as_the_database_is_refused_cleanly(cli_run: Callable[..., Run], tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    run = cli_run("--db", f"sqlite:///{tmp_path / 'dir.db'}", "info")
    assert run.exit_code in (1, 2)
    assert "Traceback" not in run.stderr and len(run.stderr.splitlines()) == 1
    assert run.stderr.startswith("error: ")


def test_the_json_error_object_is_valid_json_even_for_odd_messages(cli_run: Callable[..., Run], tmp_path: Path) -> None:
    run = cli_run("--json", "--db", 'sqlite:///' + str(tmp_path / 'q"u\\o\nte.db'), "info")
    obj = json.loads(run.stdout)
    assert obj["error"]["code"] == "NOT_A_LEDGER"
    run.error("NOT_A_LEDGER", exit_code=2)


def test_the_cli_words_what_to_do_next_where_the_library_only_names_it(cli_run: Callable[..., Run], tmp_path: Path, wl) -> None:  # type: ignore[no-untyped-def]
    missing = cli_run("--db", f"sqlite:///{tmp_path / 'missing.db'}", "balance")
    assert missing.error("NOT_A_LEDGER", exit_code=2).endswith(": run `wonledger init` first (or pass --db)")
    no_quote = wl("swap", "peakfx", "100", "KRWS", "HKDS", "--quote", "q-nope")
    assert no_quote.error("BAD_INPUT", exit_code=2).endswith("no quote q-nope: ask the dealer for one with `wonledger quote`")


def test_a_bundle_written_where_no_file_can_be_is_bad_input_not_a_crash_and_a_good_target_is_replaced_whole(wl: Ledger, tmp_path: Path) -> None:
    # Hypothesis's CLI fuzz found `bundle --out` with a 300-character name ending in INTERNAL (exit 70).
    assert "File name too long" in wl("bundle", "--partner", "wl-0f1e2d3c4b5a", "--out", str(tmp_path / ("x" * 300))).error("BAD_INPUT", exit_code=2)
    kept = tmp_path / "kept.json"
    kept.write_text("what was there\n")
    wl("bundle", "--partner", "wl-0f1e2d3c4b5a", "--out", str(kept)).ok()
    assert json.loads(kept.read_text())["ledger"]
