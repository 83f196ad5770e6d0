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
    text,
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
    # Who vouched for it (migration 0004): its regulator, its bank, or itself for an authority.
    Column("registrar", String(64), nullable=False, server_default=text("''")),
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

# -- cross-border flows and capital-flow controls (migration 0003) -----------------

quotes = Table(
    "quotes",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("dealer", String(64), ForeignKey("participants.id"), nullable=False),
    Column("sell_asset", String(32), ForeignKey("assets.code"), nullable=False),
    Column("buy_asset", String(32), ForeignKey("assets.code"), nullable=False),
    Column("sell_amount", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("buy_amount", BigInteger, nullable=False),
    Column("rate", String(40), nullable=False),
    Column("source", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
    # The dealer's Ed25519 signature over the whole offer (migration 0006; none on offers stored before).
    Column("signature", Text, nullable=True),
)

#: Which transaction took each quote (migration 0006): derived from the journal, offered here or not.
quote_uses = Table(
    "quote_uses",
    metadata,
    Column("quote_id", String(128), primary_key=True),
    Column("tx_id", String(128), ForeignKey("journal.id"), nullable=False),
)

#: Every refusal of a ledger rule: who, what, which code, when.
rejections = Table(
    "rejections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(32), nullable=False),
    Column("who", String(256), nullable=False),
    Column("tx_id", String(128), nullable=True),
    Column("kind", String(16), nullable=True),
    Column("what", Text, nullable=False),
    Column("code", String(32), nullable=False),
    Column("message", Text, nullable=False),
    Index("ix_rejections_at", "at"),
)

#: Residents' outflows in USD minor units, signed (a void or expiry gives back what its hold took).
outflows = Table(
    "outflows",
    metadata,
    Column("seq", BigInteger, ForeignKey("journal.seq"), primary_key=True, autoincrement=False),
    Column("participant", String(64), ForeignKey("participants.id"), primary_key=True),
    Column("year", Integer, nullable=False),
    Column("usd_minor", BigInteger, nullable=False),
    Index("ix_outflows_participant_year", "participant", "year"),
)

#: Conversions out of the watched stablecoin (positive) and into it (negative), for the run breaker.
conversions = Table(
    "conversions",
    metadata,
    Column("seq", BigInteger, ForeignKey("journal.seq"), primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),
    Column("asset", String(32), ForeignKey("assets.code"), nullable=False),
    Column("amount_out", BigInteger, nullable=False),
    Index("ix_conversions_asset_at", "asset", "at"),
)

#: Cross-border movements by true originator and beneficiary, in USD minor units (migration 0004):
#: what the travel rule aggregates over its window. ``at`` is when the movement counts
#: (for a hold that ends, the time the hold was made; negative amounts give back).
travel_movements = Table(
    "travel_movements",
    metadata,
    Column("seq", BigInteger, ForeignKey("journal.seq"), primary_key=True, autoincrement=False),
    Column("originator", String(64), ForeignKey("participants.id"), primary_key=True),
    Column("beneficiary", String(64), ForeignKey("participants.id"), primary_key=True),
    Column("at", String(32), nullable=False),
    Column("usd_minor", BigInteger, nullable=False),
    Index("ix_travel_movements_originator_at", "originator", "at"),
)

# -- audit proofs (issue 4) ----------------------------------------------------------

#: Signed checkpoints: a Merkle root over the hashes of entries 1..seq, signed by the operator.
checkpoints = Table(
    "checkpoints",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("root", String(64), nullable=False),
    Column("at", String(32), nullable=False),
    Column("signature", Text, nullable=False),
    Column("operator_key", Text, nullable=False),
)

# -- key history (issue 7) -------------------------------------------------------------

#: Every key a participant has had; the one with no `retired_at` is current.
participant_keys = Table(
    "participant_keys",
    metadata,
    Column("participant", String(64), ForeignKey("participants.id"), primary_key=True),
    Column("public_key", LargeBinary(32), primary_key=True),
    Column("valid_from", String(32), nullable=False),
    Column("retired_at", String(32), nullable=True),
    Column("reason", String(16), nullable=True),
)
