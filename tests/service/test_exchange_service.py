"""The exchange through its real gRPC server, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
import time

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from ixchange.v1 import classes_pb2, common_pb2, exchange_pb2, participants_pb2

from tests.conftest import ServerThread
from tests.service.client import ELINE, PLATINUM, Client, G, agreement

SELLER = participants_pb2.ROLE_SELLER
BUYER = participants_pb2.ROLE_BUYER


@pytest.fixture
def operator(exchange: ServerThread) -> Client:
    return Client(exchange.target, exchange.operator_token)


def code_of(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as err:
        call()  # type: ignore[operator]
    return err.value.code(), err.value.details()  # type: ignore[attr-defined]


def test_operator_credential_file_is_private(exchange: ServerThread) -> None:
    mode = exchange.settings.operator_token_file.stat().st_mode & 0o777
    assert mode == 0o600


def test_seller_and_buyer_trade_and_deal_waits_for_agreement(exchange: ServerThread, operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER, carrier=False)
    buyer = operator.as_participant("globex", BUYER, carrier=True)
    placed = seller.offer("o-1", price=900, circuits=3)
    assert placed.order.grade == "platinum"
    assert placed.order.assigned_by == common_pb2.CLASS_ASSIGNMENT_SERVER
    reply = buyer.request("r-1", limit=1000, circuits=2)
    assert [(d.circuits, d.price, d.status) for d in reply.deals] == [
        (2, 900, common_pb2.DEAL_STATUS_PENDING_AGREEMENT)
    ]
    deal_id = reply.deals[0].deal_id

    registered = operator(
        operator.participants.RegisterAgreement,
        participants_pb2.RegisterAgreementRequest(agreement=agreement("AG-1", "globex", "acme")),
    )
    assert list(registered.released_deal_ids) == [deal_id]
    assert list(exchange.server.sequencer.provisioner.handed) == [deal_id]  # type: ignore[attr-defined]
    deal = buyer(buyer.exchange.GetDeal, exchange_pb2.GetDealRequest(deal_id=deal_id)).deal
    assert deal.status == common_pb2.DEAL_STATUS_BROKERED and deal.agreement_id == registered.agreement.agreement_id
    assert deal.class_scheme == "circuits" and deal.scheme_version == 1 and deal.grade == "platinum"

    book = seller(seller.exchange.GetBook, exchange_pb2.GetBookRequest(service_type=ELINE))
    assert [(lvl.price, lvl.circuits) for lvl in book.books[0].offers] == [(900, 1)]
    mine = seller(seller.exchange.ListOrders, exchange_pb2.ListOrdersRequest(open_only=True)).orders
    assert [(o.order_id, o.remaining_circuits) for o in mine] == [(placed.order.order_id, 1)]


def test_retry_with_same_client_id_returns_the_original(operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER)
    first = seller.offer("same", price=900)
    again = seller.offer("same", price=900)
    assert again.duplicate and again.order.order_id == first.order.order_id and again.order.price == 900
    with pytest.raises(grpc.RpcError) as err:  # the same id for other content (test_api_contract.py)
        seller.offer("same", price=100)
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    orders = operator(operator.exchange.ListOrders, exchange_pb2.ListOrdersRequest()).orders
    assert len(orders) == 1


def test_retry_after_the_order_filled_still_returns_it(operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER)
    buyer = operator.as_participant("globex", BUYER)
    seller.offer("o", price=900)
    buyer.request("r", limit=900)
    again = seller.offer("o", price=900)
    assert again.duplicate and again.order.status == common_pb2.ORDER_STATUS_FILLED


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"capacity_kbps": 0}, "capacity_kbps"),
        ({"circuits": -1}, "circuits"),
        ({"price": 0}, "price"),
        ({"route": common_pb2.Route(a_end="FRA", z_end="")}, "route.z_end"),
        ({"values": {**PLATINUM, "loss_ppm": 2_000_000}}, "values.loss_ppm"),
        ({"values": {"warp": 9}}, "values.warp"),
        ({"grade": "gold", "values": {**PLATINUM, "latency_us": 30_000}}, "values.latency_us"),
    ],
)
def test_bad_input_is_invalid_argument_naming_the_field_and_writes_nothing(
    operator: Client, change: dict[str, object], field: str
) -> None:
    seller = operator.as_participant("acme", SELLER)
    req = exchange_pb2.SubmitOfferRequest(
        client_order_id="x",
        service_type=ELINE,
        route=common_pb2.Route(a_end="FRA", z_end="AMS"),
        capacity_kbps=G,
        circuits=1,
        values=PLATINUM,
        price=100,
    )
    for key, value in change.items():
        if key == "values":
            req.ClearField("values")
            req.values.update(value)  # type: ignore[arg-type]
        elif key == "route":
            req.route.CopyFrom(value)  # type: ignore[arg-type]
        else:
            setattr(req, key, value)
    code, details = code_of(lambda: seller(seller.exchange.SubmitOffer, req))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith(field + ":")
    assert operator(operator.exchange.ListOrders, exchange_pb2.ListOrdersRequest()).orders == []
    events = operator.exchange.WatchEvents(exchange_pb2.WatchEventsRequest(), metadata=operator.metadata, timeout=1)
    with pytest.raises(grpc.RpcError):
        next(iter(events))  # nothing stored: the stream only times out


def test_authentication_and_roles(exchange: ServerThread, operator: Client) -> None:
    anonymous = exchange_pb2.GetBookRequest()
    code, _ = code_of(lambda: operator.exchange.GetBook(anonymous, timeout=5))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    forged = Client(exchange.target, "ixc_not-a-real-token")
    code, _ = code_of(lambda: forged(forged.exchange.GetBook, anonymous))
    assert code == grpc.StatusCode.UNAUTHENTICATED

    seller = operator.as_participant("acme", SELLER)
    other = operator.as_participant("initech", SELLER)
    code, details = code_of(lambda: seller.request("r", limit=5))
    assert code == grpc.StatusCode.PERMISSION_DENIED and "BUYER" in details
    code, _ = code_of(
        lambda: seller(seller.participants.IssueToken, participants_pb2.IssueTokenRequest(participant="acme"))
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED
    code, _ = code_of(lambda: seller(seller.classes.DefineParameter, classes_pb2.DefineParameterRequest()))
    assert code == grpc.StatusCode.PERMISSION_DENIED

    placed = seller.offer("o", price=500).order
    code, _ = code_of(lambda: other(other.exchange.GetOrder, exchange_pb2.GetOrderRequest(order_id=placed.order_id)))
    assert code == grpc.StatusCode.NOT_FOUND
    # Another participant's live order is answered exactly like an order that does not
    # exist, so nobody can probe which competitor orders are live.
    for method, request in (
        (other.exchange.CancelOrder, exchange_pb2.CancelOrderRequest),
        (other.exchange.ReplaceOrder, exchange_pb2.ReplaceOrderRequest),
    ):
        theirs = code_of(lambda m=method, r=request: other(m, r(order_id=placed.order_id)))
        unknown = code_of(lambda m=method, r=request: other(m, r(order_id=placed.order_id + 1000)))
        assert theirs[0] == unknown[0] == grpc.StatusCode.NOT_FOUND
        assert theirs[1] == unknown[1].replace(str(placed.order_id + 1000), str(placed.order_id))
    assert other(other.exchange.ListOrders, exchange_pb2.ListOrdersRequest()).orders == []


def test_cancel_and_replace(operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER)
    buyer = operator.as_participant("globex", BUYER)
    placed = seller.offer("o", price=1200, circuits=2).order
    buyer.request("r", limit=1000)
    replaced = seller(
        seller.exchange.ReplaceOrder, exchange_pb2.ReplaceOrderRequest(order_id=placed.order_id, price=1000)
    )
    assert [d.price for d in replaced.deals] == [1000]
    cancelled = seller(seller.exchange.CancelOrder, exchange_pb2.CancelOrderRequest(order_id=placed.order_id))
    assert cancelled.order.status == common_pb2.ORDER_STATUS_CANCELLED
    code, details = code_of(
        lambda: seller(seller.exchange.CancelOrder, exchange_pb2.CancelOrderRequest(order_id=placed.order_id))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION and details.startswith("order_id:")


def test_watch_events_resumes_from_a_sequence_number_without_gaps(operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER)
    buyer = operator.as_participant("globex", BUYER)
    seller.offer("o1", price=900, circuits=2)
    buyer.request("r1", limit=900)

    first = operator.exchange.WatchEvents(exchange_pb2.WatchEventsRequest(), metadata=operator.metadata)
    seen = [next(first) for _ in range(5)]
    first.cancel()
    assert [e.sequence for e in seen] == list(range(seen[0].sequence, seen[0].sequence + 5))
    assert seen[-1].kind == exchange_pb2.EVENT_KIND_ORDER_FILLED

    # More happens while the watcher is away, and while it reconnects.
    seller.offer("o2", price=950)
    resumed = operator.exchange.WatchEvents(
        exchange_pb2.WatchEventsRequest(after_sequence=seen[-1].sequence), metadata=operator.metadata
    )
    later = threading.Thread(target=lambda: buyer.request("r2", limit=950))
    later.start()
    got = [next(resumed) for _ in range(5)]
    later.join()
    resumed.cancel()
    assert [e.sequence for e in got] == list(range(seen[-1].sequence + 1, seen[-1].sequence + 6))
    assert [e.kind for e in got] == [
        exchange_pb2.EVENT_KIND_ORDER_ACCEPTED,
        exchange_pb2.EVENT_KIND_ORDER_ACCEPTED,
        exchange_pb2.EVENT_KIND_DEAL_CREATED,
        exchange_pb2.EVENT_KIND_ORDER_FILLED,
        exchange_pb2.EVENT_KIND_ORDER_FILLED,
    ]

    # A participant sees only events about itself.
    own = seller.exchange.WatchEvents(exchange_pb2.WatchEventsRequest(), metadata=seller.metadata)
    mine = [next(own) for _ in range(3)]
    own.cancel()
    assert all((e.order.participant if e.HasField("order") else e.deal.seller) == "acme" for e in mine)


def test_watch_events_from_now_skips_the_history(operator: Client) -> None:
    """A live view (the web portal) reads the current state by other calls and wants only
    what happens next."""
    seller = operator.as_participant("acme", SELLER)
    seller.offer("old-1", price=900)
    live = seller.exchange.WatchEvents(exchange_pb2.WatchEventsRequest(from_now=True), metadata=seller.metadata)
    time.sleep(0.3)  # subscribed before the next offer
    seller.offer("new-1", price=901)
    first = next(live)
    live.cancel()
    assert first.kind == exchange_pb2.EVENT_KIND_ORDER_ACCEPTED
    assert first.order.client_order_id == "new-1"


def test_classes_api_defines_parameters_and_versions_schemes(operator: Client) -> None:
    param = classes_pb2.Parameter(
        name="mos_x100",
        unit="mos",
        direction=classes_pb2.DIRECTION_HIGHER_IS_BETTER,
        min_value=100,
        max_value=500,
        score_worst=300,
        score_best=440,
    )
    operator(operator.classes.DefineParameter, classes_pb2.DefineParameterRequest(parameter=param))
    scheme = classes_pb2.ClassScheme(
        name="circuits",
        service_types=[ELINE],
        grades=[
            classes_pb2.Grade(
                name="fast",
                bands=[
                    classes_pb2.Band(
                        parameter="latency_us", median=classes_pb2.MedianBound(permille=1200, initial=8_000)
                    )
                ],
            ),
            classes_pb2.Grade(name="any"),
        ],
    )
    v2 = operator(operator.classes.DefineClassScheme, classes_pb2.DefineClassSchemeRequest(scheme=scheme)).scheme
    assert v2.version == 2 and v2.grades[0].bands[0].effective == 8_000
    listed = operator(operator.classes.ListClassSchemes, classes_pb2.ListClassSchemesRequest(all_versions=True))
    assert [(s.name, s.version) for s in listed.schemes] == [("circuits", 1), ("circuits", 2), ("voice", 1)]
    verdict = operator(
        operator.classes.Classify, classes_pb2.ClassifyRequest(service_type=ELINE, values={"latency_us": 9_000})
    )
    assert (verdict.grade, verdict.scheme_version) == ("any", 2)
    assert "latency_us 9000 not <= 8000" in verdict.verdicts[0].checks[0].rule

    bad = classes_pb2.ClassScheme(
        name="circuits",
        service_types=[ELINE],
        grades=[classes_pb2.Grade(name="x", bands=[classes_pb2.Band(parameter="nope", fixed=1)])],
    )
    code, details = code_of(
        lambda: operator(operator.classes.DefineClassScheme, classes_pb2.DefineClassSchemeRequest(scheme=bad))
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("scheme.grades[0].bands[0].parameter")


def test_health_and_reflection_list_every_service(exchange: ServerThread) -> None:
    channel = grpc.insecure_channel(exchange.target)
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "ixchange.v1.ExchangeService"):
        status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
        assert status == health_pb2.HealthCheckResponse.SERVING
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    replies = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
    names = {s.name for r in replies for s in r.list_services_response.service}
    assert {
        "ixchange.v1.ExchangeService",
        "ixchange.v1.ClassesService",
        "ixchange.v1.ParticipantsService",
        "grpc.health.v1.Health",
    } <= names


def test_prometheus_metrics_count_commands_and_deals(exchange: ServerThread, operator: Client) -> None:
    import urllib.request

    seller = operator.as_participant("acme", SELLER)
    buyer = operator.as_participant("globex", BUYER)
    seller.offer("o", price=900)
    buyer.request("r", limit=900)
    port = exchange.server.metrics_port  # type: ignore[attr-defined]
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    metrics = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert float(metrics["ixchange_deals_total"]) == 1
    assert float(metrics["ixchange_commands_total"]) >= 2
    assert float(metrics["ixchange_open_orders"]) == 0
    assert float(metrics['ixchange_deals_live{status="PENDING_AGREEMENT"}']) == 1  # no agreement yet
    assert float(metrics['ixchange_deals_live{status="ACTIVE"}']) == 0


def test_terminating_a_deal_through_the_api(operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER)
    buyer = operator.as_participant("globex", BUYER)
    stranger = operator.as_participant("initech", BUYER)
    operator(
        operator.participants.RegisterAgreement,
        participants_pb2.RegisterAgreementRequest(agreement=agreement("AG-1", "globex", "acme")),
    )
    seller.offer("o", price=900)
    end = Timestamp(seconds=4_000_000_000)
    deal = buyer.request("r", limit=900, service_end=end).deals[0]
    assert deal.status == common_pb2.DEAL_STATUS_BROKERED and deal.ends_at.seconds == 4_000_000_000
    terminate = exchange_pb2.TerminateDealRequest
    code, details = code_of(lambda: stranger(stranger.exchange.TerminateDeal, terminate(deal_id=deal.deal_id)))
    assert code == grpc.StatusCode.NOT_FOUND and "deal_id" in details
    code, details = code_of(lambda: buyer(buyer.exchange.TerminateDeal, terminate(deal_id=deal.deal_id, reason="\x00")))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("reason:")
    ended = seller(seller.exchange.TerminateDeal, terminate(deal_id=deal.deal_id, reason="moving out")).deal
    assert ended.status == common_pb2.DEAL_STATUS_TERMINATED  # nothing was provisioned (no network here)
    assert ended.status_reason == "terminated by acme: moving out"
    again = buyer(buyer.exchange.TerminateDeal, terminate(deal_id=deal.deal_id)).deal  # a retry
    assert again.status == common_pb2.DEAL_STATUS_TERMINATED and again.status_reason == ended.status_reason
    code, details = code_of(lambda: buyer.request("r2", limit=900, service_end=Timestamp(seconds=1)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("service_end:")


def test_the_fabric_view_is_for_operators_and_says_when_there_is_no_network(operator: Client) -> None:
    from ixchange.v1 import fabric_pb2, fabric_pb2_grpc

    fabric = fabric_pb2_grpc.FabricServiceStub(operator.channel)
    assert operator(fabric.GetFabric, fabric_pb2.GetFabricRequest()).enabled is False  # no controller here
    buyer = operator.as_participant("globex", BUYER)
    code, details = code_of(
        lambda: buyer(fabric_pb2_grpc.FabricServiceStub(buyer.channel).GetFabric, fabric_pb2.GetFabricRequest())
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED and "OPERATOR" in details


def test_a_requests_service_end_shows_in_its_reply_reads_events_and_the_store(
    operator: Client, exchange: ServerThread
) -> None:
    """Issue 15 reported `Order.snapshot()` dropping service_end; it carries it since
    issue 9. Kept as the reproduction: every view of the order shows it."""
    buyer = operator.as_participant("globex", BUYER)
    end = Timestamp(seconds=int(time.time()) + 86_400)
    placed = buyer.request("ends", limit=100, service_end=end)
    assert placed.order.service_end == end
    got = buyer(buyer.exchange.GetOrder, exchange_pb2.GetOrderRequest(order_id=placed.order.order_id)).order
    assert got.service_end == end
    assert buyer(buyer.exchange.ListOrders, exchange_pb2.ListOrdersRequest()).orders[0].service_end == end
    events = buyer.exchange.WatchEvents(exchange_pb2.WatchEventsRequest(), metadata=buyer.metadata)
    accepted = next(events)
    events.cancel()
    assert accepted.order.service_end == end
    stored = exchange.server.store.get_order(placed.order.order_id)  # type: ignore[attr-defined]
    assert stored.service_end == end.seconds * 1_000_000
