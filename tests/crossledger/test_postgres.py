"""A payment across two ledgers in two PostgreSQL databases: each written by its own node process, checked together."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pairs import make_pair, run

from wonledger.crossledger import CRASH_EXIT


@pytest.mark.postgres
@pytest.mark.slow
def test_a_payment_between_two_postgresql_ledgers_killed_between_the_holds_settles_on_resume(
    pg_database: Callable[[], str], tmp_path: Path
) -> None:
    kr_url, hk_url = pg_database(), pg_database()
    for ledger in make_pair(tmp_path, kr_url, hk_url):
        ledger.close()
    places = ("--kr", kr_url, "--kr-keys", str(tmp_path / "kr" / "keys"), "--hk", hk_url, "--hk-keys", str(tmp_path / "hk" / "keys"))
    killed = run(tmp_path, "xsend", *places, "seoul-exports", "kowloon-supply", "1,000,000", env={"WONLEDGER_XCRASH": "hk-hold-sent"})
    assert killed.exit_code == CRASH_EXIT
    resumed = run(tmp_path, "--json", "xresume", *places).ok().json()
    assert (resumed["outcome"], resumed["kr"], resumed["hk"]) == ("settled", "fulfilled", "fulfilled")
    for url, keys in ((kr_url, "kr"), (hk_url, "hk")):
        run(tmp_path, "--db", url, "--keys", str(tmp_path / keys / "keys"), "verify").ok()
    assert run(tmp_path, "--json", "verify-pair", *places).ok().json()["outcomes"] == {"settled": 1}
