"""The schema: what the Alembic migration builds, and which databases wonledger agrees to open."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from importlib import resources
from pathlib import Path

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from wonledger import AlreadyExists, Ledger, NotALedger
from wonledger.store import SCHEMA_HEAD, Store
from wonledger.store.tables import metadata


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
    config.set_main_option("script_location", str(resources.files("wonledger.store") / "migrations"))
    script = ScriptDirectory.from_config(config)
    assert script.get_heads() == [SCHEMA_HEAD]
    assert next(r.revision for r in script.walk_revisions()) == SCHEMA_HEAD


def test_a_new_ledger_is_stamped_with_the_head_revision(ledger: Ledger, raw) -> None:
    assert raw(ledger).scalar("SELECT version_num FROM alembic_version") == SCHEMA_HEAD
    assert ledger.info().schema == SCHEMA_HEAD


@pytest.mark.parametrize("revision", ["9999", "0000", "abcdef123456"])
def test_a_database_at_another_revision_is_not_opened(ledger: Ledger, raw, revision: str, wonledger) -> None:
    url = ledger._store.url
    raw(ledger).execute("UPDATE alembic_version SET version_num = :r", r=revision)
    with pytest.raises(NotALedger, match=revision):
        Ledger.open(url, ledger._keys.directory)
    done = wonledger(url, "balance")
    assert done.returncode == 2
    assert done.stderr.startswith("error: NOT_A_LEDGER:")


def test_a_database_whose_revision_row_is_gone_is_not_opened(ledger: Ledger, raw) -> None:
    raw(ledger).execute("DELETE FROM alembic_version")
    with pytest.raises(NotALedger):
        Ledger.open(ledger._store.url, ledger._keys.directory)


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
        Ledger.create(ledger._store.url, tmp_path / "other-keys")
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
    from wonledger import DbUnreachable

    url = sqlalchemy.engine.make_url(pg_database()).set(database="wl_test_does_not_exist_9f8e7d")
    with pytest.raises(DbUnreachable):
        Ledger.open(url.render_as_string(hide_password=False), tmp_path / "keys")


TABLES_OF_0003 = ("participant_keys", "checkpoints", "breaker_trips", "conversions", "outflows", "rejections", "quotes")
LEGACY = Path(__file__).parent / "legacy"


def legacy_ledger(tmp_path: Path, schema: str = "0003") -> tuple[str, Path]:
    """A copy of a ledger made by an earlier wonledger (tests/storage/legacy/README.md); "0001" is the 0002 one taken back."""
    made = "0003" if schema == "0003" else "0002"
    shutil.copy(LEGACY / f"ledger-{made}.db", tmp_path / "ledger.db")
    keys = tmp_path / "keys"
    shutil.copytree(LEGACY / ("keys" if made == "0003" else "keys-0002"), keys)
    keys.chmod(0o700)
    for pem in keys.iterdir():
        pem.chmod(0o600)
    if schema == "0001":
        conn = sqlite3.connect(tmp_path / "ledger.db")
        with conn:
            conn.execute("DROP TABLE issuers")
            conn.execute("UPDATE alembic_version SET version_num = '0001'")
        conn.close()
    return f"sqlite:///{tmp_path / 'ledger.db'}", keys


def test_a_ledger_made_at_schema_0003_opens_freezes_its_registry_in_a_genesis_entry_and_verifies(tmp_path: Path) -> None:
    url, keys = legacy_ledger(tmp_path)
    lg = Ledger.open(url, keys)
    try:
        assert lg.info().schema == SCHEMA_HEAD
        genesis = lg.transaction("_genesis")
        assert genesis.tx.kind == "genesis" and genesis.seq == 16  # after the 15 entries the old ledger had
        report = lg.verify()
        assert report.ok, report.problems
        assert report.notes and "_genesis" in report.notes[0]
        # Old entries keep verifying under the keys of their time (alice rotated hers before `after-rotation`).
        assert lg.transaction("after-rotation").status == "posted"
        # And the ledger works on: a transfer, a key rotation, a new participant by its bank.
        lg.payments.transfer("alice:dKRW.hanriver", "seoul-exports:dKRW.hanriver", 10, tx_id="after-upgrade")
        lg.registry.rotate_key("bob")
        lg.registry.add_participant("carol", "individual", "KR", by="hanriver")
        assert lg.verify().ok
    finally:
        lg.close()
    again = Ledger.open(url, keys)  # the registry is frozen once
    try:
        assert sum(1 for e in again.history("alice:dKRW.hanriver") if e.tx.kind == "genesis") == 0
        assert again.info().transactions == 19
    finally:
        again.close()


def test_a_schema_0003_ledger_whose_first_command_is_a_transfer_is_upgraded_before_the_transfer(tmp_path: Path, wonledger) -> None:
    # The CLI checks the schema inside its first read: for an older ledger that read stops, the ledger is
    # upgraded (schema, genesis entry, control tables), and the command runs against the upgraded ledger.
    url, keys = legacy_ledger(tmp_path)
    done = wonledger(url, "--json", "transfer", "alice:dKRW.hanriver", "hanriver", "10", "--id", "first-after-upgrade", keys=keys)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["seq"] == 17  # after the old ledger's 15 entries and the _genesis entry
    done = wonledger(url, "--json", "verify", keys=keys)
    assert done.returncode == 0 and json.loads(done.stdout)["ok"], done.stdout
    assert wonledger(url, "--json", "info", keys=keys).returncode == 0


def test_an_edit_to_the_frozen_registry_of_an_upgraded_ledger_is_caught(tmp_path: Path) -> None:
    url, keys = legacy_ledger(tmp_path)
    Ledger.open(url, keys).close()
    conn = sqlite3.connect(tmp_path / "ledger.db")
    with conn:
        conn.execute("UPDATE participants SET jurisdiction = 'HK' WHERE id = 'alice'")
    conn.close()
    lg = Ledger.open(url, keys)
    try:
        problems = lg.verify().problems
        assert [p.kind for p in problems] == ["participant"] and "alice" in problems[0].detail
    finally:
        lg.close()


@pytest.mark.parametrize("schema", ["0002", "0001"])
def test_a_ledger_made_at_an_older_schema_is_upgraded_all_the_way_and_verifies(tmp_path: Path, schema: str) -> None:
    url, keys = legacy_ledger(tmp_path, schema)
    lg = Ledger.open(url, keys)
    try:
        assert lg.info().schema == SCHEMA_HEAD
        assert lg.registry.issuers() == {"HKDS": "victoria", "KRWS": "kstable", "USDS": "usdco"}
        kept = lg._store.reading(lambda uow: uow.conn.exec_driver_sql("SELECT participant FROM participant_keys").scalars().all())
        assert sorted(kept) == sorted(p.id for p in lg.registry.participants())
        lg.payments.transfer("alice:dKRW.hanriver", "hanriver:dKRW.hanriver", 10)
        lg.stablecoins.mint("KRWS", 10, "alice", "dKRW.hanriver")
        report = lg.verify()
        assert report.ok, report.problems
        assert lg.transaction("_genesis").tx.kind == "genesis"
    finally:
        lg.close()
