"""Provisioning: the fabric topology (inventory) as loaded, each provisioned deal's
interconnection intent (what must exist in the network for it), and service end times
(requests' service_end, deals' ends_at).

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
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("service_end", sa.BigInteger, nullable=False, server_default="0"))
    with op.batch_alter_table("deals") as batch:
        batch.add_column(sa.Column("ends_at", sa.BigInteger, nullable=False, server_default="0"))
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
    with op.batch_alter_table("deals") as batch:
        batch.drop_column("ends_at")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("service_end")
