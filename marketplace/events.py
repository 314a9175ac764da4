"""Events the engine emits: every change to an order or a deal, in one global sequence."""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from functools import partial
from typing import Any, NamedTuple

from marketplace.deals import Deal
from marketplace.orders import Order
from marketplace.quality import Penalty, QualityRecord
from marketplace.quotes import Quote, Recommendation

Subject = Order | Deal | Quote | Recommendation | QualityRecord | Penalty


class EventKind(IntEnum):
    """Values match ixchange.v1.EventKind."""

    ORDER_ACCEPTED = 1
    ORDER_FILLED = 2
    ORDER_CANCELLED = 3
    ORDER_REPLACED = 4
    ORDER_EXPIRED = 5
    DEAL_CREATED = 6
    DEAL_STATUS_CHANGED = 7
    QUOTE_ISSUED = 8
    ORDER_CLASS_APPROVED = 9
    ORDER_CLASS_REJECTED = 10
    ORDER_REBID = 11  # the request was superseded by a re-bid
    ALTERNATES_PROPOSED = 12
    # (13 is the wire's HEARTBEAT, never an event.) A void deal's circuits went back to
    # the order: it is live again (or closed, if it was cancelled meanwhile or may not rest).
    ORDER_RESTORED = 14
    QUALITY = 15  # a live deal's delivered quality: its class moved, or the periodic reading
    PENALTY_ASSESSED = 16  # an SLA credit recorded for a deal that fell below its class
    ORDER_RECLASSIFIED = 17  # an offer moved to the class its service delivers
    ORDER_UNVERIFIED = 18  # an offer held off the book until its seller's service is measured
    ORDER_VERIFIED = 19  # measured: listed in the grade the values support
    ORDER_VERIFICATION_FAILED = 20  # measured: no class; the offer is cancelled


class Event(NamedTuple):
    """A numbered change to one order or one deal.

    It keeps a reference to the live object and a tuple of the fields that can change,
    taken when the change happened; `order` / `deal` rebuild the snapshot on demand. This
    keeps emitting an event (several per order) cheap on the matching path."""

    sequence: int
    time: int
    kind: EventKind
    subject: Subject
    state: tuple[Any, ...]

    @property
    def order(self) -> Order | None:
        return self.subject.snapshot(self.state) if isinstance(self.subject, Order) else None

    @property
    def deal(self) -> Deal | None:
        return self.subject.snapshot(self.state) if isinstance(self.subject, Deal) else None

    @property
    def quote(self) -> Quote | None:
        return self.subject if isinstance(self.subject, Quote) else None

    @property
    def recommendation(self) -> Recommendation | None:
        return self.subject if isinstance(self.subject, Recommendation) else None

    @property
    def quality(self) -> QualityRecord | None:
        return self.subject if isinstance(self.subject, QualityRecord) else None

    @property
    def penalty(self) -> Penalty | None:
        return self.subject if isinstance(self.subject, Penalty) else None

    def parties(self) -> tuple[str, ...]:
        """Participants allowed to see this event (operators see all)."""
        if isinstance(self.subject, Deal | QualityRecord | Penalty):
            return (self.subject.seller, self.subject.buyer)
        return (self.subject.participant,)


# Event from one tuple of its fields, in C: a NamedTuple's own constructor is a Python
# function, and the engine makes several events per order.
new_event: Callable[[tuple[int, int, EventKind, Subject, tuple[Any, ...]]], Event] = partial(tuple.__new__, Event)
