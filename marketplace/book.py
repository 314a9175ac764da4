"""One order book: the resting offers and requests of one class, service, route and
circuit capacity, each side in price-time priority."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import NamedTuple

from sortedcontainers import SortedList

from marketplace.orders import Order, Route, ServiceType, Side

_OFFER = Side.OFFER  # a member read off an Enum class is slow on CPython 3.11


class BookKey(NamedTuple):
    """Orders meet only inside one class, for the same service, route and circuit size."""

    class_scheme: str
    grade: str
    service_type: ServiceType
    route: Route
    capacity_kbps: int

    def without_capacity(self) -> tuple[str, str, ServiceType, Route]:
        """The class, service and route: books that differ only in circuit size."""
        return (self.class_scheme, self.grade, self.service_type, self.route)


class BookSide:
    """One side as price levels: a sorted list of level keys (best first) and a FIFO of
    orders per level. Keys are the price for offers (lowest first) and the negated limit
    for requests (highest first), so "better" is always "smaller"."""

    __slots__ = ("count", "keys", "levels", "sign", "top_score")

    def __init__(self, sign: int) -> None:
        self.sign = sign
        self.keys: SortedList = SortedList()
        self.levels: dict[int, deque[Order]] = {}
        self.count = 0
        # At least the best quality score of an order on this side (it is not lowered when
        # that order leaves): quality-first routing stops early on offers that have it.
        self.top_score = 0

    def add(self, order: Order) -> None:
        key = self.sign * order.price
        level = self.levels.get(key)
        if level is None:
            level = self.levels[key] = deque()
            self.keys.add(key)
        if not level or level[-1].priority < order.priority:
            level.append(order)
        else:  # an order that keeps an earlier priority (restore, delayed start)
            at = len(level)
            while at and level[at - 1].priority > order.priority:
                at -= 1
            level.insert(at, order)
        if order.score > self.top_score or not self.count:
            self.top_score = order.score
        self.count += 1

    def remove(self, order: Order) -> None:
        key = self.sign * order.price
        level = self.levels[key]
        level.remove(order)
        self.count -= 1
        if not level:
            self.prune(key)

    def drop(self, level: deque[Order], index: int) -> None:
        """Take the order at `index` out of `level` (the matcher's hot path)."""
        del level[index]
        self.count -= 1

    def prune(self, key: int) -> None:
        """Forget an emptied level."""
        del self.levels[key]
        self.keys.remove(key)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Order]:
        """Orders best first."""
        for key in self.keys:
            yield from self.levels[key]


class Book:
    """Both sides of one book."""

    __slots__ = ("key", "offers", "requests")

    def __init__(self, key: BookKey) -> None:
        self.key = key
        self.offers = BookSide(1)
        self.requests = BookSide(-1)

    def side(self, side: Side) -> BookSide:
        return self.offers if side is _OFFER else self.requests

    def add(self, order: Order) -> None:
        self.side(order.side).add(order)

    def remove(self, order: Order) -> None:
        self.side(order.side).remove(order)

    def __len__(self) -> int:
        return self.offers.count + self.requests.count

    def levels(self, side: Side, depth: int) -> list[tuple[int, int, int]]:
        """Up to `depth` price levels, best first: (price, circuits, orders)."""
        book_side = self.side(side)
        out = []
        for key in book_side.keys[:depth]:
            level = book_side.levels[key]
            out.append((key * book_side.sign, sum(o.remaining for o in level), len(level)))
        return out
