"""Service assurance: each deal's delivered quality, the measured windows (time series),
the SLA credit ledger, offers' verification before listing and the sellers an operator
waived it for.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PARTICIPANT, SCHEME, GRADE = 40, 40, 24  # marketplace.limits when written


def upgrade() -> None:
    with op.batch_alter_table("participants") as batch:
        batch.add_column(sa.Column("verification_waived", sa.Boolean, nullable=False, server_default="0"))
    op.create_table(
        "offer_verification",
        sa.Column("order_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("seller", sa.String(PARTICIPANT), nullable=False),
        sa.Column("state", sa.Integer, nullable=False),
        sa.Column("asserted_grade", sa.String(GRADE), nullable=False),
        sa.Column("grade", sa.String(GRADE), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("latency_us", sa.BigInteger, nullable=True),
        sa.Column("jitter_us", sa.BigInteger, nullable=True),
        sa.Column("loss_ppm", sa.BigInteger, nullable=True),
        sa.Column("availability_ppm", sa.BigInteger, nullable=True),
        sa.Column("probes", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "deal_quality",
        sa.Column("deal_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("offer_order_id", sa.BigInteger, nullable=False),
        sa.Column("seller", sa.String(PARTICIPANT), nullable=False),
        sa.Column("buyer", sa.String(PARTICIPANT), nullable=False),
        sa.Column("class_scheme", sa.String(SCHEME), nullable=False),
        sa.Column("scheme_version", sa.Integer, nullable=False),
        sa.Column("grade", sa.String(GRADE), nullable=False),
        sa.Column("delivered_grade", sa.String(GRADE), nullable=False),
        sa.Column("degraded", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("latency_us", sa.BigInteger, nullable=True),
        sa.Column("jitter_us", sa.BigInteger, nullable=True),
        sa.Column("loss_ppm", sa.BigInteger, nullable=False),
        sa.Column("availability_ppm", sa.BigInteger, nullable=False),
        sa.Column("probes", sa.BigInteger, nullable=False),
        sa.Column("answered", sa.BigInteger, nullable=False),
        sa.Column("windows", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
    )
    op.create_index("ix_deal_quality_offer_order_id", "deal_quality", ["offer_order_id"])
    op.create_table(
        "quality_samples",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("deal_id", sa.BigInteger, nullable=False),
        sa.Column("offer_order_id", sa.BigInteger, nullable=False),
        sa.Column("seller", sa.String(PARTICIPANT), nullable=False),
        sa.Column("buyer", sa.String(PARTICIPANT), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("latency_us", sa.BigInteger, nullable=True),
        sa.Column("jitter_us", sa.BigInteger, nullable=True),
        sa.Column("loss_ppm", sa.BigInteger, nullable=False),
        sa.Column("availability_ppm", sa.BigInteger, nullable=False),
        sa.Column("probes", sa.Integer, nullable=False),
        sa.Column("answered", sa.Integer, nullable=False),
        sa.Column("delivered_grade", sa.String(GRADE), nullable=False),
        sa.Column("at_class", sa.Boolean, nullable=False),
    )
    op.create_index("ix_quality_samples_deal_id_id", "quality_samples", ["deal_id", "id"])
    op.create_index("ix_quality_samples_offer_order_id_id", "quality_samples", ["offer_order_id", "id"])
    op.create_index("ix_quality_samples_seller", "quality_samples", ["seller"])
    op.create_table(
        "penalties",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("deal_id", sa.BigInteger, nullable=False),
        sa.Column("seller", sa.String(PARTICIPANT), nullable=False),
        sa.Column("buyer", sa.String(PARTICIPANT), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("grade", sa.String(GRADE), nullable=False),
        sa.Column("delivered_grade", sa.String(GRADE), nullable=False),
        sa.Column("classes_below", sa.Integer, nullable=False),
        sa.Column("percent", sa.Integer, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_penalties_deal_id", "penalties", ["deal_id"])
    op.create_index("ix_penalties_seller_id", "penalties", ["seller", "id"])
    op.create_index("ix_penalties_buyer_id", "penalties", ["buyer", "id"])


def downgrade() -> None:
    op.drop_table("offer_verification")
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("verification_waived")
    op.drop_table("penalties")
    op.drop_table("quality_samples")
    op.drop_table("deal_quality")
