"""Live event streams (WatchEvents): who may hold how many, and what one may queue.

Each committed event is offered to the streams allowed to see it: the streams of its
parties and the operators' streams, looked up by participant, so one participant's
streams cost nothing when others trade. A stream keeps at most `queue_limit` events;
a reader that falls that far behind is dropped at once (its queue emptied, so its
memory is released even while its client stays connected and reads nothing) and told
to resume from its last sequence number."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from marketplace.errors import ResourceExhausted

Entry = tuple[int, bytes]
FELL_BEHIND: Entry = (-1, b"")  # queued in place of the events a dropped reader missed


@dataclass(slots=True, eq=False)
class Subscriber:
    """One live stream: the events it may see go into its queue."""

    participant: str | None  # None: an operator, sees everything
    queue: asyncio.Queue[Entry]
    dropped: bool = False

    async def next(self) -> Entry:
        return await self.queue.get()

    async def next_within(self, seconds: float) -> Entry | None:
        """The next entry, or None when none came within `seconds` (time for a
        heartbeat). A queued entry is taken at once, without a timer."""
        if not self.queue.empty():
            return self.queue.get_nowait()
        try:
            return await asyncio.wait_for(self.queue.get(), seconds)
        except TimeoutError:
            return None


@dataclass(slots=True)
class StreamLimits:
    per_participant: int = 8
    total: int = 256
    queue: int = 1000


@dataclass(slots=True)
class EventHub:
    """The live streams of one exchange."""

    limits: StreamLimits = field(default_factory=StreamLimits)
    _by_participant: dict[str, set[Subscriber]] = field(default_factory=dict)
    _operators: set[Subscriber] = field(default_factory=set)
    count: int = 0
    dropped: int = 0  # readers dropped for falling behind, since start

    def subscribe(self, participant: str | None) -> Subscriber:
        """A new stream for `participant` (None: an operator, who sees everything)."""
        if self.count >= self.limits.total:
            raise ResourceExhausted(
                "streams",
                f"the exchange serves at most {self.limits.total} event streams (IXCHANGE_MAX_STREAMS)",
                reason="STREAMS_LIMIT",
            )
        mine = self._operators if participant is None else self._by_participant.setdefault(participant, set())
        if len(mine) >= self.limits.per_participant:
            who = participant or "an operator"
            raise ResourceExhausted(
                "streams",
                f"{who} has {len(mine)} event streams open, the most allowed "
                "(IXCHANGE_MAX_STREAMS_PER_PARTICIPANT); close one first",
                reason="STREAMS_LIMIT",
            )
        sub = Subscriber(participant, asyncio.Queue(maxsize=self.limits.queue + 1))
        mine.add(sub)
        self.count += 1
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        mine = self._operators if sub.participant is None else self._by_participant.get(sub.participant)
        if mine is not None and sub in mine:
            mine.discard(sub)
            self.count -= 1
            if not mine and sub.participant is not None:
                del self._by_participant[sub.participant]

    def publish(self, sequence: int, parties: tuple[str, ...], payload: bytes) -> None:
        entry = (sequence, payload)  # one tuple shared by every stream it goes to
        for sub in self._operators:
            self._offer(sub, entry)
        for party in set(parties):
            for sub in self._by_participant.get(party, ()):
                self._offer(sub, entry)

    def _offer(self, sub: Subscriber, entry: Entry) -> None:
        if sub.dropped:
            return
        if sub.queue.qsize() < self.limits.queue:
            sub.queue.put_nowait(entry)
            return
        # Too far behind: forget what it holds and leave it one marker to find.
        sub.dropped = True
        self.dropped += 1
        while not sub.queue.empty():
            sub.queue.get_nowait()
        sub.queue.put_nowait(FELL_BEHIND)
