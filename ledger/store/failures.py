"""Driver errors as errors a user can act on, and whole transactions run again after a passing failure.

Two kinds of failure pass, and the transaction is run again, whole:

- a lock wait that ran out, a deadlock or a serialization failure
  (``DB_BUSY`` once the busy timeout of :mod:`wonledger.store.engine` has
  passed, a bounded number of times);
- a database that is unavailable for now: no primary during a failover (a
  multi-host URL that finds only standbys), a connection refused, dropped
  or timed out, a server starting up, shutting down or recovering, a
  primary demoted to a standby under an open connection. It is waited out
  with backoff for up to :func:`wait_db_s` seconds (``WONLEDGER_WAIT_DB``,
  default 60: longer than a failover of 30 s), telling the
  :class:`WaitPolicy`'s listener why; past that bound it is
  ``DB_UNAVAILABLE``, which the CLI exits with 75 (EX_TEMPFAIL, "try again
  later").

Running a write again is safe because every journal entry is idempotent by
its id: a commit whose acknowledgement was lost comes back, on the next
attempt, as the entry already in the journal (the book tells its own
lost commit from an older one). What waiting cannot fix is not retried:
``DB_UNREACHABLE`` (no such host, a refused password, no such database, a
SQLite file that cannot be opened), ``DB_READ_ONLY``, ``DISK_FULL``, else
``STORAGE_ERROR``.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from wonledger.domain.errors import BadInput, DatabaseBusy, DatabaseReadOnly, DatabaseUnavailable, DbUnreachable, DiskFull, StorageError
from wonledger.store.engine import sqlite_path
from wonledger.store.schema import BUSY_TIMEOUT_ENV, busy_timeout_s

T = TypeVar("T")

#: Bounded retries of a whole write transaction on a lock or serialization failure.
MAX_ATTEMPTS = 12
#: How long a command waits out an unavailable database unless WONLEDGER_WAIT_DB says: a failover of 30 s, twice.
DEFAULT_WAIT_DB_S = 60
WAIT_DB_ENV = "WONLEDGER_WAIT_DB"
#: The longest pause between two attempts while waiting (the first pauses are shorter: 0.1 s, doubling).
MAX_PAUSE_S = 2.0

#: What the server said when it could not take us now, by SQLSTATE: a connection exception (class 08),
#: an operator intervention that ends or refuses sessions (57P01-57P03), too many connections.
UNAVAILABLE_STATES = {
    "57P01": "the server ended the session (it is shutting down)",
    "57P02": "the server ended the session (it crashed)",
    "57P03": "the server cannot accept connections now (starting up, shutting down or recovering)",
    "53300": "the server has no room for another connection now",
}
#: The same, for failures that come with no SQLSTATE (before a session exists, or as the socket breaks): lowercase
#: text, the first that matches (so the more particular first).
UNAVAILABLE_TEXTS = (
    ("server is not in hot standby mode", "no standby to read from: every server reached is a primary"),
    ("session is read-only", "no primary: every server reached is a standby (a failover may be under way)"),
    ("hot standby mode", "no primary: every server reached is a standby (a failover may be under way)"),
    ("connection refused", "the server refused the connection"),
    ("server closed the connection", "the connection was lost"),
    ("terminating connection", "the server ended the session"),
    ("connection reset", "the connection was lost"),
    ("broken pipe", "the connection was lost"),
    ("eof detected", "the connection was lost"),
    ("consuming input failed", "the connection was lost"),
    ("could not receive data", "the connection was lost"),
    ("could not send data", "the connection was lost"),
    ("no connection to the server", "the connection was lost"),
    ("the connection is closed", "the connection was lost"),
    ("the connection is lost", "the connection was lost"),
    ("connection is bad", "the connection was lost"),
    ("timeout expired", "no answer from the server in time"),
    ("timed out", "no answer from the server in time"),
    ("the database system is", "the server cannot accept connections now (starting up, shutting down or recovering)"),
    ("too many clients", "the server has no room for another connection now"),
    ("no route to host", "the server cannot be reached now"),
    ("network is unreachable", "the server cannot be reached now"),
)
#: Failures that waiting cannot fix, even where a text above also matches: the URL or the credentials are wrong.
UNREACHABLE_TEXTS = (
    "could not translate host name",
    "failed to resolve host",
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "password authentication failed",
    "authentication failed",
    "no password supplied",
    "no pg_hba.conf entry",
    "does not exist",
    "invalid connection option",
    "invalid sslmode",
    "invalid target_session_attrs",
)


#: Failures while a connection is being made (so not of the SQL): the database cannot be reached at all.
CONNECTING_TEXTS = ("connection failed", "connection to server", "could not connect", "unable to open database file", "could not translate host name", "failed to resolve host")


def wait_db_s(value: float | None = None) -> float:
    """How long to wait out an unavailable database, in seconds: ``value``, else WONLEDGER_WAIT_DB, else 60 (0: not at all)."""
    if value is not None:
        if not 0 <= value <= 24 * 3600:
            raise BadInput(f"a wait for the database of {value:g} s: it must be between 0 and a day")
        return float(value)
    text = os.environ.get(WAIT_DB_ENV)
    if not text:
        return float(DEFAULT_WAIT_DB_S)
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 24 * 3600:
        raise BadInput(f"{WAIT_DB_ENV}={text[:40]!r} must be a number of seconds from 0 (do not wait) to a day")
    return seconds


@dataclass(frozen=True, slots=True)
class WaitPolicy:
    """How long a transaction waits out an unavailable database, and whom it tells.

    ``on_wait(reason, waited, seconds)`` is called before each pause
    (``reason`` says why, ``waited`` is the seconds since the database became
    unavailable, ``seconds`` the bound) and once with ``reason`` None when
    the database answers again.
    """

    seconds: float = DEFAULT_WAIT_DB_S
    on_wait: Callable[[str | None, float, float], None] | None = None

    def tell(self, reason: str | None, waited: float) -> None:
        if self.on_wait is not None:
            self.on_wait(reason, waited, self.seconds)


class Unavailable(Exception):
    """What the store saw inside a transaction that means "wait": raised around the driver's error (``cause``).

    Two cases a driver error alone does not tell: the connection failed while
    COMMIT was under way (``cut_off``: the work may or may not have landed),
    and a write refused as read-only by a server that is a standby now (a
    demoted primary), which the store asked on the same connection.
    """

    def __init__(self, cause: DBAPIError, reason: str, cut_off: bool = False) -> None:
        super().__init__(reason)
        self.cause = cause
        self.reason = reason
        self.cut_off = cut_off


def is_retryable(exc: DBAPIError) -> bool:
    """A lock wait that ran out, a deadlock, or a serialization failure."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in ("40001", "40P01", "55P03"):
        return True
    text = str(exc.orig).lower()
    return "database is locked" in text or "database is busy" in text or "restart transaction" in text


def unavailable_reason(exc: DBAPIError) -> str | None:
    """Why the database cannot take us now, when waiting may cure it; None when it cannot (or it is no such failure).

    A read-only transaction (SQLSTATE 25006) is not judged here: whether it
    is a standby (a demoted primary: wait) or a database set read-only (do
    not) takes a question to the server, which the store asks (:class:`Unavailable`).
    """
    if exc.orig is None or type(exc.orig).__module__.startswith("sqlite3"):
        return None  # a file is never "unavailable for now": it is there, busy, read-only or missing
    text = str(exc.orig).lower()
    if any(marker in text for marker in UNREACHABLE_TEXTS):
        return None
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    if sqlstate in UNAVAILABLE_STATES:
        return UNAVAILABLE_STATES[sqlstate]
    for marker, reason in UNAVAILABLE_TEXTS:
        if marker in text:
            return reason
    if sqlstate.startswith("08"):
        return "the connection to the server failed"
    if exc.connection_invalidated:
        return "the connection was lost"
    return None


def with_retries(work: Callable[[], T], url: str | None = None, wait: WaitPolicy | None = None, write: bool = True) -> T:
    """Run a whole transaction again after a passing failure: a lock or serialization failure, an unavailable database.

    A lock wait already lasted the busy timeout inside the driver; once that
    much time has passed since the first lock failure, it is the user's to
    see (``DB_BUSY``), not a reason to wait the timeout again and again. An
    unavailable database is waited out for ``wait.seconds`` from the first
    failure of that kind, with pauses from 0.1 s doubling to 2 s (jittered,
    so that the clients of a failed primary do not all knock at once).
    """
    wait = wait if wait is not None else WaitPolicy(wait_db_s())
    busy_since: float | None = None
    down_since: float | None = None
    cut_off = False
    busy_attempts = pauses = 0
    while True:
        try:
            done = work()
            if down_since is not None:
                wait.tell(None, time.monotonic() - down_since)
            return done
        except Unavailable as seen:
            exc, reason = seen.cause, seen.reason
            cut_off = cut_off or seen.cut_off
        except DBAPIError as failed:
            exc, found = failed, unavailable_reason(failed)
            if found is None:
                busy_attempts += 1
                busy_since = busy_since if busy_since is not None else time.monotonic()
                if busy_attempts == MAX_ATTEMPTS or not is_retryable(exc) or time.monotonic() - busy_since >= busy_timeout_s():
                    raise storage_error(exc, url) from None
                time.sleep(min(1.0, 0.01 * 2**busy_attempts) * random.uniform(0.5, 1.5))
                continue
            reason = found
        now = time.monotonic()
        down_since = down_since if down_since is not None else now
        waited = now - down_since
        if waited >= wait.seconds:
            raise _gave_up(exc, reason, waited, wait.seconds, "cut off" if cut_off else "not written" if write else "") from None
        wait.tell(reason, waited)
        pause = min(MAX_PAUSE_S, 0.1 * 2**pauses) * random.uniform(0.5, 1.5)
        pauses += 1
        time.sleep(max(0.0, min(pause, wait.seconds - waited)))


def _gave_up(exc: DBAPIError, reason: str, waited: float, bound: float, work: str) -> DatabaseUnavailable:
    """The error past the bound; ``work``: what became of the transaction under way ("cut off", "not written", "" for a read)."""
    outcome = {
        "cut off": "the transaction under way was cut off as it committed, so it may or may not have landed: "
        "submitting it again (the same id) is safe",
        "not written": "the transaction under way was not written",
    }.get(work, "nothing was written")
    how_long = f"for {waited:.0f} s, as long as this command waits ({bound:g} s)" if bound else "and this command does not wait (a wait of 0 s)"
    return DatabaseUnavailable(f"the database is unavailable {how_long}: {reason} ({_first_line(exc.orig)}); {outcome}", hint="wait-longer")


def storage_error(exc: DBAPIError, url: str | None = None) -> Exception:
    """Turn a driver error into a LedgerError a user can read (``url`` helps name a read-only file)."""
    text = str(exc.orig).lower()
    sqlstate = getattr(exc.orig, "sqlstate", None)
    first = _first_line(exc.orig)
    if sqlstate == "53100" or "disk is full" in text or "no space left" in text:
        return DiskFull(f"the disk holding the database is full ({first}); nothing was written: free space and run the command again")
    reason = unavailable_reason(exc)
    if reason is not None:
        return DatabaseUnavailable(f"the database is unavailable: {reason} ({first}); nothing was written")
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
    if exc.connection_invalidated or any(s in text for s in CONNECTING_TEXTS):
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
