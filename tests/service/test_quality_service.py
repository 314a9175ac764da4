"""QualityService and the delivered quality on deals, over a real gRPC server on each
database: windows recorded by the measurement point's command (as the provisioning layer
sends them) show in GetDeal, GetQuality pages the time series, ListPenalties the credits,
each only to the deal's parties; a restart keeps the month's credits and the record."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from ixchange.v1 import exchange_pb2, market_pb2, participants_pb2, quality_pb2, quality_pb2_grpc

from marketplace.deals import DealStatus
from marketplace.delivered import Delivered
from tests.conftest import ServerThread
from tests.service.client import Client, agreement

BUYER, SELLER = participants_pb2.ROLE_BUYER, participants_pb2.ROLE_SELLER


def on_exchange(server: ServerThread, command: Any) -> Any:
    """Run an engine command through the server's sequencer, as the provisioning layer does."""
    seq = server.server.sequencer  # type: ignore[attr-defined]
    return asyncio.run_coroutine_threadsafe(seq.run(command), server._loop).result(20)  # type: ignore[arg-type]


def window_of(latency_us: int) -> Delivered:
    return Delivered(10, 10, latency_us, 200, 0, 1_000_000, 10, 10)


def active_deal(server: ServerThread) -> tuple[Client, Client, Client, int]:
    op = Client(server.target, server.operator_token)
    seller = op.as_participant("s1", SELLER)
    buyer = op.as_participant("b1", BUYER)
    op.as_participant("other", BUYER)
    op(
        op.participants.RegisterAgreement,
        participants_pb2.RegisterAgreementRequest(agreement=agreement("A-1", "b1", "s1")),
    )
    seller.offer("o1", price=1000, grade="platinum")
    deal_id = buyer.request("r1", limit=1000).deals[0].deal_id
    for status in (DealStatus.PROVISIONING, DealStatus.ACTIVE):
        on_exchange(server, lambda e, now, s=status: e.set_deal_status(deal_id, s, "", now))
    return op, seller, buyer, deal_id


def quality(client: Client, **subject: Any) -> Any:
    stub = quality_pb2_grpc.QualityServiceStub(client.channel)
    return client(stub.GetQuality, quality_pb2.GetQualityRequest(**subject))


def test_delivered_quality_shows_on_the_deal_and_in_its_time_series(exchange: ServerThread) -> None:
    op, seller, buyer, deal_id = active_deal(exchange)
    assert not buyer(buyer.exchange.GetDeal, exchange_pb2.GetDealRequest(deal_id=deal_id)).deal.HasField("delivered")
    for latency in (2_000, 2_000, 12_000, 12_000, 12_000):
        on_exchange(exchange, lambda e, now, x=latency: e.record_delivered(deal_id, window_of(x), now))
    deal = buyer(buyer.exchange.GetDeal, exchange_pb2.GetDealRequest(deal_id=deal_id)).deal
    assert (deal.delivered.grade, deal.delivered.delivered_grade, deal.delivered.degraded) == ("platinum", "gold", True)
    assert "latency_us=12000" in deal.delivered.reason
    listed = seller(seller.exchange.ListDeals, exchange_pb2.ListDealsRequest()).deals
    assert listed[0].delivered.degraded

    first = quality(buyer, deal_id=deal_id, page_size=2)
    assert [s.latency_us for s in first.samples] == [2_000, 2_000] and first.next_page_token
    rest = quality(buyer, deal_id=deal_id, page_size=10, page_token=first.next_page_token)
    assert [(s.latency_us, s.at_class) for s in rest.samples] == [(12_000, True), (12_000, True), (12_000, False)]
    assert rest.current[0].windows == 5 and rest.seller_quality_ppm == 800_000  # 4 of 5 windows at class
    own = seller(seller.exchange.GetOrder, exchange_pb2.GetOrderRequest(order_id=deal.offer_order_id)).order
    assert own.seller_quality_ppm == 800_000
    by_offer = quality(seller, offer_order_id=deal.offer_order_id)
    assert [q.deal_id for q in by_offer.current] == [deal_id] and len(by_offer.samples) == 5

    credits = buyer(
        quality_pb2_grpc.QualityServiceStub(buyer.channel).ListPenalties, quality_pb2.ListPenaltiesRequest()
    )
    (credit,) = credits.penalties
    assert (credit.deal_id, credit.percent, credit.amount, credit.price_unit.currency) == (deal_id, 10, 100, "EUR")

    stranger = Client(exchange.target, "", channel=op.channel)
    stranger.metadata = (("authorization", "Bearer " + _token(op, "other")),)
    for subject in ({"deal_id": deal_id}, {"offer_order_id": deal.offer_order_id}):
        with pytest.raises(grpc.RpcError) as refused:
            quality(stranger, **subject)
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as offer_of_another:
        quality(buyer, offer_order_id=deal.offer_order_id)  # the buyer's deal, the seller's offer
    assert offer_of_another.value.code() == grpc.StatusCode.NOT_FOUND
    stub = quality_pb2_grpc.QualityServiceStub(stranger.channel)
    assert not stranger(stub.ListPenalties, quality_pb2.ListPenaltiesRequest()).penalties


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [({}, "deal_id"), ({"deal_id": 2**63}, "deal_id"), ({"deal_id": 1, "page_size": 5000}, "page_size")],
)
def test_bad_quality_requests_are_refused_naming_the_field(
    exchange: ServerThread, request_fields: dict[str, int], field: str
) -> None:
    op = Client(exchange.target, exchange.operator_token)
    with pytest.raises(grpc.RpcError) as refused:
        quality(op, **request_fields)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in (refused.value.details() or "")


def test_a_restart_keeps_the_months_credit_and_the_delivered_class(make_exchange: Any) -> None:
    server = make_exchange()
    deal_id = active_deal(server)[3]
    for _ in range(3):
        on_exchange(server, lambda e, now: e.record_delivered(deal_id, window_of(12_000), now))
    server.stop()
    again = make_exchange()
    record = on_exchange(again, lambda e, now: e.quality_of(deal_id))
    assert (record.delivered_grade, record.degraded) == ("gold", True)
    for _ in range(3):  # the same fall again this month: no second credit
        on_exchange(again, lambda e, now: e.record_delivered(deal_id, window_of(2_000), now))
    for _ in range(3):
        on_exchange(again, lambda e, now: e.record_delivered(deal_id, window_of(12_000), now))
    op = Client(again.target, again.operator_token)
    stub = quality_pb2_grpc.QualityServiceStub(op.channel)
    assert [p.percent for p in op(stub.ListPenalties, quality_pb2.ListPenaltiesRequest()).penalties] == [10]
    assert on_exchange(again, lambda e, now: e.seller_quality_ppm("s1")) == 555_555  # 5 of 9 windows at class


def _token(op: Client, name: str) -> str:
    return str(op(op.participants.IssueToken, participants_pb2.IssueTokenRequest(participant=name)).token)


def test_the_market_report_shows_the_median_delivered_score_of_measured_deals(exchange: ServerThread) -> None:
    op, _, _, deal_id = active_deal(exchange)
    now = int(time.time())
    window = market_pb2.GetMarketReportRequest(start=Timestamp(seconds=now - 3600), end=Timestamp(seconds=now + 3600))
    (row,) = op(op.market.GetMarketReport, window).rows
    assert not row.HasField("median_quality")  # nothing measured yet
    on_exchange(exchange, lambda e, now: e.record_delivered(deal_id, window_of(2_000), now))
    (row,) = op(op.market.GetMarketReport, window).rows
    score = quality(op, deal_id=deal_id).current[0].score
    assert row.median_quality == score and 800 <= score <= 1000
