"""ContinuityService over a real gRPC server on each database: SwapSeller brokers the
replacement deal linked both ways (kept across a restart), refuses what it cannot do
naming the field; ProtectDeal and DrainLink answer clearly without a network."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from ixchange.v1 import common_pb2, continuity_pb2, continuity_pb2_grpc, exchange_pb2, participants_pb2

from marketplace.deals import DealStatus
from tests.conftest import ServerThread
from tests.service.client import Client, agreement
from tests.service.test_quality_service import SELLER, active_deal, on_exchange


def continuity(client: Client) -> Any:
    return continuity_pb2_grpc.ContinuityServiceStub(client.channel)


def refused(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value.code(), err.value.details() or ""


def test_a_swap_brokers_the_replacement_linked_both_ways_and_survives_a_restart(make_exchange: Any) -> None:
    server = make_exchange()
    op, _seller, buyer, deal_id = active_deal(server)
    other = op.as_participant("s2", SELLER)
    op(
        op.participants.RegisterAgreement,
        participants_pb2.RegisterAgreementRequest(agreement=agreement("A-2", "b1", "s2")),
    )
    code, details = refused(
        lambda: buyer(continuity(buyer).SwapSeller, continuity_pb2.SwapSellerRequest(deal_id=deal_id))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION and details.startswith("deal_id: no offer of platinum")
    other.offer("o2", price=900, grade="platinum")
    request = continuity_pb2.SwapSellerRequest(deal_id=deal_id, reason="planned")
    new = buyer(continuity(buyer).SwapSeller, request).deal
    assert (new.seller, new.replaces, new.price, new.status) == ("s2", deal_id, 900, common_pb2.DEAL_STATUS_BROKERED)
    old = buyer(buyer.exchange.GetDeal, exchange_pb2.GetDealRequest(deal_id=deal_id)).deal
    assert old.replaced_by == new.deal_id and "swap asked by b1: planned" in old.status_reason
    server.stop()
    again = make_exchange()
    op = Client(again.target, again.operator_token)
    kept = op(op.exchange.GetDeal, exchange_pb2.GetDealRequest(deal_id=deal_id)).deal
    assert kept.replaced_by == new.deal_id
    on_exchange(again, lambda e, now: e.set_deal_status(new.deal_id, DealStatus.PROVISIONING, "", now))
    on_exchange(again, lambda e, now: e.finish_swap(new.deal_id, "path s3 > s2", now))
    ended = op(op.exchange.GetDeal, exchange_pb2.GetDealRequest(deal_id=deal_id)).deal
    assert (ended.status, ended.status_reason) == (
        common_pb2.DEAL_STATUS_TERMINATED,
        f"swapped to deal {new.deal_id} (s2)",
    )
    live = op(op.exchange.GetDeal, exchange_pb2.GetDealRequest(deal_id=new.deal_id)).deal
    assert live.status == common_pb2.DEAL_STATUS_ACTIVE and live.replaces == deal_id


@pytest.mark.parametrize(
    ("fields", "code", "starts"),
    [
        ({"deal_id": 0}, grpc.StatusCode.INVALID_ARGUMENT, "deal_id:"),
        ({"deal_id": 2**63}, grpc.StatusCode.INVALID_ARGUMENT, "deal_id:"),
        ({"deal_id": 1, "max_price": -1}, grpc.StatusCode.INVALID_ARGUMENT, "max_price:"),
        ({"deal_id": 1, "reason": "x" * 300}, grpc.StatusCode.INVALID_ARGUMENT, "reason:"),
        ({"deal_id": 99}, grpc.StatusCode.NOT_FOUND, "deal_id:"),
    ],
)
def test_bad_swap_requests_are_refused_naming_the_field(
    exchange: ServerThread, fields: dict[str, Any], code: grpc.StatusCode, starts: str
) -> None:
    _, _, buyer, _ = active_deal(exchange)
    got, details = refused(lambda: buyer(continuity(buyer).SwapSeller, continuity_pb2.SwapSellerRequest(**fields)))
    assert (got, details[: len(starts)]) == (code, starts), details


def test_only_the_buyer_swaps_and_protects_and_only_operators_drain(exchange: ServerThread) -> None:
    op, seller, buyer, deal_id = active_deal(exchange)
    code, _ = refused(lambda: seller(continuity(seller).SwapSeller, continuity_pb2.SwapSellerRequest(deal_id=deal_id)))
    assert code == grpc.StatusCode.NOT_FOUND
    protect = continuity_pb2.ProtectDealRequest(deal_id=deal_id, protected=True)
    code, _ = refused(lambda: seller(continuity(seller).ProtectDeal, protect))
    assert code == grpc.StatusCode.NOT_FOUND
    code, details = refused(lambda: buyer(continuity(buyer).ProtectDeal, protect))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "without a network" in details
    drain = continuity_pb2.DrainLinkRequest(link="s1:p3-s3:p2", drained=True)
    code, _ = refused(lambda: buyer(continuity(buyer).DrainLink, drain))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    code, details = refused(lambda: op(continuity(op).DrainLink, drain))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and details.startswith("link:")
    bad = continuity_pb2.DrainLinkRequest(link="s1 p3\x00", drained=True)
    code, details = refused(lambda: op(continuity(op).DrainLink, bad))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("link:")
