"""The Alembic migrations build exactly the tables the code declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from marketplace.store import Store
from marketplace.store.tables import metadata


def test_migrated_schema_matches_table_definitions(database_url: str) -> None:
    store = Store(database_url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    store.close()
    assert diff == []


def test_migrating_twice_is_harmless(database_url: str) -> None:
    Store(database_url).close()
    Store(database_url).close()
