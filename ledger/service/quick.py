"""Reads a command can answer without opening the ledger's full store: for now, the balances of a SQLite ledger.

:func:`read_balances` gives what :meth:`Ledger.balances` gives, and the
exponents of the accounts' assets, for a plain SQLite file at the newest
schema, through :mod:`wonledger.store.quick` (`sqlite3` alone, no
SQLAlchemy: it costs about nine tenths of a `balance`'s start-up). Anything
else, it answers None and the caller opens the ledger as usual, which
waits for, upgrades, refuses or reports what this does not try.
"""

from __future__ import annotations

from collections.abc import Sequence

from wonledger.domain.model import Account
from wonledger.domain.timestamps import iso, utc_now


def read_balances(db: str, names: Sequence[str] = ()) -> tuple[list[Account], dict[str, int]] | None:
    """``Ledger.balances(names)`` of the ledger at ``db`` and each account's asset's exponent, or None: open the ledger instead."""
    from wonledger.store import quick

    path = quick.sqlite_file(db)
    if path is None:
        return None
    return quick.balances(path, names, iso(utc_now()))
