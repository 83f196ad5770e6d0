"""Fixtures shared by every test: fresh ledgers on SQLite and on the real PostgreSQL.

`make_ledger` gives a new ledger with the default (or empty) world. On SQLite
it copies a template made once per session, so a test costs a file copy, not
a migration and thirteen key generations. On PostgreSQL it creates a
database of its own on the server named by WONLEDGER_TEST_PG_URL and drops
it afterwards. PostgreSQL tests skip only when that variable is unset and we
are not in CI; `.ci/run` sets it, and in CI a missing server is a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wonledger import Ledger

PG_ENV = "WONLEDGER_TEST_PG_URL"

#: Tests that must not run beside one another when the suite runs on two workers (the README's
#: `pytest -n 2 --dist loadgroup`, docs/testing.md "The lanes"): the cluster harness, which needs fixed
#: ports and one cluster for its module, and tests that wait a bounded time for a lock held by another
#: process, a proxy's stall or a terminal's first chunk. They are one unit of work, run one after another
#: on one worker while the other worker runs the rest. (Without -n, everything runs in one process.)
ONE_AT_A_TIME = (
    "tests/cluster/",
    "tests/reliability/test_failover.py",
    "tests/reliability/test_database_failures.py",
    "tests/storage/test_sqlite_locking.py",
    "tests/cli/test_cli_terminal.py",
)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `--dist loadgroup`: every test on its own, but the ONE_AT_A_TIME tests as one unit.

    Not xdist's own grouping by `xdist_group` marks: with pytest 9.2 it no longer groups anything
    (it renames the tests' node ids, which pytest 9.2 no longer reads: pytest-xdist issue 1386), and a
    cluster split over two workers would be brought up twice on the same ports. A scheduler that
    decides the unit from the node id alone does not depend on that.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class OneAtATime(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "one-at-a-time" if nodeid.startswith(ONE_AT_A_TIME) else nodeid

    return OneAtATime(config, log)


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One ledger per world, made once; tests get copies."""
    made = {}
    for world in ("default", "empty"):
        base = tmp_path_factory.mktemp(f"template-{world}")
        Ledger.create(f"sqlite:///{base / 'wonledger.db'}", base / "keys", world=world).close()
        made[world] = base
    return made


@pytest.fixture
def sqlite_ledger_dir(tmp_path: Path, templates: dict[str, Path]) -> Callable[[str], Path]:
    """Copy a template into a fresh directory: wonledger.db and keys/ (mode 0700 kept)."""

    def copy(world: str = "default") -> Path:
        target = tmp_path / f"ledger-{uuid.uuid4().hex[:8]}"
        shutil.copytree(templates[world], target)
        return target

    return copy


def pg_base_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set in CI: the PostgreSQL tests must run there")
        pytest.skip(f"{PG_ENV} is not set")
    return url


@pytest.fixture
def pg_database() -> Iterator[Callable[[], str]]:
    """A factory of fresh, empty PostgreSQL databases, dropped after the test."""
    import sqlalchemy

    base = pg_base_url()
    admin = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def create() -> str:
        name = f"wl_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        made.append(name)
        return sqlalchemy.engine.make_url(base).set(database=name).render_as_string(hide_password=False)

    yield create
    with admin.connect() as conn:
        for name in made:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_ledger(
    backend: str, tmp_path: Path, sqlite_ledger_dir: Callable[[str], Path], request: pytest.FixtureRequest
) -> Iterator[Callable[..., Ledger]]:
    """A factory of fresh ledgers on the test's backend (SQLite, and PostgreSQL too)."""
    opened: list[Ledger] = []

    def make(world: str = "default") -> Ledger:
        if backend == "sqlite":
            base = sqlite_ledger_dir(world)
            ledger = Ledger.open(f"sqlite:///{base / 'wonledger.db'}", base / "keys")
        else:
            url = request.getfixturevalue("pg_database")()
            ledger = Ledger.create(url, tmp_path / f"keys-{uuid.uuid4().hex[:8]}", world=world)
        opened.append(ledger)
        return ledger

    yield make
    for ledger in opened:
        ledger.close()


@pytest.fixture
def ledger(make_ledger: Callable[..., Ledger]) -> Ledger:
    """A fresh ledger with the default world, on SQLite and on PostgreSQL."""
    return make_ledger()
