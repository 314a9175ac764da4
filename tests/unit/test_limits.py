"""The one table of limits (marketplace/limits.py) against the store's columns: every
column that holds a value someone sent has a rule no looser than the column, so a value
the store cannot hold is refused before anything changes. A new column fails this test
until it is given a rule."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import BigInteger, Boolean, Integer, LargeBinary, String, Text

from marketplace import limits
from marketplace.orders import MAX_CAPACITY_KBPS, MAX_CIRCUITS, MAX_PRICE
from marketplace.store.tables import metadata

INT32 = limits.INT32_MAX
INT64 = limits.INT64_MAX
WRITTEN_BY_THE_SERVER = None  # text the exchange composes itself (reasons, JSON, payloads)

# Each text column: the rule that checks what is written to it.
TEXT: dict[str, limits.TextRule | None] = {
    "parameters.name": limits.PARAMETER_NAME,
    "parameters.unit": limits.PARAMETER_UNIT,
    "parameters.description": limits.DESCRIPTION,
    "class_schemes.name": limits.SCHEME_NAME,
    "class_schemes.definition": WRITTEN_BY_THE_SERVER,  # JSON of validated grades and bands
    "participants.name": limits.PARTICIPANT_NAME,
    "participants.roles": WRITTEN_BY_THE_SERVER,
    "participants.display_name": limits.DISPLAY_NAME,
    "participants.cert_subject": limits.CERT_SUBJECT,
    "tokens.token_hash": WRITTEN_BY_THE_SERVER,
    "tokens.participant": limits.PARTICIPANT_NAME,
    "tokens.label": limits.TOKEN_LABEL,
    "agreements.reference": limits.AGREEMENT_REFERENCE,
    "agreements.buyer": limits.PARTICIPANT_NAME,
    "agreements.seller": limits.PARTICIPANT_NAME,
    "agreements.interconnects": WRITTEN_BY_THE_SERVER,  # JSON of NODE_NAME-checked ports
    "agreements.terms": limits.TERMS,
    "orders.participant": limits.PARTICIPANT_NAME,
    "orders.client_order_id": limits.CLIENT_ORDER_ID,
    "orders.a_end": limits.POP,
    "orders.z_end": limits.POP,
    "orders.param_values": WRITTEN_BY_THE_SERVER,  # JSON of known parameters' int64 values
    "orders.class_scheme": limits.SCHEME_NAME,
    "orders.grade": limits.GRADE_NAME,
    "orders.class_reason": WRITTEN_BY_THE_SERVER,
    "deals.seller": limits.PARTICIPANT_NAME,
    "deals.buyer": limits.PARTICIPANT_NAME,
    "deals.a_end": limits.POP,
    "deals.z_end": limits.POP,
    "deals.class_scheme": limits.SCHEME_NAME,
    "deals.grade": limits.GRADE_NAME,
    "deals.status_reason": WRITTEN_BY_THE_SERVER,  # composed; a party's reason is REASON-checked
    "quotes.participant": limits.PARTICIPANT_NAME,
    "quotes.definition": WRITTEN_BY_THE_SERVER,
    "pop_links.a": limits.POP,
    "pop_links.b": limits.POP,
    "leadership.holder": WRITTEN_BY_THE_SERVER,  # cut to 200 by standby.holder_name
    "events.party_a": limits.PARTICIPANT_NAME,
    "deal_quality.seller": limits.PARTICIPANT_NAME,
    "deal_quality.buyer": limits.PARTICIPANT_NAME,
    "quality_samples.seller": limits.PARTICIPANT_NAME,
    "quality_samples.buyer": limits.PARTICIPANT_NAME,
    "penalties.seller": limits.PARTICIPANT_NAME,
    "penalties.buyer": limits.PARTICIPANT_NAME,
    "deal_quality.class_scheme": limits.SCHEME_NAME,
    "deal_quality.grade": limits.GRADE_NAME,
    "deal_quality.delivered_grade": limits.GRADE_NAME,
    "deal_quality.reason": WRITTEN_BY_THE_SERVER,
    "quality_samples.delivered_grade": limits.GRADE_NAME,
    "penalties.grade": limits.GRADE_NAME,
    "penalties.delivered_grade": limits.GRADE_NAME,
    "penalties.reason": WRITTEN_BY_THE_SERVER,
    "offer_verification.seller": limits.PARTICIPANT_NAME,
    "offer_verification.asserted_grade": limits.GRADE_NAME,
    "offer_verification.grade": limits.GRADE_NAME,
    "offer_verification.reason": WRITTEN_BY_THE_SERVER,
    "events.party_b": limits.PARTICIPANT_NAME,
    "events.payload": WRITTEN_BY_THE_SERVER,
    "topologies.document": WRITTEN_BY_THE_SERVER,  # the operator's file, read and checked at start
    "deal_intents.intent": WRITTEN_BY_THE_SERVER,
}

# Each integer column: the largest value validation lets reach it.
INTEGER: dict[str, int] = {
    "parameters.direction": 2,
    "parameters.min_value": INT64,
    "parameters.max_value": INT64,
    "parameters.score_worst": INT64,
    "parameters.score_best": INT64,
    "class_schemes.id": INT32,  # a counter of scheme versions
    "class_schemes.version": INT32,
    "class_schemes.created_at": limits.MAX_TIME_US,
    "participants.created_at": limits.MAX_TIME_US,
    "tokens.created_at": limits.MAX_TIME_US,
    "tokens.expires_at": limits.MAX_TIME_US,
    "tokens.revoked_at": limits.MAX_TIME_US,
    "agreements.id": limits.MAX_ID,
    "agreements.max_rate_kbps": 10**12,
    "agreements.created_at": limits.MAX_TIME_US,
    "orders.id": limits.MAX_ID,
    "orders.side": 2,
    "orders.service_type": 3,
    "orders.capacity_kbps": MAX_CAPACITY_KBPS,
    "orders.circuits": MAX_CIRCUITS,
    "orders.remaining": MAX_CIRCUITS,
    "orders.price": MAX_PRICE,
    "orders.scheme_version": INT32,
    "orders.assigned_by": 3,
    "orders.valid_from": limits.MAX_TIME_US,
    "orders.valid_until": limits.MAX_TIME_US,
    "orders.status": 7,
    "orders.priority": limits.MAX_ID,
    "orders.created_at": limits.MAX_TIME_US,
    "orders.updated_at": limits.MAX_TIME_US,
    "orders.time_in_force": 5,
    "orders.routing": 2,
    "orders.score": 1000,
    "orders.rebid_of": limits.MAX_ID,
    "orders.quote_id": limits.MAX_ID,
    "orders.approve_by": limits.MAX_TIME_US,
    "orders.service_end": limits.MAX_TIME_US,
    "orders.revision": INT64,  # one per commit: 10^6 commits a second for 290,000 years
    "deals.id": limits.MAX_ID,
    "deals.offer_order_id": limits.MAX_ID,
    "deals.request_order_id": limits.MAX_ID,
    "deals.service_type": 3,
    "deals.capacity_kbps": MAX_CAPACITY_KBPS,
    "deals.circuits": MAX_CIRCUITS,
    "deals.price": MAX_PRICE,
    "deals.scheme_version": INT32,
    "deals.agreement_id": limits.MAX_ID,
    "deals.status": 7,
    "deals.created_at": limits.MAX_TIME_US,
    "deals.updated_at": limits.MAX_TIME_US,
    "deals.ends_at": limits.MAX_TIME_US,
    "deals.replaces": limits.MAX_ID,
    "deals.replaced_by": limits.MAX_ID,
    "deals.protection_price": MAX_PRICE,
    "deals.revision": INT64,
    "quotes.id": limits.MAX_ID,
    "quotes.created_at": limits.MAX_TIME_US,
    "quotes.expires_at": limits.MAX_TIME_US + 3600 * 1_000_000,  # + the quote's life
    "events.sequence": limits.MAX_ID,
    "events.time": limits.MAX_TIME_US,
    "events.kind": 20,
    "leadership.id": 1,
    "leadership.generation": limits.MAX_ID,  # a PostgreSQL sequence
    "leadership.expires_at": limits.MAX_TIME_US,
    "topologies.id": limits.MAX_ID,
    "topologies.loaded_at": limits.MAX_TIME_US,
    "deal_intents.deal_id": limits.MAX_ID,
    "deal_intents.created_at": limits.MAX_TIME_US,
    # Service assurance (0006): measured values are checked by record_delivered
    # (assurance._check_window); the rolled ones are sums or shares of those.
    "deal_quality.deal_id": limits.MAX_ID,
    "deal_quality.offer_order_id": limits.MAX_ID,
    "deal_quality.scheme_version": INT32,
    "deal_quality.latency_us": 10**9,
    "deal_quality.jitter_us": 10**9,
    "deal_quality.loss_ppm": 1_000_000,
    "deal_quality.availability_ppm": 1_000_000,
    "deal_quality.probes": 10**6 * 10_000,  # a window's most x the longest horizon
    "deal_quality.answered": 10**6 * 10_000,
    "deal_quality.windows": limits.MAX_ID,
    "deal_quality.updated_at": limits.MAX_TIME_US,
    "deal_quality.score": 1000,
    "quality_samples.id": limits.MAX_ID,
    "quality_samples.deal_id": limits.MAX_ID,
    "quality_samples.offer_order_id": limits.MAX_ID,
    "quality_samples.at": limits.MAX_TIME_US,
    "quality_samples.latency_us": 10**9,
    "quality_samples.jitter_us": 10**9,
    "quality_samples.loss_ppm": 1_000_000,
    "quality_samples.availability_ppm": 1_000_000,
    "quality_samples.probes": 10**6,
    "quality_samples.answered": 10**6,
    "penalties.id": limits.MAX_ID,
    "penalties.deal_id": limits.MAX_ID,
    "penalties.at": limits.MAX_TIME_US,
    "penalties.classes_below": INT32,  # grades in a scheme
    "penalties.percent": 100,
    "penalties.amount": MAX_PRICE * MAX_CIRCUITS,
    "offer_verification.order_id": limits.MAX_ID,
    "offer_verification.state": 5,
    "offer_verification.latency_us": 10**9,
    "offer_verification.jitter_us": 10**9,
    "offer_verification.loss_ppm": 1_000_000,
    "offer_verification.availability_ppm": 1_000_000,
    "offer_verification.probes": 10**6,
    "offer_verification.updated_at": limits.MAX_TIME_US,
}


def test_every_column_has_a_rule_no_looser_than_the_column() -> None:
    seen = set()
    for table in metadata.tables.values():
        for column in table.columns:
            name = f"{table.name}.{column.name}"
            seen.add(name)
            kind = column.type
            if isinstance(kind, Boolean):
                continue
            if isinstance(kind, String | Text | LargeBinary):
                assert name in TEXT, f"{name}: text column without a rule in marketplace/limits.py"
                rule = TEXT[name]
                length = getattr(kind, "length", None)
                if rule is not None and length is not None:
                    assert rule.max_len <= length, f"{name}: rule allows {rule.max_len} > column {length}"
            elif isinstance(kind, BigInteger | Integer):
                assert name in INTEGER, f"{name}: integer column without a stated bound"
                most = INT64 if isinstance(kind, BigInteger) else INT32
                assert INTEGER[name] <= most, f"{name}: {INTEGER[name]} does not fit"
            else:
                raise AssertionError(f"{name}: a column type this test does not know")
    assert set(TEXT) | set(INTEGER) <= seen, "rules for columns that no longer exist"


def test_the_largest_order_values_fit_their_columns_and_the_wire() -> None:
    assert MAX_PRICE * MAX_CIRCUITS <= INT64  # a deal's value
    assert MAX_CAPACITY_KBPS * MAX_CIRCUITS <= INT64  # a deal's rate
    assert limits.MAX_TIME_S == 253_402_300_799  # 9999-12-31T23:59:59Z


RULES = [v for v in vars(limits).values() if isinstance(v, limits.TextRule)]


@given(st.sampled_from(RULES), st.text(max_size=300))
def test_a_text_rule_never_lets_through_what_a_column_cannot_hold(rule: limits.TextRule, text: str) -> None:
    for candidate in (text, text + "\n", "a" + text, "A" + text + "\x00"):
        if rule.allows(candidate) and rule.min_len <= len(candidate) <= rule.max_len:
            assert "\x00" not in candidate
            assert rule.multiline or candidate.isprintable()
            if rule.pattern is not None:
                assert not candidate.endswith("\n")


def test_a_trailing_newline_is_refused_by_every_named_rule() -> None:
    for rule, good in (
        (limits.PARTICIPANT_NAME, "acme"),
        (limits.PARAMETER_NAME, "latency_us"),
        (limits.SCHEME_NAME, "circuits"),
        (limits.GRADE_NAME, "gold"),
        (limits.POP, "FRA1"),
        (limits.CLIENT_ORDER_ID, "x" * 64),
        (limits.NODE_NAME, "sw1"),
    ):
        assert rule.allows(good)
        assert not rule.allows(good + "\n") and not rule.allows(good + "\r\n") and not rule.allows("\n" + good)


def test_shown_quotes_only_a_short_escaped_prefix() -> None:
    assert limits.shown("abc") == "'abc'"
    long = limits.shown("x" * 10**6 + "\n")
    assert len(long) < 80 and "1000001 characters" in long
    assert limits.shown("a\nb") == "'a\\nb'"
    assert limits.shown(2**64) == str(2**64)
    assert limits.shown(10**40) == str(10**40)[:32] + "..."
