"""Overload: how many order commands may wait for the sequencer, per participant and in
all, before more are refused.

Under a flood of unary calls grpc.aio does not refuse anything by itself: calls it cannot
get to wait in its queues until their deadline passes or the transport cancels them
(CANCELLED, with no way for the caller to tell whether the order was placed). Here a
command that would wait behind too many others is answered at once with
RESOURCE_EXHAUSTED, reason OVERLOADED, and a RetryInfo of about the time the waiting
commands take; nothing of it is applied. (The transport's own limit, calls per
connection, is the backstop: beyond it HTTP/2 refuses the stream unprocessed.)"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from marketplace.errors import ResourceExhausted


class Backlog:
    """Order commands admitted and not yet answered, by participant; on the event loop only."""

    def __init__(self, per_participant: int, total: int, seconds_per_command: Callable[[], float]) -> None:
        self.per_participant = per_participant
        self.total = total
        self.seconds_per_command = seconds_per_command  # as the sequencer measures it lately
        self.refused = 0
        self._waiting: dict[str, int] = {}
        self._all = 0

    def admit(self, participant: str, count: int = 1, time_left: float | None = None) -> None:
        """Count `count` commands of `participant` as waiting, or refuse them all; also
        when they would likely wait longer than `time_left` (the call's deadline, which
        would otherwise end it unanswered after the order may have been placed)."""
        mine = self._waiting.get(participant, 0)
        if mine + count > self.per_participant:
            self._refuse(
                f"{participant} has {mine} order commands waiting, at most {self.per_participant} "
                "(IXCHANGE_MAX_ORDERS_IN_FLIGHT)",
                mine,
            )
        if self._all + count > self.total:
            self._refuse(
                f"the exchange has {self._all} order commands waiting, at most {self.total} "
                "(IXCHANGE_MAX_ORDERS_QUEUED)",
                self._all,
            )
        if time_left is not None and (self._all + count) * self.seconds_per_command() > time_left:
            self._refuse(
                f"{self._all} order commands are waiting, more than can be done before the call's deadline "
                f"({time_left:.3f} s left)",
                self._all,
            )
        self._waiting[participant] = mine + count
        self._all += count

    def done(self, participant: str, count: int = 1) -> None:
        left = self._waiting[participant] - count
        if left:
            self._waiting[participant] = left
        else:
            del self._waiting[participant]
        self._all -= count

    @contextmanager
    def holding(self, participant: str, count: int = 1, time_left: float | None = None) -> Iterator[None]:
        self.admit(participant, count, time_left)
        try:
            yield
        finally:
            self.done(participant, count)

    def waiting(self, participant: str | None = None) -> int:
        return self._all if participant is None else self._waiting.get(participant, 0)

    def _refuse(self, rule: str, ahead: int) -> None:
        self.refused += 1
        retry = max(0.001, ahead * self.seconds_per_command())
        raise ResourceExhausted(
            "order_entry", f"overloaded: {rule}; retry in {retry:.3f} s", retry_after_s=retry, reason="OVERLOADED"
        )
