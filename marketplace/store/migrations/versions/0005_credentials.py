"""Credentials: tokens that expire, can be revoked and carry a label; participants bound
to a client certificate subject (mutual TLS).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("revoked_at", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("label", sa.String(64), nullable=False, server_default=""))
    with op.batch_alter_table("participants") as batch:
        batch.add_column(sa.Column("cert_subject", sa.String(256), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("cert_subject")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("label")
        batch.drop_column("revoked_at")
        batch.drop_column("expires_at")
