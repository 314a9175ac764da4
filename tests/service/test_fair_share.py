"""Fair share (issue 9, item 3): what one participant may consume is bounded, and the
work of one never queues ahead of another's orders. Functional checks on the real
server; the rates and latencies are measured by bench/fairness.py."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from ixchange.v1 import common_pb2, exchange_pb2, market_pb2, participants_pb2

from tests.conftest import ServerThread
from tests.service.client import Client

SELLER = participants_pb2.ROLE_SELLER
BUYER = participants_pb2.ROLE_BUYER


def refusal(call: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value


def retry_delay(err: grpc.RpcError) -> float:
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    assert status is not None
    for detail in status.details:
        info = error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            return info.retry_delay.ToNanoseconds() / 1e9
    raise AssertionError("no RetryInfo in the status details")


def test_event_streams_are_bounded_per_participant_and_in_total(make_exchange: Any) -> None:
    server: ServerThread = make_exchange(max_streams_per_participant=2, max_streams=3, stream_queue=5)
    operator = Client(server.target, server.operator_token)
    seller = operator.as_participant("acme", SELLER)
    other = operator.as_participant("initech", SELLER)
    request = exchange_pb2.WatchEventsRequest()
    open_streams = [seller.exchange.WatchEvents(request, metadata=seller.metadata) for _ in range(2)]
    hub = server.server.sequencer.streams  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    while hub.count < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    third = seller.exchange.WatchEvents(request, metadata=seller.metadata, timeout=5)
    err = refusal(lambda: next(third))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "IXCHANGE_MAX_STREAMS_PER_PARTICIPANT" in err.details()
    other_stream = other.exchange.WatchEvents(request, metadata=other.metadata)
    while hub.count < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    fourth = operator.exchange.WatchEvents(request, metadata=operator.metadata, timeout=5)
    err = refusal(lambda: next(fourth))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "IXCHANGE_MAX_STREAMS" in err.details()
    for s in (*open_streams, other_stream):
        s.cancel()
    deadline = time.monotonic() + 5
    while hub.count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert hub.count == 0  # closed streams give their places back


def test_made_up_tokens_cost_no_lookup_and_hold_no_memory(make_exchange: Any) -> None:
    """Tokens are answered from memory: a flood of made-up ones (malformed, well formed
    but unknown, or a real one padded with spaces) never reaches the store and never
    adds an entry, while a token issued meanwhile works at once."""
    exchange: ServerThread = make_exchange(auth_failures_per_s=10_000.0)  # no tarpit here: see below
    operator = Client(exchange.target, exchange.operator_token)
    auth = exchange.server.api.auth  # type: ignore[attr-defined]
    store = exchange.server.store  # type: ignore[attr-defined]
    good = operator.as_participant("acme", SELLER)
    loads = []
    real_load = store.tokens_in_force

    def counted() -> Any:
        loads.append(time.monotonic())
        return real_load()

    store.tokens_in_force = counted
    began = time.monotonic()
    forged = ["x", "ixc_short", "Bearer", "ixc_" + "a" * 43 + "!", *(f"ixc_{n:043d}" for n in range(300))]
    for i, token in enumerate(forged):
        err = refusal(lambda t=token, n=i: Client("", t, channel=operator.channel).offer(f"o{n}"))
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    token = good.metadata[0][1].split(" ", 1)[1]
    for pad in range(1, 30):
        padded = Client("", token + " " * pad, channel=operator.channel)
        padded(padded.exchange.ListOrders, exchange_pb2.ListOrdersRequest())
    newcomer = operator.as_participant("newcomer", SELLER)
    assert newcomer.offer("first").order.order_id  # issued a moment ago: no wait for a reload
    elapsed = time.monotonic() - began
    assert len(loads) <= elapsed / auth.refresh_s + 2  # only the periodic reloads read tokens
    assert len(auth._tokens) == 3  # operator, acme, newcomer: nothing else was remembered


def test_an_address_that_keeps_failing_is_answered_slowly_but_valid_tokens_are_not(make_exchange: Any) -> None:
    server: ServerThread = make_exchange(auth_failures_per_s=2.0)  # a burst of 10, then 2 a second
    operator = Client(server.target, server.operator_token)
    acme = operator.as_participant("acme", SELLER)
    forged = Client("", "ixc_" + "0" * 43, channel=operator.channel)
    for _ in range(10):  # the burst is answered at once
        refusal(lambda: forged(forged.exchange.ListOrders, exchange_pb2.ListOrdersRequest()))
    began = time.monotonic()
    pool = concurrent.futures.ThreadPoolExecutor(8)
    slow = [
        pool.submit(refusal, lambda: forged(forged.exchange.ListOrders, exchange_pb2.ListOrdersRequest()))
        for _ in range(8)
    ]
    time.sleep(0.2)
    # Meanwhile a valid token from the same address is answered at once.
    assert acme.offer("not-slowed").order.order_id
    assert not all(f.done() for f in slow)
    assert all(f.result().code() == grpc.StatusCode.UNAUTHENTICATED for f in slow)
    assert time.monotonic() - began >= 0.9  # held in the tarpit
    pool.shutdown()


def test_calls_over_a_participants_rate_wait_then_are_refused_and_others_do_not(make_exchange: Any) -> None:
    """Over its rate a participant's calls wait for their turn (up to a second), so a
    client a little too fast is slowed, not refused; beyond that they are refused with
    the time to wait. Another participant is neither."""
    server: ServerThread = make_exchange(rate_limit=4.0, rate_burst=4.0)
    operator = Client(server.target, server.operator_token)
    greedy = operator.as_participant("greedy", SELLER)
    modest = operator.as_participant("modest", SELLER)
    pool = concurrent.futures.ThreadPoolExecutor(16)
    began = time.monotonic()
    calls = [pool.submit(greedy.offer, f"g{i}") for i in range(16)]
    assert modest.offer("m1").order.order_id and time.monotonic() - began < 0.5
    done, refused = [], []
    for call in calls:
        try:
            done.append(call.result())
        except grpc.RpcError as err:
            refused.append(err)
    pool.shutdown()
    # 4 at once, 4 more waiting up to a second for the rate to admit them, the rest refused.
    assert len(done) == 8 and time.monotonic() - began >= 0.9
    assert all(e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED for e in refused)
    assert "IXCHANGE_RATE_LIMIT" in refused[0].details() and 1 < retry_delay(refused[0]) < 4
    time.sleep(retry_delay(refused[0]))
    assert greedy.offer("g-after-wait").order.order_id


def test_reads_never_hold_up_order_entry(exchange: ServerThread) -> None:
    """Reads run on their own pool, a few per participant: with one participant's reads
    stuck in the store, another participant's orders are still acknowledged."""
    operator = Client(exchange.target, exchange.operator_token)
    reader = operator.as_participant("reader", BUYER)
    trader = operator.as_participant("trader", SELLER)
    store = exchange.server.store  # type: ignore[attr-defined]
    release = threading.Event()
    real = store.list_orders

    def stuck(*args: Any) -> Any:
        release.wait(30)
        return real(*args)

    store.list_orders = stuck
    pool = concurrent.futures.ThreadPoolExecutor(12)
    try:
        pending = [pool.submit(reader, reader.exchange.ListOrders, exchange_pb2.ListOrdersRequest()) for _ in range(10)]
        time.sleep(0.3)
        placed = pool.submit(trader.offer, "while-reads-wait")
        assert placed.result(timeout=15).order.status == common_pb2.ORDER_STATUS_OPEN
        assert not any(p.done() for p in pending)
    finally:
        release.set()
        pool.shutdown(wait=True)
    assert all(p.result().orders == [] for p in pending)


def test_open_orders_per_participant_are_capped(make_exchange: Any) -> None:
    server: ServerThread = make_exchange(max_open_orders=3)
    operator = Client(server.target, server.operator_token)
    seller = operator.as_participant("acme", SELLER)
    placed = [seller.offer(f"o{i}").order.order_id for i in range(3)]
    err = refusal(lambda: seller.offer("o3"))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "IXCHANGE_MAX_OPEN_ORDERS" in err.details()
    other = operator.as_participant("initech", SELLER)
    assert other.offer("x").order.order_id  # the quota is per participant
    seller(seller.exchange.CancelOrder, exchange_pb2.CancelOrderRequest(order_id=placed[0]))
    assert seller.offer("o3").order.order_id  # a cancelled order frees its place


def test_book_depth_comes_in_pages_that_cover_every_book_once(make_exchange: Any) -> None:
    server: ServerThread = make_exchange(rate_limit=0.0)
    operator = Client(server.target, server.operator_token)
    seller = operator.as_participant("acme", SELLER)
    routes = [(f"A{i:03d}", f"Z{i:03d}") for i in range(45)]
    for i, (a, z) in enumerate(routes):
        seller.offer(f"o{i}", route=common_pb2.Route(a_end=a, z_end=z))
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        reply = seller(seller.exchange.GetBook, exchange_pb2.GetBookRequest(page_size=20, page_token=token))
        pages += 1
        assert len(reply.books) <= 20 and reply.ByteSize() < 4 * 1024 * 1024
        seen += [b.route.a_end for b in reply.books]
        token = reply.next_page_token
        if not token:
            break
    assert seen == [a for a, _ in routes] and pages == 3
    err = refusal(lambda: seller(seller.exchange.GetBook, exchange_pb2.GetBookRequest(page_token="garbage!")))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and err.details().startswith("page_token:")
    err = refusal(lambda: seller(seller.exchange.GetBook, exchange_pb2.GetBookRequest(page_size=101)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_market_report_never_overflows_and_never_shows_one_deal(make_exchange: Any) -> None:
    server: ServerThread = make_exchange(rate_limit=0.0, report_min_deals=5)
    operator = Client(server.target, server.operator_token)
    start = Timestamp(seconds=int(time.time()) - 60)
    # Two colluders strike 930 deals of the largest size: 9.3e18 minor units in one row.
    seller = operator.as_participant("mallory", SELLER)
    buyer = operator.as_participant("trudy", BUYER)
    pair = common_pb2.Route(a_end="XXX", z_end="YYY")
    for i in range(930):
        seller.offer(f"s{i}", price=10**12, circuits=10_000, route=pair)
        buyer.request(f"b{i}", limit=10**12, circuits=10_000, route=pair)
    # An ordinary market elsewhere: five deals between two sellers and two buyers.
    s1, s2 = operator.as_participant("s-one", SELLER), operator.as_participant("s-two", SELLER)
    b1, b2 = operator.as_participant("b-one", BUYER), operator.as_participant("b-two", BUYER)
    for i, (s, b, price) in enumerate(((s1, b1, 100), (s2, b2, 110), (s1, b2, 120), (s2, b1, 130), (s1, b1, 140))):
        s.offer(f"m{i}", price=price)
        b.request(f"m{i}", limit=price)
    end = Timestamp(seconds=int(time.time()) + 60)
    window = market_pb2.GetMarketReportRequest(start=start, end=end)
    full = operator(operator.market.GetMarketReport, window)
    colluders = next(r for r in full.rows if r.route.a_end == "XXX")
    assert colluders.deals == 930 and colluders.capped and colluders.total_value == 2**63 - 1
    assert colluders.circuits == 9_300_000
    outsider = operator.as_participant("eve", BUYER)
    seen = outsider(outsider.market.GetMarketReport, window)
    assert [(r.route.a_end, r.deals, r.min_price, r.max_price) for r in seen.rows] == [("AMS", 5, 100, 140)]
    assert seen.start.seconds % 3600 == 0 and seen.end.seconds % 3600 == 0  # whole hours only
    # One microsecond around a deal: widened to the hour, never one deal alone.
    deal = operator(operator.exchange.ListDeals, exchange_pb2.ListDealsRequest(page_size=1)).deals[0]
    narrow = market_pb2.GetMarketReportRequest(start=deal.created_at, end=deal.created_at)
    narrow.end.nanos += 1000
    assert all(r.deals >= 5 for r in outsider(outsider.market.GetMarketReport, narrow).rows)
