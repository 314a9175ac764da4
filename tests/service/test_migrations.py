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


def test_upgrade_from_the_first_revision_keeps_the_data(database_url: str) -> None:
    """A database made by revision 0001 with orders in it upgrades in place."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import select

    from marketplace.store.database import MIGRATIONS, make_engine
    from marketplace.store.tables import orders

    engine = make_engine(database_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO participants (name, roles, carrier, display_name, created_at) "
            "VALUES ('acme', 'SELLER', false, 'Acme', 1)"
        )
    engine.dispose()
    store = Store(database_url)  # runs the remaining migrations
    with store.engine.connect() as conn:
        assert conn.execute(select(orders)).all() == []
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    assert store.participant("acme") is not None
    store.close()
