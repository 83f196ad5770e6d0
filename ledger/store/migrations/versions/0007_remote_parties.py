"""Cross-border movements may name a party of another ledger: ``travel_movements`` drops its foreign keys to ``participants``.

A conditional hold of a payment across two ledgers names its far party by
reference (that ledger's id, the party's id and public key there): it is no
participant of this ledger, yet the controls count the movement to or from it
(originator → beneficiary over the linked window), as they count any other.
The table is derived from the journal like every control figure (a rebuild
recomputes it), so the reference it keeps is checked by every replay.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _movements(name: str, *, participants: bool) -> None:
    party = (sa.ForeignKey("participants.id"),) if participants else ()
    op.create_table(
        name,
        sa.Column("seq", sa.BigInteger, sa.ForeignKey("journal.seq"), primary_key=True, autoincrement=False),
        sa.Column("originator", sa.String(64), *party, primary_key=True),
        sa.Column("beneficiary", sa.String(64), *party, primary_key=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("usd_minor", sa.BigInteger, nullable=False),
    )


def _replace(participants: bool) -> None:
    # A new table, the rows copied, the old one dropped: the same on SQLite and PostgreSQL, whatever the old keys were named.
    _movements("travel_movements_new", participants=participants)
    op.execute(
        "INSERT INTO travel_movements_new (seq, originator, beneficiary, at, usd_minor) "
        "SELECT seq, originator, beneficiary, at, usd_minor FROM travel_movements"
    )
    op.drop_index("ix_travel_movements_originator_at", table_name="travel_movements")
    op.drop_table("travel_movements")
    op.rename_table("travel_movements_new", "travel_movements")
    op.create_index("ix_travel_movements_originator_at", "travel_movements", ["originator", "at"])


def upgrade() -> None:
    _replace(participants=False)


def downgrade() -> None:
    _replace(participants=True)
