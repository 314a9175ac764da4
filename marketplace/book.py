"""One order book: the resting offers and requests of one class, service, route and
circuit capacity, each side in price-time priority."""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from sortedcontainers import SortedList

from marketplace.orders import Order, Route, ServiceType, Side, TimeInForce

_OFFER = Side.OFFER  # a member read off an Enum class is slow on CPython 3.11
_ALL_OR_NONE = TimeInForce.ALL_OR_NONE


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


class AonLevel:
    """The all-or-none orders at one price, by size. Such an order fills only whole, so
    it can trade only with an order at least its size: matching looks at the sizes that
    fit and never walks past the ones that do not (an unbounded number, otherwise)."""

    __slots__ = ("by_size", "circuits", "sizes")

    def __init__(self) -> None:
        self.by_size: dict[int, deque[Order]] = {}  # size -> orders in time priority
        self.sizes: SortedList = SortedList()
        self.circuits = 0

    def __len__(self) -> int:
        return sum(len(q) for q in self.by_size.values())


class BookSide:
    """One side as price levels: a sorted list of level keys (best first) and a FIFO of
    orders per level. Keys are the price for offers (lowest first) and the negated limit
    for requests (highest first), so "better" is always "smaller". Resting all-or-none
    orders are kept apart, by price and size (AonLevel); `walk` merges them back into
    time priority."""

    __slots__ = ("_aon_size", "aon", "count", "keys", "levels", "sign", "top_score")

    def __init__(self, sign: int) -> None:
        self.sign = sign
        # Every price with an order of either kind, sorted: a plain list (bisect) is faster
        # than a SortedList at the few hundred prices a book side holds.
        self.keys: list[int] = []
        self.levels: dict[int, deque[Order]] = {}  # orders that may fill in part
        self.aon: dict[int, AonLevel] = {}
        self._aon_size: dict[int, int] = {}  # order id -> the size it is filed under
        self.count = 0
        # At least the best quality score of an order on this side (it is not lowered when
        # that order leaves): quality-first routing stops early on offers that have it.
        self.top_score = 0

    def add(self, order: Order) -> None:
        key = self.sign * order.price
        if order.time_in_force is _ALL_OR_NONE:
            self._add_all_or_none(order, key)
        else:
            level = self.levels.get(key)
            if level is None:
                level = self.levels[key] = deque()
                if key not in self.aon:
                    insort(self.keys, key)
            if not level or level[-1].priority < order.priority:
                level.append(order)
            else:  # an order that keeps an earlier priority (restore, delayed start)
                _insert(level, order)
        if order.score > self.top_score or not self.count:
            self.top_score = order.score
        self.count += 1

    def _add_all_or_none(self, order: Order, key: int) -> None:
        level = self.aon.get(key)
        if level is None:
            level = self.aon[key] = AonLevel()
            if key not in self.levels:
                insort(self.keys, key)
        size = order.remaining
        queue = level.by_size.get(size)
        if queue is None:
            queue = level.by_size[size] = deque()
            level.sizes.add(size)
        _insert(queue, order)
        level.circuits += size
        self._aon_size[order.order_id] = size

    def remove(self, order: Order) -> None:
        key = self.sign * order.price
        if order.time_in_force is _ALL_OR_NONE:
            self._remove_all_or_none(order, key)
            return
        level = self.levels[key]
        level.remove(order)
        self.count -= 1
        if not level:
            self.prune(key)

    def _remove_all_or_none(self, order: Order, key: int) -> None:
        size = self._aon_size.pop(order.order_id)
        aon = self.aon[key]
        queue = aon.by_size[size]
        queue.remove(order)
        aon.circuits -= size
        self.count -= 1
        if not queue:
            del aon.by_size[size]
            aon.sizes.remove(size)
            if not aon.by_size:
                del self.aon[key]
                if key not in self.levels:
                    _discard(self.keys, key)

    def drop(self, level: deque[Order], index: int) -> None:
        """Take the order at `index` out of a plain `level` (the matcher's hot path)."""
        del level[index]
        self.count -= 1

    def prune(self, key: int) -> None:
        """Forget an emptied plain level (and the price, unless all-or-none orders rest there)."""
        del self.levels[key]
        if key not in self.aon:
            _discard(self.keys, key)

    def has(self, key: int) -> bool:
        return key in self.levels or key in self.aon

    def walk(self, key: int, left: Callable[[], int]) -> Iterator[Order]:
        """The orders at one price in time priority: every plain order, and the
        all-or-none ones of a size up to `left()` (which may only shrink while walking).
        The consumer may remove the order just yielded, and nothing else."""
        plain = self.levels.get(key) or _EMPTY
        aon = self.aon.get(key)
        heads: list[tuple[int, int, int]] = []  # (priority, size, index in its queue)
        if aon is not None:
            for size in aon.sizes.irange(maximum=left()):
                heads.append((aon.by_size[size][0].priority, size, 0))
            heapq.heapify(heads)
        i = 0
        while True:
            limit = left()
            while heads and heads[0][1] > limit:
                heapq.heappop(heads)  # too big for what is left, for the rest of the walk
            head = plain[i] if i < len(plain) else None
            if heads and (head is None or heads[0][0] < head.priority):
                _, size, at = heads[0]
                queue = aon.by_size[size]  # type: ignore[union-attr]
                order = queue[at]
                yield order
                queue = aon.by_size.get(size)  # type: ignore[union-attr]
                if queue is not None and at < len(queue) and queue[at] is order:
                    at += 1  # still there: move past it
                if queue is not None and at < len(queue):
                    heapq.heapreplace(heads, (queue[at].priority, size, at))
                else:
                    heapq.heappop(heads)
            elif head is not None:
                yield head
                if i < len(plain) and plain[i] is head:
                    i += 1
            else:
                return

    def circuits_at(self, key: int) -> tuple[int, int]:
        """(circuits, orders) resting at one price."""
        plain = self.levels.get(key) or _EMPTY
        aon = self.aon.get(key)
        circuits = sum(o.remaining for o in plain)
        orders = len(plain)
        if aon is not None:
            circuits += aon.circuits
            orders += len(aon)
        return circuits, orders

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Order]:
        """Orders best first."""
        for key in list(self.keys):
            yield from self.walk(key, _UNLIMITED)


def _insert(queue: deque[Order], order: Order) -> None:
    """Append in time priority; an order that keeps an earlier priority (restore, a
    delayed start) goes where it belongs."""
    if not queue or queue[-1].priority < order.priority:
        queue.append(order)
        return
    at = len(queue)
    while at and queue[at - 1].priority > order.priority:
        at -= 1
    queue.insert(at, order)


def _discard(keys: list[int], key: int) -> None:
    del keys[bisect_left(keys, key)]


_EMPTY: deque[Order] = deque()


def _UNLIMITED() -> int:
    return 1 << 62


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
        return [(key * book_side.sign, *book_side.circuits_at(key)) for key in book_side.keys[:depth]]


SortKey = tuple[int, str, str, str, str, int]  # service, a-end, z-end, scheme, grade, capacity


def sort_key(key: BookKey) -> SortKey:
    return (int(key.service_type), key.route.a_end, key.route.z_end, key.class_scheme, key.grade, key.capacity_kbps)


def book_key(s: SortKey) -> BookKey:
    return BookKey(s[3], s[4], ServiceType(s[0]), Route(s[1], s[2]), s[5])


class BookIndex:
    """Every book's key in the order book depth is listed (service, route, class,
    capacity), so a page of books starts where the last one ended instead of sorting
    all books on every call. Kept by the engine as books appear and empty."""

    __slots__ = ("_keys",)

    def __init__(self) -> None:
        self._keys: SortedList = SortedList()

    def add(self, key: BookKey) -> None:
        self._keys.add(sort_key(key))

    def remove(self, key: BookKey) -> None:
        self._keys.remove(sort_key(key))

    def page(
        self, prefixes: list[tuple[Any, ...]], grade: str, after: SortKey | None, limit: int, max_scan: int
    ) -> tuple[list[BookKey], SortKey | None, int]:
        """Up to `limit` keys that start with one of `prefixes` (in order; an empty
        prefix matches all) and have `grade` (when given), after `after`. Looks at no
        more than `max_scan` keys. Returns the keys, where the next page starts (None:
        no more) and how many keys were looked at."""
        found: list[BookKey] = []
        scanned = 0
        for prefix in sorted(prefixes):
            start: tuple[Any, ...] = prefix
            if after is not None:
                if after[: len(prefix)] > prefix:
                    continue  # this prefix was listed on earlier pages
                if after[: len(prefix)] == prefix:
                    start = after
            for s in self._keys.irange(minimum=start, inclusive=(after is None or start != after, True)):
                if s[: len(prefix)] != prefix:
                    break
                scanned += 1
                if not grade or s[4] == grade:
                    found.append(book_key(s))
                    if len(found) == limit:
                        return found, s, scanned
                if scanned >= max_scan:
                    return found, s, scanned
        return found, None, scanned
