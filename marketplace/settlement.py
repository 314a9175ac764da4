"""Void deals (issue 11): a deal the network could not deliver after all (a switch refused,
the probe failed) ends PROVISIONING_FAILED and is void, nothing charged, and both orders
get its circuits back: a resting order rests again with its time priority, the request
trades at once with the next deliverable offer if there is one. The failed pair never
trades with each other again. Only with a network attached: the engine then keeps each
undelivered deal's two orders at hand (filled orders otherwise leave memory).

A mixin of ExchangeEngine, kept apart so the engine module stays readable."""

from __future__ import annotations

from typing import TYPE_CHECKING

from marketplace.changes import Struck
from marketplace.deals import Deal, DealStatus
from marketplace.errors import FailedPrecondition
from marketplace.events import EventKind, Subject
from marketplace.orders import ACTS_ON_ENTRY, Order, OrderStatus

if TYPE_CHECKING:
    from marketplace.book import Book, BookKey
    from marketplace.deliverability import Deliverability

CLOSED = frozenset({OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.SUPERSEDED})


class Settlement:
    if TYPE_CHECKING:  # what it uses of ExchangeEngine
        deliverability: Deliverability | None
        deals: dict[int, Deal]
        orders: dict[int, Order]
        books: dict[BookKey, Book]
        _held: dict[str, int]

        def _key(self, order: Order) -> BookKey: ...
        def _touch(self, order: Order) -> None: ...
        def _emit(self, now: int, kind: EventKind, subject: Subject) -> None: ...
        def _forget(self, order: Order) -> None: ...
        def _match(self, incoming: Order, now: int) -> Struck: ...
        def _set_deal_status(self, deal: Deal, status: DealStatus, reason: str, now: int) -> None: ...

    def _init_settlement(self) -> None:
        self._awaiting: dict[int, tuple[Order, Order]] = {}  # deal id -> (offer, request)
        self.failed_pairs: set[tuple[int, int]] = set()  # (offer id, request id) never again

    def _await_delivery(self, deal: Deal, offer: Order, request: Order) -> None:
        if self.deliverability is not None:
            self._awaiting[deal.deal_id] = (offer, request)

    def void_deal(self, deal_id: int, reason: str, now: int) -> list[Deal]:
        """Provisioning failed for a deal being provisioned: it ends void, its circuits go
        back to both orders. Returns the deals the request struck again at once."""
        deal = self.deals.get(deal_id)
        if deal is None or deal.status is not DealStatus.PROVISIONING:
            raise FailedPrecondition("deal_id", f"deal {deal_id} is not being provisioned")
        orders = self._awaiting.pop(deal_id, None)
        if orders is None:  # matched before a restart: its orders are in the store only
            self._set_deal_status(deal, DealStatus.PROVISIONING_FAILED, f"{reason}; void, nothing charged", now)
            return []
        offer, request = orders
        self.failed_pairs.add((offer.order_id, request.order_id))
        returned = f"{deal.circuits} circuits back to orders {offer.order_id} and {request.order_id}"
        self._set_deal_status(deal, DealStatus.PROVISIONING_FAILED, f"{reason}; void, nothing charged: {returned}", now)
        struck = self._give_back(offer, deal.circuits, now) + self._give_back(request, deal.circuits, now)
        return [d.snapshot() for d, _ in struck]

    def _give_back(self, order: Order, circuits: int, now: int) -> Struck:
        resting = order.order_id in self.orders and order.status not in CLOSED and order.valid_from <= now
        if resting:
            book = self.books.get(self._key(order))
            if book is not None:
                book.remove(order)  # filed again below with its circuits and its priority
        order.remaining += circuits
        order.updated_at = now
        self._touch(order)
        if order.status in CLOSED:  # cancelled or replaced meanwhile: the circuits just return
            self._emit(now, EventKind.ORDER_RESTORED, order)
            return []
        if order.time_in_force in ACTS_ON_ENTRY or (order.valid_until and order.valid_until <= now):
            # An immediate order never rests; a lapsed one no longer may.
            expired = order.time_in_force not in ACTS_ON_ENTRY
            order.status = OrderStatus.EXPIRED if expired else OrderStatus.CANCELLED
            self._emit(now, EventKind.ORDER_RESTORED, order)
            if resting:
                self._forget(order)
            return []
        if not resting:  # it was filled and left memory: it is live again
            self.orders[order.order_id] = order
            self._held[order.participant] = self._held.get(order.participant, 0) + 1
        order.status = OrderStatus.OPEN if order.remaining == order.circuits else OrderStatus.PARTIALLY_FILLED
        self._emit(now, EventKind.ORDER_RESTORED, order)
        return self._match(order, now)  # trades at once if it can; the rest rests, priority kept
