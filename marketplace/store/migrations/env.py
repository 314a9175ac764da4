"""Alembic environment: runs migrations on the connection the store hands over, or on
sqlalchemy.url when run from the alembic command line."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from marketplace.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")

if connection is not None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///ixchange.db")
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
