"""gRPC servicer of ContinuityService: seller swaps asked by a buyer or an operator, and
operators' link drains for maintenance."""

from __future__ import annotations

from typing import Any

from ixchange.v1 import continuity_pb2, continuity_pb2_grpc

from marketplace import limits
from marketplace.api import convert
from marketplace.api.servicers import Api
from marketplace.errors import InvalidArgument
from marketplace.participants import Role


class ContinuityServicer(continuity_pb2_grpc.ContinuityServiceServicer):
    """ixchange.v1.ContinuityService."""

    def __init__(self, api: Api) -> None:
        self.api = api

    async def SwapSeller(self, request: continuity_pb2.SwapSellerRequest, context: Any) -> Any:
        who = await self.api.auth.participant(context)
        if not limits.fits_id(request.deal_id):
            raise InvalidArgument("deal_id", "must be 1..2^63-1")
        deal = await self.api.seq.run(
            lambda engine, now: engine.swap_seller(
                who.name,
                request.deal_id,
                request.better_class,
                request.max_price,
                request.reason,
                now,
                operator=who.is_operator,
            )
        )
        return continuity_pb2.SwapSellerResponse(deal=convert.deal_msg(deal))

    async def ProtectDeal(self, request: continuity_pb2.ProtectDealRequest, context: Any) -> Any:
        who = await self.api.auth.participant(context)
        if not limits.fits_id(request.deal_id):
            raise InvalidArgument("deal_id", "must be 1..2^63-1")
        deal_id, protected = request.deal_id, request.protected
        seq = self.api.seq
        await seq.run(lambda engine, _now: engine.check_protection(who.name, deal_id, who.is_operator))
        paths = await seq.provisioner.protect_deal(deal_id, protected)  # the network first
        deal = await seq.run(lambda engine, now: engine.set_protection(deal_id, protected, paths, now))
        return continuity_pb2.ProtectDealResponse(deal=convert.deal_msg(deal))

    async def DrainLink(self, request: continuity_pb2.DrainLinkRequest, context: Any) -> Any:
        await self.api.auth.require(context, Role.OPERATOR)
        link = limits.LINK_NAME.check("link", request.link)
        moved, stuck = await self.api.seq.provisioner.drain_link(link, request.drained)
        return continuity_pb2.DrainLinkResponse(
            moved=[continuity_pb2.DrainedDeal(deal_id=d, detail=text) for d, text in moved],
            stuck=[continuity_pb2.DrainedDeal(deal_id=d, detail=text) for d, text in stuck],
        )
