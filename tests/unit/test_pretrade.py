"""Buyer pre-trade rules in the pure engine: time in force, routing policy, class approval,
re-bids, quotes and alternates."""

from __future__ import annotations

import pytest

from marketplace.errors import FailedPrecondition, InvalidArgument, NotFound
from marketplace.events import EventKind
from marketplace.orders import ClassAssignment, OrderStatus, Side, TimeInForce
from marketplace.quotes import AlternateKind
from tests.unit.factories import GOLD, PLATINUM, SILVER, G, new_engine, offer, request

IOC, FOK, AON, GTC, GTD = (
    int(TimeInForce.IMMEDIATE_OR_CANCEL),
    int(TimeInForce.FILL_OR_KILL),
    int(TimeInForce.ALL_OR_NONE),
    int(TimeInForce.GOOD_TILL_CANCELLED),
    int(TimeInForce.GOOD_TILL_DATE),
)
QUALITY_FIRST = 2
# Platinum, but scores lower than PLATINUM: still inside the class bands.
PLATINUM_LOW = {**PLATINUM, "latency_us": 5_000, "jitter_us": 1_000, "loss_ppm": 10}


def kinds(engine, since: int = 0) -> list[EventKind]:  # type: ignore[no-untyped-def]
    return [e.kind for e in engine.drain().events if e.sequence > since]


# ----- time in force ----------------------------------------------------------------------


def test_time_in_force_defaults_from_the_expiry() -> None:
    engine = new_engine()
    gtc = engine.submit(offer(), 1).order
    gtd = engine.submit(offer(valid_until=100), 1).order
    assert gtc is not None and gtc.time_in_force is TimeInForce.GOOD_TILL_CANCELLED
    assert gtd is not None and gtd.time_in_force is TimeInForce.GOOD_TILL_DATE


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"time_in_force": GTC, "valid_until": 100}, "valid_until"),
        ({"time_in_force": GTD}, "valid_until"),
        ({"time_in_force": IOC, "valid_from": 50}, "valid_from"),
        ({"time_in_force": FOK, "valid_until": 100}, "valid_until"),
        ({"time_in_force": 9}, "time_in_force"),
        ({"routing_policy": 7}, "routing_policy"),
    ],
)
def test_inconsistent_time_in_force_is_refused_naming_the_field(kw: dict[str, int], field: str) -> None:
    engine = new_engine()
    with pytest.raises(InvalidArgument) as err:
        engine.submit(request(**kw), 10)
    assert err.value.field == field
    assert engine.drain().events == []


@pytest.mark.parametrize(
    "option", [{"routing_policy": QUALITY_FIRST}, {"quote_id": 1}, {"rebid_of": 1}, {"propose_class": True}]
)
def test_offer_cannot_carry_buyer_options(option: dict[str, int]) -> None:
    with pytest.raises(InvalidArgument) as err:
        new_engine().submit(offer(**option), 1)
    assert err.value.field == next(iter(option))


def test_immediate_or_cancel_fills_what_it_can_and_cancels_the_rest() -> None:
    engine = new_engine()
    engine.submit(offer(circuits=2, price=900), 1)
    engine.drain()
    out = engine.submit(request(circuits=5, limit=1000, time_in_force=IOC), 2)
    assert [d.circuits for d in out.deals] == [2]
    assert out.order is not None and out.order.status is OrderStatus.CANCELLED and out.order.remaining == 3
    assert engine.books == {} and out.order.order_id not in engine.orders
    assert EventKind.ORDER_CANCELLED in kinds(engine)


def test_fill_or_kill_fills_entirely_or_not_at_all() -> None:
    engine = new_engine()
    engine.submit(offer("s1", circuits=2, price=900), 1)
    engine.submit(offer("s2", circuits=2, price=950), 2)
    killed = engine.submit(request(circuits=5, limit=1000, time_in_force=FOK), 3)
    assert killed.deals == [] and killed.order is not None and killed.order.status is OrderStatus.CANCELLED
    assert sum(len(b.offers) for b in engine.books.values()) == 2  # the book is untouched
    filled = engine.submit(request(circuits=4, limit=1000, time_in_force=FOK), 4)
    assert [(d.circuits, d.price) for d in filled.deals] == [(2, 900), (2, 950)]
    assert filled.order is not None and filled.order.status is OrderStatus.FILLED


def test_all_or_none_rests_until_it_can_fill_whole() -> None:
    engine = new_engine()
    engine.submit(offer("s1", circuits=2, price=900), 1)
    out = engine.submit(request(circuits=3, limit=1000, time_in_force=AON), 2)
    assert out.deals == [] and out.order is not None and out.order.status is OrderStatus.OPEN
    aon_id = out.order.order_id
    # A small incoming offer passes over the resting all-or-none request ...
    engine.submit(request("b2", circuits=1, limit=800), 3)
    small = engine.submit(offer("s2", circuits=1, price=800), 4)
    assert [d.request_order_id for d in small.deals] != [aon_id]
    # ... and one big enough fills it whole.
    big = engine.submit(offer("s3", circuits=3, price=1000), 5)
    assert [(d.request_order_id, d.circuits) for d in big.deals] == [(aon_id, 3)]


def test_expiry_takes_a_good_till_date_order_off_with_an_event() -> None:
    engine = new_engine()
    engine.submit(request(valid_until=100), 1)
    engine.drain()
    engine.advance(100)
    assert engine.books == {} and kinds(engine) == [EventKind.ORDER_EXPIRED]


# ----- routing policy ---------------------------------------------------------------------


def test_quality_first_takes_the_best_scored_offer_inside_the_class() -> None:
    engine = new_engine()
    cheap = engine.submit(offer("s1", values=PLATINUM_LOW, price=900), 1).order
    good = engine.submit(offer("s2", values=PLATINUM, price=1000), 2).order
    assert cheap is not None and good is not None and good.score > cheap.score
    quality = engine.submit(request(limit=1000, routing_policy=QUALITY_FIRST), 3)
    assert [d.offer_order_id for d in quality.deals] == [good.order_id]
    cheapest = engine.submit(request(limit=1000), 4)
    assert [d.offer_order_id for d in cheapest.deals] == [cheap.order_id]


def test_quality_first_still_respects_the_limit() -> None:
    engine = new_engine()
    engine.submit(offer("s1", values=PLATINUM_LOW, price=900), 1)
    engine.submit(offer("s2", values=PLATINUM, price=1100), 2)
    out = engine.submit(request(limit=1000, routing_policy=QUALITY_FIRST), 3)
    assert [d.price for d in out.deals] == [900]


# ----- class approval ---------------------------------------------------------------------


def propose(**kw: int) -> object:
    return request(grade="", requirements=dict(PLATINUM), propose_class=True, **kw)


def test_proposed_class_waits_for_approval_and_never_matches() -> None:
    engine = new_engine()
    engine.submit(offer(price=900), 1)
    out = engine.submit(propose(limit=1000), 2)  # type: ignore[arg-type]
    order = out.order
    assert order is not None and order.status is OrderStatus.PENDING_APPROVAL and out.deals == []
    assert order.grade == "platinum" and order.assigned_by is ClassAssignment.SERVER
    assert "approval" in order.class_reason
    engine.submit(offer("s2", price=800), 3)  # a new crossing offer does not meet it either
    assert sum(len(b.requests) for b in engine.books.values()) == 0
    engine.drain()
    approved = engine.approve_class("b1", order.order_id, 4)
    assert [d.price for d in approved.deals] == [800]
    assert kinds(engine)[0] is EventKind.ORDER_CLASS_APPROVED


def test_rejected_class_cancels_the_request() -> None:
    engine = new_engine()
    order = engine.submit(propose(), 1).order  # type: ignore[arg-type]
    assert order is not None
    engine.drain()
    out = engine.reject_class("b1", order.order_id, 2)
    assert out.order is not None and out.order.status is OrderStatus.CANCELLED
    assert kinds(engine) == [EventKind.ORDER_CLASS_REJECTED]


def test_proposal_lapses_and_late_approval_is_refused() -> None:
    engine = new_engine()
    engine.approval_ttl = 100
    order = engine.submit(propose(), 1).order  # type: ignore[arg-type]
    assert order is not None and order.approve_by == 101
    engine.drain()
    with pytest.raises(NotFound) as err:  # the API looks in the store to say it lapsed
        engine.approve_class("b1", order.order_id, 101)
    assert err.value.field == "order_id"
    assert kinds(engine) == [EventKind.ORDER_EXPIRED]


def test_approval_is_the_buyers_and_only_for_pending_orders() -> None:
    engine = new_engine()
    pending = engine.submit(propose(), 1).order  # type: ignore[arg-type]
    live = engine.submit(request(), 1).order
    assert pending is not None and live is not None
    with pytest.raises(NotFound):
        engine.approve_class("b2", pending.order_id, 2)
    with pytest.raises(FailedPrecondition, match="not waiting for class approval"):
        engine.approve_class("b1", live.order_id, 2)


@pytest.mark.parametrize(("kw", "field"), [({"grade": "gold"}, "grade"), ({"requirements": {}}, "requirements")])
def test_propose_mode_needs_requirements_and_no_grade(kw: dict[str, object], field: str) -> None:
    base: dict[str, object] = {"grade": "", "requirements": {"latency_us": 5_000}, "propose_class": True}
    with pytest.raises(InvalidArgument) as err:
        new_engine().submit(request(**{**base, **kw}), 1)  # type: ignore[arg-type]
    assert err.value.field == field


# ----- re-bid -------------------------------------------------------------------------------


def test_rebid_replaces_the_unmatched_request_atomically() -> None:
    engine = new_engine()
    engine.submit(offer(price=1100), 1)
    first = engine.submit(request(limit=1000), 2).order
    assert first is not None
    engine.drain()
    out = engine.submit(request(limit=1100, rebid_of=first.order_id), 3)
    assert out.order is not None and out.order.rebid_of == first.order_id
    assert [d.price for d in out.deals] == [1100]
    events = engine.drain().events
    assert [e.kind for e in events][:2] == [EventKind.ORDER_REBID, EventKind.ORDER_ACCEPTED]
    superseded = events[0].order
    assert superseded is not None and superseded.status is OrderStatus.SUPERSEDED
    assert first.order_id not in engine.orders


def test_refused_rebid_leaves_the_first_request_live() -> None:
    engine = new_engine()
    first = engine.submit(request(limit=1000), 1).order
    assert first is not None
    engine.drain()
    with pytest.raises(InvalidArgument):
        engine.submit(request(limit=1100, grade="diamond", rebid_of=first.order_id), 2)
    assert first.order_id in engine.orders and engine.drain().events == []


def test_rebid_only_replaces_own_unmatched_requests() -> None:
    engine = new_engine()
    engine.submit(offer(circuits=1, price=900), 1)
    partly = engine.submit(request(circuits=2, limit=1000), 2).order
    assert partly is not None and partly.status is OrderStatus.PARTIALLY_FILLED
    with pytest.raises(FailedPrecondition, match="matched 1 circuits"):
        engine.submit(request(rebid_of=partly.order_id), 3)
    other = engine.submit(request("b2", limit=10), 4).order
    assert other is not None
    with pytest.raises(NotFound):
        engine.submit(request(rebid_of=other.order_id), 5)
    sell = engine.submit(offer(price=5000), 6).order
    assert sell is not None
    with pytest.raises(NotFound):
        engine.submit(request(rebid_of=sell.order_id), 7)


# ----- quotes -------------------------------------------------------------------------------


def test_quote_gives_class_fills_price_and_whether_it_fills() -> None:
    engine = new_engine()
    engine.submit(offer("s1", circuits=2, price=900), 1)
    engine.submit(offer("s2", circuits=2, price=950), 2)
    quote = engine.quote(request(circuits=3, grade="", requirements=dict(PLATINUM)), 10)
    assert quote.grade == "platinum" and quote.fills == ((900, 2), (950, 1))
    assert quote.price == 950 and quote.full and quote.total_value == 2750 and quote.expires_at == 10 + engine.quote_ttl
    partial = engine.quote(request(circuits=9), 11)
    assert partial.fillable == 4 and not partial.full
    assert [e.kind for e in engine.drain().events][-2:] == [EventKind.QUOTE_ISSUED] * 2


def test_request_at_a_fresh_quote_fills_at_the_quoted_prices() -> None:
    engine = new_engine()
    engine.submit(offer("s1", circuits=2, price=900), 1)
    engine.submit(offer("s2", circuits=2, price=950), 2)
    quote = engine.quote(request(circuits=3), 10)
    out = engine.submit(request(circuits=0, limit=0, grade="", quote_id=quote.quote_id), 11)
    assert [(d.price, d.circuits) for d in out.deals] == [(900, 2), (950, 1)]
    assert out.order is not None and out.order.price == 950 and out.order.quote_id == quote.quote_id


def test_quote_is_refused_once_expired_used_or_moved() -> None:
    engine = new_engine()
    engine.submit(offer("s1", circuits=2, price=900), 1)
    engine.submit(offer("s2", circuits=2, price=950), 2)
    stale = engine.quote(request(circuits=1), 10)
    with pytest.raises(FailedPrecondition, match="expired at"):
        engine.submit(request(circuits=0, limit=0, quote_id=stale.quote_id), 10 + engine.quote_ttl)
    moved = engine.quote(request(circuits=3), 10 + engine.quote_ttl)
    engine.submit(request("b2", circuits=1, limit=900), 10 + engine.quote_ttl)  # takes one cheap circuit
    with pytest.raises(FailedPrecondition, match="the book moved"):
        engine.submit(request(circuits=0, limit=0, quote_id=moved.quote_id), 11 + engine.quote_ttl)
    fresh = engine.quote(request(circuits=1), 20 + engine.quote_ttl)
    engine.submit(request(circuits=0, limit=0, quote_id=fresh.quote_id, cid="a"), 21 + engine.quote_ttl)
    with pytest.raises(FailedPrecondition, match="already used by order"):
        engine.submit(request(circuits=0, limit=0, quote_id=fresh.quote_id, cid="b"), 22 + engine.quote_ttl)


def test_quote_fields_given_must_match_and_belong_to_the_caller() -> None:
    engine = new_engine()
    engine.submit(offer(circuits=2, price=900), 1)
    quote = engine.quote(request(circuits=2), 10)
    with pytest.raises(InvalidArgument) as err:
        engine.submit(request(circuits=2, limit=1000, quote_id=quote.quote_id), 11)
    assert err.value.field == "limit_price"
    with pytest.raises(InvalidArgument) as err:
        engine.submit(request(circuits=1, limit=0, quote_id=quote.quote_id), 11)
    assert err.value.field == "circuits"
    with pytest.raises(NotFound):
        engine.submit(request("b2", circuits=0, limit=0, quote_id=quote.quote_id), 11)


def test_a_price_improvement_is_not_a_moved_book() -> None:
    engine = new_engine()
    engine.submit(offer("s1", price=900), 1)
    quote = engine.quote(request(), 10)
    engine.submit(offer("s2", price=800), 11)
    out = engine.submit(request(circuits=0, limit=0, quote_id=quote.quote_id), 12)
    assert [d.price for d in out.deals] == [800]


# ----- alternates ---------------------------------------------------------------------------


def test_alternates_cover_classes_capacity_splits_and_nearby_routes_ranked() -> None:
    engine = new_engine()
    engine.set_neighbours("FRA", ["MUC"])
    engine.submit(offer("s1", values=GOLD, price=600), 1)  # worse class
    engine.submit(offer("s2", values=PLATINUM, price=2000, route=("MUC", "AMS")), 2)  # nearby route
    engine.submit(offer("s3", values=PLATINUM, circuits=4, capacity=G // 4, price=300), 3)  # capacity split
    # No diamond class above platinum: ask for gold so platinum is the "better" class.
    out = engine.submit(request(grade="platinum", limit=100), 4, recommend=True)
    rec = out.recommendation
    assert rec is not None
    kinds_ranked = [a.kind for a in rec.alternates]
    assert kinds_ranked == [AlternateKind.CAPACITY_SPLIT, AlternateKind.NEARBY_ROUTE, AlternateKind.WORSE_CLASS]
    split, nearby, worse = rec.alternates
    assert (split.capacity_kbps, split.circuits, split.available, split.price) == (G // 4, 4, 4, 300)
    assert str(nearby.route) == "AMS-MUC" and nearby.price == 2000
    assert worse.grade == "gold" and worse.price == 600
    latency = next(d for d in worse.differences if d.parameter == "latency_us")
    assert (latency.asked, latency.offered, latency.meets) == (5_000, GOLD["latency_us"], False)
    assert engine.drain().events[-1].kind is EventKind.ALTERNATES_PROPOSED


def test_better_class_ranks_first_and_partial_fills_last() -> None:
    engine = new_engine()
    engine.submit(offer("s1", values=PLATINUM, price=2000), 1)
    engine.submit(offer("s2", values=SILVER, circuits=1, price=100), 2)
    rec = engine.recommend("b1", 0, request(grade="gold", circuits=1), 3)
    assert [(a.kind, a.grade) for a in rec.alternates] == [
        (AlternateKind.BETTER_CLASS, "platinum"),
        (AlternateKind.WORSE_CLASS, "silver"),
    ]
    rec = engine.recommend("b1", 0, request(grade="gold", circuits=2), 3)
    # Neither fills both circuits; among partial ones the kind still decides.
    assert [(a.kind, a.full) for a in rec.alternates] == [
        (AlternateKind.BETTER_CLASS, False),
        (AlternateKind.WORSE_CLASS, False),
    ]
    engine.submit(offer("s3", values=SILVER, circuits=1, price=100), 4)
    rec = engine.recommend("b1", 0, request(grade="gold", circuits=2), 5)
    # Now the worse class fills both circuits: a full alternate outranks a closer partial one.
    assert [(a.kind, a.full) for a in rec.alternates] == [
        (AlternateKind.WORSE_CLASS, True),
        (AlternateKind.BETTER_CLASS, False),
    ]


def test_full_fill_proposes_no_alternates() -> None:
    engine = new_engine()
    engine.submit(offer(values=GOLD, price=100), 1)
    engine.submit(offer(price=900), 1)
    out = engine.submit(request(limit=1000), 2, recommend=True)
    assert out.deals and out.recommendation is None


def test_recommend_for_an_own_live_request() -> None:
    engine = new_engine()
    engine.submit(offer(values=GOLD, price=100), 1)
    order = engine.submit(request(limit=10), 2).order
    assert order is not None
    rec = engine.recommend("b1", order.order_id, None, 3)
    assert rec.order_id == order.order_id and [a.grade for a in rec.alternates] == ["gold"]
    with pytest.raises(NotFound):
        engine.recommend("b2", order.order_id, None, 3)
    sell = engine.submit(offer(price=5000, values=GOLD), 4).order
    assert sell is not None
    with pytest.raises(InvalidArgument):
        engine.recommend("s1", sell.order_id, None, 5)


def test_neighbours_are_symmetric_and_replaceable() -> None:
    engine = new_engine()
    engine.set_neighbours("fra", ["MUC", "ams"])
    assert engine.neighbours == {"FRA": {"MUC", "AMS"}, "MUC": {"FRA"}, "AMS": {"FRA"}}
    engine.set_neighbours("FRA", ["MUC"])
    assert engine.neighbours == {"FRA": {"MUC"}, "MUC": {"FRA"}}
    assert engine.drain().neighbour_links == {("FRA", "MUC")}
    with pytest.raises(InvalidArgument) as err:
        engine.set_neighbours("FRA", ["FRA"])
    assert err.value.field == "neighbours"
    with pytest.raises(InvalidArgument) as err:
        engine.set_neighbours("FRA", ["bad code!"])
    assert err.value.field == "neighbours[0]"


def test_pending_orders_are_replaceable_and_cancellable_off_book() -> None:
    engine = new_engine()
    order = engine.submit(propose(limit=500), 1).order  # type: ignore[arg-type]
    assert order is not None
    out = engine.replace("b1", order.order_id, 700, None, 2)
    assert out.order is not None and out.order.status is OrderStatus.PENDING_APPROVAL and engine.books == {}
    engine.cancel("b1", order.order_id, 3)
    assert order.order_id not in engine.orders


def test_side_of_a_pending_request_is_a_request() -> None:
    order = new_engine().submit(propose(), 1).order  # type: ignore[arg-type]
    assert order is not None and order.side is Side.REQUEST


def test_a_participant_holds_only_so_many_live_quotes() -> None:
    """Each quote is a promise kept (and remembered) for its lifetime: without a cap, one
    buyer asking for quotes at its full call rate held an ever-growing pile of them."""
    from marketplace.errors import ResourceExhausted

    capped = new_engine(quote_ttl=100, max_live_quotes=3)
    for now in (1, 2, 3):
        capped.quote(request(), now)
    with pytest.raises(ResourceExhausted) as err:
        capped.quote(request(), 50)
    assert err.value.field == "quotes" and err.value.retry_after_s > 0
    capped.quote(request("b2"), 50)  # per participant
    capped.quote(request(), 101)  # the first has lapsed
