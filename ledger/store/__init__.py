"""Storage: SQLAlchemy Core tables, engines, the repository and migrations.

The only package of wonledger that imports SQLAlchemy. Everything above it
sees :class:`Store` and :class:`UnitOfWork` and the domain values they return.
"""

from wonledger.store.engine import database_exists, postgres_server, safe_url, sqlite_path, throwaway_database
from wonledger.store.repository import (
    GENESIS_HASH,
    OPERATOR_META,
    SCHEMA_HEAD,
    UNSIGNED_META,
    AccountLeg,
    EntryInfo,
    HoldState,
    NewEntry,
    Store,
    StoredCheckpoint,
    StoredEntry,
    UnitOfWork,
    signatures_json,
)

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
    "StoredEntry",
    "UnitOfWork",
    "database_exists",
    "postgres_server",
    "safe_url",
    "signatures_json",
    "sqlite_path",
    "throwaway_database",
]
