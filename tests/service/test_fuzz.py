"""Random and extreme values through every RPC of the real server, on SQLite and on
PostgreSQL (issue 9). Messages are generated from the API's own descriptors, so a new
method or field is fuzzed without touching this file. After every call: no UNKNOWN,
INTERNAL or UNAVAILABLE, and a short refusal with no traceback or SQL in it. After the
run: the exchange still serves, and the store holds exactly what the engine holds (a
fresh engine rebuilt from the store agrees with the live one)."""

from __future__ import annotations

import itertools
import string
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ixchange.v1 import classes_pb2, exchange_pb2, fabric_pb2, market_pb2, participants_pb2

from marketplace.engine import ExchangeEngine
from marketplace.store import Store
from tests.conftest import ServerThread
from tests.service.client import PLATINUM, Client

MODULES = (exchange_pb2, classes_pb2, participants_pb2, market_pb2, fabric_pb2)
METHODS = sorted(
    (
        (service.full_name, method)
        for module in MODULES
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    ),
    key=lambda sm: (sm[0], sm[1].name),
)
REFUSED_BADLY = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE}
LEAKS = ("Traceback", "sqlalchemy", "psycopg", "SELECT ", "INSERT ", "Exception", "<class")
WORDS = [
    "platinum",
    "gold",
    "bronze",
    "circuits",
    "voice",
    "FRA",
    "AMS",
    "MUC",
    "acme",
    "globex",
    "operator",
    "latency_us",
    "jitter_us",
    "loss_ppm",
    "availability_ppm",
    "capacity_kbps",
    "sw1",
    "1",
]
NASTY = ["", " ", "\n", "x\n", "\x00", "a\x00b", "\t", "é", "\ud7ff", "🛰", "x" * 65, "y" * 5000, "../x", "%s", "'; --"]
INT_EDGES = [0, 1, -1, 2, 10, 1000, 10_000, 10**9, 10**12, 10**13, 2**31 - 1, -(2**31), 2**32, 2**53, 2**62]
INT64_EDGES = [2**63 - 1, -(2**63)]
UINT64_EDGES = [2**63 - 1, 2**63, 2**64 - 1]
# Seconds: the epoch, now-ish, the last second a Timestamp allows and beyond, negative.
TIME_EDGES = [0, 1, 1_800_000_000, 1_900_000_000, 253_402_300_799, 253_402_300_800, 10**13, -1, 2**62, 2**63 - 1]


def text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(WORDS),
        st.sampled_from(NASTY),
        st.text(alphabet=string.ascii_letters + string.digits + "-_.:", max_size=12),
        st.text(max_size=20),
    )


def integers(low: int, high: int) -> st.SearchStrategy[int]:
    edges = [v for v in INT_EDGES + INT64_EDGES + UINT64_EDGES if low <= v <= high]
    return st.one_of(st.sampled_from(edges), st.integers(min_value=max(low, -(10**6)), max_value=min(high, 10**6)))


RANGES = {
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
}


def scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.type == FieldDescriptor.TYPE_STRING:
        return text()
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.type == FieldDescriptor.TYPE_ENUM:
        known = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(known), st.integers(min_value=-3, max_value=40))
    if field.type in RANGES:
        return integers(*RANGES[field.type])
    raise AssertionError(f"no strategy for {field.full_name}")


def extreme(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    """Only the values that break things: the edges of the field's wire type, a nasty
    string, a time far out."""
    if _is_message(field) and field.message_type.full_name == "google.protobuf.Timestamp":
        cls = _message_class(field.message_type)
        return st.builds(cls, seconds=st.sampled_from(TIME_EDGES), nanos=st.sampled_from([0, 999_999_999]))
    if _is_message(field):
        return message(field.message_type)
    if field.message_type is not None:  # a map: extreme keys and values
        key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
        return st.dictionaries(st.one_of(extreme(key), scalar(key)), extreme(value), min_size=1, max_size=3)
    if field.type == FieldDescriptor.TYPE_STRING:
        single: st.SearchStrategy[Any] = st.sampled_from(NASTY)
    elif field.type in RANGES:
        low, high = RANGES[field.type]
        single = st.sampled_from([v for v in INT_EDGES + INT64_EDGES + UINT64_EDGES if low <= v <= high])
    else:
        single = scalar(field)
    return st.lists(single, min_size=1, max_size=3) if _repeated(field) else single


def message(desc: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    """Any message of this type: each field set or not, to any value its wire type holds."""
    cls = _message_class(desc)
    if desc.full_name == "google.protobuf.Timestamp":
        seconds = st.one_of(st.sampled_from(TIME_EDGES), st.integers(0, 2**35))
        return st.builds(cls, seconds=seconds, nanos=st.one_of(st.just(0), st.integers(-1, 10**9)))
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for field in desc.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
            parts[field.name] = st.dictionaries(scalar(key), scalar(value), max_size=4)
        elif field.message_type is not None:
            if depth > 3:
                continue
            inner = message(field.message_type, depth + 1)
            parts[field.name] = st.lists(inner, max_size=3) if _repeated(field) else inner
        elif _repeated(field):
            parts[field.name] = st.lists(scalar(field), max_size=4)
        else:
            parts[field.name] = scalar(field)
    return st.fixed_dictionaries({}, optional=parts).map(lambda values: _build(cls, desc, values))


def _repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def _message_class(desc: Descriptor) -> Any:
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(desc)


def _build(cls: Any, desc: Descriptor, values: dict[str, Any]) -> Message:
    msg = cls()
    for name, value in values.items():
        field = desc.fields_by_name[name]
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            getattr(msg, name).update(value)
        elif field.message_type is not None and _repeated(field):
            getattr(msg, name).extend(value)
        elif field.message_type is not None:
            getattr(msg, name).CopyFrom(value)
        elif _repeated(field):
            getattr(msg, name).extend(value)
        else:
            setattr(msg, name, value)
    return msg


def templates() -> list[tuple[str, Message]]:
    """One valid request for each method that changes or prices something: mutating one
    field of these reaches matching, alternates, agreements and the store, where the
    generic messages are mostly refused at the first field."""
    eline, transit = 1, 2
    route = {"a_end": "FRA", "z_end": "AMS"}
    offer = exchange_pb2.SubmitOfferRequest(
        client_order_id="t-offer",
        service_type=eline,
        route=route,
        capacity_kbps=10**6,
        circuits=2,
        values=PLATINUM,
        price=900,
    )
    request = exchange_pb2.SubmitRequestRequest(
        client_order_id="t-request",
        service_type=eline,
        route=route,
        capacity_kbps=10**6,
        circuits=3,
        grade="platinum",
        limit_price=1000,
        requirements={"latency_us": 5000},
    )
    spec = market_pb2.RequestSpec(service_type=eline, route=route, capacity_kbps=10**6, circuits=1, grade="gold")
    agreement = participants_pb2.Agreement(
        reference="AG-T",
        buyer="globex",
        seller="acme",
        max_rate_kbps=10**8,
        terms="net 30",
        interconnects=[
            participants_pb2.Interconnect(party=1, node="sw1", port="1", vlan_min=100, vlan_max=199),
            participants_pb2.Interconnect(party=2, node="sw2", port="2", vlan_min=100, vlan_max=199),
        ],
    )
    parameter = classes_pb2.Parameter(
        name="mos",
        unit="mos",
        direction=1,
        description="mean opinion score",
        min_value=0,
        max_value=500,
        score_worst=100,
        score_best=450,
    )
    band = classes_pb2.Band(parameter="latency_us", median=classes_pb2.MedianBound(permille=1500, initial=9000))
    scheme = classes_pb2.ClassScheme(
        name="fuzzed",
        service_types=[transit],
        weights={"latency_us": 3},
        grades=[classes_pb2.Grade(name="fast", bands=[band], min_score=10), classes_pb2.Grade(name="rest")],
    )
    window = market_pb2.GetMarketReportRequest(start={"seconds": 1_800_000_000}, end={"seconds": 1_800_003_600})
    exchange, market, parts, classes = (
        "ixchange.v1.ExchangeService",
        "ixchange.v1.MarketService",
        "ixchange.v1.ParticipantsService",
        "ixchange.v1.ClassesService",
    )
    return [
        (f"/{exchange}/SubmitOffer", offer),
        (f"/{exchange}/SubmitRequest", request),
        (f"/{exchange}/ReplaceOrder", exchange_pb2.ReplaceOrderRequest(order_id=1, price=950, remaining_circuits=1)),
        (f"/{exchange}/GetBook", exchange_pb2.GetBookRequest(route=route, depth=5, page_size=5)),
        (f"/{exchange}/TerminateDeal", exchange_pb2.TerminateDealRequest(deal_id=1, reason="done")),
        (f"/{market}/GetQuote", market_pb2.GetQuoteRequest(request=spec)),
        (f"/{market}/Recommend", market_pb2.RecommendRequest(request=spec)),
        (f"/{market}/GetMarketReport", window),
        (f"/{market}/SetNeighbours", market_pb2.SetNeighboursRequest(pop="FRA", neighbours=["MUC"])),
        (f"/{parts}/RegisterAgreement", participants_pb2.RegisterAgreementRequest(agreement=agreement)),
        (f"/{parts}/IssueToken", participants_pb2.IssueTokenRequest(participant="acme", label="fuzz")),
        (f"/{classes}/DefineParameter", classes_pb2.DefineParameterRequest(parameter=parameter)),
        (f"/{classes}/DefineClassScheme", classes_pb2.DefineClassSchemeRequest(scheme=scheme)),
        (f"/{classes}/Classify", classes_pb2.ClassifyRequest(service_type=eline, values={"latency_us": 3000})),
    ]


def mutated(template: Message) -> st.SearchStrategy[Message]:
    """The template with one field (at any depth) given any value its type allows."""
    desc = template.DESCRIPTOR

    def change(field: FieldDescriptor) -> st.SearchStrategy[Message]:
        def apply(value: Any) -> Message:
            msg = type(template)()
            msg.CopyFrom(template)
            msg.ClearField(field.name)
            if _is_message(field) and not _repeated(field):
                getattr(msg, field.name).CopyFrom(value)
            elif _is_message(field):
                getattr(msg, field.name).extend(value)
            else:
                _set(msg, field, value)
            return msg

        if _is_message(field) and not _repeated(field):
            inner = getattr(template, field.name)
            nested = mutated(inner) if template.HasField(field.name) else extreme(field)
            return st.one_of(nested, extreme(field), message(field.message_type)).map(apply)
        if _is_message(field):
            return st.lists(message(field.message_type), max_size=20).map(apply)
        return st.one_of(extreme(field), extreme(field), _field_values(field)).map(apply)

    return st.sampled_from(list(desc.fields)).flatmap(change)


def _is_message(field: FieldDescriptor) -> bool:
    """A message field other than a map (maps are handled as scalars' dictionaries)."""
    return field.message_type is not None and not field.message_type.GetOptions().map_entry


def _field_values(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
        return st.dictionaries(scalar(key), scalar(value), max_size=4)
    if _repeated(field):
        return st.lists(scalar(field), max_size=4)
    return scalar(field)


def _set(msg: Message, field: FieldDescriptor, value: Any) -> None:
    if field.message_type is not None:  # a map
        getattr(msg, field.name).update(value)
    elif _repeated(field):
        getattr(msg, field.name).extend(value)
    else:
        setattr(msg, field.name, value)


# Who may call what: templates are sent by a caller with the role they need (mostly),
# so they get past authorisation to the checks behind it.
CALLERS = {
    "SubmitOffer": ["seller", "both"],
    "SubmitRequest": ["buyer", "both"],
    "GetQuote": ["buyer", "both"],
    "Recommend": ["buyer", "both"],
}
ANYONE = ["operator", "seller", "buyer", "both"]


def calls() -> st.SearchStrategy[tuple[str, str, Message | bytes]]:
    """(who, method path, request) for any method of the API."""
    generic = st.tuples(
        st.sampled_from(ANYONE),
        st.sampled_from(METHODS).flatmap(
            lambda sm: message(sm[1].input_type).map(lambda m: (f"/{sm[0]}/{sm[1].name}", m))
        ),
    )
    # Orders three times as often as the other templates: most state changes go through them.
    weighted = [t for t in templates() for _ in range(3 if t[0].endswith(("Offer", "Request")) else 1)]

    def from_template(pt: tuple[str, Message]) -> st.SearchStrategy[tuple[str, tuple[str, Message]]]:
        path, template = pt
        who = st.sampled_from(CALLERS.get(path.rsplit("/", 1)[1], ["operator"]))
        shapes = st.one_of(st.just(template), mutated(template), mutated(template).flatmap(mutated))
        return st.tuples(st.one_of(who, who, who, st.sampled_from(ANYONE)), shapes.map(lambda m: (path, m)))

    orders = st.sampled_from(weighted).flatmap(from_template)
    raw = st.tuples(
        st.sampled_from(ANYONE),
        st.tuples(st.sampled_from([f"/{s}/{m.name}" for s, m in METHODS]), st.binary(max_size=64)),
    )
    return st.one_of(generic, orders, orders, orders, raw).map(lambda t: (t[0], *t[1]))


@pytest.fixture
def fuzzed(make_exchange: Any) -> Iterator[tuple[ServerThread, dict[str, Client]]]:
    server: ServerThread = make_exchange(rate_limit=0.0)
    operator = Client(server.target, server.operator_token)
    people = {
        "operator": operator,
        "seller": operator.as_participant("acme", participants_pb2.ROLE_SELLER),
        "buyer": operator.as_participant("globex", participants_pb2.ROLE_BUYER),
        "both": operator.as_participant("initech", participants_pb2.ROLE_SELLER, participants_pb2.ROLE_BUYER),
    }
    yield server, people


FRESH = itertools.count(1)


def call(client: Client, path: str, request: Message | bytes) -> None:
    if isinstance(request, Message) and getattr(request, "client_order_id", None) in ("t-offer", "t-request"):
        # A template's id would make every later one a retry of the first (idempotency).
        request.client_order_id = f"t-{next(FRESH)}"
    data = request if isinstance(request, bytes) else request.SerializeToString()
    streaming = path.endswith("/WatchEvents")
    kind = client.channel.unary_stream if streaming else client.channel.unary_unary
    method = kind(path)
    try:
        if streaming:
            stream = method(data, metadata=client.metadata, timeout=0.3)
            for n, _ in enumerate(stream):
                if n >= 3:
                    stream.cancel()
                    break
        else:
            method(data, metadata=client.metadata, timeout=10)
    except grpc.RpcError as err:
        code, details = err.code(), err.details() or ""  # type: ignore[attr-defined]
        if streaming and code in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED):
            return
        assert code not in REFUSED_BADLY, (path, code, details)
        assert len(details) <= 512, (path, len(details))
        assert not any(leak in details for leak in LEAKS), (path, details)


def snapshot(engine: ExchangeEngine) -> tuple[Any, ...]:
    """What must survive a restart: live orders, open deals, books, counters."""
    orders = sorted((o.order_id, o.remaining, int(o.status), o.price, o.priority) for o in engine.orders.values())
    deals = sorted((d.deal_id, int(d.status), d.agreement_id) for d in engine.deals.values())
    books = sorted(
        (str(key), [o.order_id for o in book.offers], [o.order_id for o in book.requests])
        for key, book in engine.books.items()
    )
    return orders, deals, books, engine.counters.order_id, engine.counters.deal_id, engine.counters.sequence


def test_every_rpc_survives_random_and_extreme_values(fuzzed: tuple[ServerThread, dict[str, Client]]) -> None:
    server, people = fuzzed

    @settings(
        max_examples=1500,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=False,
    )
    @given(calls())
    def one_call(case: tuple[str, str, Message | bytes]) -> None:
        who, path, request = case
        if path.endswith("/SetCertificateSubject") and getattr(request, "participant", "") == "operator":
            return  # binding the operator to a certificate it lacks locks this test out, as it should
        call(people[who], path, request)

    one_call()

    # Still serving: health, and a participant can trade.
    health = health_pb2_grpc.HealthStub(people["operator"].channel)
    assert health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == health_pb2.HealthCheckResponse.SERVING
    bystander = people["operator"].as_participant("bystander", participants_pb2.ROLE_SELLER)
    try:
        assert bystander.offer("after-the-fuzz").order.order_id
    except grpc.RpcError as err:
        # The fuzz may have redefined the class schemes so that this offer has no class:
        # a refusal, not a failure of the exchange.
        assert err.code() in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT), err
    # The store holds exactly what the engine holds.
    live = snapshot(server.server.sequencer.engine)  # type: ignore[attr-defined]
    now = server.server.sequencer.now()  # type: ignore[attr-defined]
    server.stop()
    rebuilt = ExchangeEngine()
    store = Store(server.settings.resolved_database_url)
    try:
        store.restore(rebuilt, now)
    finally:
        store.close()
    assert snapshot(rebuilt) == live
