"""Capital-flow controls that hold against evasion: cross-border movements by true party; no breaker trips.

The travel rule aggregates linked transfers from one originator to one
beneficiary over a window, so each movement is kept (``travel_movements``).
A refused transaction changes no control state, so the run breaker keeps no
trips of its own: ``breaker_trips`` (written by refused conversions) goes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "travel_movements",
        sa.Column("seq", sa.BigInteger, sa.ForeignKey("journal.seq"), primary_key=True, autoincrement=False),
        sa.Column("originator", sa.String(64), sa.ForeignKey("participants.id"), primary_key=True),
        sa.Column("beneficiary", sa.String(64), sa.ForeignKey("participants.id"), primary_key=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("usd_minor", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_travel_movements_originator_at", "travel_movements", ["originator", "at"])
    op.drop_index("ix_breaker_trips_asset_until", table_name="breaker_trips")
    op.drop_table("breaker_trips")


def downgrade() -> None:
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
    op.drop_index("ix_travel_movements_originator_at", table_name="travel_movements")
    op.drop_table("travel_movements")
