"""High availability, warm standby: every order and deal row carries the revision (the
leader's commit count) of the commit that last wrote it, so a standby reads only the rows
changed since it last looked (store/warm.py).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("orders", "deals"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("revision", sa.BigInteger, nullable=False, server_default="0"))
        op.create_index(f"ix_{table}_revision", table, ["revision"])


def downgrade() -> None:
    for table in ("orders", "deals"):
        op.drop_index(f"ix_{table}_revision", table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("revision")
