"""Table definitions. Times are integer microseconds since the Unix epoch, money and
quantities integers; structured fields are JSON text. Alembic migrations in
migrations/versions/ create and evolve these tables; keep both in step. Text lengths
come from marketplace.limits, which validation reads too."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from marketplace import limits as lim

PARTICIPANT = lim.PARTICIPANT_NAME.max_len
POP = lim.POP.max_len
SCHEME = lim.SCHEME_NAME.max_len
GRADE = lim.GRADE_NAME.max_len

metadata = MetaData()

parameters = Table(
    "parameters",
    metadata,
    Column("name", String(lim.PARAMETER_NAME.max_len), primary_key=True),
    Column("unit", String(lim.PARAMETER_UNIT.max_len), nullable=False),
    Column("direction", Integer, nullable=False),
    Column("description", Text, nullable=False),
    Column("min_value", BigInteger, nullable=False),
    Column("max_value", BigInteger, nullable=False),
    Column("score_worst", BigInteger, nullable=False),
    Column("score_best", BigInteger, nullable=False),
)

class_schemes = Table(
    "class_schemes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(SCHEME), nullable=False),
    Column("version", Integer, nullable=False),
    Column("definition", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("name", "version", name="uq_class_schemes_name_version"),
)

participants = Table(
    "participants",
    metadata,
    Column("name", String(PARTICIPANT), primary_key=True),
    Column("roles", String(64), nullable=False),
    Column("carrier", Boolean, nullable=False),
    Column("display_name", String(lim.DISPLAY_NAME.max_len), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # Added by 0005: calls with this participant's tokens must come with a client
    # certificate of this subject (mutual TLS); empty: any.
    Column("cert_subject", String(lim.CERT_SUBJECT.max_len), nullable=False, server_default=""),
    # Added by 0006: an operator waived verification before listing for this seller.
    Column("verification_waived", Boolean, nullable=False, server_default="0"),
)

tokens = Table(
    "tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("participant", String(PARTICIPANT), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # Added by 0005: 0 means never / not revoked.
    Column("expires_at", BigInteger, nullable=False, server_default="0"),
    Column("revoked_at", BigInteger, nullable=False, server_default="0"),
    Column("label", String(lim.TOKEN_LABEL.max_len), nullable=False, server_default=""),
)

agreements = Table(
    "agreements",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("reference", String(lim.AGREEMENT_REFERENCE.max_len), nullable=False, unique=True),
    Column("buyer", String(PARTICIPANT), nullable=False),
    Column("seller", String(PARTICIPANT), nullable=False),
    Column("interconnects", Text, nullable=False),
    Column("max_rate_kbps", BigInteger, nullable=False),
    Column("terms", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("participant", String(PARTICIPANT), nullable=False),
    Column("client_order_id", String(lim.CLIENT_ORDER_ID.max_len), nullable=False),
    Column("side", Integer, nullable=False),
    Column("service_type", Integer, nullable=False),
    Column("a_end", String(POP), nullable=False),
    Column("z_end", String(POP), nullable=False),
    Column("capacity_kbps", BigInteger, nullable=False),
    Column("circuits", Integer, nullable=False),
    Column("remaining", Integer, nullable=False),
    Column("param_values", Text, nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("class_scheme", String(SCHEME), nullable=False),
    Column("scheme_version", Integer, nullable=False),
    Column("grade", String(GRADE), nullable=False),
    Column("assigned_by", Integer, nullable=False),
    Column("class_reason", Text, nullable=False),
    Column("valid_from", BigInteger, nullable=False),
    Column("valid_until", BigInteger, nullable=False),
    Column("status", Integer, nullable=False),
    Column("priority", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # Added by 0003 (pre-trade rules); the defaults describe orders entered before it.
    Column("time_in_force", Integer, nullable=False, server_default="1"),
    Column("routing", Integer, nullable=False, server_default="1"),
    Column("score", Integer, nullable=False, server_default="0"),
    Column("rebid_of", BigInteger, nullable=False, server_default="0"),
    Column("quote_id", BigInteger, nullable=False, server_default="0"),
    Column("approve_by", BigInteger, nullable=False, server_default="0"),
    # Added by 0004 (provisioning).
    Column("service_end", BigInteger, nullable=False, server_default="0"),
    # Added by 0009: the commit that last wrote the row (standbys read what changed).
    Column("revision", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("participant", "client_order_id", name="uq_orders_client_order_id"),
    Index("ix_orders_status", "status"),
    Index("ix_orders_participant_id", "participant", "id"),
    Index("ix_orders_revision", "revision"),
)

deals = Table(
    "deals",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("offer_order_id", BigInteger, nullable=False),
    Column("request_order_id", BigInteger, nullable=False),
    Column("seller", String(PARTICIPANT), nullable=False),
    Column("buyer", String(PARTICIPANT), nullable=False),
    Column("service_type", Integer, nullable=False),
    Column("a_end", String(POP), nullable=False),
    Column("z_end", String(POP), nullable=False),
    Column("capacity_kbps", BigInteger, nullable=False),
    Column("circuits", Integer, nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("class_scheme", String(SCHEME), nullable=False),
    Column("scheme_version", Integer, nullable=False),
    Column("grade", String(GRADE), nullable=False),
    Column("agreement_id", BigInteger, nullable=False),
    Column("status", Integer, nullable=False),
    Column("status_reason", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("ends_at", BigInteger, nullable=False, server_default="0"),  # added by 0004
    Column("replaces", BigInteger, nullable=False, server_default="0"),  # added by 0007
    Column("replaced_by", BigInteger, nullable=False, server_default="0"),  # added by 0007
    Column("protection_price", BigInteger, nullable=False, server_default="0"),  # added by 0007
    Column("revision", BigInteger, nullable=False, server_default="0"),  # added by 0009
    Index("ix_deals_status", "status"),
    Index("ix_deals_seller_id", "seller", "id"),
    Index("ix_deals_buyer_id", "buyer", "id"),
    Index("ix_deals_created_at", "created_at"),  # market reports read deals by time
    Index("ix_deals_revision", "revision"),
)

quotes = Table(
    "quotes",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("participant", String(PARTICIPANT), nullable=False),
    Column("definition", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_quotes_expires_at", "expires_at"),
)

# High availability (PostgreSQL only): the one leader's lease. `generation` comes from the
# sequence leader_generation and grows with every takeover; every commit of the leader
# checks it in its own transaction (fencing). Times are the database's clock, in µs.
leadership = Table(
    "leadership",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("holder", String(200), nullable=False),
    Column("generation", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)

# Operator-defined point-of-presence adjacency, one row per pair (a < b).
pop_links = Table(
    "pop_links",
    metadata,
    Column("a", String(POP), primary_key=True),
    Column("b", String(POP), primary_key=True),
)

events = Table(
    "events",
    metadata,
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("time", BigInteger, nullable=False),
    Column("kind", Integer, nullable=False),
    Column("party_a", String(PARTICIPANT), nullable=False),
    Column("party_b", String(PARTICIPANT), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    # A participant's WatchEvents backlog: events where it is either party, in order.
    Index("ix_events_party_a_sequence", "party_a", "sequence"),
    Index("ix_events_party_b_sequence", "party_b", "sequence"),
)

# The fabric topology file as loaded (TOML text); the highest id is the one in use.
topologies = Table(
    "topologies",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("document", Text, nullable=False),
    Column("loaded_at", BigInteger, nullable=False),
)

# What must exist in the network for each deal being provisioned, active or ending
# (provisioning.intent.Intent as JSON). Written before any node is touched.
deal_intents = Table(
    "deal_intents",
    metadata,
    Column("deal_id", BigInteger, primary_key=True, autoincrement=False),
    Column("intent", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# Added by 0006 (service assurance). A live or ended deal's delivered quality as last
# recorded: its delivered class beside the bought one, DEGRADED and why.
deal_quality = Table(
    "deal_quality",
    metadata,
    Column("deal_id", BigInteger, primary_key=True, autoincrement=False),
    Column("offer_order_id", BigInteger, nullable=False),
    Column("seller", String(PARTICIPANT), nullable=False),
    Column("buyer", String(PARTICIPANT), nullable=False),
    Column("class_scheme", String(SCHEME), nullable=False),
    Column("scheme_version", Integer, nullable=False),
    Column("grade", String(GRADE), nullable=False),
    Column("delivered_grade", String(GRADE), nullable=False),
    Column("degraded", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("latency_us", BigInteger, nullable=True),
    Column("jitter_us", BigInteger, nullable=True),
    Column("loss_ppm", BigInteger, nullable=False),
    Column("availability_ppm", BigInteger, nullable=False),
    Column("probes", BigInteger, nullable=False),
    Column("answered", BigInteger, nullable=False),
    Column("windows", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("score", Integer, nullable=False),
    Index("ix_deal_quality_offer_order_id", "offer_order_id"),
)

# Every measured window of every deal: the time series GetQuality pages through.
quality_samples = Table(
    "quality_samples",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("deal_id", BigInteger, nullable=False),
    Column("offer_order_id", BigInteger, nullable=False),
    Column("seller", String(PARTICIPANT), nullable=False),
    Column("buyer", String(PARTICIPANT), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("latency_us", BigInteger, nullable=True),
    Column("jitter_us", BigInteger, nullable=True),
    Column("loss_ppm", BigInteger, nullable=False),
    Column("availability_ppm", BigInteger, nullable=False),
    Column("probes", Integer, nullable=False),
    Column("answered", Integer, nullable=False),
    Column("delivered_grade", String(GRADE), nullable=False),
    Column("at_class", Boolean, nullable=False),
    Index("ix_quality_samples_deal_id_id", "deal_id", "id"),
    Index("ix_quality_samples_offer_order_id_id", "offer_order_id", "id"),
    Index("ix_quality_samples_seller", "seller"),
)

# The SLA credit ledger: one row per assessment.
penalties = Table(
    "penalties",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("deal_id", BigInteger, nullable=False),
    Column("seller", String(PARTICIPANT), nullable=False),
    Column("buyer", String(PARTICIPANT), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("grade", String(GRADE), nullable=False),
    Column("delivered_grade", String(GRADE), nullable=False),
    Column("classes_below", Integer, nullable=False),
    Column("percent", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Index("ix_penalties_deal_id", "deal_id"),
    Index("ix_penalties_seller_id", "seller", "id"),
    Index("ix_penalties_buyer_id", "buyer", "id"),
)

# Each offer's last verification before listing (or re-verification): what was measured
# from the seller's attachment and the grade it was listed in.
offer_verification = Table(
    "offer_verification",
    metadata,
    Column("order_id", BigInteger, primary_key=True, autoincrement=False),
    Column("seller", String(PARTICIPANT), nullable=False),
    Column("state", Integer, nullable=False),
    Column("asserted_grade", String(GRADE), nullable=False),
    Column("grade", String(GRADE), nullable=False),
    Column("reason", Text, nullable=False),
    Column("latency_us", BigInteger, nullable=True),
    Column("jitter_us", BigInteger, nullable=True),
    Column("loss_ppm", BigInteger, nullable=True),
    Column("availability_ppm", BigInteger, nullable=True),
    Column("probes", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
