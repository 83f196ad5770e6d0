"""Offered quotes signed by their dealer; which transaction took a quote kept apart from the offers.

An offered quote is a record no rule reads: what binds is the quote's terms
inside the exchange the dealer signs. It now carries the dealer's Ed25519
signature over the whole offer (``signature``; none for offers stored
before), so an offer edited in the database is refused by ``swap --quote``
and named by ``verify``. Which transaction took a quote is derived from the
journal like every control figure, and is kept in ``quote_uses`` whether or
not the offer was ever stored (a quote signed outside this ledger is taken
once too); ``quotes.used_by`` goes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("quotes", sa.Column("signature", sa.Text, nullable=True))
    op.create_table(
        "quote_uses",
        sa.Column("quote_id", sa.String(128), primary_key=True),
        sa.Column("tx_id", sa.String(128), sa.ForeignKey("journal.id"), nullable=False),
    )
    op.execute(
        "INSERT INTO quote_uses (quote_id, tx_id) SELECT q.id, q.used_by FROM quotes q "
        "WHERE q.used_by IS NOT NULL AND EXISTS (SELECT 1 FROM journal j WHERE j.id = q.used_by)"
    )
    with op.batch_alter_table("quotes") as batch:
        batch.drop_column("used_by")


def downgrade() -> None:
    with op.batch_alter_table("quotes") as batch:
        batch.add_column(sa.Column("used_by", sa.String(128), nullable=True))
    op.execute("UPDATE quotes SET used_by = (SELECT u.tx_id FROM quote_uses u WHERE u.quote_id = quotes.id)")
    op.drop_table("quote_uses")
    with op.batch_alter_table("quotes") as batch:
        batch.drop_column("signature")
