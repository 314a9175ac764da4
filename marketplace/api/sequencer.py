"""The single writer: runs commands on the engine one at a time, commits each batch in one
transaction (group commit), and only then answers the callers and publishes events.

This is the only place the engine is mutated. The engine is pure and fast; the commit is
the slow part, so while one batch commits the next one queues up and shares the next fsync.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from marketplace.api.convert import event_msg
from marketplace.api.metrics import ExchangeMetrics
from marketplace.engine import Changes, ExchangeEngine
from marketplace.errors import DomainError
from marketplace.provisioner import Provisioner
from marketplace.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")
Command = Callable[[ExchangeEngine, int], Any]


class StoreFailed(Exception):
    """The sequencer stopped (the store refused a batch, or a command failed unexpectedly):
    the in-memory engine may differ from the store, so the server stops and rebuilds from
    the store on restart."""


@dataclass(slots=True, eq=False)
class Subscriber:
    """A live WatchEvents stream: events it may see go into its queue."""

    participant: str | None  # None: operator, sees everything
    queue: asyncio.Queue[tuple[int, bytes]] = field(default_factory=lambda: asyncio.Queue(maxsize=10_000))
    overflowed: bool = False


class Sequencer:
    """Serialises every state-changing command through the engine and the store."""

    def __init__(
        self,
        engine: ExchangeEngine,
        store: Store,
        clock: Callable[[], int],
        provisioner: Provisioner,
        max_batch: int = 1024,
        metrics: ExchangeMetrics | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.clock = clock
        self.provisioner = provisioner
        self.max_batch = max_batch
        self.metrics = metrics or ExchangeMetrics()
        self.subscribers: set[Subscriber] = set()
        self.failed: BaseException | None = None
        self.on_failure: Callable[[BaseException], None] | None = None
        self._queue: asyncio.Queue[tuple[Command, asyncio.Future[Any]]] = asyncio.Queue()
        self._last_now = 0

    async def run(self, command: Callable[[ExchangeEngine, int], T]) -> T:
        """Run a command in order with all others; returns once its effects are durable."""
        if self.failed is not None:
            raise StoreFailed("the store failed earlier; the server is stopping") from self.failed
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((command, future))
        return await future

    def now(self) -> int:
        """The injected clock, never going backwards."""
        self._last_now = max(self._last_now, self.clock())
        return self._last_now

    async def serve(self) -> None:
        """The writer loop; runs until cancelled."""
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._apply(batch)

    async def _apply(self, batch: list[tuple[Command, asyncio.Future[Any]]]) -> None:
        try:
            results, changes, payloads = await self._run_and_commit(batch)
        except Exception as err:
            # A failed commit, or a bug that may have left the engine half-changed: the
            # memory is no longer what the store says, so stop; a restart rebuilds it.
            log.critical("sequencer stopping: %r", err, exc_info=err)
            self.failed = err
            for _, future in batch:
                if not future.done():
                    future.set_exception(StoreFailed(f"the exchange is stopping: {err!r}"))
            if self.on_failure is not None:
                self.on_failure(err)
            raise
        self.metrics.commands.inc(len(batch))
        self.metrics.batch_size.observe(len(batch))
        self.metrics.deals.inc(len(changes.new_deals))
        self.metrics.events.inc(len(changes.events))
        for future, value, error in results:
            if future.done():
                continue  # the caller went away
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(value)
        for event, payload in zip(changes.events, payloads, strict=True):
            self._publish(event.sequence, event.parties(), payload)
        for deal in changes.released_deals:
            self.provisioner.deal_brokered(deal.snapshot())
        for deal in changes.ending_deals:
            self.provisioner.deal_ending(deal.snapshot())

    async def _run_and_commit(
        self, batch: list[tuple[Command, asyncio.Future[Any]]]
    ) -> tuple[list[tuple[asyncio.Future[Any], Any, DomainError | None]], Changes, list[bytes]]:
        results: list[tuple[asyncio.Future[Any], Any, DomainError | None]] = []
        for command, future in batch:
            try:
                results.append((future, command(self.engine, self.now()), None))
            except DomainError as err:  # refused before it changed anything
                results.append((future, None, err))
                self.metrics.refused.inc()
        changes = self.engine.drain()
        payloads = [event_msg(e).SerializeToString() for e in changes.events]
        if changes:
            with self.metrics.commit_seconds.time():
                await asyncio.to_thread(self.store.write, changes, payloads)
        return results, changes, payloads

    def subscribe(self, participant: str | None) -> Subscriber:
        sub = Subscriber(participant)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def _publish(self, sequence: int, parties: tuple[str, ...], payload: bytes) -> None:
        for sub in list(self.subscribers):
            if sub.participant is not None and sub.participant not in parties:
                continue
            try:
                sub.queue.put_nowait((sequence, payload))
            except asyncio.QueueFull:
                # A reader this far behind resumes from its last sequence number instead.
                sub.overflowed = True
                self.subscribers.discard(sub)
