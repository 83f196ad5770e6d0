"""Storage: SQLAlchemy Core tables, engines, the repositories and migrations.

The only package of wonledger that imports SQLAlchemy. Everything above it
sees :class:`Store`, its :class:`UnitOfWork` with one repository per area
(``uow.registry``, ``uow.journal``, ``uow.holds``, ``uow.controls``,
``uow.statements``, ``uow.records``) and the domain values they return.
"""

from wonledger.domain.model import HoldState, StoredTx
from wonledger.store.engine import database_exists, postgres_server, safe_url, sqlite_path, throwaway_database
from wonledger.store.journal import EntryInfo, NewEntry
from wonledger.store.records import StoredCheckpoint
from wonledger.store.repository import GENESIS_HASH, OPERATOR_META, SCHEMA_HEAD, UNSIGNED_META, Store, UnitOfWork
from wonledger.store.statements import AccountLeg

__all__ = [
    "GENESIS_HASH",
    "OPERATOR_META",
    "SCHEMA_HEAD",
    "UNSIGNED_META",
    "AccountLeg",
    "EntryInfo",
    "HoldState",
    "NewEntry",
    "Store",
    "StoredCheckpoint",
    "StoredTx",
    "UnitOfWork",
    "database_exists",
    "postgres_server",
    "safe_url",
    "sqlite_path",
    "throwaway_database",
]
