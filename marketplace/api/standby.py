"""High availability (issue 16, first part): a process that shares its PostgreSQL database
with a leader waits as a standby until it can take the leader's lease
(store/leadership.py), then becomes the exchange; the leader keeps its lease renewed and
steps down the moment it cannot.

The standby answers on the exchange's address meanwhile: gRPC health NOT_SERVING (so a
load balancer, or a client with health checking, goes to the leader), every other call
UNAVAILABLE naming the leader and how far the standby's view of the journal is behind
(it follows it: store/journal_feed.py). Following it, the standby also keeps the live
orders, open deals and client ids decoded in memory (store/warm.py), so that on taking
over it builds the engine from them after a last catch-up instead of reading them all
from the store: what remains of the takeover is the engine's own build."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from marketplace.settings import Settings
from marketplace.store import Store
from marketplace.store.journal_feed import JournalFeed
from marketplace.store.leadership import Leadership
from marketplace.store.warm import WarmRows

log = logging.getLogger(__name__)
STANDBY_POLL_S = 0.1  # how often a standby asks for the lease (two small queries)


def holder_name(settings: Settings) -> str:
    """Who holds the lease, as the standbys name it to clients: address, host and pid."""
    return f"{settings.listen} ({socket.gethostname()} pid {os.getpid()})"[:200]


class JournalWatch:
    """A standby's view of the leader's journal (store/journal_feed.py), followed on a
    thread of its own; it says how far behind the standby is and keeps `warm` current at
    each commit the leader announces (and every second). The database going away (a
    restart) only pauses it."""

    def __init__(self, database_url: str, warm: WarmRows) -> None:
        self.database_url = database_url
        self.warm = warm
        self.position = 0
        self.lag_ms: float | None = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="journal-watch", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        feed: JournalFeed | None = None
        while not self.stopping.is_set():
            try:
                self.warm.follow()  # the first time: loads every live order (seconds at 10^6)
                feed = feed or JournalFeed(self.database_url)
                if feed.follow(1.0):
                    self.position, self.lag_ms = feed.position, feed.lag_us / 1000
            except Exception as err:  # the database is away: try again in a second
                log.debug("journal watch: %s", type(err).__name__)
                if feed is not None:
                    feed.close()
                feed = None
                self.stopping.wait(1.0)
        if feed is not None:
            feed.close()

    def describe(self) -> str:
        if self.lag_ms is None:
            return f"journal at {self.position}; {self.warm.describe()}"
        return f"journal at {self.position}, {self.lag_ms:.0f} ms behind at its last event; {self.warm.describe()}"

    def stop(self) -> None:
        """At once: the thread ends (and closes its connection) when its wait does."""
        self.stopping.set()


class _Refuse(grpc.GenericRpcHandler):  # type: ignore[type-arg]
    """Every call but health: UNAVAILABLE, naming the leader."""

    def __init__(self, leader: Callable[[], str]) -> None:
        self.leader = leader

    def service(self, handler_call_details: Any) -> Any:
        async def refuse(_request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
            await context.abort(
                grpc.StatusCode.UNAVAILABLE, f"this exchange is a standby; the leader is {self.leader()}"
            )

        return grpc.unary_unary_rpc_method_handler(refuse)


async def wait_for_leadership(
    settings: Settings,
    store: Store,
    bind: Callable[[grpc.aio.Server], int],
    leader_seen: Callable[[int], None] = lambda _generation: None,
) -> LeaseKeeper:
    """Stand by until this process holds the lease; from then on it is renewed and store
    writes are fenced with its generation. `leader_seen` hears each generation that leads
    meanwhile (the controller's OpenFlow SLAVE role carries it)."""
    leadership = Leadership(store.engine, holder_name(settings), settings.ha_lease_s)
    generation = await asyncio.to_thread(leadership.try_take)
    standing: grpc.aio.Server | None = None
    warm: WarmRows | None = None
    if generation is None:
        lease = await asyncio.to_thread(leadership.current)
        leader = lease.holder if lease is not None else "unknown"
        seen = 0
        if lease is not None:
            leader_seen(seen := lease.generation)
        standing = grpc.aio.server()
        health = HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health, standing)
        warm = WarmRows(store.engine)
        watch = JournalWatch(settings.resolved_database_url, warm)

        def refusal() -> str:
            if generation is not None:
                return "this exchange is taking over as the leader: try again in a moment"
            return f"this exchange is a standby; the leader is {leader}; this standby follows its {watch.describe()}"

        standing.add_generic_rpc_handlers((_Refuse(refusal),))
        bind(standing)
        await standing.start()
        await health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        log.info("standing by: another exchange holds the lease")
        try:
            while generation is None:
                # Ask often: a lapsed lease is then taken within this long of its lapse.
                await asyncio.sleep(min(settings.ha_lease_s / 4, STANDBY_POLL_S))
                try:
                    lease = await asyncio.to_thread(leadership.current)
                    leader = lease.holder if lease is not None else "unknown"
                    if lease is not None and lease.generation != seen:
                        leader_seen(seen := lease.generation)
                    generation = await asyncio.to_thread(leadership.try_take)
                except Exception as err:  # the database is away (a restart): keep standing by
                    log.warning("standing by; the database did not answer (%s)", type(err).__name__)
        finally:
            watch.stop()
            if generation is None:
                await standing.stop(0)
    # Renewed from this moment: nothing may come between the take and the keeper (a wait
    # here once outlasted a short lease, and the new leader lost it at its first renewal).
    keeper = LeaseKeeper(settings, store, generation, standing)
    keeper.warm = warm
    log.info("leader, generation %d", generation)
    store.generation = generation
    return keeper


class LeaseKeeper:
    """Renews the lease four times per lifetime from the moment it is taken (a restore of
    10^6 orders outlasts many lifetimes); `lost` is set when a renewal fails (lapsed, taken)
    or the database cannot be reached before the lease would lapse: then step down."""

    def __init__(
        self, settings: Settings, store: Store, generation: int, standing: grpc.aio.Server | None = None
    ) -> None:
        self.leadership = Leadership(store.engine, holder_name(settings), settings.ha_lease_s)
        self.lease_s = settings.ha_lease_s
        self.generation = generation
        # The standby's own server keeps answering (UNAVAILABLE, "taking over") on the
        # exchange's address while the books are rebuilt: clients see a refusal to retry,
        # not a refused connection and its reconnect backoff. The exchange's server binds
        # the same port beside it (SO_REUSEPORT) and then stops it.
        self.standing = standing
        # What the standby kept warm, for the restore (store/warm.py); None when it led at once.
        self.warm: WarmRows | None = None
        self.lost = asyncio.Event()
        self.task = asyncio.create_task(self._renew(), name="lease")

    async def _renew(self) -> None:
        loop = asyncio.get_running_loop()
        renewed = loop.time()
        while True:
            await asyncio.sleep(self.lease_s / 4)
            try:
                if not await asyncio.to_thread(self.leadership.renew, self.generation):
                    now = await asyncio.to_thread(self.leadership.current)
                    log.critical("lost the lease (generation %d; now %s): stepping down", self.generation, now)
                    break
                renewed = loop.time()
            except Exception as err:  # the database is away: hold on while the lease lasts
                if loop.time() - renewed >= self.lease_s:
                    log.critical("cannot renew the lease (%s): stepping down", type(err).__name__)
                    break
        self.lost.set()

    async def stop_standing_by(self) -> None:
        if self.standing is not None:
            await self.standing.stop(0)
            self.standing = None

    async def step_down_when_lost(self, step_down: Callable[[], None]) -> None:
        await self.lost.wait()
        step_down()


def release(settings: Settings, store: Store, generation: int) -> None:
    """A clean stop hands the lease over at once."""
    try:
        Leadership(store.engine, holder_name(settings), settings.ha_lease_s).release(generation)
    except Exception as err:  # it lapses by itself
        log.warning("could not release the lease: %s", type(err).__name__)
