"""Events the engine emits: every change to an order or a deal, in one global sequence."""

from __future__ import annotations

from enum import IntEnum
from typing import Any, NamedTuple

from marketplace.deals import Deal
from marketplace.orders import Order


class EventKind(IntEnum):
    """Values match ixchange.v1.EventKind."""

    ORDER_ACCEPTED = 1
    ORDER_FILLED = 2
    ORDER_CANCELLED = 3
    ORDER_REPLACED = 4
    ORDER_EXPIRED = 5
    DEAL_CREATED = 6
    DEAL_STATUS_CHANGED = 7


class Event(NamedTuple):
    """A numbered change to one order or one deal.

    It keeps a reference to the live object and a tuple of the fields that can change,
    taken when the change happened; `order` / `deal` rebuild the snapshot on demand. This
    keeps emitting an event (several per order) cheap on the matching path."""

    sequence: int
    time: int
    kind: EventKind
    subject: Order | Deal
    state: tuple[Any, ...]

    @property
    def order(self) -> Order | None:
        return self.subject.snapshot(self.state) if isinstance(self.subject, Order) else None

    @property
    def deal(self) -> Deal | None:
        return self.subject.snapshot(self.state) if isinstance(self.subject, Deal) else None

    def parties(self) -> tuple[str, ...]:
        """Participants allowed to see this event (operators see all)."""
        if isinstance(self.subject, Deal):
            return (self.subject.seller, self.subject.buyer)
        return (self.subject.participant,)
