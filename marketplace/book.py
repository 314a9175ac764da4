"""One order book: the resting offers and requests of one class, service, route and
circuit capacity, each side in price-time priority."""

from __future__ import annotations

from typing import NamedTuple

from sortedcontainers import SortedList

from marketplace.orders import Order, Route, ServiceType, Side


class BookKey(NamedTuple):
    """Orders meet only inside one class, for the same service, route and circuit size."""

    class_scheme: str
    grade: str
    service_type: ServiceType
    route: Route
    capacity_kbps: int


class Book:
    """Entries are (sort price, priority, order): offers sort by ask ascending, requests by
    limit descending (negated), then by priority (earlier first)."""

    __slots__ = ("key", "offers", "requests")

    def __init__(self, key: BookKey) -> None:
        self.key = key
        self.offers: SortedList = SortedList()
        self.requests: SortedList = SortedList()

    @staticmethod
    def entry(order: Order) -> tuple[int, int, Order]:
        price = order.price if order.side is Side.OFFER else -order.price
        return (price, order.priority, order)

    def side(self, side: Side) -> SortedList:
        return self.offers if side is Side.OFFER else self.requests

    def add(self, order: Order) -> None:
        self.side(order.side).add(self.entry(order))

    def remove(self, order: Order) -> None:
        self.side(order.side).remove(self.entry(order))

    def __len__(self) -> int:
        return len(self.offers) + len(self.requests)

    def levels(self, side: Side, depth: int) -> list[tuple[int, int, int]]:
        """Up to `depth` price levels, best first: (price, circuits, orders)."""
        out: list[tuple[int, int, int]] = []
        for _key, _prio, order in self.side(side):
            if out and out[-1][0] == order.price:
                price, circuits, count = out[-1]
                out[-1] = (price, circuits + order.remaining, count + 1)
            elif len(out) == depth:
                break
            else:
                out.append((order.price, order.remaining, 1))
        return out
