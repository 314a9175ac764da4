"""Indexes for the per-participant reads: a participant's orders, deals and event backlog.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_orders_participant_id", "orders", ["participant", "id"]),
    ("ix_deals_seller_id", "deals", ["seller", "id"]),
    ("ix_deals_buyer_id", "deals", ["buyer", "id"]),
    ("ix_events_party_a_sequence", "events", ["party_a", "sequence"]),
    ("ix_events_party_b_sequence", "events", ["party_b", "sequence"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
