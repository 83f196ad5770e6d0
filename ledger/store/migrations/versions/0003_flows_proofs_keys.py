"""Cross-border quotes, capital-flow controls, refusals, checkpoints and key history.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quotes",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("dealer", sa.String(64), sa.ForeignKey("participants.id"), nullable=False),
        sa.Column("sell_asset", sa.String(32), sa.ForeignKey("assets.code"), nullable=False),
        sa.Column("buy_asset", sa.String(32), sa.ForeignKey("assets.code"), nullable=False),
        sa.Column("sell_amount", sa.BigInteger, nullable=False),
        sa.Column("fee", sa.BigInteger, nullable=False),
        sa.Column("buy_amount", sa.BigInteger, nullable=False),
        sa.Column("rate", sa.String(40), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("used_by", sa.String(128), nullable=True),
    )
    op.create_table(
        "rejections",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("who", sa.String(256), nullable=False),
        sa.Column("tx_id", sa.String(128), nullable=True),
        sa.Column("kind", sa.String(16), nullable=True),
        sa.Column("what", sa.Text, nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("ix_rejections_at", "rejections", ["at"])
    op.create_table(
        "outflows",
        sa.Column("seq", sa.BigInteger, sa.ForeignKey("journal.seq"), primary_key=True, autoincrement=False),
        sa.Column("participant", sa.String(64), sa.ForeignKey("participants.id"), primary_key=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("usd_minor", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_outflows_participant_year", "outflows", ["participant", "year"])
    op.create_table(
        "conversions",
        sa.Column("seq", sa.BigInteger, sa.ForeignKey("journal.seq"), primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("asset", sa.String(32), sa.ForeignKey("assets.code"), nullable=False),
        sa.Column("amount_out", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_conversions_asset_at", "conversions", ["asset", "at"])
    op.create_table(
        "breaker_trips",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("asset", sa.String(32), sa.ForeignKey("assets.code"), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("until", sa.String(32), nullable=False),
        sa.Column("net_out", sa.BigInteger, nullable=False),
        sa.Column("supply", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_breaker_trips_asset_until", "breaker_trips", ["asset", "until"])
    op.create_table(
        "checkpoints",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("operator_key", sa.Text, nullable=False),
    )
    op.create_table(
        "participant_keys",
        sa.Column("participant", sa.String(64), sa.ForeignKey("participants.id"), primary_key=True),
        sa.Column("public_key", sa.LargeBinary(32), primary_key=True),
        sa.Column("valid_from", sa.String(32), nullable=False),
        sa.Column("retired_at", sa.String(32), nullable=True),
        sa.Column("reason", sa.String(16), nullable=True),
    )
    # Each participant's key so far is its current key, valid from the start.
    op.execute(
        "INSERT INTO participant_keys (participant, public_key, valid_from, retired_at, reason) "
        "SELECT id, public_key, '1970-01-01T00:00:00.000000Z', NULL, NULL FROM participants"
    )


def downgrade() -> None:
    for table in ("participant_keys", "checkpoints", "breaker_trips", "conversions", "outflows", "rejections", "quotes"):
        op.drop_table(table)
