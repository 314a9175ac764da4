"""Matching, brokering and order lifecycle in the pure engine (Arrange / Act / Assert on
the emitted events and deals)."""

from __future__ import annotations

import pytest

from marketplace.deals import Agreement, DealStatus, Interconnect, Party
from marketplace.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from marketplace.events import EventKind
from marketplace.orders import ClassAssignment, OrderStatus, ServiceType, Side
from tests.unit.factories import GOLD, PLATINUM, SILVER, G, new_engine, offer, request


def agreement(buyer: str = "b1", seller: str = "s1", max_rate: int = 100 * G, ref: str = "A-1") -> Agreement:
    return Agreement(
        0,
        ref,
        buyer,
        seller,
        (Interconnect(Party.BUYER, "sw1", "1", 100, 199), Interconnect(Party.SELLER, "sw2", "2", 100, 199)),
        max_rate,
        "net 30",
        0,
    )


def test_request_takes_best_priced_offer_then_earliest() -> None:
    engine = new_engine()
    engine.submit(offer("s1", price=1200), 1)
    early = engine.submit(offer("s2", price=1100), 2).order
    engine.submit(offer("s3", price=1100), 3)
    out = engine.submit(request(limit=1500), 4)
    assert [(d.seller, d.price) for d in out.deals] == [("s2", 1100)]
    assert early is not None and out.deals[0].offer_order_id == early.order_id


def test_trade_price_is_the_resting_orders_price() -> None:
    engine = new_engine()
    engine.submit(request(limit=1500), 1)
    out = engine.submit(offer(price=1000), 2)
    assert out.deals[0].price == 1500


def test_matching_stays_inside_one_class() -> None:
    engine = new_engine()
    engine.submit(offer(values=GOLD, price=500), 1)  # cheaper, but gold
    out = engine.submit(request(grade="platinum", limit=1000), 2)
    assert out.deals == []
    out = engine.submit(offer(values=PLATINUM, price=900), 3)
    assert [d.grade for d in out.deals] == ["platinum"]


def test_route_service_and_capacity_must_agree() -> None:
    engine = new_engine()
    engine.submit(offer(route=("FRA", "LON")), 1)
    engine.submit(offer(capacity=10 * G), 2)
    engine.submit(offer(service=ServiceType.IP_TRANSIT), 3)
    assert engine.submit(request(), 4).deals == []
    # E-Line routes are symmetric: an AMS-FRA offer meets the resting FRA-AMS request.
    assert len(engine.submit(offer(route=("AMS", "FRA"), price=999), 5).deals) == 1


def test_partial_fill_leaves_the_rest_on_the_book() -> None:
    engine = new_engine()
    engine.submit(offer(circuits=2, price=1000), 1)
    engine.submit(offer(circuits=3, price=1100), 2)
    out = engine.submit(request(circuits=4, limit=1100), 3)
    assert [(d.circuits, d.price) for d in out.deals] == [(2, 1000), (2, 1100)]
    assert out.order is not None and out.order.status is OrderStatus.FILLED
    book = next(iter(engine.books.values()))
    assert book.levels(Side.OFFER, 5) == [(1100, 1, 1)]


def test_request_rests_when_limit_is_below_every_ask() -> None:
    engine = new_engine()
    engine.submit(offer(price=1000), 1)
    out = engine.submit(request(limit=999, circuits=2), 2)
    assert out.deals == [] and out.order is not None and out.order.status is OrderStatus.OPEN


def test_requirements_filter_offers_inside_the_class() -> None:
    engine = new_engine()
    engine.submit(offer("s1", price=900, values={**PLATINUM, "latency_us": 4_900}), 1)
    engine.submit(offer("s2", price=1000, values={**PLATINUM, "latency_us": 2_000}), 2)
    out = engine.submit(
        request(
            grade="",
            requirements={"latency_us": 3_000, "loss_ppm": 10, "jitter_us": 1_000, "availability_ppm": 999_990},
            limit=2000,
        ),
        3,
    )
    assert out.order is not None and out.order.grade == "platinum"
    assert out.order.assigned_by is ClassAssignment.SERVER
    assert [d.seller for d in out.deals] == ["s2"]


def test_no_self_trade() -> None:
    engine = new_engine()
    engine.submit(offer("both", price=1000), 1)
    assert engine.submit(request("both", limit=1000), 2).deals == []


def test_class_assignment_by_seller_buyer_and_server() -> None:
    engine = new_engine()
    by_server = engine.submit(offer(values=GOLD), 1).order
    by_seller = engine.submit(offer(values=PLATINUM, grade="gold"), 2).order
    by_buyer = engine.submit(request(grade="silver", limit=1), 3).order
    assert by_server is not None and by_seller is not None and by_buyer is not None
    assert (by_server.grade, by_server.assigned_by) == ("gold", ClassAssignment.SERVER)
    assert (by_seller.grade, by_seller.assigned_by) == ("gold", ClassAssignment.SELLER)
    assert (by_buyer.grade, by_buyer.assigned_by) == ("silver", ClassAssignment.BUYER)


def test_seller_chosen_grade_its_values_do_not_support_names_the_parameter() -> None:
    engine = new_engine()
    with pytest.raises(InvalidArgument) as err:
        engine.submit(offer(values=SILVER, grade="gold"), 1)
    assert err.value.field == "values.latency_us"
    assert "40000 not <= 20000" in err.value.rule


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"client_order_id": ""}, "client_order_id"),
        ({"a_end": "fra 1"}, "route.a_end"),
        ({"z_end": "FRA"}, "route.z_end"),
        ({"capacity_kbps": 0}, "capacity_kbps"),
        ({"circuits": 0}, "circuits"),
        ({"price": 0}, "price"),
        ({"service_type": 9}, "service_type"),
        ({"valid_until": 5}, "valid_until"),
        ({"values": {"latency_us": -1}}, "values.latency_us"),
        ({"values": {"colour": 1}}, "values.colour"),
        ({"grade": "diamond"}, "grade"),
    ],
)
def test_bad_offers_are_refused_naming_the_field_and_change_nothing(change: dict[str, object], field: str) -> None:
    import dataclasses

    engine = new_engine()
    bad = dataclasses.replace(offer(), **change)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument) as err:
        engine.submit(bad, 10)
    assert err.value.field == field
    assert not engine.drain() and not engine.orders and engine.counters.order_id == 0


def test_unknown_scheme_is_not_found() -> None:
    import dataclasses

    engine = new_engine()
    with pytest.raises(NotFound):
        engine.submit(dataclasses.replace(offer(), class_scheme="nope"), 1)


def test_same_client_id_returns_the_original_order() -> None:
    engine = new_engine()
    first = engine.submit(offer(cid="abc", price=1000), 1)
    again = engine.submit(offer(cid="abc", price=5), 2)
    assert again.duplicate and again.order is not None and first.order is not None
    assert again.order.order_id == first.order.order_id and again.order.price == 1000
    assert engine.counters.order_id == 1


def test_cancel_takes_the_order_off_and_only_the_owner_may() -> None:
    engine = new_engine()
    placed = engine.submit(offer(price=1000), 1).order
    assert placed is not None
    with pytest.raises(NotFound) as foreign:  # answered as if it did not exist: no probing
        engine.cancel("intruder", placed.order_id, 2)
    with pytest.raises(NotFound) as unknown:
        engine.cancel("intruder", 999, 2)
    assert str(foreign.value) == str(unknown.value).replace("999", str(placed.order_id))
    cancelled = engine.cancel("s1", placed.order_id, 3).order
    assert cancelled is not None and cancelled.status is OrderStatus.CANCELLED
    assert engine.submit(request(limit=1000), 4).deals == []
    with pytest.raises(NotFound):
        engine.cancel("s1", placed.order_id, 5)


def test_replace_price_loses_priority_and_smaller_quantity_keeps_it() -> None:
    engine = new_engine()
    a = engine.submit(offer("s1", price=1000, circuits=3), 1).order
    b = engine.submit(offer("s2", price=1000, circuits=3), 2).order
    assert a is not None and b is not None
    engine.replace("s1", a.order_id, None, 2, 3)  # fewer circuits: keeps priority
    assert engine.submit(request(limit=1000), 4).deals[0].seller == "s1"
    engine.replace("s1", a.order_id, 1000, 5, 5)  # more circuits: back of the queue
    assert engine.submit(request(limit=1000), 6).deals[0].seller == "s2"


def test_replace_that_crosses_matches_at_once() -> None:
    engine = new_engine()
    engine.submit(request(limit=900), 1)
    placed = engine.submit(offer(price=1000), 2).order
    assert placed is not None
    out = engine.replace("s1", placed.order_id, 900, None, 3)
    assert [d.price for d in out.deals] == [900]


def test_deal_waits_for_agreement_then_is_released() -> None:
    engine = new_engine()
    engine.submit(offer(price=1000), 1)
    deal = engine.submit(request(limit=1000), 2).deals[0]
    assert deal.status is DealStatus.PENDING_AGREEMENT and deal.agreement_id == 0
    engine.drain()
    stored, released = engine.register_agreement(agreement(), 3)
    assert [d.deal_id for d in released] == [deal.deal_id]
    assert released[0].status is DealStatus.BROKERED and released[0].agreement_id == stored.agreement_id
    changes = engine.drain()
    assert [e.kind for e in changes.events] == [EventKind.DEAL_STATUS_CHANGED]
    assert [d.deal_id for d in changes.released_deals] == [deal.deal_id]


def test_deal_with_agreement_is_brokered_at_once_within_its_rate() -> None:
    engine = new_engine()
    engine.register_agreement(agreement(max_rate=2 * G), 0)
    engine.submit(offer(price=1000, circuits=3), 1)
    first = engine.submit(request(limit=1000, circuits=2), 2).deals[0]
    second = engine.submit(request(limit=1000, circuits=1), 3).deals[0]
    assert first.status is DealStatus.BROKERED
    assert second.status is DealStatus.PENDING_AGREEMENT  # the agreement's 2G is used up


def test_agreement_reference_is_idempotent() -> None:
    engine = new_engine()
    a1, _ = engine.register_agreement(agreement(), 0)
    a2, _ = engine.register_agreement(agreement(), 1)
    assert a1.agreement_id == a2.agreement_id
    with pytest.raises(AlreadyExists):
        engine.register_agreement(agreement(max_rate=5), 2)


def test_deal_status_follows_the_lifecycle() -> None:
    engine = new_engine()
    engine.register_agreement(agreement(), 0)
    engine.submit(offer(), 1)
    deal = engine.submit(request(), 2).deals[0]
    with pytest.raises(FailedPrecondition):
        engine.set_deal_status(deal.deal_id, DealStatus.ACTIVE, "skip", 3)
    engine.set_deal_status(deal.deal_id, DealStatus.PROVISIONING, "", 3)
    assert engine.set_deal_status(deal.deal_id, DealStatus.ACTIVE, "probe ok", 4).status is DealStatus.ACTIVE


def test_good_till_date_order_expires_with_an_event() -> None:
    engine = new_engine()
    placed = engine.submit(offer(valid_until=100), 1).order
    assert placed is not None
    engine.drain()
    engine.advance(100)
    changes = engine.drain()
    assert [(e.kind, e.order.status if e.order else None) for e in changes.events] == [
        (EventKind.ORDER_EXPIRED, OrderStatus.EXPIRED)
    ]
    assert engine.submit(request(), 101).deals == []


def test_order_with_future_start_waits_then_matches() -> None:
    engine = new_engine()
    engine.submit(offer(price=1000, valid_from=50), 1)
    engine.submit(request(limit=1000), 2)
    assert not engine.books or all(len(b.offers) == 0 for b in engine.books.values())
    engine.advance(50)
    deals = engine.drain().new_deals
    assert len(deals) == 1


def test_same_commands_same_deals() -> None:
    def run() -> list[tuple[int, int, int, int]]:
        engine = new_engine()
        out = []
        for i in range(30):
            engine.submit(offer(f"s{i % 3}", price=1000 + (i * 37) % 200, circuits=1 + i % 3, cid=f"o{i}"), i)
            res = engine.submit(request(f"b{i % 2}", limit=1000 + (i * 53) % 200, circuits=1 + i % 4, cid=f"r{i}"), i)
            out += [(d.offer_order_id, d.request_order_id, d.circuits, d.price) for d in res.deals]
        return out

    assert run() == run()


def test_replacing_a_scheduled_order_starts_it_once() -> None:
    engine = new_engine()
    placed = engine.submit(offer(price=1000, circuits=3, valid_from=50), 1).order
    assert placed is not None
    engine.replace("s1", placed.order_id, None, 2, 2)  # fewer circuits: same priority, rescheduled
    engine.advance(50)
    book = next(iter(engine.books.values()))
    assert [o.order_id for o in book.offers] == [placed.order_id]
    assert [d.circuits for d in engine.submit(request(limit=1000, circuits=5), 60).deals] == [2]
    assert len(book.offers) == 0


def test_either_party_terminates_a_deal_and_a_retry_changes_nothing() -> None:
    engine = new_engine()
    engine.register_agreement(agreement(), 0)
    engine.submit(offer(), 1)
    deal = engine.submit(request(), 2).deals[0]
    with pytest.raises(NotFound):
        engine.terminate_deal("stranger", deal.deal_id, "", 3)
    with pytest.raises(InvalidArgument, match="reason"):
        engine.terminate_deal("b1", deal.deal_id, "x" * 300, 3)
    engine.set_deal_status(deal.deal_id, DealStatus.PROVISIONING, "", 3)
    engine.set_deal_status(deal.deal_id, DealStatus.ACTIVE, "", 4)
    engine.drain()
    ending = engine.terminate_deal("s1", deal.deal_id, "customer left", 5)
    assert ending.status is DealStatus.TERMINATING
    assert ending.status_reason.startswith("terminated by s1: customer left; no other seller could take it over")
    assert [d.deal_id for d in engine.drain().ending_deals] == [deal.deal_id]
    assert engine.terminate_deal("b1", deal.deal_id, "", 6).status is DealStatus.TERMINATING  # a retry
    assert not engine.drain().ending_deals
    engine.set_deal_status(deal.deal_id, DealStatus.TERMINATED, "removed", 7)
    with pytest.raises(NotFound):
        engine.terminate_deal("b1", deal.deal_id, "", 8)


def test_a_deal_with_nothing_in_the_network_ends_at_once() -> None:
    engine = new_engine()
    engine.submit(offer(), 1)
    pending = engine.submit(request(), 2).deals[0]
    assert engine.terminate_deal("b1", pending.deal_id, "", 3).status is DealStatus.TERMINATED
    engine.register_agreement(agreement(), 4)
    engine.submit(offer(), 5)
    brokered = engine.submit(request(), 6).deals[0]
    assert engine.terminate_deal("s1", brokered.deal_id, "", 7).status is DealStatus.TERMINATED
    assert not engine.drain().ending_deals


def test_a_deal_ends_at_its_service_end() -> None:
    engine = new_engine()
    engine.register_agreement(agreement(), 0)
    with pytest.raises(InvalidArgument, match="service_end"):
        engine.submit(offer(service_end=100), 1)
    with pytest.raises(InvalidArgument, match="service_end"):
        engine.submit(request(service_end=1), 1)
    engine.submit(offer(circuits=2), 1)
    active = engine.submit(request(service_end=100), 2).deals[0]
    brokered = engine.submit(request(service_end=100), 3).deals[0]
    assert active.ends_at == 100
    engine.set_deal_status(active.deal_id, DealStatus.PROVISIONING, "", 4)
    engine.set_deal_status(active.deal_id, DealStatus.ACTIVE, "", 5)
    engine.drain()
    engine.advance(99)
    assert not engine.drain().events
    engine.advance(100)
    changes = engine.drain()
    assert [d.deal_id for d in changes.ending_deals] == [active.deal_id]
    assert engine.deals[active.deal_id].status is DealStatus.TERMINATING
    assert brokered.deal_id not in engine.deals  # nothing provisioned: TERMINATED at once
    assert "service end" in engine.deals[active.deal_id].status_reason


def test_a_deal_over_its_agreements_room_says_how_much_is_left() -> None:
    """Found in the lab: a request over an agreement's remaining room waited with "no
    bilateral agreement yet", which sent the parties looking for a missing contract."""
    engine = new_engine()
    engine.submit(offer(price=1000, circuits=3), 1)
    assert engine.submit(request(limit=1000, circuits=1), 2).deals[0].status_reason == "no bilateral agreement yet"
    engine.register_agreement(agreement(max_rate=2 * G), 3)  # releases the first deal: 1G of 2G used
    waiting = engine.submit(request(limit=1000, circuits=2), 4).deals[0]
    assert waiting.status is DealStatus.PENDING_AGREEMENT
    assert waiting.status_reason == "agreement A-1 has 1000000 kbit/s left of 2000000; the deal needs 2000000 kbit/s"


def test_a_deal_being_provisioned_moves_to_another_agreement_of_its_parties() -> None:
    """Provisioning's fallback when the deal's own agreement has no free VLAN."""
    engine = new_engine()
    first, _ = engine.register_agreement(agreement(max_rate=2 * G), 0)
    second, _ = engine.register_agreement(agreement(max_rate=1 * G, ref="A-2"), 0)
    other, _ = engine.register_agreement(agreement(buyer="b2", ref="A-3"), 0)
    engine.submit(offer(price=1000), 1)
    deal = engine.submit(request(limit=1000), 2).deals[0]
    assert deal.agreement_id == first.agreement_id
    with pytest.raises(FailedPrecondition):  # only while PROVISIONING
        engine.rebind_agreement(deal.deal_id, second.agreement_id, 3)
    engine.set_deal_status(deal.deal_id, DealStatus.PROVISIONING, "finding a path", 3)
    with pytest.raises(FailedPrecondition):  # not an agreement between its parties
        engine.rebind_agreement(deal.deal_id, other.agreement_id, 4)
    moved = engine.rebind_agreement(deal.deal_id, second.agreement_id, 4)
    assert moved.agreement_id == second.agreement_id and moved.status is DealStatus.PROVISIONING
    assert engine.agreement_use() == {first.agreement_id: 0, second.agreement_id: G, other.agreement_id: 0}
