"""`balance` of a SQLite ledger read through sqlite3 alone gives what the full store gives, or leaves the answer to it.

`wonledger.read_balances` (what the `balance` command tries first) must
give exactly `Ledger.balances` for the same names, holds past their timeout
released as the store releases them; and for anything it does not try (an
unknown name, a ledger the store would upgrade first, a file that is not a
ledger or not there, PostgreSQL) it must answer None, so that the store
reports it as it always did, and leave the file as it found it.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wonledger import Ledger, read_balances

ALICE, BANK = "alice:dKRW.hanriver", "hanriver:dKRW.hanriver"
LEGACY = Path(__file__).parent / "legacy"


def _ledger_with_holds(base: Path) -> str:
    """A ledger with a hold past its timeout (no write has voided it yet), one still running, a posted one, and a transfer."""
    url = f"sqlite:///{base / 'wonledger.db'}"
    with Ledger.open(url, base / "keys") as ledger:
        ledger.payments.transfer(ALICE, BANK, 1_000, tx_id="plain")
        ledger.payments.transfer(BANK, ALICE, 300, tx_id="posted", hold_timeout_s=60)
        ledger.holds.post("posted", tx_id="post-1")
        ledger.payments.transfer(ALICE, "kstable:dKRW.hanriver:reserve", 500, tx_id="running", hold_timeout_s=10**6)
        ledger.payments.transfer(ALICE, BANK, 2_000, tx_id="timed-out", hold_timeout_s=1)  # the last write
    time.sleep(1.1)  # past its timeout: every read after this releases it (commit times follow the real clock, so we wait)
    return url


@pytest.mark.parametrize("names", [(), (ALICE,), ("alice",), ("hanriver", ALICE, "alice"), (BANK, "kstable")])
def test_the_quick_read_gives_what_the_store_gives(sqlite_ledger_dir, names: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    base = sqlite_ledger_dir()
    url = _ledger_with_holds(base)
    with Ledger.open(url, base / "keys") as ledger:  # the real clock, as the quick read's
        expected = ledger.balances(names)
        exponents = {a.asset: ledger.registry.asset(a.asset).exponent for a in expected}
    quick = read_balances(url, names)
    assert quick is not None
    assert quick == (expected, exponents)
    alice = next((a for a in quick[0] if a.id == ALICE), None)
    if alice is not None:  # the timed-out hold is released, the running one still held
        assert alice.debits_pending == 500


def test_unknown_names_are_left_to_the_store_which_names_them(sqlite_ledger_dir) -> None:  # type: ignore[no-untyped-def]
    base = sqlite_ledger_dir()
    url = f"sqlite:///{base / 'wonledger.db'}"
    for names in (("nobody",), ("alice:KRWS",), (ALICE, "nobody:dKRW.hanriver")):
        assert read_balances(url, names) is None


def test_what_is_not_a_plain_sqlite_ledger_at_the_newest_schema_is_left_to_the_store(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    assert read_balances(f"sqlite:///{missing}") is None
    assert not missing.exists()  # opened read-only: nothing was created
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_text("not a database\n")
    assert read_balances(f"sqlite:///{not_a_db}") is None
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert read_balances(f"sqlite:///{empty}") is None
    older = tmp_path / "older.db"
    shutil.copy(LEGACY / "ledger-0003.db", older)
    before = older.read_bytes()
    assert read_balances(f"sqlite:///{older}") is None  # the store upgrades it first
    assert older.read_bytes() == before
    for url in ("sqlite://", "sqlite:///:memory:", f"sqlite:///{older}?mode=ro", "postgresql+psycopg://postgres@127.0.0.1:1/none"):
        assert read_balances(url) is None


def test_the_balance_command_on_sqlite_imports_no_sqlalchemy_and_says_what_the_store_says(sqlite_ledger_dir) -> None:  # type: ignore[no-untyped-def]
    base = sqlite_ledger_dir()
    url = _ledger_with_holds(base)
    probe = (
        "import sys\n"
        "from wonledger_cli.main import main\n"
        f"sys.argv = ['wonledger', '--db', {url!r}, '--keys', {str(base / 'keys')!r}, '--json', 'balance', 'alice']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'alembic')))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True).stdout
    shown, loaded = out.rsplit("LOADED", 1)
    assert loaded.strip() == "[]"
    with Ledger.open(url, base / "keys") as ledger:
        expected = ledger.balances(["alice"])
    assert [(a["id"], a["balance"], a["available"]) for a in json.loads(shown)["accounts"]] == [(a.id, a.balance, a.available) for a in expected]
