"""The schema: what the Alembic migration builds, and which databases wonledger agrees to open."""

from __future__ import annotations

import os
import sqlite3
from importlib import resources
from pathlib import Path

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from ledger import AlreadyExists, Ledger, NotALedger
from ledger.store import SCHEMA_HEAD, Store
from ledger.store.tables import metadata


def schema_diffs(url: str) -> list:
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def test_the_migration_builds_exactly_the_tables_the_code_queries(fresh_url) -> None:
    url = fresh_url()
    Store.create(url, "wl-schema").dispose()
    assert schema_diffs(url) == []


def test_the_schema_comparison_notices_a_missing_index(fresh_url) -> None:
    """The test above has teeth: a migrated database one index short is reported."""
    url = fresh_url()
    Store.create(url, "wl-schema").dispose()
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_legs_debit")
    engine.dispose()
    diffs = schema_diffs(url)
    assert [d[0] for d in diffs] == ["add_index"]
    assert diffs[0][1].name == "ix_legs_debit"


def test_the_code_knows_the_newest_migration_as_its_schema() -> None:
    config = Config()
    config.set_main_option("script_location", str(resources.files("ledger.store") / "migrations"))
    script = ScriptDirectory.from_config(config)
    assert script.get_heads() == [SCHEMA_HEAD]
    assert [r.revision for r in script.walk_revisions()][0] == SCHEMA_HEAD


def test_a_new_ledger_is_stamped_with_the_head_revision(ledger: Ledger, raw) -> None:
    assert raw(ledger).scalar("SELECT version_num FROM alembic_version") == SCHEMA_HEAD
    assert ledger.info().schema == SCHEMA_HEAD


@pytest.mark.parametrize("revision", ["9999", "0000", "abcdef123456"])
def test_a_database_at_another_revision_is_not_opened(ledger: Ledger, raw, revision: str, wonledger) -> None:
    url = ledger.store.url
    raw(ledger).execute("UPDATE alembic_version SET version_num = :r", r=revision)
    with pytest.raises(NotALedger, match=revision):
        Ledger.open(url, ledger.keys.directory)
    done = wonledger(url, "balance")
    assert done.returncode == 2
    assert done.stderr.startswith("error: NOT_A_LEDGER:")


def test_a_database_whose_revision_row_is_gone_is_not_opened(ledger: Ledger, raw) -> None:
    raw(ledger).execute("DELETE FROM alembic_version")
    with pytest.raises(NotALedger):
        Ledger.open(ledger.store.url, ledger.keys.directory)


def test_an_empty_database_is_not_a_ledger(fresh_url, tmp_path: Path) -> None:
    url = fresh_url()
    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).touch()
    with pytest.raises(NotALedger):
        Ledger.open(url, tmp_path / "keys")


def test_a_database_of_something_else_is_not_a_ledger(fresh_url, tmp_path: Path) -> None:
    url = fresh_url()
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.exec_driver_sql("INSERT INTO customers VALUES (1, 'kim')")
    engine.dispose()
    with pytest.raises(NotALedger):
        Ledger.open(url, tmp_path / "keys")
    with pytest.raises(NotALedger):
        Ledger.create(url, tmp_path / "keys")
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    with engine.connect() as conn:
        assert set(sqlalchemy.inspect(conn).get_table_names()) == {"customers"}  # nothing was added to it
    engine.dispose()


def test_an_existing_ledger_is_not_initialised_again(ledger: Ledger, tmp_path: Path) -> None:
    size = ledger.info().transactions
    with pytest.raises(AlreadyExists):
        Ledger.create(ledger.store.url, tmp_path / "other-keys")
    assert ledger.info().transactions == size


def test_a_sqlite_file_of_garbage_is_not_a_ledger_and_is_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    junk = os.urandom(4096)
    path.write_bytes(junk)
    with pytest.raises(NotALedger):
        Ledger.open(f"sqlite:///{path}", tmp_path / "keys")
    assert path.read_bytes() == junk


def test_a_text_file_is_not_a_ledger(tmp_path: Path, wonledger) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("SQLite format 3 is not what this is\n" * 200)
    with pytest.raises(NotALedger):
        Ledger.open(f"sqlite:///{path}", tmp_path / "keys")
    done = wonledger(f"sqlite:///{path}", "info")
    assert (done.returncode, done.stderr.split(":")[:2]) == (2, ["error", " NOT_A_LEDGER"])


def test_a_sqlite_database_with_other_tables_is_not_a_ledger(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE meta (key TEXT, value TEXT)")  # even a table of the same name
        conn.execute("CREATE TABLE journal (x INTEGER)")
    conn.close()
    with pytest.raises(NotALedger):
        Ledger.open(f"sqlite:///{path}", tmp_path / "keys")


def test_opening_a_missing_sqlite_file_refuses_and_does_not_create_it(tmp_path: Path, wonledger) -> None:
    path = tmp_path / "nowhere" / "missing.db"
    with pytest.raises(NotALedger):
        Ledger.open(f"sqlite:///{path}", tmp_path / "keys")
    assert not path.exists()
    assert not path.parent.exists()
    path.parent.mkdir()
    for command in (["balance"], ["info"], ["verify"], ["transfer", "alice", "seoul-exports", "10"]):
        done = wonledger(f"sqlite:///{path}", *command, keys=tmp_path / "keys")
        assert done.returncode == 2, command
        assert done.stderr.startswith("error: NOT_A_LEDGER:"), command
    assert list(path.parent.iterdir()) == []


@pytest.mark.postgres
def test_a_missing_postgres_database_is_unreachable_not_created(pg_database, tmp_path: Path) -> None:
    from ledger import DbUnreachable

    url = sqlalchemy.engine.make_url(pg_database()).set(database="wl_test_does_not_exist_9f8e7d")
    with pytest.raises(DbUnreachable):
        Ledger.open(url.render_as_string(hide_password=False), tmp_path / "keys")


#: Tables made by 0003 and still there, and by 0004 (0004 drops 0003's breaker_trips).
TABLES_OF_0003 = ("participant_keys", "checkpoints", "conversions", "outflows", "rejections", "quotes", "travel_movements")


def test_a_ledger_made_before_flow_controls_is_upgraded_and_keeps_its_keys(ledger: Ledger) -> None:
    def back_to_0002(uow) -> None:  # type: ignore[no-untyped-def]
        for table in TABLES_OF_0003:
            uow.conn.exec_driver_sql(f"DROP TABLE {table}")
        uow.conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0002'")

    ledger.store.writing(back_to_0002)
    reopened = Ledger.open(ledger.store.url, ledger.keys.directory)
    try:
        assert reopened.info().schema == SCHEMA_HEAD
        keys = reopened.store.reading(lambda uow: uow.conn.exec_driver_sql("SELECT participant FROM participant_keys").scalars().all())
        assert sorted(keys) == sorted(p.id for p in reopened.participants())
        reopened.transfer("alice:dKRW.hanriver", "hanriver:dKRW.hanriver", 10)
        assert reopened.verify().ok
    finally:
        reopened.close()


def test_a_ledger_made_at_0003_is_upgraded_to_keep_travel_movements_and_no_breaker_trips(ledger: Ledger) -> None:
    def back_to_0003(uow) -> None:  # type: ignore[no-untyped-def]
        uow.conn.exec_driver_sql("DROP TABLE travel_movements")
        uow.conn.exec_driver_sql(
            "CREATE TABLE breaker_trips (id INTEGER PRIMARY KEY, asset VARCHAR(32), at VARCHAR(32), "
            "until VARCHAR(32), net_out BIGINT, supply BIGINT)"
        )
        uow.conn.exec_driver_sql("CREATE INDEX ix_breaker_trips_asset_until ON breaker_trips (asset, until)")
        uow.conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0003'")

    ledger.store.writing(back_to_0003)
    reopened = Ledger.open(ledger.store.url, ledger.keys.directory)
    try:
        assert reopened.info().schema == SCHEMA_HEAD == "0004"
        tables = reopened.store.reading(lambda uow: set(sqlalchemy.inspect(uow.conn).get_table_names()))
        assert "travel_movements" in tables and "breaker_trips" not in tables
        reopened.send("alice", "kowloon-supply", 2_000_000, "HKDS")
        assert reopened.verify().ok
    finally:
        reopened.close()


def test_a_ledger_made_before_issuer_registration_is_upgraded_when_opened(ledger: Ledger) -> None:
    def back_to_0001(uow) -> None:  # type: ignore[no-untyped-def]
        for table in TABLES_OF_0003:
            uow.conn.exec_driver_sql(f"DROP TABLE {table}")
        uow.conn.exec_driver_sql("DROP TABLE issuers")
        uow.conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")

    ledger.store.writing(back_to_0001)
    reopened = Ledger.open(ledger.store.url, ledger.keys.directory)
    try:
        assert reopened.info().schema == SCHEMA_HEAD
        assert reopened.issuers() == {"HKDS": "victoria", "KRWS": "kstable", "USDS": "usdco"}
        reopened.mint("KRWS", 10, "alice", "dKRW.hanriver")
        assert reopened.verify().ok
    finally:
        reopened.close()
