"""The command line against a real PostgreSQL database (WONLEDGER_TEST_PG_URL)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Run

pytestmark = pytest.mark.postgres

ALICE = "alice:dKRW.hanriver"
BANK = "hanriver:dKRW.hanriver"


def test_init_transfer_and_verify_on_postgresql_in_subprocesses(
    pg_database: Callable[[], str], process: Callable[..., Run], tmp_path: Path
) -> None:
    url = pg_database()
    keys = str(tmp_path / "keys")
    info = process("--db", url, "--keys", keys, "--json", "init", cwd=tmp_path).ok().json()
    assert (info["transactions"], info["accounts"]) == (44, 20)
    assert info["db"].startswith("postgresql+psycopg://")
    shown = process("--db", url, "--keys", keys, "--json", "transfer", ALICE, BANK, "1,000", "--id", "pg-1", cwd=tmp_path).ok().json()
    assert (shown["status"], shown["seq"]) == ("posted", 45)
    assert process("--db", url, "--keys", keys, "--json", "verify", cwd=tmp_path).ok().json() == {"ok": True, "transactions": 45, "problems": []}


def test_on_postgresql_a_refused_transfer_and_a_second_init_change_nothing(
    pg_database: Callable[[], str], cli_run: Callable[..., Run], tmp_path: Path
) -> None:
    url = pg_database()
    base = ("--db", url, "--keys", str(tmp_path / "keys"))
    cli_run(*base, "init").ok()

    def state() -> tuple[object, int]:
        return cli_run(*base, "--json", "balance").ok().json(), cli_run(*base, "--json", "info").ok().json()["transactions"]

    before = state()
    cli_run(*base, "transfer", ALICE, BANK, "5,000,001").error("INSUFFICIENT_FUNDS", exit_code=1)
    cli_run(*base, "transfer", ALICE, ALICE, "5").error("BAD_INPUT", exit_code=2)
    cli_run(*base, "transfer", ALICE, BANK, "1.5").error("BAD_AMOUNT", exit_code=2)
    cli_run(*base, "init").error("ALREADY_EXISTS", exit_code=2)
    assert state() == before
    first = cli_run(*base, "--json", "transfer", ALICE, BANK, "10", "--id", "pg-2").ok().json()
    again = cli_run(*base, "--json", "transfer", ALICE, BANK, "10", "--id", "pg-2").ok().json()
    assert (again["seq"], again["duplicate"]) == (first["seq"], True)
    assert cli_run(*base, "verify").exit_code == 0


def test_a_postgresql_database_that_does_not_exist_is_refused_cleanly(cli_run: Callable[..., Run], pg_database: Callable[[], str]) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(pg_database()).set(database="wl_no_such_database_here").render_as_string(hide_password=False)
    run = cli_run("--db", url, "info")
    assert run.exit_code in (1, 2)
    run.error("DB_UNREACHABLE")


def test_a_send_abroad_a_two_phase_swap_and_a_run_breaker_refusal_on_postgresql(
    pg_database: Callable[[], str], cli_run: Callable[..., Run], tmp_path: Path
) -> None:
    base = ("--db", pg_database(), "--keys", str(tmp_path / "keys"))
    cli_run(*base, "init").ok()
    sent = cli_run(*base, "--json", "send", "alice", "kowloon-supply", "2,000,000", "--deliver", "HKDS").ok().json()
    assert sent["travel"]["originator"]["id"] == "alice" and len(sent["legs"]) == 5
    cli_run(*base, "mint", "HKDS", "500", "--to", "kowloon-supply", "--pay-with", "dHKD.harbour").ok()
    cli_run(*base, "swap", "kowloon-supply", "100", "HKDS", "KRWS", "--hold", "--id", "pg-pvp").ok()
    cli_run(*base, "void", "pg-pvp").ok()
    cli_run(*base, "send", "seoul-exports", "kowloon-supply", "600,000,000", "--deliver", "HKDS").ok()
    before = cli_run(*base, "--json", "balance").ok().json()
    cli_run(*base, "send", "seoul-exports", "kowloon-supply", "600,000,000", "--deliver", "HKDS").error("RUN_BREAKER", exit_code=1)
    assert cli_run(*base, "--json", "balance").ok().json() == before
    assert cli_run(*base, "--json", "report", "flows").ok().json()["run_breaker"]["last_refused"]
    assert [r["code"] for r in cli_run(*base, "--json", "report", "rejections").ok().json()["rejections"]] == ["RUN_BREAKER"]
    assert cli_run(*base, "--json", "verify").ok().json()["ok"] is True
