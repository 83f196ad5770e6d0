"""Alembic environment: runs migrations on the connection wonledger hands it."""

from alembic import context

from wonledger.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - wonledger always passes one
    raise RuntimeError("wonledger runs its migrations itself: use `wonledger init`")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
