"""The schema as SQLAlchemy Core tables (what queries are written against).

The migrations in ``migrations/versions`` create exactly this; a test compares
the two. ``journal`` and ``legs`` are append-only; ``accounts`` holds the
counters the journal implies, ``holds`` the state of two-phase transfers,
``head`` the last sequence number and hash of the chain (its row lock is what
orders writers on PostgreSQL).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

participants = Table(
    "participants",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("jurisdiction", String(2), nullable=False),
    Column("resident", Boolean, nullable=False),
    Column("public_key", LargeBinary(32), nullable=False),
)

assets = Table(
    "assets",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("exponent", Integer, nullable=False),
    Column("issuer", String(64), ForeignKey("participants.id"), nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("owner", String(64), ForeignKey("participants.id"), nullable=False),
    Column("asset", String(32), ForeignKey("assets.code"), nullable=False),
    Column("flags", String(128), nullable=False),
    Column("label", String(64), nullable=False),
    Column("debits_posted", BigInteger, nullable=False),
    Column("credits_posted", BigInteger, nullable=False),
    Column("debits_pending", BigInteger, nullable=False),
    Column("credits_pending", BigInteger, nullable=False),
    Index("ix_accounts_owner", "owner"),
    Index("ix_accounts_asset", "asset"),
)

journal = Table(
    "journal",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("id", String(128), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("ref", String(128), nullable=True),
    Column("at", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("signatures", Text, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_journal_ref", "ref"),
)

legs = Table(
    "legs",
    metadata,
    Column("seq", BigInteger, ForeignKey("journal.seq"), primary_key=True, autoincrement=False),
    Column("idx", Integer, primary_key=True, autoincrement=False),
    Column("debit", String(128), nullable=False),
    Column("credit", String(128), nullable=False),
    Column("asset", String(32), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("pending", Boolean, nullable=False),
    Index("ix_legs_debit", "debit", "seq"),
    Index("ix_legs_credit", "credit", "seq"),
)

holds = Table(
    "holds",
    metadata,
    Column("id", String(128), ForeignKey("journal.id"), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("expires_at", String(32), nullable=False),
    Column("finished_by", String(128), nullable=True),
    Index("ix_holds_status_expiry", "status", "expires_at"),
)

head = Table(
    "head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

issuers = Table(
    "issuers",
    metadata,
    Column("asset", String(32), ForeignKey("assets.code"), primary_key=True),
    Column("issuer", String(64), ForeignKey("participants.id"), nullable=False),
    Column("registered_at", String(32), nullable=False),
)
