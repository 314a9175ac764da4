"""Events the engine emits: every change to an order or a deal, in one global sequence."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

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


@dataclass(frozen=True, slots=True)
class Event:
    """A numbered change. `order` or `deal` is a snapshot taken when it happened."""

    sequence: int
    time: int
    kind: EventKind
    order: Order | None = None
    deal: Deal | None = None

    def parties(self) -> tuple[str, ...]:
        """Participants allowed to see this event (operators see all)."""
        if self.deal is not None:
            return (self.deal.seller, self.deal.buyer)
        assert self.order is not None
        return (self.order.participant,)
