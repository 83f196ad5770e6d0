"""The issue's attacks through the ordinary command line, in real processes, on a SQLite file and on PostgreSQL.

- the dealer's "exchange" of 100,000,000 KRWS for 0.01 HKDS at no quote,
  signed outside wonledger and handed to ``submit``: refused for want of
  travel data, changing nothing; with travel data it posts and counts its
  whole value against alice's yearly limit;
- an offered quote edited in the database: ``swap --quote`` refuses it and
  ``verify`` names it (exit 3);
- a swap held with the dealer's fee leg: its full post prints no release,
  a partial post of a one-leg hold prints exactly the rest.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from conftest import Ledger, Run, clean_env, run_process


@pytest.fixture
def cli(backend: str, sqlite_ledger_dir: Callable[[str], Path], tmp_path: Path, request: pytest.FixtureRequest) -> Ledger:
    """A default-world ledger run by the console script as a user types it, on the test's backend."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()

    def run(ledger: Ledger, args: tuple[str, ...], input: str | bytes | None) -> Run:
        return run_process(["--db", ledger.db, "--keys", str(ledger.keys), *args], cwd, clean_env(), input)

    ledger = Ledger(sqlite_ledger_dir("default"), run, cwd=cwd)
    if backend == "postgres":
        ledger.db = request.getfixturevalue("pg_database")()
        ledger.keys = tmp_path / "pg-keys"
        ledger("init").ok()
    return ledger


def execute(url: str, sql: str, **params: Any) -> None:
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(sql), params)
    engine.dispose()


def exchange(cli: Ledger, tx_id: str, travel: bool) -> str:
    tx: dict[str, Any] = {
        "ledger": cli.id(), "id": tx_id, "kind": "swap", "memo": "100,000,000 KRWS for 0.01 HKDS",
        "legs": [{"debit": "alice:KRWS", "credit": "peakfx:KRWS", "asset": "KRWS", "amount": 100_000_000},
                 {"debit": "peakfx:HKDS", "credit": "alice:HKDS", "asset": "HKDS", "amount": 1}],
    }
    if travel:
        tx["travel"] = {"originator": {"id": "alice", "account": "alice:KRWS", "kind": "individual", "jurisdiction": "KR"},
                        "beneficiary": {"id": "peakfx", "account": "peakfx:KRWS", "kind": "dealer", "jurisdiction": "HK"}}
    return cli.sign(tx, ["alice", "peakfx"]) + "\n"


@pytest.mark.slow
def test_the_dealers_exchange_for_001_hkds_needs_travel_data_and_counts_whole(cli: Ledger) -> None:
    cli("deposit", "alice", "100,000,000", "--bank", "hanriver").ok()
    cli("mint", "KRWS", "100,000,000", "--to", "alice", "--pay-with", "dKRW.hanriver").ok()
    cli("account", "open", "alice", "HKDS").ok()
    before = cli.state()
    refused = cli("submit", "-", input=exchange(cli, "x-1", travel=False))
    assert refused.exit_code == 1
    assert "TRAVEL_RULE: line 1: x-1 moves USD 72,176.11 of alice's across a border to peakfx" in refused.stderr
    assert cli.state() == before
    cli("submit", "-", input=exchange(cli, "x-2", travel=True)).ok()
    flows = cli("--json", "report", "flows").ok().json()
    alice = next(r for r in flows["residents"] if r["participant"] == "alice")
    assert alice["outflow"] >= 7_217_611  # the whole value in US cents, not the dealer's "price"
    assert cli("--json", "verify").ok().json()["ok"] is True


@pytest.mark.slow
def test_an_offer_edited_in_the_database_is_refused_by_swap_and_named_by_verify(cli: Ledger) -> None:
    cli("mint", "HKDS", "500", "--to", "kowloon-supply", "--pay-with", "dHKD.harbour").ok()
    quote = cli("--json", "quote", "HKDS", "USDS", "100").ok().json()["quote_id"]
    execute(cli.db, "UPDATE quotes SET rate = '100.1', buy_amount = 1001000, expires_at = '2030-01-01T00:00:00.000000Z' WHERE id = :q", q=quote)
    before = cli.state()
    message = cli("swap", "kowloon-supply", "100", "HKDS", "USDS", "--quote", quote).error("BAD_SIGNATURE", 1)
    assert "is not as peakfx offered it" in message
    assert cli.state() == before
    checked = cli("--json", "verify")
    assert checked.exit_code == 3
    assert [p["kind"] for p in checked.json()["problems"]] == ["quote"]


@pytest.mark.slow
def test_a_full_post_of_a_swap_hold_prints_no_release_and_a_partial_post_prints_the_rest(cli: Ledger) -> None:
    cli("mint", "HKDS", "500", "--to", "kowloon-supply", "--pay-with", "dHKD.harbour").ok()
    cli("swap", "kowloon-supply", "100", "HKDS", "USDS", "--hold", "--timeout", "120", "--id", "pvp-1").ok()
    full = cli("post", "pvp-1", "--id", "settle-1").ok()
    assert "released" not in full.stdout
    assert cli("--json", "tx", "show", "settle-1").ok().json()["released"] == []
    cli("transfer", "alice:dKRW.hanriver", "hanriver:dKRW.hanriver", "50,000", "--hold", "--id", "h-1").ok()
    part = cli("post", "h-1", "20,000", "--id", "settle-2").ok()
    assert [line for line in part.stdout.splitlines() if "released" in line] == [
        "  released: 30,000 dKRW.hanriver back to alice:dKRW.hanriver (the rest of the hold)"
    ]
    shown = cli("--json", "history", "alice:dKRW.hanriver").ok().json()["transactions"]
    assert next(t for t in shown if t["id"] == "settle-2")["released"] == [{"account": "alice:dKRW.hanriver", "asset": "dKRW.hanriver", "amount": 30_000}]
    assert json.loads(cli("--json", "verify").ok().stdout)["ok"] is True
