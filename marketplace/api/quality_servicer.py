"""gRPC servicer of QualityService: deals' delivered quality, their measured windows and
the SLA credit ledger, read from the store for the caller's own deals (operators: all)."""

from __future__ import annotations

from typing import Any

from ixchange.v1 import quality_pb2, quality_pb2_grpc

from marketplace import limits
from marketplace.api import convert, paging
from marketplace.api.quotas import ROW_COST
from marketplace.api.servicers import Api
from marketplace.errors import InvalidArgument, NotFound
from marketplace.orders import Side
from marketplace.participants import Role


class QualityServicer(quality_pb2_grpc.QualityServiceServicer):
    """ixchange.v1.QualityService."""

    def __init__(self, api: Api) -> None:
        self.api = api

    async def GetQuality(self, request: quality_pb2.GetQualityRequest, context: Any) -> Any:
        api = self.api
        who = await api.auth.participant(context)
        which = request.WhichOneof("subject")
        subject = getattr(request, which) if which else 0
        if not subject:
            raise InvalidArgument("deal_id", "give deal_id or offer_order_id (> 0)")
        if not limits.fits_id(subject):
            raise InvalidArgument(which or "deal_id", "must be 1..2^63-1")
        limit = paging.page_size(request.page_size)
        after = paging.after_id(request.page_token)
        since = convert.micros(request, "since")
        owner = None if who.is_operator else who.name
        deal_id = subject if which == "deal_id" else 0
        offer_id = subject if which == "offer_order_id" else 0

        def read() -> quality_pb2.GetQualityResponse:
            store = api.store
            if deal_id:
                deal = store.get_deal(deal_id)
                if deal is None or (owner is not None and owner not in (deal.seller, deal.buyer)):
                    raise NotFound("deal_id", f"no deal {deal_id} of yours")
                seller = deal.seller
                current = list(store.deal_quality([deal_id]).values())
            else:
                order = store.get_order(offer_id)
                if order is None or order.side is not Side.OFFER or owner not in (None, order.participant):
                    raise NotFound("offer_order_id", f"no offer {offer_id} of yours")
                seller = order.participant
                current = store.offer_quality(offer_id)
            found = store.quality_samples(deal_id, offer_id, owner, after, since, limit + 1)
            rows, token = paging.id_page(found, limit, lambda row: row[0])
            reply = quality_pb2.GetQualityResponse(
                current=[convert.quality_msg(q) for q in current],
                samples=[convert.sample_msg(s) for _, s in rows],
                next_page_token=token,
            )
            ppm = api.seq.engine.seller_quality_ppm(seller)
            if ppm is not None:
                reply.seller_quality_ppm = ppm
            return reply

        reply = await api.reads.run(who.name, read)
        api.auth.charge(who, (len(reply.samples) + len(reply.current)) * ROW_COST)
        return reply

    async def ListPenalties(self, request: quality_pb2.ListPenaltiesRequest, context: Any) -> Any:
        api = self.api
        who = await api.auth.participant(context)
        limit = paging.page_size(request.page_size)
        after = paging.after_id(request.page_token)
        owner = None if who.is_operator else who.name

        def read() -> quality_pb2.ListPenaltiesResponse:
            found = api.store.penalties(owner, request.deal_id, after, limit + 1)
            rows, token = paging.id_page(found, limit, lambda p: p.penalty_id)
            return quality_pb2.ListPenaltiesResponse(
                penalties=[convert.penalty_msg(p) for p in rows], next_page_token=token
            )

        reply = await api.reads.run(who.name, read)
        api.auth.charge(who, len(reply.penalties) * ROW_COST)
        return reply

    async def SetVerificationWaiver(self, request: quality_pb2.SetVerificationWaiverRequest, context: Any) -> Any:
        api = self.api
        who = await api.auth.require(context, Role.OPERATOR)
        name = limits.PARTICIPANT_NAME.check("participant", request.participant)
        if not await api.reads.run(who.name, api.store.set_verification_waived, name, request.waived):
            raise NotFound("participant", f"no participant {name}")
        listed = await api.seq.run(lambda engine, now: engine.set_waiver(name, request.waived, now))
        return quality_pb2.SetVerificationWaiverResponse(listed_order_ids=listed)
