"""Engines from URLs: SQLite tuned for many writers, PostgreSQL through psycopg 3.

SQLite: WAL, a long busy timeout, and ``BEGIN IMMEDIATE`` for every write so
two processes never both read a balance and then both write it (the second
waits at BEGIN instead of failing at COMMIT). Reads begin deferred, so they
never wait for a writer. A file on read-only storage (or in a directory
that may not be written) is opened read-only, so that it can still be read:
SQLite in WAL mode otherwise writes a shared-memory file beside it even to
read. Nothing here connects until a command runs.

PostgreSQL: a small pool whose connections are pinged before they are
handed out (after a failover every pooled connection is stale, and none may
reach a command), a connect timeout and TCP keepalives unless the URL sets
its own, so that a server that vanished is noticed in seconds. A libpq
multi-host URL (``?host=a:5432&host=b:5432&target_session_attrs=read-write``)
finds the primary of a cluster.

The busy timeout (``WONLEDGER_BUSY_TIMEOUT`` seconds, default 60) bounds how
long a writer waits for a lock held by another process, on SQLite and, as
``lock_timeout``, on PostgreSQL. What a driver error means to a user, and
retrying a whole transaction, is :mod:`wonledger.store.failures`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from wonledger.domain.errors import BadInput
from wonledger.store.schema import busy_timeout_s

#: Execution option that marks a read-only transaction (a deferred BEGIN on SQLite).
READ_ONLY = "wonledger_read_only"
#: libpq settings a PostgreSQL URL gets unless it names them: give up on one host after 10 s (and try the next),
#: and notice a connection whose server vanished within about 20 s instead of the system's two hours.
PG_CONNECTION_DEFAULTS = {"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 5, "keepalives_count": 3}
#: target_session_attrs that ask for a standby: such a URL reads, and a write through it is refused at once.
STANDBY_ATTRS = ("standby", "prefer-standby", "read-only")


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


def read_only_storage(url: str) -> bool:
    """Whether the SQLite file of ``url`` exists where it may not be written (the file, its directory, or the filesystem)."""
    path = sqlite_path(url)
    if path is None or not os.path.exists(path):
        return False
    directory = os.path.dirname(os.path.abspath(path))
    return not os.access(path, os.W_OK) or not os.access(directory, os.W_OK)


def asks_for_standby(url: str) -> bool:
    """Whether a PostgreSQL URL asks for a standby (``target_session_attrs=standby`` and the like)."""
    wanted = parse_url(url).query.get("target_session_attrs")
    values = (wanted,) if isinstance(wanted, str) else tuple(wanted or ())
    return any(v in STANDBY_ATTRS for v in values)


def make_engine(url: str, read_only: bool = False) -> Engine:
    """An engine for ``url``; ``read_only`` opens a SQLite file read-only (see :func:`read_only_storage`)."""
    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql", "cockroachdb"):
        raise BadInput(f"{backend!r} databases are not supported: use sqlite:/// or postgresql+psycopg://")
    try:
        if backend == "sqlite":
            return _sqlite_engine(url, read_only)
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        connect_args: dict[str, object] = {k: v for k, v in PG_CONNECTION_DEFAULTS.items() if k not in parsed.query}
        connect_args["options"] = f"-c lock_timeout={int(busy_timeout_s() * 1000)}"
        return create_engine(parsed, pool_size=2, max_overflow=2, pool_pre_ping=True, connect_args=connect_args)
    except NoSuchModuleError:
        raise BadInput(f"no driver for {parsed.drivername!r}; for PostgreSQL install wonledger[postgres]") from None
    except ImportError as exc:
        raise BadInput(f"the driver for {parsed.drivername!r} is not installed ({exc.name})") from None
    except (ArgumentError, ValueError, TypeError) as exc:
        raise BadInput(f"bad database URL: {exc}") from None


def _sqlite_engine(url: str, read_only: bool) -> Engine:
    path = sqlite_path(url)
    memory = path is None
    timeout = busy_timeout_s()
    if read_only and path is not None:
        engine = _read_only_sqlite_engine(path, timeout)
    else:
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
        if not memory and not read_only:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        if not read_only:
            cursor.execute("PRAGMA synchronous=NORMAL" if not memory else "PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        reading = read_only or conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

    return engine


def _read_only_sqlite_engine(path: str, timeout: float) -> Engine:
    """A file that may not be written, opened so that SQLite writes nothing beside it.

    ``mode=ro`` reads the write-ahead log too, but needs its shared-memory
    file to exist already; with no log left to read (the last writer
    checkpointed it away) the file alone is the whole ledger and is opened
    ``immutable``, which needs nothing beside it.
    """
    import sqlite3
    from urllib.parse import quote

    from sqlalchemy.pool import QueuePool

    wal = path + "-wal"
    mode = "mode=ro" if os.path.exists(wal) and os.path.getsize(wal) > 0 else "immutable=1"
    uri = f"file:{quote(os.path.abspath(path))}?{mode}"
    return create_engine(
        "sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False), poolclass=QueuePool
    )


def safe_url(url: str) -> str:
    """The URL without its password, for printing (a multi-host query as typed: ``host=127.0.0.1:5433``, not ``%3A``)."""
    shown = parse_url(url).render_as_string(hide_password=True)
    base, query = shown.split("?", 1) if "?" in shown else (shown, "")
    return base + ("?" + query.replace("%3A", ":").replace("%2C", ",") if query else "")


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
            from wonledger.store.failures import storage_error  # here: the two modules name each other

            raise storage_error(exc) from None
        try:
            yield parsed.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()
