"""The single writer: runs commands on the engine one at a time, commits each batch in one
transaction (group commit), and only then answers the callers and publishes events.

This is the only place the engine is mutated. The engine is pure and fast; the commit is
the slow part, so while one batch commits the engine already runs the next (whose commit
follows on the same thread), and what queues meanwhile shares the fsync after that.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import grpc

from marketplace.api.convert import event_msg
from marketplace.api.guard import Refusal
from marketplace.api.metrics import ExchangeMetrics
from marketplace.api.streams import EventHub, StreamLimits
from marketplace.changes import Changes
from marketplace.engine import ExchangeEngine
from marketplace.errors import DomainError
from marketplace.provisioner import Provisioner
from marketplace.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")
PIPELINE = 2  # batches past the engine, committing or answering, at once
Command = Callable[[ExchangeEngine, int], Any]


class StoreFailed(Refusal):
    """The sequencer stopped (the store refused a batch, or a command failed unexpectedly):
    the in-memory engine may differ from the store, so the server stops and rebuilds from
    the store on restart."""

    def __init__(self) -> None:
        super().__init__(grpc.StatusCode.UNAVAILABLE, "the exchange is stopping after a store failure; retry later")


class CommandFailed(Refusal):
    """A command raised something other than a refusal before it changed anything: the
    caller gets an internal error and the exchange carries on."""

    def __init__(self, reference: str) -> None:
        super().__init__(
            grpc.StatusCode.INTERNAL, f"internal error; the exchange's log has it under reference {reference}"
        )


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
        stream_limits: StreamLimits | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.clock = clock
        self.provisioner = provisioner
        self.max_batch = max_batch
        self.metrics = metrics or ExchangeMetrics()
        self.streams = EventHub(stream_limits or StreamLimits())
        # Commits have a thread of their own: reads, however many, never queue ahead of them.
        self._committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ixchange-commit")
        self.failed: BaseException | None = None
        self.on_failure: Callable[[BaseException], None] | None = None
        self._queue: asyncio.Queue[tuple[Command, asyncio.Future[Any]]] = asyncio.Queue()
        self._last_now = 0
        self._commit_failed = False  # set on the commit thread
        # Seconds the loop spends per command while busy (a moving average): how long a
        # command that queues now can expect to wait per command ahead of it.
        self.pace = 0.001

    async def run(self, command: Callable[[ExchangeEngine, int], T]) -> T:
        """Run a command in order with all others; returns once its effects are durable."""
        if self.failed is not None:
            raise StoreFailed() from self.failed
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((command, future))
        return await future

    def now(self) -> int:
        """The injected clock, never going backwards."""
        self._last_now = max(self._last_now, self.clock())
        return self._last_now

    async def serve(self) -> None:
        """The writer loop; runs until cancelled. The engine runs the next batch while the
        previous one commits: commits go in order through the one commit thread, and a
        batch's callers are answered and its events published only after its own commit
        (and its predecessor's). At most PIPELINE batches are past the engine and not yet
        finished."""
        finishing: deque[asyncio.Task[None]] = deque()
        loop = asyncio.get_running_loop()
        started, size = 0.0, 0  # the previous batch
        try:
            while True:
                if self._queue.empty():
                    size = 0  # idle time is not the pace of work
                batch = [await self._queue.get()]
                while len(batch) < self.max_batch and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                now = loop.time()
                if size:
                    self.pace += ((now - started) / size - self.pace) / 8
                started, size = now, len(batch)
                while len(finishing) >= PIPELINE or (finishing and finishing[0].done()):
                    await finishing.popleft()  # a failure re-raises here: the loop stops
                if self.failed is not None:
                    self._refuse(batch)
                    continue
                try:
                    results, changes, payloads = self._run(batch)
                except Exception as err:
                    self._fail(batch, err)
                    raise
                commit = (
                    asyncio.get_running_loop().run_in_executor(self._committer, self._write, changes.frozen(), payloads)
                    if changes
                    else None
                )
                if commit is not None:
                    commit.add_done_callback(_retrieved)  # after a failure it may never be awaited
                previous = finishing[-1] if finishing else None
                task = asyncio.create_task(self._finish(previous, batch, results, changes, payloads, commit))
                task.add_done_callback(_retrieved)  # a failure is handled in _finish; no "never retrieved"
                finishing.append(task)
        finally:
            for task in finishing:
                task.cancel()

    def _write(self, changes: Changes, payloads: list[bytes]) -> None:
        """On the commit thread. Once a commit failed, none after it is written: they were
        computed on top of what did not reach the store."""
        if self._commit_failed:
            raise StoreFailed()
        try:
            with self.metrics.commit_seconds.time():
                self.store.write(changes, payloads)
        except BaseException:
            self._commit_failed = True
            raise

    async def _finish(
        self,
        previous: asyncio.Task[None] | None,
        batch: list[tuple[Command, asyncio.Future[Any]]],
        results: list[tuple[asyncio.Future[Any], Any, Exception | None]],
        changes: Changes,
        payloads: list[bytes],
        commit: asyncio.Future[None] | None,
    ) -> None:
        try:
            if previous is not None:
                await asyncio.shield(previous)
            if commit is not None:
                await commit
        except BaseException as err:
            self._fail(batch, err)
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
            self.streams.publish(event.sequence, event.parties(), payload)
        for deal in changes.released_deals:
            self.provisioner.deal_brokered(deal)
        for deal in changes.ending_deals:
            self.provisioner.deal_ending(deal)
        for order in changes.unverified:
            self.provisioner.offer_unverified(order)

    def fail(self, err: BaseException) -> None:
        """Stop from outside (another leader took the switches): nothing more is applied."""
        self._fail([], err)

    def _fail(self, batch: list[tuple[Command, asyncio.Future[Any]]], err: BaseException) -> None:
        """A failed commit, or a bug that may have left the engine half-changed: the memory
        is no longer what the store says, so stop; a restart rebuilds it."""
        if self.failed is None:
            log.critical("sequencer stopping: %r", err, exc_info=err)
            self.failed = err
            if self.on_failure is not None:
                self.on_failure(err)
        self._refuse(batch)

    def _refuse(self, batch: list[tuple[Command, asyncio.Future[Any]]]) -> None:
        for _, future in batch:
            if not future.done():
                # The cause stays in the log: its text can quote SQL and values.
                future.set_exception(StoreFailed())

    def _run(
        self, batch: list[tuple[Command, asyncio.Future[Any]]]
    ) -> tuple[list[tuple[asyncio.Future[Any], Any, Exception | None]], Changes, list[bytes]]:
        results: list[tuple[asyncio.Future[Any], Any, Exception | None]] = []
        for command, future in batch:
            before = self.engine.fingerprint()
            try:
                results.append((future, command(self.engine, self.now()), None))
            except DomainError as err:  # refused before it changed anything
                results.append((future, None, err))
                self.metrics.refused.inc()
            except Exception as err:
                if self.engine.fingerprint() != before:
                    raise  # it changed the engine half way: only a restart from the store is safe
                # A bug met before any change: this caller gets an internal error, the
                # exchange keeps serving everyone else.
                reference = uuid.uuid4().hex[:16]
                log.error("command failed before changing anything, reference %s", reference, exc_info=err)
                results.append((future, None, CommandFailed(reference)))
        changes = self.engine.drain()
        payloads = [event_msg(e).SerializeToString() for e in changes.events]
        # The live objects in `changes` keep changing with the next batch while this one
        # commits: the store gets copies as they are now (frozen(), when it is handed
        # over), and so does the provisioner after the commit. Callers' outcomes carry the
        # state each command left (Outcome.subject_state).
        changes.released_deals = [d.snapshot() for d in changes.released_deals]
        changes.ending_deals = [d.snapshot() for d in changes.ending_deals]
        changes.unverified = [o.snapshot() for o in changes.unverified]
        return results, changes, payloads

    def close(self) -> None:
        self._committer.shutdown(wait=False)


def _retrieved(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()
