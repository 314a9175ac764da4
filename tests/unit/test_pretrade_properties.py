"""Property tests for the whole-fill rules and for quote honesty."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.orders import Order, OrderStatus, TimeInForce
from marketplace.quotes import merge_fills
from tests.unit.factories import PLATINUM, new_engine, offer, request

PLATINUM_LOW = {**PLATINUM, "latency_us": 5_000, "jitter_us": 1_000, "loss_ppm": 10}
TIFS = [int(t) for t in TimeInForce if t is not TimeInForce.GOOD_TILL_DATE]
WHOLE = {TimeInForce.FILL_OR_KILL, TimeInForce.ALL_OR_NONE}

new_offer = st.tuples(
    st.just("offer"),
    st.sampled_from(["s1", "s2", "s3"]),
    st.integers(90, 110),
    st.integers(1, 5),
    st.sampled_from([0, 0, int(TimeInForce.ALL_OR_NONE)]),
    st.booleans(),
)
new_request = st.tuples(
    st.just("request"),
    st.sampled_from(["b1", "b2"]),
    st.integers(90, 110),
    st.integers(1, 8),
    st.sampled_from(TIFS),
    st.booleans(),
)
cancel = st.tuples(st.just("cancel"), st.integers(0, 40))
replace = st.tuples(st.just("replace"), st.integers(0, 40), st.integers(90, 110), st.integers(1, 5))
flows = st.lists(st.one_of(new_offer, new_request, new_request, cancel, replace), max_size=60)


@settings(max_examples=300, deadline=None)
@given(flows)
def test_whole_fill_orders_fill_completely_or_not_at_all(flow: list[tuple]) -> None:  # type: ignore[type-arg]
    """Fill-or-kill and all-or-none orders only ever go from their open quantity to zero in
    one command, never leave a partial residue, and fill-or-kill never rests."""
    engine = new_engine()
    watched: dict[int, tuple[Order, int]] = {}  # order id -> (live order, remaining before)
    for t, cmd in enumerate(flow, start=1):
        kind = cmd[0]
        if kind in ("offer", "request"):
            _, who, price, circuits, tif, good = cmd
            if kind == "offer":
                values = PLATINUM if good else PLATINUM_LOW
                out = engine.submit(offer(who, price=price, circuits=circuits, values=values, time_in_force=tif), t)
            else:
                routing = 2 if good else 1
                out = engine.submit(
                    request(who, limit=price, circuits=circuits, time_in_force=tif, routing_policy=routing), t
                )
            order = out.subject
            assert order is not None
            if order.time_in_force in WHOLE:
                watched[order.order_id] = (order, order.circuits)
            if order.time_in_force is TimeInForce.FILL_OR_KILL:
                assert order.order_id not in engine.orders
                assert (order.status, order.remaining) in {
                    (OrderStatus.FILLED, 0),
                    (OrderStatus.CANCELLED, order.circuits),
                }
        elif engine.orders:
            live = sorted(engine.orders)
            target = engine.orders[live[cmd[1] % len(live)]]
            if kind == "cancel":
                engine.cancel(target.participant, target.order_id, t)
            else:
                engine.replace(target.participant, target.order_id, cmd[2], cmd[3], t)
                if target.order_id in watched:
                    watched[target.order_id] = (target, target.remaining)
        for oid, (order, before) in list(watched.items()):
            assert order.remaining in (before, 0), f"order {oid} left a partial residue"
            assert order.status is not OrderStatus.PARTIALLY_FILLED
            watched[oid] = (order, order.remaining)


book_offer = st.tuples(
    st.sampled_from(["s1", "s2", "s3"]),
    st.integers(90, 110),
    st.integers(1, 4),
    st.booleans(),
    st.sampled_from([0, int(TimeInForce.ALL_OR_NONE)]),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(book_offer, max_size=12),
    st.integers(1, 12),
    st.sampled_from([1, 2]),
    st.sampled_from(TIFS),
)
def test_request_at_a_fresh_quote_fills_exactly_as_quoted(
    book: list[tuple[str, int, int, bool, int]], circuits: int, routing: int, tif: int
) -> None:
    """Quote honesty: with the book unchanged, entering at the quote's price fills at the
    quoted prices and quantities, in the quoted order."""
    engine = new_engine()
    for i, (seller, price, qty, good, aon) in enumerate(book):
        values = PLATINUM if good else PLATINUM_LOW
        engine.submit(offer(seller, price=price, circuits=qty, values=values, time_in_force=aon), i)
    quote = engine.quote(request("b1", circuits=circuits, routing_policy=routing), 100)
    if not quote.fills:
        return
    if tif == int(TimeInForce.FILL_OR_KILL) and not quote.full:
        tif = int(TimeInForce.IMMEDIATE_OR_CANCEL)  # a kill is the honest answer there
    if tif == int(TimeInForce.ALL_OR_NONE) and not quote.full:
        tif = 0
    out = engine.submit(request("b1", circuits=0, limit=0, quote_id=quote.quote_id, time_in_force=tif), 101)
    assert merge_fills([(d.price, d.circuits) for d in out.deals]) == quote.fills
    assert sum(d.circuits for d in out.deals) == quote.fillable
    assert max(d.price for d in out.deals) == quote.price


@settings(max_examples=300, deadline=None)
@given(st.lists(book_offer, max_size=15), st.integers(1, 12), st.integers(95, 110))
def test_quality_first_takes_the_best_score_then_price_time(
    book: list[tuple[str, int, int, bool, int]], circuits: int, limit: int
) -> None:
    """The quality-first plan (which stops early when the best-scored offers suffice) is
    the greedy walk over every crossing offer ranked by score, then price, then time."""
    engine = new_engine()
    for i, (seller, price, qty, good, aon) in enumerate(book):
        values = PLATINUM if good else PLATINUM_LOW
        engine.submit(offer(seller, price=price, circuits=qty, values=values, time_in_force=aon), i)
    want, _ = engine._prepare(request("b1", circuits=circuits, limit=limit, routing_policy=2), 100)
    resting = [o for o in engine.orders.values() if o.side.name == "OFFER" and o.price <= limit]
    ranked = sorted(resting, key=lambda o: (-o.score, o.price, o.priority))
    expected, left = [], circuits
    for o in ranked:
        if left and not (o.time_in_force is TimeInForce.ALL_OR_NONE and o.remaining > left):
            expected.append((o.order_id, min(left, o.remaining)))
            left -= min(left, o.remaining)
    assert [(o.order_id, q) for o, q in engine.plan_fills(want, 100)] == expected
