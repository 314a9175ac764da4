"""Live updates for browsers: one WatchEvents stream per participant, fanned out.

The exchange allows a participant a few streams only (IXCHANGE_MAX_STREAMS_PER_PARTICIPANT),
and a participant may have many people with the portal open: so the portal holds one
stream per participant (one for all operators), started by its first browser and closed
a little after its last one leaves, and copies each event to every browser of that
participant. A browser that does not keep up loses events (it is told to reload), never
the others'."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import json_format
from ixchange.v1 import exchange_pb2

from portal.exchange import Exchange

log = logging.getLogger(__name__)
QUEUE = 256  # events one browser may have waiting
LINGER_S = 5.0  # a stream outlives its last browser this long (a page reload keeps it)
RETRY_S = 1.0


def summary(event: exchange_pb2.WatchEventsResponse) -> dict[str, Any]:
    """What a page needs to know an event happened: its kind and what it is about."""
    subject = event.WhichOneof("subject")
    out: dict[str, Any] = {"sequence": event.sequence, "kind": exchange_pb2.EventKind.Name(event.kind)[11:].lower()}
    if subject == "deal":
        out.update(deal_id=event.deal.deal_id, status=json_format.MessageToDict(event.deal).get("status", ""))
    elif subject == "order":
        out.update(order_id=event.order.order_id)
    elif subject == "quality":
        out.update(deal_id=event.quality.deal_id)
    elif subject == "penalty":
        out.update(deal_id=event.penalty.deal_id)
    return out


@dataclass(eq=False)
class Feed:
    """One participant's upstream stream and its browsers' queues."""

    key: str
    token: str
    listeners: set[asyncio.Queue[str | None]] = field(default_factory=set)
    task: asyncio.Task[None] | None = None
    idle_since: float | None = None


class Hub:
    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.feeds: dict[str, Feed] = {}
        self.delivered = 0

    def subscribe(self, key: str, token: str) -> asyncio.Queue[str | None]:
        """A queue of JSON event summaries for one browser; None means "you missed some"."""
        feed = self.feeds.get(key)
        if feed is None:
            feed = self.feeds[key] = Feed(key, token)
        feed.token = token  # the newest browser's: an earlier user's may have been revoked
        queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE)
        feed.listeners.add(queue)
        feed.idle_since = None
        if feed.task is None or feed.task.done():
            feed.task = asyncio.create_task(self._follow(feed), name=f"portal-feed-{key}")
        return queue

    def unsubscribe(self, key: str, queue: asyncio.Queue[str | None]) -> None:
        feed = self.feeds.get(key)
        if feed is None:
            return
        feed.listeners.discard(queue)
        if not feed.listeners:
            feed.idle_since = asyncio.get_running_loop().time()

    async def _follow(self, feed: Feed) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if feed.idle_since is not None and loop.time() - feed.idle_since > LINGER_S:
                break
            call = self.exchange.stream(
                feed.token, self.exchange.exchange.WatchEvents, exchange_pb2.WatchEventsRequest(from_now=True)
            )
            left = False
            try:
                async for event in call:
                    if feed.idle_since is not None and loop.time() - feed.idle_since > LINGER_S:
                        call.cancel()
                        left = True  # no browser any more
                        break
                    if event.kind == exchange_pb2.EVENT_KIND_HEARTBEAT:
                        continue
                    self._fan_out(feed, json.dumps(summary(event)))
            except grpc.aio.AioRpcError as err:
                log.warning("event stream for %s: %s; again in %.0f s", feed.key, err.code().name, RETRY_S)
            if left:
                continue
            # The stream ended or failed: events may have been missed, pages reload.
            self._fan_out(feed, None)
            await asyncio.sleep(RETRY_S)
        if self.feeds.get(feed.key) is feed and not feed.listeners:
            del self.feeds[feed.key]

    def _fan_out(self, feed: Feed, message: str | None) -> None:
        for queue in list(feed.listeners):
            try:
                queue.put_nowait(message)
                self.delivered += 1
            except asyncio.QueueFull:
                # Too slow: its backlog goes, and it is told to reload.
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(None)

    async def close(self) -> None:
        for feed in list(self.feeds.values()):
            if feed.task is not None:
                feed.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await feed.task
        self.feeds.clear()
