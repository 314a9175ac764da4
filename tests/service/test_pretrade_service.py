"""Buyer pre-trade through the real gRPC server, on SQLite and on PostgreSQL: quotes,
class approval, alternates, re-bids, time in force, the market report and their events."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from ixchange.v1 import common_pb2, exchange_pb2, market_pb2, participants_pb2

from tests.conftest import ServerThread
from tests.service.client import ELINE, PLATINUM, Client, G

SELLER = participants_pb2.ROLE_SELLER
BUYER = participants_pb2.ROLE_BUYER
GOLD = {"latency_us": 15_000, "jitter_us": 2_000, "loss_ppm": 50, "availability_ppm": 999_950}


@pytest.fixture
def operator(exchange: ServerThread) -> Client:
    return Client(exchange.target, exchange.operator_token)


@pytest.fixture
def short_lived(database_url: str, tmp_path: Path) -> Iterator[ServerThread]:
    """An exchange whose quotes and class proposals last one second."""
    from marketplace.settings import load_settings

    settings = load_settings(
        env={},
        data_dir=tmp_path / "short",
        database_url=database_url,
        listen="127.0.0.1:0",
        metrics_listen="",
        quote_ttl_s=1.0,
        approval_ttl_s=1.0,
    )
    server = ServerThread(settings).start()
    yield server
    server.stop()


def refused(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as err:
        call()  # type: ignore[operator]
    return err.value.code(), err.value.details()  # type: ignore[attr-defined]


def spec(circuits: int = 1, grade: str = "platinum", a: str = "FRA", **kw: object) -> market_pb2.RequestSpec:
    return market_pb2.RequestSpec(
        service_type=ELINE,
        route=common_pb2.Route(a_end=a, z_end="AMS"),
        capacity_kbps=G,
        circuits=circuits,
        grade=grade,
        **kw,  # type: ignore[arg-type]
    )


def quote(buyer: Client, circuits: int = 1, **kw: object) -> market_pb2.Quote:
    return buyer(buyer.market.GetQuote, market_pb2.GetQuoteRequest(request=spec(circuits, **kw))).quote  # type: ignore[no-any-return]


def at_quote(buyer: Client, cid: str, quote_id: int, **kw: object) -> exchange_pb2.SubmitRequestResponse:
    req = exchange_pb2.SubmitRequestRequest(client_order_id=cid, quote_id=quote_id, **kw)  # type: ignore[arg-type]
    return buyer(buyer.exchange.SubmitRequest, req)  # type: ignore[no-any-return]


def events(client: Client, after: int = 0) -> list[exchange_pb2.WatchEventsResponse]:
    """Everything visible so far (the stream is cut after a quiet moment)."""
    stream = client.exchange.WatchEvents(
        exchange_pb2.WatchEventsRequest(after_sequence=after), metadata=client.metadata, timeout=1.5
    )
    out = []
    try:
        for ev in stream:
            out.append(ev)
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    return out


def test_quote_then_enter_at_its_price(operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER)
    other = operator.as_participant("initech", SELLER)
    buyer = operator.as_participant("globex", BUYER)
    seller.offer("o1", price=900, circuits=2)
    other.offer("o2", price=950, circuits=2)
    q = quote(buyer, 3)
    assert (q.grade, q.price, q.full, q.fillable_circuits, q.total_value) == ("platinum", 950, True, 3, 2750)
    assert [(f.price, f.circuits) for f in q.fills] == [(900, 2), (950, 1)]
    reply = at_quote(buyer, "r1", q.quote_id)
    assert [(d.price, d.circuits) for d in reply.deals] == [(900, 2), (950, 1)]
    assert reply.order.quote_id == q.quote_id and reply.order.price == 950
    # The retry is recognised by its client id, not refused as a second use of the quote.
    assert at_quote(buyer, "r1", q.quote_id).duplicate
    code, details = refused(lambda: at_quote(buyer, "r2", q.quote_id))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "already used" in details


def test_moved_book_refuses_the_quote_and_writes_nothing(operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER)
    buyer = operator.as_participant("globex", BUYER)
    rival = operator.as_participant("hooli", BUYER)
    seller.offer("o1", price=900, circuits=1)
    seller.offer("o2", price=990, circuits=1)
    q = quote(buyer, 1)
    rival.request("r-rival", limit=900)
    before = operator(operator.exchange.ListOrders, exchange_pb2.ListOrdersRequest()).orders
    code, details = refused(lambda: at_quote(buyer, "r1", q.quote_id))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "the book moved" in details
    after = operator(operator.exchange.ListOrders, exchange_pb2.ListOrdersRequest()).orders
    assert len(after) == len(before)
    code, details = refused(lambda: at_quote(buyer, "r2", q.quote_id, limit_price=990))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("limit_price:")
    code, _ = refused(lambda: at_quote(rival, "r3", q.quote_id))
    assert code == grpc.StatusCode.NOT_FOUND


def test_expired_quote_and_lapsed_proposal_are_refused_clearly(short_lived: ServerThread) -> None:
    operator = Client(short_lived.target, short_lived.operator_token)
    seller = operator.as_participant("acme", SELLER)
    buyer = operator.as_participant("globex", BUYER)
    seller.offer("o1", price=900)
    q = quote(buyer)
    proposed = buyer.request("p1", grade="", requirements=PLATINUM, propose_class=True)
    assert proposed.order.status == common_pb2.ORDER_STATUS_PENDING_APPROVAL
    time.sleep(1.3)
    code, details = refused(lambda: at_quote(buyer, "r1", q.quote_id))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and f"quote {q.quote_id} expired at" in details
    approve = exchange_pb2.ApproveClassRequest(order_id=proposed.order.order_id)
    code, details = refused(lambda: buyer(buyer.exchange.ApproveClass, approve))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "lapsed" in details and "without approval" in details
    stored = buyer(buyer.exchange.GetOrder, exchange_pb2.GetOrderRequest(order_id=proposed.order.order_id)).order
    assert stored.status == common_pb2.ORDER_STATUS_EXPIRED


def test_class_approval_and_rejection(operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER)
    buyer = operator.as_participant("globex", BUYER)
    stranger = operator.as_participant("hooli", BUYER)
    seller.offer("o1", price=900)
    first = buyer.request("p1", grade="", requirements=PLATINUM, propose_class=True)
    second = buyer.request("p2", grade="", requirements=PLATINUM, propose_class=True)
    assert first.deals == [] and first.order.grade == "platinum" and first.order.HasField("approve_by")
    book = buyer(buyer.exchange.GetBook, exchange_pb2.GetBookRequest())
    assert all(not b.requests for b in book.books)  # pending requests are not on the book
    approve_first = exchange_pb2.ApproveClassRequest(order_id=first.order.order_id)
    code, _ = refused(lambda: stranger(stranger.exchange.ApproveClass, approve_first))
    assert code == grpc.StatusCode.NOT_FOUND  # as if it did not exist: no probing of others' orders
    approved = buyer(buyer.exchange.ApproveClass, exchange_pb2.ApproveClassRequest(order_id=first.order.order_id))
    assert [d.price for d in approved.deals] == [900]
    rejected = buyer(buyer.exchange.RejectClass, exchange_pb2.RejectClassRequest(order_id=second.order.order_id))
    assert rejected.order.status == common_pb2.ORDER_STATUS_CANCELLED
    code, details = refused(
        lambda: buyer(buyer.exchange.ApproveClass, exchange_pb2.ApproveClassRequest(order_id=first.order.order_id))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "not waiting for class approval" in details
    code, details = refused(lambda: buyer.request("p3", grade="gold", requirements=PLATINUM, propose_class=True))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("grade:")


def test_unfilled_request_gets_ranked_alternates(operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER)
    buyer = operator.as_participant("globex", BUYER)
    operator(operator.market.SetNeighbours, market_pb2.SetNeighboursRequest(pop="FRA", neighbours=["MUC"]))
    listed = operator(operator.market.ListNeighbours, market_pb2.ListNeighboursRequest()).pops
    assert {(p.pop, tuple(p.neighbours)) for p in listed} == {("FRA", ("MUC",)), ("MUC", ("FRA",))}
    seller.offer("gold", price=500, values=GOLD)
    seller.offer(
        "muc",
        price=1500,
        route=common_pb2.Route(a_end="MUC", z_end="AMS"),
    )
    reply = buyer.request("r1", limit=400)
    assert reply.deals == []
    assert [a.kind for a in reply.alternates] == [
        market_pb2.ALTERNATE_KIND_NEARBY_ROUTE,
        market_pb2.ALTERNATE_KIND_WORSE_CLASS,
    ]
    worse = reply.alternates[1]
    assert worse.grade == "gold" and worse.price == 500 and worse.full
    assert {d.parameter: d.meets for d in worse.differences}["latency_us"] is False
    for target in ({"order_id": reply.order.order_id}, {"request": spec()}):
        rec = buyer(buyer.market.Recommend, market_pb2.RecommendRequest(**target)).recommendation  # type: ignore[arg-type]
        assert [a.note for a in rec.alternates] == [a.note for a in reply.alternates]
    bad_pop = market_pb2.SetNeighboursRequest(pop="F R A")
    code, details = refused(lambda: operator(operator.market.SetNeighbours, bad_pop))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("pop:")
    code, _ = refused(lambda: buyer(buyer.market.SetNeighbours, market_pb2.SetNeighboursRequest(pop="FRA")))
    assert code == grpc.StatusCode.PERMISSION_DENIED


def test_rebid_replaces_atomically_and_retries_do_not_repeat(operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER)
    buyer = operator.as_participant("globex", BUYER)
    seller.offer("o1", price=1100)
    first = buyer.request("r1", limit=1000).order
    code, _ = refused(lambda: buyer.request("r2", limit=1100, grade="diamond", rebid_of=first.order_id))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    still = buyer(buyer.exchange.GetOrder, exchange_pb2.GetOrderRequest(order_id=first.order_id)).order
    assert still.status == common_pb2.ORDER_STATUS_OPEN
    rebid = buyer.request("r3", limit=1100, rebid_of=first.order_id)
    assert rebid.order.rebid_of == first.order_id and [d.price for d in rebid.deals] == [1100]
    again = buyer.request("r3", limit=1100, rebid_of=first.order_id)
    assert again.duplicate and again.order.order_id == rebid.order.order_id
    old = buyer(buyer.exchange.GetOrder, exchange_pb2.GetOrderRequest(order_id=first.order_id)).order
    assert old.status == common_pb2.ORDER_STATUS_SUPERSEDED
    code, _ = refused(lambda: buyer.request("r4", limit=1100, rebid_of=first.order_id))
    assert code == grpc.StatusCode.FAILED_PRECONDITION


def test_time_in_force_through_the_api(operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER)
    buyer = operator.as_participant("globex", BUYER)
    seller.offer("o1", price=900, circuits=2)
    killed = buyer.request("fok", circuits=3, time_in_force=common_pb2.TIME_IN_FORCE_FILL_OR_KILL)
    assert killed.deals == [] and killed.order.status == common_pb2.ORDER_STATUS_CANCELLED
    ioc = buyer.request("ioc", circuits=3, time_in_force=common_pb2.TIME_IN_FORCE_IMMEDIATE_OR_CANCEL)
    assert [d.circuits for d in ioc.deals] == [2] and ioc.order.status == common_pb2.ORDER_STATUS_CANCELLED
    aon = buyer.request("aon", circuits=2, time_in_force=common_pb2.TIME_IN_FORCE_ALL_OR_NONE)
    seller.offer("o2", price=900, circuits=1)
    assert seller.offer("o3", price=900, circuits=2).deals[0].request_order_id == aon.order.order_id
    code, details = refused(lambda: buyer.request("gtd", time_in_force=common_pb2.TIME_IN_FORCE_GOOD_TILL_DATE))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("valid_until:")
    quality = buyer.request("q", routing_policy=common_pb2.ROUTING_POLICY_QUALITY_FIRST, limit=10)
    assert quality.order.routing_policy == common_pb2.ROUTING_POLICY_QUALITY_FIRST


def test_market_report_over_a_window(operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER)
    buyer = operator.as_participant("globex", BUYER)
    seller.offer("o1", price=900, circuits=2)
    seller.offer("o2", price=1001, circuits=1)
    buyer.request("r1", limit=1100, circuits=3)
    now = int(time.time())
    report = operator(
        operator.market.GetMarketReport,
        market_pb2.GetMarketReportRequest(start=Timestamp(seconds=now - 60), end=Timestamp(seconds=now + 60)),
    )
    assert [(r.grade, r.deals, r.circuits, r.vwap, r.min_price, r.max_price) for r in report.rows] == [
        ("platinum", 2, 3, 934, 900, 1001)
    ]
    assert not report.rows[0].HasField("median_quality")
    empty = buyer(
        buyer.market.GetMarketReport,
        market_pb2.GetMarketReportRequest(start=Timestamp(seconds=now - 7200), end=Timestamp(seconds=now - 3600)),
    )
    assert list(empty.rows) == []
    code, details = refused(
        lambda: buyer(
            buyer.market.GetMarketReport,
            market_pb2.GetMarketReportRequest(start=Timestamp(seconds=now), end=Timestamp(seconds=now)),
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("end:")


def test_pretrade_events_are_journaled_and_resume_without_gaps(operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER)
    buyer = operator.as_participant("globex", BUYER)
    seller.offer("o1", price=900, values=GOLD, circuits=2)  # one left over for alternates
    q = quote(buyer, grade="gold")
    at_quote(buyer, "r1", q.quote_id)
    pending = buyer.request("p1", grade="", requirements=PLATINUM, propose_class=True).order
    buyer(buyer.exchange.ApproveClass, exchange_pb2.ApproveClassRequest(order_id=pending.order_id))
    unmatched = buyer.request("r2", limit=10).order
    buyer.request("r3", limit=20, rebid_of=unmatched.order_id)
    seen = events(buyer)
    kinds = {ev.kind for ev in seen}
    for kind in (
        exchange_pb2.EVENT_KIND_QUOTE_ISSUED,
        exchange_pb2.EVENT_KIND_ORDER_CLASS_APPROVED,
        exchange_pb2.EVENT_KIND_ORDER_REBID,
        exchange_pb2.EVENT_KIND_ALTERNATES_PROPOSED,
    ):
        assert kind in kinds, exchange_pb2.EventKind.Name(kind)
    quote_event = next(ev for ev in seen if ev.kind == exchange_pb2.EVENT_KIND_QUOTE_ISSUED)
    assert quote_event.quote.quote_id == q.quote_id
    middle = seen[len(seen) // 2].sequence
    assert [ev.sequence for ev in events(buyer, middle)] == [ev.sequence for ev in seen if ev.sequence > middle]
    assert all(ev.HasField("order") or ev.HasField("deal") for ev in events(seller))  # not the buyer's quotes


def test_quotes_proposals_and_adjacency_survive_a_restart(exchange: ServerThread, operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER)
    buyer = operator.as_participant("globex", BUYER)
    operator(operator.market.SetNeighbours, market_pb2.SetNeighboursRequest(pop="FRA", neighbours=["MUC"]))
    seller.offer("o1", price=900, circuits=2)
    q = quote(buyer)
    pending = buyer.request("p1", grade="", requirements=PLATINUM, propose_class=True).order
    exchange.stop()
    again = ServerThread(exchange.settings).start()
    try:
        operator = Client(again.target, again.operator_token)
        buyer = Client(again.target, buyer.metadata[0][1].removeprefix("Bearer "))
        assert [d.price for d in at_quote(buyer, "r1", q.quote_id).deals] == [900]
        approved = buyer(buyer.exchange.ApproveClass, exchange_pb2.ApproveClassRequest(order_id=pending.order_id))
        assert [d.price for d in approved.deals] == [900]
        listed = operator(operator.market.ListNeighbours, market_pb2.ListNeighboursRequest()).pops
        assert {p.pop for p in listed} == {"FRA", "MUC"}
    finally:
        again.stop()
