"""Driver errors as errors a user can act on, and whole transactions run again after a passing failure.

``DB_BUSY``, ``DB_READ_ONLY``, ``DISK_FULL``, ``DB_UNREACHABLE``, else
``STORAGE_ERROR``; a lock wait that ran out, a deadlock or a serialization
failure runs the whole transaction again, bounded in count and in time
(the busy timeout of :mod:`wonledger.store.engine`).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from wonledger.domain.errors import DatabaseBusy, DatabaseReadOnly, DbUnreachable, DiskFull, StorageError
from wonledger.store.engine import BUSY_TIMEOUT_ENV, busy_timeout_s, sqlite_path

T = TypeVar("T")

#: Bounded retries of a whole write transaction on a lock or serialization failure.
MAX_ATTEMPTS = 12


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
