"""The sequencer's pipeline: the engine runs the next batch while one commits; each
caller is answered only after its own batch is durable; after a failed commit no later
batch is written (it was computed on top of what never reached the store)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from marketplace.api.sequencer import Sequencer, StoreFailed
from marketplace.provisioner import HoldingProvisioner
from tests.unit.factories import new_engine, offer, request


class SlowStore:
    """Commits wait for the test's go-ahead; the first `fail` of them raise."""

    def __init__(self, fail: int = 0) -> None:
        self.written: list[int] = []  # events written, per commit
        self.orders: list[dict[int, int]] = []  # order id -> open circuits, as written, per commit
        self.go = threading.Semaphore(0)
        self.fail = fail

    def write(self, changes: Any, payloads: list[bytes]) -> None:
        self.go.acquire()
        if self.fail:
            self.fail -= 1
            raise OSError("disk full")
        self.written.append(len(changes.events))
        self.orders.append(
            {o.order_id: o.remaining for o in (*changes.new_orders.values(), *changes.updated_orders.values())}
        )


def submit(seq: Sequencer, seller: str) -> asyncio.Future[Any]:
    return asyncio.ensure_future(seq.run(lambda engine, now: engine.submit(offer(seller), now)))


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0.01)


def test_the_engine_runs_ahead_but_every_answer_waits_for_its_own_commit() -> None:
    async def run() -> None:
        store = SlowStore()
        seq = Sequencer(new_engine(), store, lambda: 1_000_000, HoldingProvisioner())  # type: ignore[arg-type]
        loop = asyncio.create_task(seq.serve())
        first = submit(seq, "a")
        await settle()
        second = submit(seq, "b")  # its batch runs in the engine while the first commits
        await settle()
        assert len(seq.engine.orders) == 2 and not first.done() and not second.done()
        store.go.release()  # the first commit
        await settle()
        assert first.done() and not second.done()  # the second is not durable yet
        store.go.release()
        await asyncio.wait_for(second, 2)
        assert len(store.written) == 2
        loop.cancel()
        seq.close()
        # Let the commit thread end before pytest goes on: CPython 3.11's ast module
        # counts recursion per interpreter, and a thread still unwinding while pytest
        # rewrites (parses) the next module trips "AST constructor recursion depth mismatch".
        seq._committer.shutdown(wait=True)

    asyncio.run(run())


def test_after_a_failed_commit_nothing_later_is_written_or_acknowledged() -> None:
    async def run() -> None:
        store = SlowStore(fail=1)
        seq = Sequencer(new_engine(), store, lambda: 1_000_000, HoldingProvisioner())  # type: ignore[arg-type]
        stopped: list[BaseException] = []
        seq.on_failure = stopped.append
        loop = asyncio.create_task(seq.serve())
        first = submit(seq, "a")
        await settle()
        second = submit(seq, "b")
        await settle()
        store.go.release()
        store.go.release()
        answers = await asyncio.wait_for(asyncio.gather(first, second, return_exceptions=True), 2)
        assert [type(a) for a in answers] == [StoreFailed, StoreFailed]
        assert store.written == []  # the second was never written
        assert stopped and isinstance(seq.failed, OSError)
        later = await asyncio.gather(seq.run(lambda engine, now: None), return_exceptions=True)
        assert isinstance(later[0], StoreFailed)
        loop.cancel()
        seq.close()
        # Let the commit thread end before pytest goes on: CPython 3.11's ast module
        # counts recursion per interpreter, and a thread still unwinding while pytest
        # rewrites (parses) the next module trips "AST constructor recursion depth mismatch".
        seq._committer.shutdown(wait=True)

    asyncio.run(run())


def test_a_commit_writes_its_own_batchs_state_not_the_next_ones() -> None:
    """Found by the SIGKILL test: an order written by batch 1's commit while batch 2 (run
    meanwhile) filled it showed batch 2's fill without batch 2's deal."""

    async def run() -> None:
        store = SlowStore()
        seq = Sequencer(new_engine(), store, lambda: 1_000_000, HoldingProvisioner())  # type: ignore[arg-type]
        loop = asyncio.create_task(seq.serve())
        placed = asyncio.ensure_future(seq.run(lambda engine, now: engine.submit(offer("a", circuits=2), now)))
        await settle()
        bought = asyncio.ensure_future(seq.run(lambda engine, now: engine.submit(request("b", circuits=1), now)))
        await settle()
        store.go.release()
        store.go.release()
        await asyncio.wait_for(asyncio.gather(placed, bought), 2)
        offer_id = placed.result().order.order_id
        assert store.orders[0][offer_id] == 2  # as batch 1 left it
        assert store.orders[1][offer_id] == 1  # batch 2's fill, with its deal
        loop.cancel()
        seq.close()
        seq._committer.shutdown(wait=True)

    asyncio.run(run())
