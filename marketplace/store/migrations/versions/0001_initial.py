"""Initial schema: parameters, class schemes, participants, tokens, agreements, orders,
deals and the event journal.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parameters",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("direction", sa.Integer, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("min_value", sa.BigInteger, nullable=False),
        sa.Column("max_value", sa.BigInteger, nullable=False),
        sa.Column("score_worst", sa.BigInteger, nullable=False),
        sa.Column("score_best", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "class_schemes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_class_schemes_name_version"),
    )
    op.create_table(
        "participants",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("roles", sa.String(64), nullable=False),
        sa.Column("carrier", sa.Boolean, nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("participant", sa.String(40), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "agreements",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("reference", sa.String(64), nullable=False, unique=True),
        sa.Column("buyer", sa.String(40), nullable=False),
        sa.Column("seller", sa.String(40), nullable=False),
        sa.Column("interconnects", sa.Text, nullable=False),
        sa.Column("max_rate_kbps", sa.BigInteger, nullable=False),
        sa.Column("terms", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("participant", sa.String(40), nullable=False),
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("side", sa.Integer, nullable=False),
        sa.Column("service_type", sa.Integer, nullable=False),
        sa.Column("a_end", sa.String(64), nullable=False),
        sa.Column("z_end", sa.String(64), nullable=False),
        sa.Column("capacity_kbps", sa.BigInteger, nullable=False),
        sa.Column("circuits", sa.Integer, nullable=False),
        sa.Column("remaining", sa.Integer, nullable=False),
        sa.Column("param_values", sa.Text, nullable=False),
        sa.Column("price", sa.BigInteger, nullable=False),
        sa.Column("class_scheme", sa.String(40), nullable=False),
        sa.Column("scheme_version", sa.Integer, nullable=False),
        sa.Column("grade", sa.String(24), nullable=False),
        sa.Column("assigned_by", sa.Integer, nullable=False),
        sa.Column("class_reason", sa.Text, nullable=False),
        sa.Column("valid_from", sa.BigInteger, nullable=False),
        sa.Column("valid_until", sa.BigInteger, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("priority", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("participant", "client_order_id", name="uq_orders_client_order_id"),
    )
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_table(
        "deals",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("offer_order_id", sa.BigInteger, nullable=False),
        sa.Column("request_order_id", sa.BigInteger, nullable=False),
        sa.Column("seller", sa.String(40), nullable=False),
        sa.Column("buyer", sa.String(40), nullable=False),
        sa.Column("service_type", sa.Integer, nullable=False),
        sa.Column("a_end", sa.String(64), nullable=False),
        sa.Column("z_end", sa.String(64), nullable=False),
        sa.Column("capacity_kbps", sa.BigInteger, nullable=False),
        sa.Column("circuits", sa.Integer, nullable=False),
        sa.Column("price", sa.BigInteger, nullable=False),
        sa.Column("class_scheme", sa.String(40), nullable=False),
        sa.Column("scheme_version", sa.Integer, nullable=False),
        sa.Column("grade", sa.String(24), nullable=False),
        sa.Column("agreement_id", sa.BigInteger, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("status_reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_deals_status", "deals", ["status"])
    op.create_table(
        "events",
        sa.Column("sequence", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("time", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.Integer, nullable=False),
        sa.Column("party_a", sa.String(40), nullable=False),
        sa.Column("party_b", sa.String(40), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    for table in ("events", "deals", "orders", "agreements", "tokens", "participants", "class_schemes", "parameters"):
        op.drop_table(table)
