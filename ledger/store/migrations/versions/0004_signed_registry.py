"""The registry as signed journal entries: who vouched for each participant.

Participants, assets, issuers, accounts and keys are now written by journal
entries the rulebook decides. A ledger made before this keeps the registry
it had; the first time it is opened with the keys of its operator, the book
freezes that registry in one `genesis` entry (see ledger.upgrade), which
`verify` replays from.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite's batch mode would rebuild the table, which other tables' keys point at.
    op.add_column("participants", sa.Column("registrar", sa.String(64), nullable=False, server_default=sa.text("''")))
    # A ledger with a journal and no genesis entry kept its registry outside the journal.
    op.execute(
        "INSERT INTO meta (key, value) SELECT 'registry_unsigned', 'yes' "
        "WHERE EXISTS (SELECT 1 FROM participants)"
    )


def downgrade() -> None:
    op.execute("DELETE FROM meta WHERE key = 'registry_unsigned'")
    op.drop_column("participants", "registrar")
