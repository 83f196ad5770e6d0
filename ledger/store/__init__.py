"""Storage: SQLAlchemy Core tables, engines, the repositories and migrations.

The only package of wonledger that imports SQLAlchemy. Everything above it
sees :class:`Store`, its :class:`UnitOfWork` with one repository per area
(``uow.registry``, ``uow.journal``, ``uow.holds``, ``uow.controls``,
``uow.statements``, ``uow.records``) and the domain values they return.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from wonledger.domain.model import HoldState, StoredTx
from wonledger.store.engine import database_exists, postgres_server, safe_url, sqlite_path, throwaway_database
from wonledger.store.failures import WaitPolicy, wait_db_s
from wonledger.store.repository import GENESIS_HASH, OPERATOR_META, SCHEMA_HEAD, UNSIGNED_META, Store, UnitOfWork

if TYPE_CHECKING:
    from wonledger.store.journal import EntryInfo, JournalPage, NewEntry
    from wonledger.store.records import StoredCheckpoint
    from wonledger.store.statements import AccountLeg

#: Values of one area, loaded with their repository's module on first use
#: (PEP 562): a `balance` imports no journal writer, no records, no statement reads.
_LAZY = {"EntryInfo": "journal", "JournalPage": "journal", "NewEntry": "journal", "StoredCheckpoint": "records", "AccountLeg": "statements"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"wonledger.store.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wonledger.store' has no attribute {name!r}")


__all__ = [
    "GENESIS_HASH",
    "OPERATOR_META",
    "SCHEMA_HEAD",
    "UNSIGNED_META",
    "AccountLeg",
    "EntryInfo",
    "HoldState",
    "JournalPage",
    "NewEntry",
    "Store",
    "StoredCheckpoint",
    "StoredTx",
    "UnitOfWork",
    "WaitPolicy",
    "database_exists",
    "postgres_server",
    "safe_url",
    "sqlite_path",
    "throwaway_database",
    "wait_db_s",
]
