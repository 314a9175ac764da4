"""gRPC servicer of ContinuityService: seller swaps asked by a buyer or an operator, and
operators' link drains for maintenance."""

from __future__ import annotations

from typing import Any

from ixchange.v1 import continuity_pb2, continuity_pb2_grpc

from marketplace import limits
from marketplace.api import convert
from marketplace.api.servicers import Api
from marketplace.errors import DomainError, InvalidArgument
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

    async def ChangeDeal(self, request: continuity_pb2.ChangeDealRequest, context: Any) -> Any:
        who = await self.api.auth.participant(context)
        if not limits.fits_id(request.deal_id):
            raise InvalidArgument("deal_id", "must be 1..2^63-1")
        deal_id, capacity, ends_at = request.deal_id, request.capacity_kbps, convert.micros(request, "ends_at")
        seq = self.api.seq
        deal, agreed = await seq.run(
            lambda engine, now: engine.propose_change(who.name, deal_id, capacity, ends_at, now)
        )
        if agreed is None:
            other = deal.seller if who.name == deal.buyer else deal.buyer
            return continuity_pb2.ChangeDealResponse(deal=convert.deal_msg(deal), waiting_for=other)
        paths = ""
        if agreed.capacity_kbps:
            try:  # the network first: admission of the new rate, meters modified in place
                paths = await seq.provisioner.change_rate(deal_id, agreed.capacity_kbps * deal.circuits)
            except Exception as err:
                why = err.rule if isinstance(err, DomainError) else "the network could not take it"
                await seq.run(lambda engine, now: engine.fail_change(deal_id, why, now))
                raise
        deal = await seq.run(lambda engine, now: engine.apply_change(deal_id, agreed, paths, now))
        return continuity_pb2.ChangeDealResponse(deal=convert.deal_msg(deal), applied=True)

    async def DrainLink(self, request: continuity_pb2.DrainLinkRequest, context: Any) -> Any:
        await self.api.auth.require(context, Role.OPERATOR)
        link = limits.LINK_NAME.check("link", request.link)
        moved, stuck = await self.api.seq.provisioner.drain_link(link, request.drained)
        return continuity_pb2.DrainLinkResponse(
            moved=[continuity_pb2.DrainedDeal(deal_id=d, detail=text) for d, text in moved],
            stuck=[continuity_pb2.DrainedDeal(deal_id=d, detail=text) for d, text in stuck],
        )
