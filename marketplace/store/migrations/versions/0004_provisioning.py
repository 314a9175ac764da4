"""Provisioning: the fabric topology (inventory) as loaded, and each provisioned deal's
interconnection intent (what must exist in the network for it).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "topologies",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("loaded_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "deal_intents",
        sa.Column("deal_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("intent", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("deal_intents")
    op.drop_table("topologies")
