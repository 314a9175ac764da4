"""Service continuity: a seller swap links the deal that takes a buyer's service over
with the deal it replaces, both ways; a protected deal's protection charge.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deals") as batch:
        batch.add_column(sa.Column("replaces", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("replaced_by", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("protection_price", sa.BigInteger, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("deals") as batch:
        batch.drop_column("protection_price")
        batch.drop_column("replaced_by")
        batch.drop_column("replaces")
