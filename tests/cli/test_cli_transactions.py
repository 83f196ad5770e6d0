"""One command, one read and one write: counted in a real process, on SQLite and PostgreSQL.

Every transaction costs a round trip, and on SQLite a write queues behind
other writers: a `transfer` resolves its names, parses its amount and finds
its signer's key in one read, is written in one write, and is shown from
what the write returned. A `balance` is one read, the ledger's schema check
included. The count comes from SQLAlchemy's own "begin" event, listened to
in the process that runs the console script's entry point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from wonledger import Ledger

# Runs `wonledger ARGS...` (the console script's own entry point) and writes how many
# database transactions began to the file $COUNT_TO: on SQLite every BEGIN any connection
# runs (the store's and the quick balance read's through sqlite3 alone), elsewhere every
# transaction SQLAlchemy begins.
COUNTING = """
import atexit, json, os, sqlite3, sys
from sqlalchemy import event
from sqlalchemy.engine import Engine

began = []
event.listen(Engine, "begin", lambda conn: began.append(1) if conn.dialect.name != "sqlite" else None)
_connect = sqlite3.connect
def _counting_connect(*args, **kwargs):
    conn = _connect(*args, **kwargs)
    conn.set_trace_callback(lambda sql: began.append(1) if sql.lstrip().upper().startswith("BEGIN") else None)
    return conn
sqlite3.connect = sqlite3.dbapi2.connect = _counting_connect  # (SQLAlchemy calls it as sqlite3.dbapi2.connect)
atexit.register(lambda: open(os.environ["COUNT_TO"], "w").write(json.dumps(len(began))))

from wonledger_cli.main import main
sys.argv = ["wonledger", *sys.argv[1:]]
main()
"""


@pytest.fixture
def counted(tmp_path: Path) -> Callable[..., tuple[subprocess.CompletedProcess[str], int]]:
    """``counted(url, keys, *args)``: run the CLI in a new process; its result and the transactions it began."""

    def run(url: str, keys: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], int]:
        count_file = tmp_path / "count.json"
        count_file.unlink(missing_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("WONLEDGER_")}
        env.update(WONLEDGER_DB=url, WONLEDGER_KEYS=str(keys), COUNT_TO=str(count_file))
        done = subprocess.run([sys.executable, "-c", COUNTING, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        return done, json.loads(count_file.read_text())

    return run


def _balance(ledger: Ledger, account: str) -> int:
    return ledger.registry.account(account).balance


def test_a_transfer_is_one_read_and_one_write(ledger: Ledger, counted) -> None:  # type: ignore[no-untyped-def]
    done, transactions = counted(ledger._store.url, ledger._keys.directory, "transfer", "alice", "hanriver", "1,000", "--id", "inv-1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("posted   inv-1  transfer"), done.stdout
    assert "1,000 dKRW.hanriver  alice:dKRW.hanriver -> hanriver:dKRW.hanriver" in done.stdout
    assert transactions == 2
    assert _balance(ledger, "alice:dKRW.hanriver") == 5_000_000 - 1000


def test_a_hold_is_one_read_and_one_write_and_says_when_it_expires(ledger: Ledger, counted) -> None:  # type: ignore[no-untyped-def]
    done, transactions = counted(
        ledger._store.url, ledger._keys.directory, "--json", "transfer", "alice:dKRW.hanriver", "hanriver", "500", "--hold", "--timeout", "600", "--id", "h-1"
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert (shown["status"], shown["expires_at"]) == ("pending", ledger.holds.expiry("h-1"))
    assert transactions == 2


def test_a_transfer_refused_by_a_rule_is_refused_in_the_write_and_posts_nothing(ledger: Ledger, counted) -> None:  # type: ignore[no-untyped-def]
    size = ledger.info().transactions
    done, transactions = counted(ledger._store.url, ledger._keys.directory, "transfer", "alice", "hanriver", "5,000,001")
    assert (done.returncode, done.stderr.split(":")[:2]) == (1, ["error", " INSUFFICIENT_FUNDS"])
    assert transactions == 2  # the write records the refusal (`report rejections`)
    assert ledger.info().transactions == size


def test_a_transfer_to_an_unknown_name_stops_at_its_read(ledger: Ledger, counted) -> None:  # type: ignore[no-untyped-def]
    size = ledger.info().transactions
    done, transactions = counted(ledger._store.url, ledger._keys.directory, "transfer", "alice", "nobody", "1")
    assert (done.returncode, done.stderr.split(":")[:2]) == (2, ["error", " UNKNOWN_PARTICIPANT"])
    assert transactions == 1
    assert ledger.info().transactions == size


def test_a_balance_is_one_read_schema_check_included(ledger: Ledger, counted) -> None:  # type: ignore[no-untyped-def]
    done, transactions = counted(ledger._store.url, ledger._keys.directory, "--json", "balance", "alice:dKRW.hanriver")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["accounts"][0]["balance"] == 5_000_000
    assert transactions == 1


@pytest.mark.parametrize(
    "command",
    [
        ("pay", "alice", "seoul-exports", "1,500"),  # across banks: burn, settle in wKRW, issue
        ("deposit", "alice", "100,000", "--bank", "namsan"),  # opens alice's namsan token account in the same write
        ("withdraw", "alice", "1,000", "--bank", "hanriver"),
        ("mint", "KRWS", "10,000", "--to", "alice", "--pay-with", "dKRW.hanriver"),  # opens alice's KRWS account
        ("redeem", "KRWS", "1", "--from", "alice", "--to-asset", "dKRW.hanriver"),  # alice holds KRWS: minted below
    ],
    ids=lambda c: c[0],
)
def test_deposit_and_stablecoin_commands_are_one_read_and_one_write(ledger: Ledger, counted, command: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    ledger.stablecoins.mint("KRWS", 100, "alice", "dKRW.hanriver")
    size = ledger.info().transactions
    done, transactions = counted(ledger._store.url, ledger._keys.directory, "--json", *command)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["kind"] == command[0]
    assert transactions == 2
    assert ledger.info().transactions == size + 1


def test_finishing_a_hold_is_one_read_and_one_write(ledger: Ledger, counted) -> None:  # type: ignore[no-untyped-def]
    ledger.payments.transfer("alice:dKRW.hanriver", "hanriver:dKRW.hanriver", 500, tx_id="h-post", hold_timeout_s=600)
    ledger.payments.transfer("alice:dKRW.hanriver", "hanriver:dKRW.hanriver", 500, tx_id="h-void", hold_timeout_s=600)
    done, transactions = counted(ledger._store.url, ledger._keys.directory, "post", "h-post")
    assert done.returncode == 0 and transactions == 2, done.stderr
    done, transactions = counted(ledger._store.url, ledger._keys.directory, "void", "h-void")
    assert done.returncode == 0 and transactions == 2, done.stderr
    assert [ledger.transaction(h).status for h in ("h-post", "h-void")] == ["posted", "voided"]
    assert ledger.registry.account("alice:dKRW.hanriver").balance == 5_000_000 - 500


@pytest.mark.parametrize(
    "command",
    [
        ("send", "seoul-exports", "kowloon-supply", "1,000,000", "--deliver", "HKDS"),  # mint, PvP at a fresh quote, deliver
        ("swap", "kowloon-supply", "100", "HKDS", "USDS"),
    ],
    ids=lambda c: c[0],
)
def test_a_cross_border_command_stores_its_fresh_quote_in_its_one_write(ledger: Ledger, counted, command: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    ledger.stablecoins.mint("HKDS", 100_000, "kowloon-supply", "dHKD.harbour")  # 1,000.00 HKDS to swap
    done, transactions = counted(ledger._store.url, ledger._keys.directory, "--json", *command)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert transactions == 2
    assert ledger.names.quote(shown["quote"]["id"]).used_by == shown["id"]  # the offer and the exchange that took it, written together


@pytest.mark.parametrize("command", [("balance", "alice"), ("balance",), ("info",)], ids=" ".join)
def test_balances_by_owner_and_info_are_one_read(ledger: Ledger, counted, command: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    done, transactions = counted(ledger._store.url, ledger._keys.directory, *command)
    assert done.returncode == 0, done.stderr
    assert ("alice:dKRW.hanriver" in done.stdout) if command[0] == "balance" else ("operator key" in done.stdout)
    assert transactions == 1
