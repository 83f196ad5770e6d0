"""The schema as SQLAlchemy Core tables (what queries are written against).

Each table is built when first used (``tables.accounts``, through the module's
``__getattr__``), because building SQLAlchemy ``Table`` objects is a good part
of a command's start-up and a read-only command like ``balance`` uses a few
of them; ``metadata`` builds them all (the migrations and their test use it).

The migrations in ``migrations/versions`` create exactly this; a test compares
the two. ``journal`` and ``legs`` are append-only; ``accounts`` holds the
counters the journal implies, ``holds`` the state of two-phase transfers,
``head`` the last sequence number and hash of the chain (its row lock is what
orders writers on PostgreSQL).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

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

#: Every table once built (see ``metadata`` below); a table is built when first used.
_metadata = MetaData()
#: Held while a table is built: two threads asking for one table first at once would each build it,
#: and MetaData refuses the second ("Table 'outflows' is already defined"). Reentrant, as ``metadata``
#: builds every table through ``__getattr__``.
_building = threading.RLock()


def _meta() -> Table:
    return Table(
        "meta",
        _metadata,
        Column("key", String(64), primary_key=True),
        Column("value", Text, nullable=False),
    )


def _participants() -> Table:
    return Table(
        "participants",
        _metadata,
        Column("id", String(64), primary_key=True),
        Column("kind", String(32), nullable=False),
        Column("jurisdiction", String(2), nullable=False),
        Column("resident", Boolean, nullable=False),
        Column("public_key", LargeBinary(32), nullable=False),
        # Who vouched for it (migration 0004): its regulator, its bank, or itself for an authority.
        Column("registrar", String(64), nullable=False, server_default=text("''")),
    )


def _assets() -> Table:
    return Table(
        "assets",
        _metadata,
        Column("code", String(32), primary_key=True),
        Column("currency", String(3), nullable=False),
        Column("kind", String(32), nullable=False),
        Column("exponent", Integer, nullable=False),
        Column("issuer", String(64), ForeignKey("participants.id"), nullable=False),
    )


def _accounts() -> Table:
    return Table(
        "accounts",
        _metadata,
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


def _journal() -> Table:
    return Table(
        "journal",
        _metadata,
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


def _legs() -> Table:
    return Table(
        "legs",
        _metadata,
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


def _holds() -> Table:
    return Table(
        "holds",
        _metadata,
        Column("id", String(128), ForeignKey("journal.id"), primary_key=True),
        Column("status", String(16), nullable=False),
        Column("expires_at", String(32), nullable=False),
        Column("finished_by", String(128), nullable=True),
        Index("ix_holds_status_expiry", "status", "expires_at"),
    )


def _head() -> Table:
    return Table(
        "head",
        _metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("seq", BigInteger, nullable=False),
        Column("hash", String(64), nullable=False),
    )


def _issuers() -> Table:
    return Table(
        "issuers",
        _metadata,
        Column("asset", String(32), ForeignKey("assets.code"), primary_key=True),
        Column("issuer", String(64), ForeignKey("participants.id"), nullable=False),
        Column("registered_at", String(32), nullable=False),
    )

# -- cross-border flows and capital-flow controls (migration 0003) -----------------


def _quotes() -> Table:
    return Table(
        "quotes",
        _metadata,
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
def _quote_uses() -> Table:
    return Table(
        "quote_uses",
        _metadata,
        Column("quote_id", String(128), primary_key=True),
        Column("tx_id", String(128), ForeignKey("journal.id"), nullable=False),
    )


#: Every refusal of a ledger rule: who, what, which code, when.
def _rejections() -> Table:
    return Table(
        "rejections",
        _metadata,
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
def _outflows() -> Table:
    return Table(
        "outflows",
        _metadata,
        Column("seq", BigInteger, ForeignKey("journal.seq"), primary_key=True, autoincrement=False),
        Column("participant", String(64), ForeignKey("participants.id"), primary_key=True),
        Column("year", Integer, nullable=False),
        Column("usd_minor", BigInteger, nullable=False),
        Index("ix_outflows_participant_year", "participant", "year"),
    )


#: Conversions out of the watched stablecoin (positive) and into it (negative), for the run breaker.
def _conversions() -> Table:
    return Table(
        "conversions",
        _metadata,
        Column("seq", BigInteger, ForeignKey("journal.seq"), primary_key=True, autoincrement=False),
        Column("at", String(32), nullable=False),
        Column("asset", String(32), ForeignKey("assets.code"), nullable=False),
        Column("amount_out", BigInteger, nullable=False),
        Index("ix_conversions_asset_at", "asset", "at"),
    )


#: Cross-border movements by true originator and beneficiary, in USD minor units (migration 0004):
#: what the travel rule aggregates over its window. ``at`` is when the movement counts
#: (for a hold that ends, the time the hold was made; negative amounts give back).
def _travel_movements() -> Table:
    return Table(
        "travel_movements",
        _metadata,
        Column("seq", BigInteger, ForeignKey("journal.seq"), primary_key=True, autoincrement=False),
        # No foreign keys to participants (migration 0007): a conditional hold's far party is of another ledger.
        Column("originator", String(64), primary_key=True),
        Column("beneficiary", String(64), primary_key=True),
        Column("at", String(32), nullable=False),
        Column("usd_minor", BigInteger, nullable=False),
        Index("ix_travel_movements_originator_at", "originator", "at"),
    )

# -- audit proofs (issue 4) ----------------------------------------------------------


#: Signed checkpoints: a Merkle root over the hashes of entries 1..seq, signed by the operator.
def _checkpoints() -> Table:
    return Table(
        "checkpoints",
        _metadata,
        Column("seq", BigInteger, primary_key=True, autoincrement=False),
        Column("root", String(64), nullable=False),
        Column("at", String(32), nullable=False),
        Column("signature", Text, nullable=False),
        Column("operator_key", Text, nullable=False),
    )

# -- key history (issue 7) -------------------------------------------------------------


#: Every key a participant has had; the one with no `retired_at` is current.
def _participant_keys() -> Table:
    return Table(
        "participant_keys",
        _metadata,
        Column("participant", String(64), ForeignKey("participants.id"), primary_key=True),
        Column("public_key", LargeBinary(32), primary_key=True),
        Column("valid_from", String(32), nullable=False),
        Column("retired_at", String(32), nullable=True),
        Column("reason", String(16), nullable=True),
    )


_BUILDERS: dict[str, Callable[[], Table]] = {
    "meta": _meta,
    "participants": _participants,
    "assets": _assets,
    "accounts": _accounts,
    "journal": _journal,
    "legs": _legs,
    "holds": _holds,
    "head": _head,
    "issuers": _issuers,
    "quotes": _quotes,
    "quote_uses": _quote_uses,
    "rejections": _rejections,
    "outflows": _outflows,
    "conversions": _conversions,
    "travel_movements": _travel_movements,
    "checkpoints": _checkpoints,
    "participant_keys": _participant_keys,
}

#: What the module serves (built on first use by ``__getattr__``), declared for type checkers.
metadata: MetaData
meta: Table
participants: Table
assets: Table
accounts: Table
journal: Table
legs: Table
holds: Table
head: Table
issuers: Table
quotes: Table
quote_uses: Table
rejections: Table
outflows: Table
conversions: Table
travel_movements: Table
checkpoints: Table
participant_keys: Table


def __getattr__(name: str) -> Table:
    with _building:
        if name in globals():  # built by another thread while this one waited
            return globals()[name]
        if name == "metadata":
            for each in _BUILDERS:
                if each not in globals():
                    __getattr__(each)
            globals()["metadata"] = _metadata
            return _metadata  # type: ignore[return-value]
        builder = _BUILDERS.get(name)
        if builder is None:
            raise AttributeError(f"module 'wonledger.store.tables' has no attribute {name!r}")
        table = globals()[name] = builder()
        return table
