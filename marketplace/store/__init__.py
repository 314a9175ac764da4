"""Durable store for the exchange: SQLAlchemy 2 Core over SQLite (WAL) or PostgreSQL."""

from marketplace.store.database import Store

__all__ = ["Store"]
