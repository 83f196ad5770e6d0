"""Balances read from a SQLite ledger through the standard `sqlite3` module alone: no SQLAlchemy.

`wonledger balance` reads a few rows; importing SQLAlchemy costs about nine
times what the rest of the command does. This module answers that one read
for the plain case only, and says ``None`` for everything else, so the
caller asks the full store (:class:`~wonledger.store.repository.Store`),
which reports every other case as it always did: a URL that is not a plain
SQLite file, a file that is missing or no database, a ledger at an older or
newer schema (the full store upgrades or refuses it), a name that matches no
account, a database that cannot be read right now. It opens the file
read-only (it can neither create a file nor change one) and reads in one
transaction, so the accounts and holds it returns are of one moment, as the
full store's one read transaction gives them. The queries are the full
store's (:meth:`Registry.all_accounts`, :meth:`Registry.accounts`,
:meth:`Holds.released`), written in SQL; a test holds the two to the same
answers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from urllib.parse import quote

from wonledger.domain.model import Account
from wonledger.store.schema import LEDGER_ID_META, SCHEMA_HEAD, UNSIGNED_META, busy_timeout_s

_ACCOUNT_COLUMNS = "id, owner, asset, flags, label, debits_posted, credits_posted, debits_pending, credits_pending"
#: The legs of holds past their timeout at ``now``: released, as the next write will record it (see Holds.released).
_TIMED_OUT = (
    "SELECT legs.debit, legs.credit, legs.amount FROM holds JOIN journal ON journal.id = holds.id "
    "JOIN legs ON legs.seq = journal.seq WHERE holds.status = 'pending' AND holds.expires_at <= ?"
)


def sqlite_file(url: str) -> str | None:
    """The file of a plain ``sqlite:///PATH`` URL (no query, not in memory), else None."""
    if not url.startswith("sqlite:///") or "?" in url or "#" in url:
        return None
    path = url[len("sqlite:///") :]
    return path if path and path != ":memory:" else None


def balances(path: str, names: Sequence[str], now: str) -> tuple[list[Account], dict[str, int]] | None:
    """The accounts ``names`` name (all when empty) as they stand at ``now``, and their assets' exponents; None: ask the store."""
    timeout = busy_timeout_s()  # a nonsense WONLEDGER_BUSY_TIMEOUT is refused here as the store refuses it
    try:
        conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=timeout, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        conn.execute("BEGIN")  # one read transaction: every row below is of the same moment
        found = _read(conn, names, now)
        conn.execute("COMMIT")
        return found
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _read(conn: sqlite3.Connection, names: Sequence[str], now: str) -> tuple[list[Account], dict[str, int]] | None:
    if not _at_the_newest_schema(conn):
        return None
    accounts: list[Account] = []
    if not names:
        accounts = _accounts(conn, f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY id", ())
    for name in names:
        query = "id = ?" if ":" in name else "owner = ? ORDER BY id"
        named = _accounts(conn, f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE {query}", (name,))
        if not named:
            return None  # the store names what is unknown, with its suggestions
        accounts.extend(named)
    accounts = _released(conn, accounts, now)
    exponents: dict[str, int] = dict(conn.execute("SELECT code, exponent FROM assets").fetchall())
    if any(a.asset not in exponents for a in accounts):
        return None
    return accounts, {a.asset: exponents[a.asset] for a in accounts}


def _at_the_newest_schema(conn: sqlite3.Connection) -> bool:
    """Whether the store's handshake would take this ledger as it is (an older one it would upgrade first)."""
    revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    facts = dict(conn.execute("SELECT key, value FROM meta WHERE key IN (?, ?)", (LEDGER_ID_META, UNSIGNED_META)).fetchall())
    return revision is not None and revision[0] == SCHEMA_HEAD and LEDGER_ID_META in facts and UNSIGNED_META not in facts


def _accounts(conn: sqlite3.Connection, query: str, params: tuple[str, ...]) -> list[Account]:
    return [
        Account(
            id=r[0], owner=r[1], asset=r[2], flags=frozenset(f for f in r[3].split(",") if f), label=r[4],
            debits_posted=r[5], credits_posted=r[6], debits_pending=r[7], credits_pending=r[8],
        )
        for r in conn.execute(query, params)
    ]


def _released(conn: sqlite3.Connection, accounts: list[Account], now: str) -> list[Account]:
    held: dict[str, list[int]] = {}
    for debit, credit, amount in conn.execute(_TIMED_OUT, (now,)):
        held.setdefault(debit, [0, 0])[0] += amount
        held.setdefault(credit, [0, 0])[1] += amount
    if not held:
        return accounts
    return [
        replace(a, debits_pending=a.debits_pending - held[a.id][0], credits_pending=a.credits_pending - held[a.id][1]) if a.id in held else a
        for a in accounts
    ]
