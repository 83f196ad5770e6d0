"""Storage: SQLAlchemy Core tables, engines, the repositories and migrations.

The only package of wonledger that imports SQLAlchemy. Everything above it
sees :class:`Store`, its :class:`UnitOfWork` with one repository per area
(``uow.registry``, ``uow.journal``, ``uow.holds``, ``uow.controls``,
``uow.statements``, ``uow.records``) and the domain values they return.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wonledger.domain.model import HoldState, StoredTx
    from wonledger.store.engine import database_exists, postgres_server, safe_url, sqlite_path, throwaway_database
    from wonledger.store.failures import WaitPolicy, wait_db_s
    from wonledger.store.journal import EntryInfo, JournalPage, NewEntry
    from wonledger.store.records import StoredCheckpoint
    from wonledger.store.repository import GENESIS_HASH, OPERATOR_META, Store, UnitOfWork
    from wonledger.store.schema import SCHEMA_HEAD, UNSIGNED_META
    from wonledger.store.statements import AccountLeg

#: Every name, loaded with its module on first use (PEP 562): a `balance` imports no journal writer, no
#: records, no statement reads; and a read that needs no SQLAlchemy (:mod:`wonledger.store.quick`) imports
#: this package without importing SQLAlchemy.
_LAZY = {
    "HoldState": "wonledger.domain.model",
    "StoredTx": "wonledger.domain.model",
    "database_exists": "wonledger.store.engine",
    "postgres_server": "wonledger.store.engine",
    "safe_url": "wonledger.store.engine",
    "sqlite_path": "wonledger.store.engine",
    "throwaway_database": "wonledger.store.engine",
    "WaitPolicy": "wonledger.store.failures",
    "wait_db_s": "wonledger.store.failures",
    "EntryInfo": "wonledger.store.journal",
    "JournalPage": "wonledger.store.journal",
    "NewEntry": "wonledger.store.journal",
    "StoredCheckpoint": "wonledger.store.records",
    "GENESIS_HASH": "wonledger.store.repository",
    "OPERATOR_META": "wonledger.store.repository",
    "Store": "wonledger.store.repository",
    "UnitOfWork": "wonledger.store.repository",
    "SCHEMA_HEAD": "wonledger.store.schema",
    "UNSIGNED_META": "wonledger.store.schema",
    "AccountLeg": "wonledger.store.statements",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
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
