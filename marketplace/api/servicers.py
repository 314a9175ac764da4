"""gRPC servicers: authenticate, convert, delegate to the sequencer or the store, map
domain errors to status codes. No business rules live here."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
from ixchange.v1 import (
    classes_pb2,
    classes_pb2_grpc,
    exchange_pb2,
    exchange_pb2_grpc,
    fabric_pb2,
    fabric_pb2_grpc,
    market_pb2,
    market_pb2_grpc,
    participants_pb2,
    participants_pb2_grpc,
)

from marketplace.api import convert
from marketplace.api.auth import Authenticator, Unauthenticated
from marketplace.api.sequencer import Sequencer, StoreFailed
from marketplace.book import Book
from marketplace.deals import DealStatus
from marketplace.engine import Outcome
from marketplace.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from marketplace.orders import OrderInput, OrderStatus, Route, ServiceType, Side
from marketplace.participants import Participant, Role, new_token, token_hash, validate_participant
from marketplace.quotes import iso
from marketplace.report import check_window, market_report

STATUS_FOR: dict[type[DomainError], grpc.StatusCode] = {
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
}
EVENT_PAGE = 1000
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def rpc(method: F) -> F:
    """Map domain and auth errors raised by a unary handler to gRPC status codes."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            return await method(self, request, context)
        except DomainError as err:
            await context.abort(STATUS_FOR[type(err)], str(err))
        except Unauthenticated as err:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(err))
        except StoreFailed as err:
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"store unavailable: {err}")

    return wrapper  # type: ignore[return-value]


def page_size(requested: int, field: str = "page_size") -> int:
    if requested == 0:
        return 100
    if requested > 1000:
        raise InvalidArgument(field, "must be 0..1000")
    return requested


class ExchangeServicer(exchange_pb2_grpc.ExchangeServiceServicer):
    """ixchange.v1.ExchangeService."""

    def __init__(self, sequencer: Sequencer, auth: Authenticator) -> None:
        self.seq = sequencer
        self.auth = auth
        self.store = sequencer.store

    async def _order_reply(self, outcome: Outcome, reply_type: Any) -> Any:
        if outcome.duplicate and outcome.order is None:
            stored = await asyncio.to_thread(self.store.get_order, outcome.duplicate_order_id)
            assert stored is not None
            return reply_type(order=convert.order_msg(stored), duplicate=True)
        assert outcome.order is not None
        reply = reply_type(
            order=convert.order_msg(outcome.order),
            deals=[convert.deal_msg(d) for d in outcome.deals],
            duplicate=outcome.duplicate,
        )
        if outcome.recommendation is not None:
            reply.alternates.extend(convert.alternate_msg(a) for a in outcome.recommendation.alternates)
        return reply

    async def _submit(
        self, context: Any, request: Any, side: Side, values: dict[str, int], price: int, reply_type: Any
    ) -> Any:
        """Offers and requests differ in role, the name of their values and price, and
        the pre-trade options only requests have."""
        who = await self.auth.require(context, Role.SELLER if side is Side.OFFER else Role.BUYER)
        buyer_options = {}
        if side is Side.REQUEST:
            buyer_options = {
                "routing_policy": request.routing_policy,
                "propose_class": request.propose_class,
                "quote_id": request.quote_id,
                "rebid_of": request.rebid_of,
                "service_end": convert.micros(request, "service_end"),
            }
        order = OrderInput(
            who.name,
            request.client_order_id,
            side,
            request.service_type,
            request.route.a_end,
            request.route.z_end,
            request.capacity_kbps,
            request.circuits,
            values,
            price,
            request.grade,
            request.class_scheme,
            convert.micros(request, "valid_from"),
            convert.micros(request, "valid_until"),
            request.time_in_force,
            **buyer_options,
        )
        recommend = side is Side.REQUEST
        outcome = await self.seq.run(lambda engine, now: engine.submit(order, now, recommend))
        return await self._order_reply(outcome, reply_type)

    @rpc
    async def SubmitOffer(self, request: exchange_pb2.SubmitOfferRequest, context: Any) -> Any:
        return await self._submit(
            context, request, Side.OFFER, dict(request.values), request.price, exchange_pb2.SubmitOfferResponse
        )

    @rpc
    async def SubmitRequest(self, request: exchange_pb2.SubmitRequestRequest, context: Any) -> Any:
        return await self._submit(
            context,
            request,
            Side.REQUEST,
            dict(request.requirements),
            request.limit_price,
            exchange_pb2.SubmitRequestResponse,
        )

    @rpc
    async def ApproveClass(self, request: exchange_pb2.ApproveClassRequest, context: Any) -> Any:
        who = await self.auth.require(context, Role.BUYER)
        try:
            outcome = await self.seq.run(
                lambda engine, now: engine.approve_class(
                    who.name, request.order_id, now, operator=who.is_operator, recommend=True
                )
            )
        except FailedPrecondition as err:
            raise await self._why_not_pending(request.order_id, who, err) from None
        assert outcome.order is not None
        reply = exchange_pb2.ApproveClassResponse(
            order=convert.order_msg(outcome.order), deals=[convert.deal_msg(d) for d in outcome.deals]
        )
        if outcome.recommendation is not None:
            reply.alternates.extend(convert.alternate_msg(a) for a in outcome.recommendation.alternates)
        return reply

    @rpc
    async def RejectClass(self, request: exchange_pb2.RejectClassRequest, context: Any) -> Any:
        who = await self.auth.require(context, Role.BUYER)
        try:
            outcome = await self.seq.run(
                lambda engine, now: engine.reject_class(who.name, request.order_id, now, operator=who.is_operator)
            )
        except FailedPrecondition as err:
            raise await self._why_not_pending(request.order_id, who, err) from None
        assert outcome.order is not None
        return exchange_pb2.RejectClassResponse(order=convert.order_msg(outcome.order))

    async def _why_not_pending(self, order_id: int, who: Participant, err: FailedPrecondition) -> DomainError:
        """The engine forgets closed orders; the store says why one is no longer pending
        (closed orders never change again, and the store is committed before errors are
        answered)."""
        stored = await asyncio.to_thread(self.store.get_order, order_id)
        if stored is None or (stored.participant != who.name and not who.is_operator):
            return NotFound("order_id", f"no order {order_id} of yours")
        if stored.status is OrderStatus.EXPIRED and stored.approve_by and stored.approve_by <= stored.updated_at:
            return FailedPrecondition(
                "order_id",
                f"the class proposed for order {order_id} lapsed at {iso(stored.approve_by)} without approval; "
                "it is expired and the decision is refused",
            )
        if stored.status is OrderStatus.EXPIRED:
            return FailedPrecondition("order_id", f"order {order_id} expired at {iso(stored.updated_at)}; refused")
        if stored.status is not OrderStatus.PENDING_APPROVAL:
            return FailedPrecondition(
                "order_id", f"order {order_id} is not waiting for class approval (it is {stored.status.name})"
            )
        return err

    @rpc
    async def CancelOrder(self, request: exchange_pb2.CancelOrderRequest, context: Any) -> Any:
        who = await self.auth.participant(context)
        outcome = await self.seq.run(
            lambda engine, now: engine.cancel(who.name, request.order_id, now, operator=who.is_operator)
        )
        assert outcome.order is not None
        return exchange_pb2.CancelOrderResponse(order=convert.order_msg(outcome.order))

    @rpc
    async def ReplaceOrder(self, request: exchange_pb2.ReplaceOrderRequest, context: Any) -> Any:
        who = await self.auth.participant(context)
        price = request.price if request.HasField("price") else None
        remaining = request.remaining_circuits if request.HasField("remaining_circuits") else None
        outcome = await self.seq.run(
            lambda engine, now: engine.replace(who.name, request.order_id, price, remaining, now, who.is_operator)
        )
        assert outcome.order is not None
        return exchange_pb2.ReplaceOrderResponse(
            order=convert.order_msg(outcome.order), deals=[convert.deal_msg(d) for d in outcome.deals]
        )

    @rpc
    async def GetOrder(self, request: exchange_pb2.GetOrderRequest, context: Any) -> Any:
        who = await self.auth.participant(context)
        order = await asyncio.to_thread(self.store.get_order, request.order_id)
        if order is None or (order.participant != who.name and not who.is_operator):
            raise NotFound("order_id", f"no order {request.order_id} of yours")
        return exchange_pb2.GetOrderResponse(order=convert.order_msg(order))

    @rpc
    async def ListOrders(self, request: exchange_pb2.ListOrdersRequest, context: Any) -> Any:
        who = await self.auth.participant(context)
        limit = page_size(request.page_size)
        owner = None if who.is_operator else who.name
        orders = await asyncio.to_thread(
            self.store.list_orders, owner, request.open_only, request.after_order_id, limit
        )
        return exchange_pb2.ListOrdersResponse(orders=[convert.order_msg(o) for o in orders])

    @rpc
    async def GetBook(self, request: exchange_pb2.GetBookRequest, context: Any) -> Any:
        await self.auth.participant(context)
        depth = request.depth or 10
        if depth > 100:
            raise InvalidArgument("depth", "must be 0..100")
        service = None
        if request.service_type:
            try:
                service = ServiceType(request.service_type)
            except ValueError:
                raise InvalidArgument("service_type", "unknown service type") from None
        route = None
        if request.HasField("route"):
            route = Route.parse(service or ServiceType.IP_TRANSIT, request.route.a_end, request.route.z_end)
        reply = exchange_pb2.GetBookResponse()
        books: list[Book] = sorted(
            self.seq.engine.books.values(),
            key=lambda b: (
                b.key.service_type,
                b.key.route.a_end,
                b.key.route.z_end,
                b.key.class_scheme,
                b.key.grade,
                b.key.capacity_kbps,
            ),
        )
        for book in books:
            k = book.key
            if service is not None and k.service_type is not service:
                continue
            if route is not None and {k.route.a_end, k.route.z_end} != {route.a_end, route.z_end}:
                continue
            if request.grade and k.grade != request.grade:
                continue
            view = reply.books.add(
                class_scheme=k.class_scheme,
                grade=k.grade,
                service_type=int(k.service_type),
                route={"a_end": k.route.a_end, "z_end": k.route.z_end},
                capacity_kbps=k.capacity_kbps,
            )
            for side, target in ((Side.OFFER, view.offers), (Side.REQUEST, view.requests)):
                for price, circuits, count in book.levels(side, depth):
                    target.add(price=price, circuits=circuits, orders=count)
        return reply

    @rpc
    async def ListDeals(self, request: exchange_pb2.ListDealsRequest, context: Any) -> Any:
        who = await self.auth.participant(context)
        owner = None if who.is_operator else who.name
        deals = await asyncio.to_thread(
            self.store.list_deals, owner, request.status, request.after_deal_id, page_size(request.page_size)
        )
        return exchange_pb2.ListDealsResponse(deals=[convert.deal_msg(d) for d in deals])

    @rpc
    async def GetDeal(self, request: exchange_pb2.GetDealRequest, context: Any) -> Any:
        who = await self.auth.participant(context)
        deal = await asyncio.to_thread(self.store.get_deal, request.deal_id)
        if deal is None or (who.name not in (deal.seller, deal.buyer) and not who.is_operator):
            raise NotFound("deal_id", f"no deal {request.deal_id} of yours")
        return exchange_pb2.GetDealResponse(deal=convert.deal_msg(deal))

    @rpc
    async def TerminateDeal(self, request: exchange_pb2.TerminateDealRequest, context: Any) -> Any:
        who = await self.auth.participant(context)
        try:
            deal = await self.seq.run(
                lambda engine, now: engine.terminate_deal(
                    who.name, request.deal_id, request.reason, now, operator=who.is_operator
                )
            )
        except NotFound:
            # A retry after the deal ended answers with the deal as it is.
            stored = await asyncio.to_thread(self.store.get_deal, request.deal_id)
            if stored is None or (who.name not in (stored.seller, stored.buyer) and not who.is_operator):
                raise
            if stored.status is not DealStatus.TERMINATED:
                raise FailedPrecondition("deal_id", f"deal {stored.deal_id} ended {stored.status.name}") from None
            deal = stored
        return exchange_pb2.TerminateDealResponse(deal=convert.deal_msg(deal))

    async def WatchEvents(
        self, request: exchange_pb2.WatchEventsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[exchange_pb2.WatchEventsResponse]:
        try:
            who = await self.auth.participant(context)
        except Unauthenticated as err:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(err))
        visible = None if who.is_operator else who.name
        # Subscribe before reading the backlog: anything committed from now on is queued,
        # anything before is in the store, and the sequence number removes the overlap.
        sub = self.seq.subscribe(visible)
        last = request.after_sequence
        try:
            while True:
                rows = await asyncio.to_thread(self.store.events_after, last, visible, EVENT_PAGE)
                for sequence, payload in rows:
                    yield exchange_pb2.WatchEventsResponse.FromString(payload)
                    last = sequence
                if len(rows) < EVENT_PAGE:
                    break
            while True:
                if sub.overflowed and sub.queue.empty():
                    await context.abort(
                        grpc.StatusCode.RESOURCE_EXHAUSTED,
                        f"reader fell behind; reconnect with after_sequence={last}",
                    )
                sequence, payload = await sub.queue.get()
                if sequence <= last:
                    continue
                yield exchange_pb2.WatchEventsResponse.FromString(payload)
                last = sequence
        finally:
            self.seq.unsubscribe(sub)


class ClassesServicer(classes_pb2_grpc.ClassesServiceServicer):
    """ixchange.v1.ClassesService."""

    def __init__(self, sequencer: Sequencer, auth: Authenticator) -> None:
        self.seq = sequencer
        self.auth = auth

    @rpc
    async def DefineParameter(self, request: classes_pb2.DefineParameterRequest, context: Any) -> Any:
        await self.auth.require(context, Role.OPERATOR)
        param = convert.parameter_from(request.parameter)
        stored = await self.seq.run(lambda engine, now: engine.define_parameter(param))
        return classes_pb2.DefineParameterResponse(parameter=convert.parameter_msg(stored))

    @rpc
    async def ListParameters(self, request: classes_pb2.ListParametersRequest, context: Any) -> Any:
        await self.auth.participant(context)
        params = sorted(self.seq.engine.parameters.values(), key=lambda p: p.name)
        return classes_pb2.ListParametersResponse(parameters=[convert.parameter_msg(p) for p in params])

    @rpc
    async def DefineClassScheme(self, request: classes_pb2.DefineClassSchemeRequest, context: Any) -> Any:
        await self.auth.require(context, Role.OPERATOR)
        scheme = convert.scheme_from(request.scheme)
        stored = await self.seq.run(lambda engine, now: engine.define_scheme(scheme, now))
        return classes_pb2.DefineClassSchemeResponse(
            scheme=convert.scheme_msg(stored, self.seq.engine.effective_bounds(stored))
        )

    @rpc
    async def ListClassSchemes(self, request: classes_pb2.ListClassSchemesRequest, context: Any) -> Any:
        await self.auth.participant(context)
        engine = self.seq.engine
        chosen = sorted(
            engine.scheme_versions.values() if request.all_versions else engine.schemes.values(),
            key=lambda s: (s.name, s.version),
        )
        return classes_pb2.ListClassSchemesResponse(
            schemes=[convert.scheme_msg(s, engine.effective_bounds(s)) for s in chosen]
        )

    @rpc
    async def Classify(self, request: classes_pb2.ClassifyRequest, context: Any) -> Any:
        await self.auth.participant(context)
        engine = self.seq.engine
        try:
            service = ServiceType(request.service_type)
        except ValueError:
            raise InvalidArgument("service_type", "must be ETHERNET_ELINE, IP_TRANSIT or VOICE_TERMINATION") from None
        scheme = engine.scheme_for(service, request.class_scheme)
        values = dict(request.values)
        engine.check_values(values, "values")
        return convert.classification_msg(engine.classify(scheme, values))


class ParticipantsServicer(participants_pb2_grpc.ParticipantsServiceServicer):
    """ixchange.v1.ParticipantsService."""

    def __init__(self, sequencer: Sequencer, auth: Authenticator) -> None:
        self.seq = sequencer
        self.auth = auth
        self.store = sequencer.store

    @rpc
    async def RegisterParticipant(self, request: participants_pb2.RegisterParticipantRequest, context: Any) -> Any:
        await self.auth.require(context, Role.OPERATOR)
        p = convert.participant_from(request.participant, self.seq.now())
        validate_participant(p)
        stored = await asyncio.to_thread(self.store.add_participant, p)
        return participants_pb2.RegisterParticipantResponse(participant=convert.participant_msg(stored))

    @rpc
    async def ListParticipants(self, request: participants_pb2.ListParticipantsRequest, context: Any) -> Any:
        await self.auth.require(context, Role.OPERATOR)
        found = await asyncio.to_thread(self.store.participants)
        return participants_pb2.ListParticipantsResponse(participants=[convert.participant_msg(p) for p in found])

    @rpc
    async def IssueToken(self, request: participants_pb2.IssueTokenRequest, context: Any) -> Any:
        await self.auth.require(context, Role.OPERATOR)
        if await asyncio.to_thread(self.store.participant, request.participant) is None:
            raise NotFound("participant", f"no participant {request.participant!r}")
        token = new_token()
        await asyncio.to_thread(self.store.add_token, token_hash(token), request.participant, self.seq.now())
        return participants_pb2.IssueTokenResponse(participant=request.participant, token=token)

    @rpc
    async def RegisterAgreement(self, request: participants_pb2.RegisterAgreementRequest, context: Any) -> Any:
        await self.auth.require(context, Role.OPERATOR)
        agreement = convert.agreement_from(request.agreement)
        for field, name, role in (
            ("agreement.buyer", agreement.buyer, Role.BUYER),
            ("agreement.seller", agreement.seller, Role.SELLER),
        ):
            party: Participant | None = await asyncio.to_thread(self.store.participant, name)
            if party is None:
                raise NotFound(field, f"no participant {name!r}")
            if not party.has(role):
                raise FailedPrecondition(field, f"{name} lacks the {role.name} role")
        stored, released = await self.seq.run(lambda engine, now: engine.register_agreement(agreement, now))
        return participants_pb2.RegisterAgreementResponse(
            agreement=convert.agreement_msg(stored), released_deal_ids=[d.deal_id for d in released]
        )

    @rpc
    async def ListAgreements(self, request: participants_pb2.ListAgreementsRequest, context: Any) -> Any:
        who = await self.auth.participant(context)
        found = [a for a in self.seq.engine.agreements.values() if who.is_operator or who.name in (a.buyer, a.seller)]
        return participants_pb2.ListAgreementsResponse(agreements=[convert.agreement_msg(a) for a in found])


class FabricServicer(fabric_pb2_grpc.FabricServiceServicer):
    """The network as the provisioning layer sees it (operator only)."""

    def __init__(self, sequencer: Sequencer, auth: Authenticator) -> None:
        self.seq = sequencer
        self.auth = auth

    @rpc
    async def GetFabric(self, request: fabric_pb2.GetFabricRequest, context: Any) -> Any:
        await self.auth.require(context, Role.OPERATOR)
        status = self.seq.provisioner.fabric_status()
        if status is None:
            return fabric_pb2.GetFabricResponse(enabled=False)
        return fabric_pb2.GetFabricResponse(
            enabled=True,
            nodes=[
                fabric_pb2.FabricNode(name=n.name, kind=n.kind, connected=n.connected, address=n.address)
                for n in status.nodes
            ],
            links=[
                fabric_pb2.FabricLink(
                    name=link.name,
                    capacity_kbps=link.capacity_kbps,
                    load_kbps=link.load_kbps,
                    deals=link.deals,
                    seen=link.seen,
                    untagged=link.untagged,
                )
                for link in status.links
            ],
            link_problems=list(status.link_problems),
            provisioned_deals=status.provisioned_deals,
        )


class MarketServicer(market_pb2_grpc.MarketServiceServicer):
    """ixchange.v1.MarketService."""

    def __init__(self, sequencer: Sequencer, auth: Authenticator) -> None:
        self.seq = sequencer
        self.auth = auth
        self.store = sequencer.store

    @rpc
    async def GetQuote(self, request: market_pb2.GetQuoteRequest, context: Any) -> Any:
        who = await self.auth.require(context, Role.BUYER)
        spec = convert.spec_from(request.request, who.name)
        quote = await self.seq.run(lambda engine, now: engine.quote(spec, now))
        return market_pb2.GetQuoteResponse(quote=convert.quote_msg(quote))

    @rpc
    async def Recommend(self, request: market_pb2.RecommendRequest, context: Any) -> Any:
        who = await self.auth.require(context, Role.BUYER)
        target = request.WhichOneof("target")
        if target is None:
            raise InvalidArgument("target", "give order_id or request")
        order_id = request.order_id if target == "order_id" else 0
        spec = convert.spec_from(request.request, who.name) if target == "request" else None
        rec = await self.seq.run(
            lambda engine, now: engine.recommend(who.name, order_id, spec, now, operator=who.is_operator)
        )
        return market_pb2.RecommendResponse(recommendation=convert.recommendation_msg(rec))

    @rpc
    async def GetMarketReport(self, request: market_pb2.GetMarketReportRequest, context: Any) -> Any:
        await self.auth.participant(context)
        for name in ("start", "end"):
            if not request.HasField(name):
                raise InvalidArgument(name, "required")
        start, end = convert.micros(request, "start"), convert.micros(request, "end")
        check_window(start, end)
        deals = await asyncio.to_thread(self.store.deals_created_between, start, end)
        rows = [convert.report_row_msg(r) for r in market_report(deals, start, end)]
        return market_pb2.GetMarketReportResponse(start=request.start, end=request.end, rows=rows)

    @rpc
    async def SetNeighbours(self, request: market_pb2.SetNeighboursRequest, context: Any) -> Any:
        await self.auth.require(context, Role.OPERATOR)
        neighbours = list(request.neighbours)
        result = await self.seq.run(lambda engine, now: engine.set_neighbours(request.pop, neighbours))
        return market_pb2.SetNeighboursResponse(pop=request.pop.strip().upper(), neighbours=sorted(result))

    @rpc
    async def ListNeighbours(self, request: market_pb2.ListNeighboursRequest, context: Any) -> Any:
        await self.auth.participant(context)
        adjacency = self.seq.engine.neighbours
        return market_pb2.ListNeighboursResponse(
            pops=[market_pb2.PopNeighbours(pop=p, neighbours=sorted(adjacency[p])) for p in sorted(adjacency)]
        )
