"""Resting all-or-none orders are filed by size, so an order never walks past the ones
too big for it (issue 9: 220,000 such offers at one price made every 1-circuit request
of another participant scan them all). Matching still follows price-time priority
exactly, which a reference matcher checks."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

import marketplace.engine as engine_module
from marketplace.book import Book
from marketplace.orders import OrderStatus, Side, TimeInForce
from tests.unit.factories import new_engine, offer, request

AON = int(TimeInForce.ALL_OR_NONE)


def test_a_small_request_looks_only_at_orders_that_fit(monkeypatch: object) -> None:
    engine = new_engine()
    for _ in range(5000):
        engine.submit(offer("mallory", circuits=10, time_in_force=AON), 1)
    engine.submit(offer("honest", circuits=1), 2)
    looked = []
    real = engine_module.meets

    def counting(o: object, r: object, p: object) -> bool:
        looked.append(o)
        return real(o, r, p)  # type: ignore[arg-type]

    monkeypatch.setattr(engine_module, "meets", counting)  # type: ignore[attr-defined]
    outcome = engine.submit(request("b1", circuits=1), 3)
    assert [d.seller for d in outcome.deals] == ["honest"]
    assert len(looked) == 1  # not 5,001
    book = next(iter(engine.books.values()))
    assert book.levels(Side.OFFER, 1) == [(1000, 50_000, 5000)]
    # A request big enough for them takes them whole, oldest first.
    big = engine.submit(request("b2", circuits=25), 5)
    assert [d.circuits for d in big.deals] == [10, 10] and big.order is not None and big.order.remaining == 5


@dataclass
class Resting:
    order_id: int
    price: int
    remaining: int
    aon: bool


def expected_fills(book: list[Resting], limit: int, wanted: int, whole: bool) -> list[tuple[int, int]]:
    """Price-time priority as promised before all-or-none orders were filed by size:
    walk every crossing order in (price, time) order and pass over the all-or-none ones
    bigger than what is still wanted; an all-or-none request takes all or nothing."""
    fills = []
    left = wanted
    for r in sorted(book, key=lambda r: (r.price, r.order_id)):  # ids are issued in time order
        if r.price > limit or not left:
            break
        if r.aon and r.remaining > left:
            continue
        take = min(left, r.remaining)
        fills.append((r.order_id, take))
        left -= take
    return [] if whole and left else fills


steps = st.lists(
    st.tuples(
        st.sampled_from(["offer", "request"]),
        st.integers(min_value=1, max_value=4),  # price, in hundreds
        st.integers(min_value=1, max_value=6),  # circuits
        st.booleans(),  # all or none
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(steps)
def test_matching_with_resting_all_or_none_orders_follows_price_time(script: list[tuple[str, int, int, bool]]) -> None:
    """Offers from three sellers rest (some all-or-none); requests take from them and
    their rest is cancelled, so only offers ever rest."""
    engine = new_engine()
    model: list[Resting] = []
    for now, (kind, price, circuits, aon) in enumerate(script, start=2):
        tif = {"time_in_force": AON} if aon else {}
        if kind == "offer":
            placed = engine.submit(offer(f"s{now % 3}", price=100 * price, circuits=circuits, **tif), now).order
            assert placed is not None
            model.append(Resting(placed.order_id, 100 * price, circuits, aon))
            continue
        want = expected_fills(model, 100 * price, circuits, whole=aon)
        result = engine.submit(request("b1", limit=100 * price, circuits=circuits, **tif), now)
        assert [(d.offer_order_id, d.circuits) for d in result.deals] == want
        taken = dict(want)
        for r in model:
            r.remaining -= taken.get(r.order_id, 0)
        model = [r for r in model if r.remaining]
        if result.order is not None and result.order.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
            engine.cancel("b1", result.order.order_id, now)
    resting = sorted((r.order_id, r.remaining) for r in model)
    assert sorted((o.order_id, o.remaining) for b in engine.books.values() for o in b.offers) == resting
    for book in engine.books.values():
        assert_walk_is_in_priority(book)


def assert_walk_is_in_priority(book: Book) -> None:
    walked = list(book.offers)
    assert len(walked) == book.offers.count
    assert [(o.price, o.priority) for o in walked] == sorted((o.price, o.priority) for o in walked)
    assert all(book.offers.has(key) for key in book.offers.keys)


def test_a_price_level_can_total_more_circuits_than_32_bits_hold() -> None:
    """220,000 all-or-none offers of 10,000 circuits at one price overflowed the 32-bit
    level total and broke book depth for everyone; the total is 64-bit now, and the
    level keeps it as orders come and go instead of adding them up on every read."""
    from ixchange.v1 import exchange_pb2

    engine = new_engine()
    for _ in range(30):
        engine.submit(offer("mallory", circuits=10_000, time_in_force=AON), 1)
    book = next(iter(engine.books.values()))
    side = book.offers
    side.aon[1000].circuits += 2**32  # as if 430,000 more such offers rested there
    ((price, circuits, orders),) = book.levels(Side.OFFER, 10)
    assert circuits == 300_000 + 2**32 and orders == 30
    level = exchange_pb2.PriceLevel(price=price, circuits=circuits, orders=orders)
    assert exchange_pb2.PriceLevel.FromString(level.SerializeToString()).circuits == circuits
