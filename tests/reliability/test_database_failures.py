"""The database fails under the ledger: a lock held too long, a read-only file, a full disk, a newer schema.

Each gives one clear line ``error: CODE: message`` and the exit code of
the README's CLI conventions, changes nothing, and loses nothing that had been
acknowledged: once the cause is gone the same command works and `verify`
passes.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from harness import fingerprint, journal_ids, raw_sql, remount, run_wonledger
from sqlalchemy import event

from wonledger import DiskFull, Ledger

TRANSFER = ("transfer", "alice", "hanriver:dKRW.hanriver", "5")


@pytest.mark.slow
def test_a_lock_held_past_the_busy_timeout_is_db_busy_and_the_retry_lands_once(ledger: Ledger, start_worker) -> None:
    url, keys = ledger._store.url, ledger._keys.directory
    before = fingerprint(url)
    holder = start_worker("hold_lock.py", url)
    assert holder.stdout.readline().strip() == "locked"
    # With the default 60 s and twelve retries this would wait twelve minutes; the timeout bounds it all.
    busy = run_wonledger(url, *TRANSFER, "--id", "waited", keys=keys, env={"WONLEDGER_BUSY_TIMEOUT": "1"}, timeout=30)
    assert "busy timeout of 1 s" in busy.error("DB_BUSY", 1)
    assert fingerprint(url) == before
    holder.stdin.close()
    holder.wait(timeout=30)
    run_wonledger(url, *TRANSFER, "--id", "waited", keys=keys, env={"WONLEDGER_BUSY_TIMEOUT": "1"}).ok()
    assert journal_ids(url).count("waited") == 1
    assert ledger.verify().ok


def test_a_nonsense_busy_timeout_is_bad_input(ledger: Ledger) -> None:
    run = run_wonledger(ledger._store.url, "balance", "alice", keys=ledger._keys.directory, env={"WONLEDGER_BUSY_TIMEOUT": "soon"})
    assert "WONLEDGER_BUSY_TIMEOUT" in run.error("BAD_INPUT", 2)


def test_a_schema_from_a_newer_wonledger_is_refused_and_left_as_it_was(ledger: Ledger) -> None:
    url = ledger._store.url
    raw_sql(url, "UPDATE alembic_version SET version_num = '0999'")
    before = fingerprint(url)
    for args in (("balance", "alice"), TRANSFER, ("verify",)):
        message = run_wonledger(url, *args, keys=ledger._keys.directory).error("NOT_A_LEDGER", 2)
        assert "schema 0999" in message and "newer" in message
    assert fingerprint(url) == before


@pytest.mark.postgres
def test_a_read_only_postgres_database_refuses_writes_at_once_and_answers_every_read(pg_database, tmp_path: Path) -> None:
    url, keys = pg_database(), tmp_path / "keys"
    Ledger.create(url, keys).close()
    name = url.rsplit("/", 1)[1]
    raw_sql(url, f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    before = fingerprint(url)
    run_wonledger(url, *TRANSFER, keys=keys).error("DB_READ_ONLY", 1)  # at once, not waited out: a primary set read-only is no failover
    assert run_wonledger(url, "--json", "balance", "alice", keys=keys).ok().json()["accounts"]
    for reading in (("history", "alice:dKRW.hanriver"), ("verify",), ("info",), ("hold", "list"), ("report", "trial-balance")):
        run_wonledger(url, *reading, keys=keys).ok()
    assert fingerprint(url) == before


@pytest.mark.slow
def test_a_read_only_sqlite_file_answers_every_read_refuses_writes_with_db_read_only_and_loses_nothing(
    sqlite_ledger_dir: Callable[[str], Path], small_disk: Callable[[str], Path | None], tmp_path: Path
) -> None:
    disk = small_disk("4m")
    home = (disk or tmp_path) / "ledger"
    shutil.copytree(sqlite_ledger_dir("default"), home)
    url, keys = f"sqlite:///{home / 'wonledger.db'}", home / "keys"
    run_wonledger(url, *TRANSFER, "--id", "before-read-only", keys=keys).ok()
    before = fingerprint(url)
    if disk is not None:
        remount(disk, "ro")  # as root, file modes stop nobody: a read-only filesystem does
    else:
        home.chmod(0o555)
        (home / "wonledger.db").chmod(0o444)
    try:
        message = run_wonledger(url, *TRANSFER, "--id", "while-read-only", keys=keys).error("DB_READ_ONLY", 1)
        assert "read-only" in message and "it answers reads" in message
        # A ledger the user may only read is read: every read command answers.
        assert run_wonledger(url, "--json", "balance", "alice", keys=keys).ok().json()["accounts"][0]["balance"] == 4_999_995
        assert "before-read-only" in run_wonledger(url, "history", "alice:dKRW.hanriver", keys=keys).ok().stdout
        assert run_wonledger(url, "verify", keys=keys).ok().stdout.startswith("ok: 45 transactions")
        for reading in (("info",), ("tx", "show", "before-read-only"), ("hold", "list"), ("report", "trial-balance"), ("report", "supply")):
            run_wonledger(url, *reading, keys=keys).ok()
    finally:
        if disk is not None:
            remount(disk, "rw")
        else:
            home.chmod(0o755)
            (home / "wonledger.db").chmod(0o644)
    assert fingerprint(url) == before
    run_wonledger(url, *TRANSFER, "--id", "while-read-only", keys=keys).ok()
    assert run_wonledger(url, "verify", keys=keys).ok()
    assert journal_ids(url)[-2:] == ["before-read-only", "while-read-only"]


def test_a_full_disk_is_disk_full_nothing_acknowledged_is_lost_and_writing_resumes_when_there_is_room(
    sqlite_ledger_dir: Callable[[str], Path], small_disk: Callable[[str], Path | None], tmp_path: Path
) -> None:
    template = sqlite_ledger_dir("default")
    disk = small_disk(f"{(template / 'wonledger.db').stat().st_size + 256 * 1024}")  # keys, the WAL index and a little room
    home = (disk or tmp_path) / "ledger"
    shutil.copytree(template, home)
    url, keys = f"sqlite:///{home / 'wonledger.db'}", home / "keys"
    ledger = Ledger.open(url, keys)
    if disk is None:
        # Where we may not mount a small filesystem, SQLite's own page limit plays the full disk.
        pages = ledger._store.reading(lambda uow: uow.conn.exec_driver_sql("PRAGMA page_count").scalar())
        ledger._store.dispose()
        event.listen(ledger._store.engine, "connect", lambda c, _r: c.execute(f"PRAGMA max_page_count={pages + 8}"))
    acknowledged = []
    try:
        with pytest.raises(DiskFull, match="full"):
            for n in range(2000):
                acknowledged.append(ledger.payments.transfer("alice:dKRW.hanriver", "hanriver:dKRW.hanriver", 1, tx_id=f"fill-{n}", memo="x" * 900).id)
    finally:
        ledger.close()
    assert acknowledged, "the disk filled before a single transfer"
    if disk is not None:
        before = fingerprint(url)
        run_wonledger(url, *TRANSFER, "--id", "no-room", "--memo", "y" * 900, keys=keys).error("DISK_FULL", 1)
        assert fingerprint(url) == before
        remount(disk, "size=16m")
        run_wonledger(url, *TRANSFER, "--id", "no-room", "--memo", "y" * 900, keys=keys).ok()
    landed = journal_ids(url)
    assert [i for i in landed if i.startswith("fill-")] == acknowledged
    assert run_wonledger(url, "verify", keys=keys).ok()
