"""My orders and deals, live: status by server-sent events from WatchEvents; order and
deal actions; delivered quality as a chart, penalties and credits, seller swaps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from google.protobuf.timestamp_pb2 import Timestamp
from ixchange.v1 import common_pb2, continuity_pb2, exchange_pb2, market_pb2, quality_pb2

from portal.charts import line_chart
from portal.exchange import ApiError
from portal.web import SESSION_COOKIE, Portal, Refused

router = APIRouter()
PAGE = 200
KEEPALIVE_S = 15.0
OPEN = (common_pb2.ORDER_STATUS_OPEN, common_pb2.ORDER_STATUS_PARTIALLY_FILLED)


def _portal(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


# ----- orders ---------------------------------------------------------------------------


@router.get("/orders")
async def orders(request: Request, open: bool = False, page: str = "") -> Response:
    portal = _portal(request)
    reply = await portal.call(
        request,
        portal.exchange.exchange.ListOrders,
        exchange_pb2.ListOrdersRequest(open_only=open, page_size=PAGE, page_token=page[:512]),
    )
    return portal.render(request, "orders.html", orders=list(reply.orders), next_page=reply.next_page_token, open=open)


@router.get("/orders/{order_id}")
async def order(request: Request, order_id: int) -> Response:
    portal = _portal(request)
    reply = await portal.call(
        request, portal.exchange.exchange.GetOrder, exchange_pb2.GetOrderRequest(order_id=order_id)
    )
    alternates = []
    o = reply.order
    if o.side == common_pb2.SIDE_REQUEST and o.status in OPEN and o.participant == portal.session(request).participant:
        try:
            rec = await portal.call(
                request, portal.exchange.market.Recommend, market_pb2.RecommendRequest(order_id=order_id)
            )
            alternates = list(rec.recommendation.alternates)
        except ApiError:
            pass  # alternates are a help, not the page
    return portal.render(request, "order.html", order=o, alternates=alternates, open_statuses=OPEN)


@router.post("/orders/{order_id}/{action}")
async def order_action(request: Request, order_id: int, action: str) -> Response:
    portal = _portal(request)
    await portal.posted(request)
    stub = portal.exchange.exchange
    calls = {
        "cancel": (stub.CancelOrder, exchange_pb2.CancelOrderRequest),
        "approve": (stub.ApproveClass, exchange_pb2.ApproveClassRequest),
        "reject": (stub.RejectClass, exchange_pb2.RejectClassRequest),
    }
    if action not in calls:
        raise Refused(404, "no such page")
    method, message = calls[action]
    await portal.call(request, method, message(order_id=order_id))
    return RedirectResponse(f"/orders/{order_id}", status_code=303)


# ----- deals ----------------------------------------------------------------------------


async def _deals(portal: Portal, request: Request, page: str) -> exchange_pb2.ListDealsResponse:
    reply: exchange_pb2.ListDealsResponse = await portal.call(
        request,
        portal.exchange.exchange.ListDeals,
        exchange_pb2.ListDealsRequest(page_size=PAGE, page_token=page[:512]),
    )
    return reply


@router.get("/deals")
async def deals(request: Request, page: str = "") -> Response:
    portal = _portal(request)
    reply = await _deals(portal, request, page)
    return portal.render(request, "deals.html", deals=list(reply.deals), next_page=reply.next_page_token, page=page)


@router.get("/deals/rows")
async def deal_rows(request: Request, page: str = "") -> Response:
    """The deals table's rows alone: what a live page fetches when an event comes."""
    portal = _portal(request)
    reply = await _deals(portal, request, page)
    return portal.render(request, "deal_rows.html", deals=list(reply.deals))


@router.get("/deals/{deal_id}")
async def deal(request: Request, deal_id: int, hours: int = 24) -> Response:
    portal = _portal(request)
    got = await portal.call(request, portal.exchange.exchange.GetDeal, exchange_pb2.GetDealRequest(deal_id=deal_id))
    since = Timestamp(seconds=int(time.time()) - max(1, min(hours, 24 * 90)) * 3600)
    quality = await portal.call(
        request,
        portal.exchange.quality.GetQuality,
        quality_pb2.GetQualityRequest(deal_id=deal_id, since=since, page_size=1000),
    )
    penalties = await portal.call(
        request, portal.exchange.quality.ListPenalties, quality_pb2.ListPenaltiesRequest(deal_id=deal_id, page_size=200)
    )
    samples = list(quality.samples)
    latency = [(s.time.seconds, s.latency_us / 1000) for s in samples if s.HasField("latency_us")]
    jitter = [(s.time.seconds, s.jitter_us / 1000) for s in samples if s.HasField("jitter_us")]
    loss = [(s.time.seconds, s.loss_ppm / 1.0) for s in samples]
    # From the deal's start when it is younger than the window: its samples fill the chart.
    window = (max(since.seconds, got.deal.created_at.seconds), time.time())
    charts = [
        line_chart({"latency": latency, "jitter": jitter}, f"Deal {deal_id}: delay (last {hours} h)", "ms", window),
        line_chart({"loss": loss}, f"Deal {deal_id}: loss (last {hours} h)", "ppm", window),
    ]
    return portal.render(
        request,
        "deal.html",
        deal=got.deal,
        current=list(quality.current),
        samples=samples,
        penalties=list(penalties.penalties),
        charts=charts,
        ended=got.deal.status in (common_pb2.DEAL_STATUS_TERMINATED, common_pb2.DEAL_STATUS_TERMINATING),
    )


@router.post("/deals/{deal_id}/terminate")
async def terminate(request: Request, deal_id: int) -> Response:
    portal = _portal(request)
    form = await portal.posted(request)
    reason = form.get("reason", "").strip()[:256] or "ended in the portal"
    await portal.call(
        request,
        portal.exchange.exchange.TerminateDeal,
        exchange_pb2.TerminateDealRequest(deal_id=deal_id, reason=reason),
    )
    return RedirectResponse(f"/deals/{deal_id}", status_code=303)


@router.post("/deals/{deal_id}/swap")
async def swap(request: Request, deal_id: int) -> Response:
    """Move the deal to another seller (ContinuityService.SwapSeller): the new deal's page."""
    portal = _portal(request)
    form = await portal.posted(request)
    reply = await portal.call(
        request,
        portal.exchange.continuity.SwapSeller,
        continuity_pb2.SwapSellerRequest(
            deal_id=deal_id, better_class=form.get("better") == "on", reason="swapped in the portal"
        ),
    )
    return RedirectResponse(f"/deals/{reply.deal.deal_id}", status_code=303)


# ----- live events ----------------------------------------------------------------------


@router.get("/events")
async def events(request: Request) -> Response:
    """Server-sent events: a summary of each event about this participant (all, for an
    operator); the page then fetches what changed. Ends with the session."""
    portal = _portal(request)
    session = portal.session(request)
    token = portal.token(request)
    key = "operator" if session.operator else session.participant
    session_id = request.cookies.get(SESSION_COOKIE, "")

    async def stream() -> AsyncIterator[str]:
        queue = portal.hub.subscribe(key, token)
        try:
            yield "retry: 2000\n\n"
            while portal.sessions.alive(session_id):
                try:
                    message = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": keepalive\n\n"
                    continue
                yield "event: reload\ndata: {}\n\n" if message is None else f"data: {message}\n\n"
            yield "event: ended\ndata: {}\n\n"
        finally:
            portal.hub.unsubscribe(key, queue)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})
