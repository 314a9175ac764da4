"""Pre-trade rules: time in force, routing policy, quality score, re-bid and quote links,
class-approval deadline on orders; quotes; point-of-presence adjacency; deals by time.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ORDER_COLUMNS = (
    ("time_in_force", sa.Integer, "1"),
    ("routing", sa.Integer, "1"),
    ("score", sa.Integer, "0"),
    ("rebid_of", sa.BigInteger, "0"),
    ("quote_id", sa.BigInteger, "0"),
    ("approve_by", sa.BigInteger, "0"),
)


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        for name, kind, default in ORDER_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=False, server_default=default))
    op.create_index("ix_deals_created_at", "deals", ["created_at"])
    op.create_table(
        "quotes",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("participant", sa.String(40), nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_quotes_expires_at", "quotes", ["expires_at"])
    op.create_table(
        "pop_links",
        sa.Column("a", sa.String(64), primary_key=True),
        sa.Column("b", sa.String(64), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("pop_links")
    op.drop_index("ix_quotes_expires_at", table_name="quotes")
    op.drop_table("quotes")
    op.drop_index("ix_deals_created_at", table_name="deals")
    with op.batch_alter_table("orders") as batch:
        for name, _, _ in ORDER_COLUMNS:
            batch.drop_column(name)
