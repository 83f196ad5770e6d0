"""The first schema: registry, accounts, the journal and its legs, holds, chain head.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "participants",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("jurisdiction", sa.String(2), nullable=False),
        sa.Column("resident", sa.Boolean, nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "assets",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("exponent", sa.Integer, nullable=False),
        sa.Column("issuer", sa.String(64), sa.ForeignKey("participants.id"), nullable=False),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("owner", sa.String(64), sa.ForeignKey("participants.id"), nullable=False),
        sa.Column("asset", sa.String(32), sa.ForeignKey("assets.code"), nullable=False),
        sa.Column("flags", sa.String(128), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("debits_posted", sa.BigInteger, nullable=False),
        sa.Column("credits_posted", sa.BigInteger, nullable=False),
        sa.Column("debits_pending", sa.BigInteger, nullable=False),
        sa.Column("credits_pending", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_accounts_owner", "accounts", ["owner"])
    op.create_index("ix_accounts_asset", "accounts", ["asset"])
    op.create_table(
        "journal",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(128), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(128), nullable=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("signatures", sa.Text, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_journal_ref", "journal", ["ref"])
    op.create_table(
        "legs",
        sa.Column("seq", sa.BigInteger, sa.ForeignKey("journal.seq"), primary_key=True, autoincrement=False),
        sa.Column("idx", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("debit", sa.String(128), nullable=False),
        sa.Column("credit", sa.String(128), nullable=False),
        sa.Column("asset", sa.String(32), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("pending", sa.Boolean, nullable=False),
    )
    op.create_index("ix_legs_debit", "legs", ["debit", "seq"])
    op.create_index("ix_legs_credit", "legs", ["credit", "seq"])
    op.create_table(
        "holds",
        sa.Column("id", sa.String(128), sa.ForeignKey("journal.id"), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("finished_by", sa.String(128), nullable=True),
    )
    op.create_index("ix_holds_status_expiry", "holds", ["status", "expires_at"])
    op.create_table(
        "head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in ("head", "holds", "legs", "journal", "accounts", "assets", "participants", "meta"):
        op.drop_table(table)
