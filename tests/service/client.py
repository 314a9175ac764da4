"""A thin synchronous test client: stubs plus helpers to set up participants and trade."""

from __future__ import annotations

from typing import Any, TypeVar

import grpc
from ixchange.v1 import (
    classes_pb2_grpc,
    common_pb2,
    exchange_pb2,
    exchange_pb2_grpc,
    market_pb2_grpc,
    participants_pb2,
    participants_pb2_grpc,
)

T = TypeVar("T")
PLATINUM = {"latency_us": 4_000, "jitter_us": 500, "loss_ppm": 5, "availability_ppm": 999_995}
ELINE = common_pb2.SERVICE_TYPE_ETHERNET_ELINE
G = 1_000_000


class Client:
    def __init__(self, target: str, token: str, channel: grpc.Channel | None = None) -> None:
        self.channel = channel or grpc.insecure_channel(target)
        self.metadata = (("authorization", f"Bearer {token}"),)
        self.exchange = exchange_pb2_grpc.ExchangeServiceStub(self.channel)
        self.classes = classes_pb2_grpc.ClassesServiceStub(self.channel)
        self.participants = participants_pb2_grpc.ParticipantsServiceStub(self.channel)
        self.market = market_pb2_grpc.MarketServiceStub(self.channel)

    def __call__(self, method: Any, request: Any) -> Any:
        return method(request, metadata=self.metadata, timeout=20)

    def as_participant(self, name: str, *roles: int, carrier: bool = False) -> Client:
        """Register a participant (we are the operator) and return a client acting as it."""
        self(
            self.participants.RegisterParticipant,
            participants_pb2.RegisterParticipantRequest(
                participant=participants_pb2.Participant(name=name, roles=list(roles), carrier=carrier)
            ),
        )
        token = self(self.participants.IssueToken, participants_pb2.IssueTokenRequest(participant=name)).token
        return Client("", token, channel=self.channel)

    def offer(
        self, cid: str, price: int = 1000, circuits: int = 1, values: dict[str, int] | None = None, **kw: Any
    ) -> Any:
        kw.setdefault("route", common_pb2.Route(a_end="FRA", z_end="AMS"))
        kw.setdefault("service_type", ELINE)
        kw.setdefault("capacity_kbps", G)
        req = exchange_pb2.SubmitOfferRequest(
            client_order_id=cid,
            circuits=circuits,
            values=PLATINUM if values is None else values,
            price=price,
            **kw,
        )
        return self(self.exchange.SubmitOffer, req)

    def request(self, cid: str, limit: int = 1000, circuits: int = 1, grade: str = "platinum", **kw: Any) -> Any:
        kw.setdefault("route", common_pb2.Route(a_end="FRA", z_end="AMS"))
        kw.setdefault("service_type", ELINE)
        kw.setdefault("capacity_kbps", G)
        req = exchange_pb2.SubmitRequestRequest(
            client_order_id=cid,
            circuits=circuits,
            grade=grade,
            limit_price=limit,
            **kw,
        )
        return self(self.exchange.SubmitRequest, req)


def agreement(reference: str, buyer: str, seller: str, max_rate: int = 100 * G) -> participants_pb2.Agreement:
    return participants_pb2.Agreement(
        reference=reference,
        buyer=buyer,
        seller=seller,
        max_rate_kbps=max_rate,
        interconnects=[
            participants_pb2.Interconnect(
                party=participants_pb2.PARTY_BUYER, node="sw1", port="1", vlan_min=100, vlan_max=199
            ),
            participants_pb2.Interconnect(
                party=participants_pb2.PARTY_SELLER, node="sw2", port="2", vlan_min=100, vlan_max=199
            ),
        ],
    )


def error_detail(err: grpc.RpcError, kind: type[T]) -> T | None:
    """The google.rpc detail of type `kind` in a refusal's grpc-status-details-bin."""
    from grpc_status import rpc_status

    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    for packed in status.details if status is not None else ():
        found = kind()
        if packed.Unpack(found):  # type: ignore[attr-defined]
            return found
    return None
