"""Engines from URLs: SQLite tuned for many writers, PostgreSQL through psycopg 3.

SQLite: WAL, a long busy timeout, and ``BEGIN IMMEDIATE`` for every write so
two processes never both read a balance and then both write it (the second
waits at BEGIN instead of failing at COMMIT). Reads begin deferred, so they
never wait for a writer. Nothing here connects until a command runs.

The busy timeout (``WONLEDGER_BUSY_TIMEOUT`` seconds, default 60) bounds how
long a writer waits for a lock held by another process, on SQLite and, as
``lock_timeout``, on PostgreSQL; retries of a whole transaction stop once it
has passed. Driver errors become errors a user can act on: ``DB_BUSY``,
``DB_READ_ONLY``, ``DISK_FULL``, ``DB_UNREACHABLE``, else ``STORAGE_ERROR``.
"""

from __future__ import annotations

import os
import random
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from wonledger.domain.errors import BadInput, DatabaseBusy, DatabaseReadOnly, DbUnreachable, DiskFull, StorageError

T = TypeVar("T")

#: How long a writer waits for another before giving up, in seconds (unless WONLEDGER_BUSY_TIMEOUT says).
SQLITE_BUSY_TIMEOUT_S = 60
BUSY_TIMEOUT_ENV = "WONLEDGER_BUSY_TIMEOUT"
#: Execution option that marks a read-only transaction (a deferred BEGIN on SQLite).
READ_ONLY = "wonledger_read_only"
#: Bounded retries of a whole write transaction on a lock or serialization failure.
MAX_ATTEMPTS = 12


def busy_timeout_s() -> float:
    """The busy timeout in seconds: WONLEDGER_BUSY_TIMEOUT, else 60."""
    text = os.environ.get(BUSY_TIMEOUT_ENV)
    if not text:
        return float(SQLITE_BUSY_TIMEOUT_S)
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 24 * 3600:
        raise BadInput(f"{BUSY_TIMEOUT_ENV}={text[:40]!r} must be a number of seconds above 0 and at most a day")
    return value


def parse_url(url: str):
    try:
        return make_url(url)
    except ArgumentError:
        raise BadInput(f"{url!r} is not a database URL (try sqlite:///wonledger.db)") from None


def sqlite_path(url: str) -> str | None:
    """The file a SQLite URL names, or None for memory and other databases."""
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return database


def make_engine(url: str) -> Engine:
    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql", "cockroachdb"):
        raise BadInput(f"{backend!r} databases are not supported: use sqlite:/// or postgresql+psycopg://")
    try:
        if backend == "sqlite":
            return _sqlite_engine(url)
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        lock_timeout_ms = int(busy_timeout_s() * 1000)
        return create_engine(parsed, pool_size=2, max_overflow=2, connect_args={"options": f"-c lock_timeout={lock_timeout_ms}"})
    except NoSuchModuleError:
        raise BadInput(f"no driver for {parsed.drivername!r}; for PostgreSQL install wonledger[postgres]") from None
    except ImportError as exc:
        raise BadInput(f"the driver for {parsed.drivername!r} is not installed ({exc.name})") from None
    except (ArgumentError, ValueError, TypeError) as exc:
        raise BadInput(f"bad database URL: {exc}") from None


def _sqlite_engine(url: str) -> Engine:
    memory = sqlite_path(url) is None
    timeout = busy_timeout_s()
    engine = create_engine(
        url,
        connect_args={"timeout": timeout, "check_same_thread": False},
        poolclass=StaticPool if memory else None,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's BEGIN below be the only transaction control.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL" if not memory else "PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def is_retryable(exc: DBAPIError) -> bool:
    """A lock wait that ran out, a deadlock, or a serialization failure."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in ("40001", "40P01", "55P03"):
        return True
    text = str(exc.orig).lower()
    return "database is locked" in text or "database is busy" in text or "restart transaction" in text


def with_retries(work: Callable[[], T], url: str | None = None) -> T:
    """Run a whole transaction again after a lock or serialization failure (bounded in count and time).

    A lock wait already lasted the busy timeout inside the driver; once that
    much time has passed since the first attempt, the failure is the user's
    to see (``DB_BUSY``), not a reason to wait the timeout again and again.
    """
    started, limit = time.monotonic(), busy_timeout_s()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return work()
        except DBAPIError as exc:
            if attempt == MAX_ATTEMPTS or not is_retryable(exc) or time.monotonic() - started >= limit:
                raise storage_error(exc, url) from None
            time.sleep(min(1.0, 0.01 * 2**attempt) * random.uniform(0.5, 1.5))
    raise AssertionError("unreachable")


def storage_error(exc: DBAPIError, url: str | None = None) -> Exception:
    """Turn a driver error into a LedgerError a user can read (``url`` helps name a read-only file)."""
    text = str(exc.orig).lower()
    sqlstate = getattr(exc.orig, "sqlstate", None)
    first = _first_line(exc.orig)
    if sqlstate == "53100" or "disk is full" in text or "no space left" in text:
        return DiskFull(f"the disk holding the database is full ({first}); nothing was written: free space and run the command again")
    if sqlstate == "25006" or "readonly database" in text or "read-only" in text:
        return DatabaseReadOnly(f"the database is read-only ({first}); nothing was written")
    if "unable to open database file" in text and url is not None and _read_only_sqlite(url):
        return DatabaseReadOnly(
            f"{sqlite_path(url)} or its directory is read-only, and SQLite needs to write beside it even to read; nothing was written"
        )
    if is_retryable(exc):
        return DatabaseBusy(
            f"another process kept the database locked past the busy timeout of {busy_timeout_s():g} s "
            f"({BUSY_TIMEOUT_ENV}); nothing was written: run the command again ({first})"
        )
    if exc.connection_invalidated or any(
        s in text for s in ("connection failed", "could not connect", "connection refused", "unable to open database file")
    ):
        return DbUnreachable(f"cannot reach the database: {first}")
    return StorageError(f"the database failed: {first}")


def _read_only_sqlite(url: str) -> bool:
    path = sqlite_path(url)
    if path is None or not os.path.exists(path):
        return False
    directory = os.path.dirname(os.path.abspath(path))
    return not os.access(path, os.W_OK) or not os.access(directory, os.W_OK)


def _first_line(exc: object) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def safe_url(url: str) -> str:
    """The URL without its password, for printing."""
    return parse_url(url).render_as_string(hide_password=True)


def database_exists(url: str) -> bool:
    path = sqlite_path(url)
    return path is None or os.path.exists(path)


def postgres_server(url: str):
    """The URL of a PostgreSQL server to make throw-away databases on; anything else is refused."""
    parsed = parse_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise BadInput(f"a throw-away database is made on a PostgreSQL server, not {parsed.get_backend_name()!r}")
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


@contextmanager
def throwaway_database(server_url: str, prefix: str = "wonledger_bench") -> Iterator[str]:
    """A new, empty database on the PostgreSQL server of ``server_url``, dropped afterwards.

    ``server_url`` names any database the user may connect to on that server
    (it is used only to create and drop the new one, never written).
    """
    parsed = postgres_server(server_url)
    name = f"{prefix}_{secrets.token_hex(6)}"
    try:
        admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    except NoSuchModuleError:
        raise BadInput(f"no driver for {parsed.drivername!r}; for PostgreSQL install wonledger[postgres]") from None
    try:
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        except DBAPIError as exc:
            raise storage_error(exc) from None
        try:
            yield parsed.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()
