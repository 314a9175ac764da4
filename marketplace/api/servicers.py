"""gRPC servicers of ExchangeService: authenticate, convert, delegate to the sequencer or
the store, charge the work to the caller. No business rules live here; errors become
statuses in guard.py, which wraps every method."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import grpc
from ixchange.v1 import exchange_pb2, exchange_pb2_grpc

from marketplace import limits
from marketplace.api import convert, paging
from marketplace.api.auth import Authenticator
from marketplace.api.backlog import Backlog
from marketplace.api.guard import Guard, Refusal
from marketplace.api.order_commands import OrderCommands, subject
from marketplace.api.quotas import BOOK_COST, EVENT_COST, ROW_COST
from marketplace.api.reads import ReadPool
from marketplace.api.sequencer import Sequencer
from marketplace.api.streams import FELL_BEHIND
from marketplace.api.trade_stream import TradeStreaming
from marketplace.book import SortKey
from marketplace.changes import Outcome
from marketplace.deals import DealStatus
from marketplace.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
)
from marketplace.orders import OrderInput, OrderStatus, Route, ServiceType, Side
from marketplace.participants import Participant, Role
from marketplace.quotes import iso
from marketplace.retries import first_difference
from marketplace.settings import Settings
from marketplace.store import Store

EVENT_PAGE = 200  # events read per page of a replay: small, so a replay's work comes in small steps
BOOK_SCAN_LIMIT = 10_000  # book keys one GetBook call may look at (more: the next page goes on)


@dataclass(slots=True)
class Api:
    """What every servicer works with."""

    seq: Sequencer
    auth: Authenticator
    reads: ReadPool
    report_min_deals: int = 5
    heartbeat_s: float = 15.0
    guard: Guard = field(default_factory=Guard)  # answers each refused command of a TradeStream
    backlog: Backlog = field(
        default_factory=lambda: Backlog(Settings.max_orders_in_flight, Settings.max_orders_queued, lambda: 0.001)
    )

    @property
    def store(self) -> Store:
        return self.seq.store

    async def why_not_open(self, order_id: int, who: Participant, field: str = "order_id") -> DomainError:
        """The engine forgets closed orders and answers another participant's order as
        unknown; the store says why one of the caller's own is no longer open."""
        stored = await self.reads.run(who.name, self.store.get_order, order_id)
        if stored is None or (stored.participant != who.name and not who.is_operator):
            return NotFound(field, f"no open order {order_id} of yours")
        return FailedPrecondition(field, f"order {order_id} is {stored.status.name}, no longer open")


def heartbeat(last: int, now_us: int) -> bytes:
    """The sign of life of an idle stream: the last sequence number this stream delivered
    (resuming after it misses nothing) and the server's time."""
    return exchange_pb2.WatchEventsResponse(
        sequence=last, time=convert.stamp(now_us), kind=exchange_pb2.EVENT_KIND_HEARTBEAT
    ).SerializeToString()


class ExchangeServicer(OrderCommands, TradeStreaming, exchange_pb2_grpc.ExchangeServiceServicer):
    """ixchange.v1.ExchangeService."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.seq = api.seq
        self.auth = api.auth
        self.reads = api.reads
        self.store = api.seq.store

    async def _order_reply(self, outcome: Outcome, reply_type: Any, who: Participant, entry: OrderInput) -> Any:
        order = outcome.order
        if outcome.duplicate:
            if order is None:  # a retry of an order that has closed since
                order = await self.reads.run(who.name, self.store.get_order, outcome.duplicate_order_id)
                if order is None:
                    raise NotFound("client_order_id", "the order it named is not in the store")
            differs = first_difference(entry, order)
            if differs is not None:
                raise AlreadyExists(
                    "client_order_id",
                    f"{limits.shown(entry.client_order_id)} was used for order {order.order_id}, "
                    f"whose {differs} differs; use a new client_order_id for a new order",
                    reason="CLIENT_ORDER_ID_REUSED",
                )
            if outcome.order is None:
                return reply_type(order=convert.order_msg(order), duplicate=True)
        if order is None:
            raise FailedPrecondition("order", "the command answered no order")
        check = self.seq.engine.offer_checks.get(order.order_id)  # offers being (or just) verified
        verified = {order.order_id: int(check.state)} if check is not None else {}
        reply = reply_type(
            order=self._with_record(convert.order_msg(order), verified),
            deals=[convert.deal_msg(d) for d in outcome.deals],
            duplicate=outcome.duplicate,
        )
        if outcome.recommendation is not None:
            reply.alternates.extend(convert.alternate_msg(a) for a in outcome.recommendation.alternates)
        return reply

    async def SubmitOffer(self, request: exchange_pb2.SubmitOfferRequest, context: Any) -> Any:
        who = await self.auth.participant(context)
        return await self.execute(who, self.command(who, "submit_offer", request), context.time_remaining())

    async def SubmitRequest(self, request: exchange_pb2.SubmitRequestRequest, context: Any) -> Any:
        who = await self.auth.participant(context)
        return await self.execute(who, self.command(who, "submit_request", request), context.time_remaining())

    async def ApproveClass(self, request: exchange_pb2.ApproveClassRequest, context: Any) -> Any:
        who = await self.auth.require(context, Role.BUYER)
        try:
            outcome = await self.seq.run(
                lambda engine, now: engine.approve_class(
                    who.name, request.order_id, now, operator=who.is_operator, recommend=True
                )
            )
        except (FailedPrecondition, NotFound) as err:
            raise await self._why_not_pending(request.order_id, who, err) from None
        reply = exchange_pb2.ApproveClassResponse(
            order=convert.order_msg(subject(outcome)), deals=[convert.deal_msg(d) for d in outcome.deals]
        )
        if outcome.recommendation is not None:
            reply.alternates.extend(convert.alternate_msg(a) for a in outcome.recommendation.alternates)
        return reply

    async def RejectClass(self, request: exchange_pb2.RejectClassRequest, context: Any) -> Any:
        who = await self.auth.require(context, Role.BUYER)
        try:
            outcome = await self.seq.run(
                lambda engine, now: engine.reject_class(who.name, request.order_id, now, operator=who.is_operator)
            )
        except (FailedPrecondition, NotFound) as err:
            raise await self._why_not_pending(request.order_id, who, err) from None
        return exchange_pb2.RejectClassResponse(order=convert.order_msg(subject(outcome)))

    async def _why_not_pending(self, order_id: int, who: Participant, err: DomainError) -> DomainError:
        """The engine forgets closed orders; the store says why one is no longer pending
        (closed orders never change again, and the store is committed before errors are
        answered)."""
        stored = await self.reads.run(who.name, self.store.get_order, order_id)
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

    async def CancelOrder(self, request: exchange_pb2.CancelOrderRequest, context: Any) -> Any:
        who = await self.auth.participant(context)
        return await self.execute(who, self.command(who, "cancel_order", request), context.time_remaining())

    async def ReplaceOrder(self, request: exchange_pb2.ReplaceOrderRequest, context: Any) -> Any:
        who = await self.auth.participant(context)
        return await self.execute(who, self.command(who, "replace_order", request), context.time_remaining())

    def _with_record(self, msg: Any, verified: Mapping[int, int]) -> Any:
        """An offer with its verification and its seller's delivered-quality record."""
        if msg.side == int(Side.OFFER):
            msg.verification = verified.get(msg.order_id, 0)
            ppm = self.seq.engine.seller_quality_ppm(msg.participant)
            if ppm is not None:
                msg.seller_quality_ppm = ppm
        return msg

    async def GetOrder(self, request: exchange_pb2.GetOrderRequest, context: Any) -> Any:
        who = await self.auth.participant(context)
        order = await self.reads.run(who.name, self.store.get_order, request.order_id)
        if order is None or (order.participant != who.name and not who.is_operator):
            raise NotFound("order_id", f"no order {request.order_id} of yours")
        verified = await self.reads.run(who.name, self.store.verifications, [order.order_id])
        return exchange_pb2.GetOrderResponse(order=self._with_record(convert.order_msg(order), verified))

    async def ListOrders(self, request: exchange_pb2.ListOrdersRequest, context: Any) -> Any:
        who = await self.auth.participant(context)
        limit = paging.page_size(request.page_size)
        owner = None if who.is_operator else who.name
        after = paging.after_id(request.page_token)

        # Rows become messages on the read thread too: a page of 1,000 built on the event
        # loop would hold up every other call for tens of milliseconds.
        def page() -> exchange_pb2.ListOrdersResponse:
            found = self.store.list_orders(owner, request.open_only, after, limit + 1)
            rows, token = paging.id_page(found, limit, lambda o: o.order_id)
            verified = self.store.verifications(o.order_id for o in rows if o.side is Side.OFFER)
            orders = [self._with_record(convert.order_msg(o), verified) for o in rows]
            return exchange_pb2.ListOrdersResponse(orders=orders, next_page_token=token)

        reply = await self.reads.run(who.name, page)
        self.auth.charge(who, len(reply.orders) * ROW_COST)
        return reply

    async def GetBook(self, request: exchange_pb2.GetBookRequest, context: Any) -> Any:
        who = await self.auth.participant(context)
        depth = paging.page_size(request.depth, "depth", default=10, most=100)
        size = paging.page_size(request.page_size, default=20, most=100)
        services = list(ServiceType)
        if request.service_type:
            try:
                services = [ServiceType(request.service_type)]
            except ValueError:
                raise InvalidArgument("service_type", "unknown service type") from None
        prefixes: list[tuple[Any, ...]] = [(int(s),) for s in services] if request.service_type else [()]
        if request.HasField("route"):
            # Directed services list the route as asked; E-Line circuits either way round.
            routes = [(s, Route.parse(s, request.route.a_end, request.route.z_end)) for s in services]
            prefixes = [(int(s), *r) for s, r in routes]
        position = paging.decode(request.page_token, (int, str, str, str, str, int))
        after = cast(SortKey, position)
        engine = self.seq.engine
        keys, last, scanned = engine.book_index.page(prefixes, request.grade, after, size, BOOK_SCAN_LIMIT)
        reply = exchange_pb2.GetBookResponse(next_page_token=paging.encode(last) if last else "")
        summed = 0  # orders added up into price levels
        for k in keys:
            book = engine.books[k]
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
                    summed += count
        self.auth.charge(who, scanned * ROW_COST / 10 + len(keys) * BOOK_COST + summed * ROW_COST / 100)
        return reply

    async def ListDeals(self, request: exchange_pb2.ListDealsRequest, context: Any) -> Any:
        who = await self.auth.participant(context)
        owner = None if who.is_operator else who.name
        limit = paging.page_size(request.page_size)
        after = paging.after_id(request.page_token)

        def page() -> exchange_pb2.ListDealsResponse:
            found = self.store.list_deals(owner, request.status, after, limit + 1)
            rows, token = paging.id_page(found, limit, lambda d: d.deal_id)
            quality = self.store.deal_quality(d.deal_id for d in rows)
            verified = self.store.verifications(d.offer_order_id for d in rows)
            deals = [convert.deal_msg(d, quality.get(d.deal_id), verified.get(d.offer_order_id, 0)) for d in rows]
            return exchange_pb2.ListDealsResponse(deals=deals, next_page_token=token)

        reply = await self.reads.run(who.name, page)
        self.auth.charge(who, len(reply.deals) * ROW_COST)
        return reply

    async def GetDeal(self, request: exchange_pb2.GetDealRequest, context: Any) -> Any:
        who = await self.auth.participant(context)
        deal = await self.reads.run(who.name, self.store.get_deal, request.deal_id)
        if deal is None or (who.name not in (deal.seller, deal.buyer) and not who.is_operator):
            raise NotFound("deal_id", f"no deal {request.deal_id} of yours")
        quality = await self.reads.run(who.name, self.store.deal_quality, [deal.deal_id])
        verified = await self.reads.run(who.name, self.store.verifications, [deal.offer_order_id])
        msg = convert.deal_msg(deal, quality.get(deal.deal_id), verified.get(deal.offer_order_id, 0))
        return exchange_pb2.GetDealResponse(deal=msg)

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
            stored = await self.reads.run(who.name, self.store.get_deal, request.deal_id)
            if stored is None or (who.name not in (stored.seller, stored.buyer) and not who.is_operator):
                raise
            if stored.status is not DealStatus.TERMINATED:
                raise FailedPrecondition("deal_id", f"deal {stored.deal_id} ended {stored.status.name}") from None
            deal = stored
        return exchange_pb2.TerminateDealResponse(deal=convert.deal_msg(deal))

    async def WatchEvents(
        self, request: exchange_pb2.WatchEventsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[bytes]:
        """Stored events first, then live ones. Events are sent as they were journaled
        (serialized once, when committed), and each one sent is paid for."""
        who = await self.auth.participant(context)
        newest = self.seq.engine.counters.sequence
        if request.after_sequence > newest:
            raise Refusal(
                grpc.StatusCode.OUT_OF_RANGE,
                f"after_sequence: {request.after_sequence} is beyond the newest event, {newest}",
                reason="SEQUENCE_NOT_REACHED",
            )
        visible = None if who.is_operator else who.name
        # Subscribe before reading the backlog: anything committed from now on is queued,
        # anything before is in the store, and the sequence number removes the overlap.
        sub = self.seq.streams.subscribe(visible)
        last = newest if request.from_now else request.after_sequence
        try:
            while not request.from_now:
                await self.auth.calls.wait(who.name)
                rows = await self.reads.run(who.name, self.store.events_after, last, visible, EVENT_PAGE)
                self.auth.charge(who, len(rows) * EVENT_COST)
                for sequence, payload in rows:
                    yield payload
                    last = sequence
                if len(rows) < EVENT_PAGE:
                    break
            while True:
                entry = await sub.next_within(self.api.heartbeat_s)
                if entry is None:
                    yield heartbeat(last, self.seq.now())
                    continue
                if entry is FELL_BEHIND:
                    raise ResourceExhausted(
                        "after_sequence",
                        f"this stream fell {self.seq.streams.limits.queue} events behind and was dropped; "
                        f"reconnect with after_sequence={last}",
                        reason="STREAM_FELL_BEHIND",
                    )
                sequence, payload = entry
                if sequence <= last:
                    continue
                # Live events are paid for too: streams multiply the cost of every event
                # of their participant (the debt slows its other calls, not the stream).
                self.auth.charge(who, EVENT_COST)
                yield payload
                last = sequence
        finally:
            self.seq.streams.unsubscribe(sub)
