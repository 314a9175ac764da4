"""Live event streams: each event reaches exactly the streams allowed to see it, and a
reader that falls behind is dropped at once with its queue emptied."""

from __future__ import annotations

import asyncio

import pytest

from marketplace.api.streams import FELL_BEHIND, EventHub, StreamLimits
from marketplace.errors import ResourceExhausted


def test_events_reach_their_parties_and_the_operators_only() -> None:
    async def run() -> None:
        hub = EventHub(StreamLimits(per_participant=4, total=10, queue=10))
        acme, globex, op = hub.subscribe("acme"), hub.subscribe("globex"), hub.subscribe(None)
        hub.publish(1, ("acme", "acme"), b"a")
        hub.publish(2, ("acme", "globex"), b"deal")
        hub.publish(3, ("initech",), b"i")
        assert [acme.queue.get_nowait() for _ in range(acme.queue.qsize())] == [(1, b"a"), (2, b"deal")]
        assert [globex.queue.get_nowait() for _ in range(globex.queue.qsize())] == [(2, b"deal")]
        assert op.queue.qsize() == 3

    asyncio.run(run())


def test_a_reader_that_falls_behind_is_dropped_and_holds_nothing() -> None:
    async def run() -> None:
        hub = EventHub(StreamLimits(queue=100))
        slow, fast = hub.subscribe("acme"), hub.subscribe("acme")
        payload = b"x" * 1000
        for seq in range(1, 251):
            hub.publish(seq, ("acme",), payload)
            while fast.queue.qsize():
                fast.queue.get_nowait()
        assert slow.dropped and slow.queue.qsize() == 1 and await slow.next() is FELL_BEHIND
        assert not fast.dropped and hub.dropped == 1
        hub.unsubscribe(slow)
        hub.unsubscribe(fast)
        assert hub.count == 0 and not hub._by_participant

    asyncio.run(run())


def test_streams_are_limited_per_participant_and_in_total() -> None:
    async def run() -> None:
        hub = EventHub(StreamLimits(per_participant=2, total=3, queue=10))
        first = [hub.subscribe("acme"), hub.subscribe("acme")]
        with pytest.raises(ResourceExhausted, match="IXCHANGE_MAX_STREAMS_PER_PARTICIPANT"):
            hub.subscribe("acme")
        hub.subscribe(None)
        with pytest.raises(ResourceExhausted, match="IXCHANGE_MAX_STREAMS"):
            hub.subscribe("globex")
        hub.unsubscribe(first[0])
        hub.subscribe("globex")

    asyncio.run(run())


def test_next_within_takes_what_is_queued_and_says_none_after_the_wait() -> None:
    import asyncio

    from marketplace.api.streams import Subscriber

    async def scenario() -> tuple[object, object]:
        sub = Subscriber(None, asyncio.Queue())
        sub.queue.put_nowait((1, b"x"))
        return await sub.next_within(0.01), await sub.next_within(0.01)

    assert asyncio.run(scenario()) == ((1, b"x"), None)
