"""The API as a client in another language meets it (issue 10): reflection v1, stable
reason codes in google.rpc.ErrorInfo, duplicate client_order_ids, one pagination style,
stream heartbeats, prices that say what they count."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_reflection.v1alpha import reflection_pb2
from ixchange.v1 import common_pb2, exchange_pb2, market_pb2, participants_pb2

from tests.conftest import ServerThread
from tests.service.client import Client, agreement, error_detail

SELLER = participants_pb2.ROLE_SELLER
BUYER = participants_pb2.ROLE_BUYER


@pytest.fixture
def operator(exchange: ServerThread) -> Client:
    return Client(exchange.target, exchange.operator_token)


def reason_of(err: grpc.RpcError) -> tuple[str, str]:
    info = error_detail(err, error_details_pb2.ErrorInfo)
    assert info is not None, "no google.rpc.ErrorInfo in the refusal"
    assert info.domain == "ixchange.v1"
    return info.reason, info.metadata.get("field", "")


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_answers_v1_and_v1alpha(exchange: ServerThread, version: str) -> None:
    channel = grpc.insecure_channel(exchange.target)
    # v1 and v1alpha are the same messages under another package name.
    call = channel.stream_stream(
        f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    asks = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="ixchange.v1.ExchangeService"),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol=f"grpc.reflection.{version}.ServerReflection"),
    ]
    listed, exchange_file, reflection_file = list(call(iter(asks), timeout=5))
    names = {s.name for s in listed.list_services_response.service}
    assert {"ixchange.v1.ExchangeService", "grpc.reflection.v1.ServerReflection"} <= names
    assert exchange_file.file_descriptor_response.file_descriptor_proto
    assert reflection_file.file_descriptor_response.file_descriptor_proto, reflection_file.error_response


def test_an_identical_retry_gets_the_original_and_different_content_is_already_exists(operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER)
    first = seller.offer("o-1", price=900, circuits=2)
    again = seller.offer("o-1", price=900, circuits=2)
    assert again.duplicate and again.order.order_id == first.order.order_id
    with pytest.raises(grpc.RpcError) as err:
        seller.offer("o-1", price=950, circuits=2)
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "price" in err.value.details() and f"order {first.order.order_id}" in err.value.details()
    assert reason_of(err.value) == ("CLIENT_ORDER_ID_REUSED", "client_order_id")
    with pytest.raises(grpc.RpcError) as err:
        seller.offer("o-1", price=900, circuits=2, route=common_pb2.Route(a_end="FRA", z_end="LON"))
    assert "route" in err.value.details()
    # After the order ended, an identical retry still answers the original; a different one does not.
    seller(seller.exchange.CancelOrder, exchange_pb2.CancelOrderRequest(order_id=first.order.order_id))
    assert seller.offer("o-1", price=900, circuits=2).order.status == common_pb2.ORDER_STATUS_CANCELLED
    with pytest.raises(grpc.RpcError) as err:
        seller.offer("o-1", price=900, circuits=3)
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS and "circuits" in err.value.details()
    # The E-Line route as normalised counts as the same route.
    seller.offer("o-2", price=900)
    assert seller.offer("o-2", price=900, route=common_pb2.Route(a_end="ams", z_end="fra")).duplicate


def _all(call: Callable[[str], tuple[list[int], str]]) -> list[int]:
    seen: list[int] = []
    token = ""
    while True:
        items, token = call(token)
        assert len(items) <= 2
        seen += items
        if not token:
            return seen


def test_every_list_pages_by_page_size_and_page_token(operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER)
    buyer = operator.as_participant("globex", BUYER)
    for i in range(3):
        operator.as_participant(f"extra-{i}", BUYER)
    for i in range(2):
        operator(
            operator.participants.RegisterAgreement,
            participants_pb2.RegisterAgreementRequest(agreement=agreement(f"AG-{i}", "globex", "acme")),
        )
    for i in range(5):
        seller.offer(f"o{i}", price=900)
        buyer.request(f"r{i}", limit=900)

    def orders(token: str) -> tuple[list[int], str]:
        page = operator(operator.exchange.ListOrders, exchange_pb2.ListOrdersRequest(page_size=2, page_token=token))
        return [o.order_id for o in page.orders], page.next_page_token

    def deals(token: str) -> tuple[list[int], str]:
        page = buyer(buyer.exchange.ListDeals, exchange_pb2.ListDealsRequest(page_size=2, page_token=token))
        return [d.deal_id for d in page.deals], page.next_page_token

    def participants(token: str) -> tuple[list[int], str]:
        request = participants_pb2.ListParticipantsRequest(page_size=2, page_token=token)
        page = operator(operator.participants.ListParticipants, request)
        return [hash(p.name) for p in page.participants], page.next_page_token

    def agreements(token: str) -> tuple[list[int], str]:
        request = participants_pb2.ListAgreementsRequest(page_size=2, page_token=token)
        page = buyer(buyer.participants.ListAgreements, request)
        return [a.agreement_id for a in page.agreements], page.next_page_token

    assert _all(orders) == list(range(1, 11))
    assert _all(deals) == list(range(1, 6))
    assert len(set(_all(participants))) == 6  # acme, globex, extra-0..2 and the operator
    assert len(_all(agreements)) == 2
    for method, request in (
        (operator.exchange.ListOrders, exchange_pb2.ListOrdersRequest(page_token="not-a-token")),
        (operator.participants.ListAgreements, participants_pb2.ListAgreementsRequest(page_token="W10=")),
    ):
        with pytest.raises(grpc.RpcError) as err:
            operator(method, request)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "page_token" in err.value.details()


def test_an_idle_stream_sends_heartbeats_with_the_last_sequence(make_exchange: Callable[..., ServerThread]) -> None:
    server = make_exchange(heartbeat_s=0.2)
    operator = Client(server.target, server.operator_token)
    seller = operator.as_participant("acme", SELLER)
    seller.offer("o", price=900)
    stream = seller.exchange.WatchEvents(exchange_pb2.WatchEventsRequest(), metadata=seller.metadata, timeout=10)
    try:
        first = next(stream)
        assert first.kind == exchange_pb2.EVENT_KIND_ORDER_ACCEPTED
        beat = next(stream)
        assert beat.kind == exchange_pb2.EVENT_KIND_HEARTBEAT
        assert beat.sequence == first.sequence and beat.time.seconds > 0
        assert not beat.HasField("order") and not beat.HasField("deal")
    finally:
        stream.cancel()


def test_prices_say_their_currency_and_what_they_buy(make_exchange: Callable[..., ServerThread]) -> None:
    server = make_exchange(currency="USD", currency_exponent=2)
    operator = Client(server.target, server.operator_token)
    seller = operator.as_participant("acme", SELLER)
    buyer = operator.as_participant("globex", BUYER)
    offer = seller.offer("o", price=9000)
    unit = common_pb2.PriceUnit(currency="USD", exponent=2, per="circuit-month")
    assert offer.order.price_unit == unit
    deal = buyer.request("r", limit=9000).deals[0]
    assert deal.price_unit == unit
    quote = buyer(
        buyer.market.GetQuote,
        market_pb2.GetQuoteRequest(
            request=market_pb2.RequestSpec(
                service_type=common_pb2.SERVICE_TYPE_ETHERNET_ELINE,
                route=common_pb2.Route(a_end="FRA", z_end="AMS"),
                capacity_kbps=1_000_000,
                circuits=1,
                grade="platinum",
            )
        ),
    ).quote
    assert quote.price_unit == unit


def test_refusals_carry_a_stable_reason(make_exchange: Callable[..., ServerThread]) -> None:
    server = make_exchange(max_open_orders=1)
    operator = Client(server.target, server.operator_token)
    seller = operator.as_participant("acme", SELLER)
    seller.offer("o-1", price=900)
    with pytest.raises(grpc.RpcError) as err:
        seller.offer("o-2", price=900)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert reason_of(err.value) == ("OPEN_ORDERS_LIMIT", "open_orders")
    with pytest.raises(grpc.RpcError) as err:
        seller(seller.exchange.GetOrder, exchange_pb2.GetOrderRequest(order_id=999))
    assert reason_of(err.value) == ("NOT_FOUND", "order_id")
    stranger = Client(server.target, "ixc_" + "0" * 40)
    with pytest.raises(grpc.RpcError) as err:
        stranger(stranger.exchange.ListOrders, exchange_pb2.ListOrdersRequest())
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason_of(err.value)[0] == "UNAUTHENTICATED"


def test_the_readmes_example_refusal_is_the_real_one(operator: Client) -> None:
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = re.search(r"\(`(values\.latency_us: [^`]+)`\)", readme)
    assert example, "the README's error example is gone"
    seller = operator.as_participant("acme", SELLER)
    gold = {"latency_us": 30_000, "jitter_us": 300, "loss_ppm": 5, "availability_ppm": 999_995}
    with pytest.raises(grpc.RpcError) as err:
        seller.offer("too-slow", values=gold, grade="gold")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == example.group(1)
