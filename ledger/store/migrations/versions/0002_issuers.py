"""Registered stablecoin issuers: which participant may mint which stablecoin.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issuers",
        sa.Column("asset", sa.String(32), sa.ForeignKey("assets.code"), primary_key=True),
        sa.Column("issuer", sa.String(64), sa.ForeignKey("participants.id"), nullable=False),
        sa.Column("registered_at", sa.String(32), nullable=False),
    )
    # Stablecoins of a ledger made before registration existed were issued by
    # their assets' issuers; they stay registered.
    op.execute(
        "INSERT INTO issuers (asset, issuer, registered_at) "
        "SELECT code, issuer, '2026-11-22T00:00:00.000000Z' FROM assets WHERE kind = 'stablecoin'"
    )


def downgrade() -> None:
    op.drop_table("issuers")
