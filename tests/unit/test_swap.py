"""Seller swaps in the engine (issue 13, claim 64): selection of the replacement offer, the
new deal linked both ways, the old one ending when the move is done, and every trigger
(the buyer asks, the seller withdraws, the deal is degraded)."""

from __future__ import annotations

import pytest

from marketplace.deals import Agreement, DealStatus, Interconnect, Party
from marketplace.errors import FailedPrecondition, NotFound
from marketplace.events import EventKind
from marketplace.orders import OrderStatus, TimeInForce
from tests.unit.factories import GOLD, measured, new_engine, offer, request

SECOND = 1_000_000
NOV_2026 = 1_795_000_000 * SECOND


def agreement(seller: str, reference: str = "", rate: int = 10**9) -> Agreement:
    ends = (Interconnect(Party.BUYER, "sw1", "1", 100, 199), Interconnect(Party.SELLER, "sw2", "2", 100, 199))
    return Agreement(0, reference or f"A-{seller}", "b1", seller, ends, rate, "net 30", 0)


def live(*sellers: str, price: int = 1000):  # type: ignore[no-untyped-def]
    """b1 bought one platinum circuit from s1; agreements with s1 and `sellers`."""
    engine = new_engine()
    for seller in ("s1", *sellers):
        engine.register_agreement(agreement(seller), 0)
    engine.submit(offer("s1", price=price, grade="platinum"), 1)
    deal = engine.submit(request(limit=price), 2).deals[0]
    engine.set_deal_status(deal.deal_id, DealStatus.PROVISIONING, "", 3)
    engine.set_deal_status(deal.deal_id, DealStatus.ACTIVE, "", 4)
    engine.drain()
    return engine, deal


def test_the_buyer_is_moved_to_the_cheapest_eligible_offer_in_time_priority() -> None:
    engine, deal = live("s2", "s3", "s4")
    engine.submit(offer("s2", price=900, grade="platinum"), 10)
    first = engine.submit(offer("s3", price=800, grade="platinum"), 11).order
    engine.submit(offer("s4", price=800, grade="platinum"), 12)  # same price, later
    engine.submit(offer("s2", price=700, grade="platinum", circuits=1, capacity=500_000), 13)  # other size
    engine.drain()
    new = engine.swap_seller("b1", deal.deal_id, False, 0, "planned", 20, operator=False)
    assert (new.seller, new.offer_order_id, new.price, new.replaces) == ("s3", first.order_id, 800, deal.deal_id)
    assert (new.buyer, new.request_order_id, new.circuits, new.status) == (
        "b1",
        deal.request_order_id,
        1,
        DealStatus.BROKERED,
    )
    old = engine.deals[deal.deal_id]
    assert old.replaced_by == new.deal_id and old.status is DealStatus.ACTIVE
    assert f"moving to deal {new.deal_id}" in old.status_reason
    changes = engine.drain()
    assert [d.deal_id for d in changes.released_deals] == [new.deal_id]  # handed to provisioning
    assert new.deal_id in changes.new_deals and deal.deal_id in changes.updated_deals
    assert engine.orders.get(first.order_id) is None  # its one circuit sold
    kinds = [e.kind for e in changes.events]
    assert EventKind.DEAL_CREATED in kinds and EventKind.ORDER_FILLED in kinds


def test_only_the_class_bought_unless_the_buyer_accepts_better_and_never_above_the_limit() -> None:
    engine, deal = live("s2", "s3")
    engine.submit(offer("s2", price=900, grade="gold", values=GOLD), 10)  # worse class
    engine.submit(offer("s3", price=1200, grade="platinum"), 11)  # above the deal's price
    with pytest.raises(FailedPrecondition, match=r"no offer of platinum .* at 1000 or less"):
        engine.swap_seller("b1", deal.deal_id, True, 0, "", 20, operator=False)
    assert engine.deals[deal.deal_id].replaced_by == 0  # nothing changed
    new = engine.swap_seller("b1", deal.deal_id, False, 1200, "", 21, operator=False)
    assert (new.seller, new.price) == ("s3", 1200)


def test_a_better_class_is_taken_at_the_buyers_option() -> None:
    engine = new_engine()
    for seller in ("s1", "s2"):
        engine.register_agreement(agreement(seller), 0)
    engine.submit(offer("s1", grade="gold", values=GOLD), 1)
    deal = engine.submit(request(grade="gold"), 2).deals[0]
    engine.set_deal_status(deal.deal_id, DealStatus.PROVISIONING, "", 3)
    engine.set_deal_status(deal.deal_id, DealStatus.ACTIVE, "", 4)
    engine.submit(offer("s2", grade="platinum"), 5)
    with pytest.raises(FailedPrecondition, match="no offer of gold"):
        engine.swap_seller("b1", deal.deal_id, False, 0, "", 6, operator=False)
    assert engine.swap_seller("b1", deal.deal_id, True, 0, "", 7, operator=False).grade == "platinum"


def test_sellers_without_an_agreement_with_room_are_passed_over_with_the_reason() -> None:
    engine, deal = live("s3")
    engine.register_agreement(agreement("s2", rate=1000), 0)  # too small for a gigabit
    engine.submit(offer("s2", price=500, grade="platinum"), 10)
    engine.submit(offer("s4", price=600, grade="platinum"), 11)  # no agreement at all
    with pytest.raises(FailedPrecondition, match=r"s2: no agreement with 1000000 kbit/s left; s4: no agreement"):
        engine.swap_seller("b1", deal.deal_id, False, 0, "", 20, operator=False)
    engine.submit(offer("s3", price=900, grade="platinum"), 21)
    assert engine.swap_seller("b1", deal.deal_id, False, 0, "", 22, operator=False).seller == "s3"


def test_all_or_none_offers_of_another_size_and_the_parties_own_offers_are_skipped() -> None:
    engine, deal = live("s2")
    engine.submit(offer("s2", grade="platinum", circuits=3, time_in_force=int(TimeInForce.ALL_OR_NONE)), 10)
    engine.submit(offer("s1", price=10, grade="platinum"), 11)  # the seller being replaced
    with pytest.raises(FailedPrecondition, match="no offer"):
        engine.swap_seller("b1", deal.deal_id, False, 0, "", 20, operator=False)


def test_only_the_buyer_or_an_operator_may_ask_and_only_once_at_a_time() -> None:
    engine, deal = live("s2")
    engine.submit(offer("s2", grade="platinum", circuits=2), 10)
    for who in ("s1", "someone"):
        with pytest.raises(NotFound, match="of yours as buyer"):
            engine.swap_seller(who, deal.deal_id, False, 0, "", 20, operator=False)
    new = engine.swap_seller("ops", deal.deal_id, False, 0, "maintenance", 21, operator=True)
    assert "swap asked by ops: maintenance" in new.status_reason
    with pytest.raises(FailedPrecondition, match=f"already being moved to deal {new.deal_id}"):
        engine.swap_seller("b1", deal.deal_id, False, 0, "", 22, operator=False)


def test_the_move_done_activates_the_new_deal_and_ends_the_old_one_swapped() -> None:
    engine, deal = live("s2")
    engine.submit(offer("s2", grade="platinum"), 10)
    new = engine.swap_seller("b1", deal.deal_id, False, 0, "", 20, operator=False)
    engine.set_deal_status(new.deal_id, DealStatus.PROVISIONING, "", 21)
    engine.drain()
    engine.finish_swap(new.deal_id, "path s3 > s2", 22)
    assert engine.deals[new.deal_id].status is DealStatus.ACTIVE
    assert deal.deal_id not in engine.deals  # final
    changes = engine.drain()
    old = changes.updated_deals[deal.deal_id]
    assert (old.status, old.status_reason) == (DealStatus.TERMINATED, f"swapped to deal {new.deal_id} (s2)")
    assert not changes.ending_deals  # provisioning removed the old path itself
    assert engine.agreement_use()[engine.agreement_refs["A-s1"]] == 0


def test_a_failed_move_gives_the_circuits_back_and_the_old_deal_says_why() -> None:
    engine, deal = live("s2")
    offered = engine.submit(offer("s2", grade="platinum"), 10).order
    new = engine.swap_seller("b1", deal.deal_id, False, 0, "", 20, operator=False)
    engine.set_deal_status(new.deal_id, DealStatus.PROVISIONING, "", 21)
    engine.fail_swap(new.deal_id, "switch s2 refused the bundle", 22)
    assert engine.orders[offered.order_id].remaining == 1 and engine.orders[offered.order_id].status is OrderStatus.OPEN
    old = engine.deals[deal.deal_id]
    assert old.replaced_by == 0 and old.status is DealStatus.ACTIVE
    assert "the move to deal" in old.status_reason and "switch s2 refused" in old.status_reason
    assert new.deal_id not in engine.deals  # void


def test_a_seller_withdrawing_moves_the_buyer_when_it_can_and_ends_the_deal_when_not() -> None:
    engine, deal = live("s2")
    engine.submit(offer("s2", grade="platinum"), 10)
    kept = engine.terminate_deal("s1", deal.deal_id, "leaving the market", 20)
    assert kept.status is DealStatus.ACTIVE and kept.replaced_by  # moved, not cut off
    engine2, deal2 = live()
    ended = engine2.terminate_deal("s1", deal2.deal_id, "leaving", 20)
    assert ended.status is DealStatus.TERMINATING
    assert "terminated by s1: leaving; no other seller could take it over: no offer" in ended.status_reason


def test_the_buyer_ending_a_deal_being_swapped_ends_its_replacement_too() -> None:
    engine, deal = live("s2")
    engine.submit(offer("s2", grade="platinum"), 10)
    new = engine.swap_seller("b1", deal.deal_id, False, 0, "", 20, operator=False)
    engine.drain()
    engine.terminate_deal("b1", deal.deal_id, "", 21)
    assert engine.deals[deal.deal_id].status is DealStatus.TERMINATING
    assert new.deal_id not in engine.deals  # nothing of it in the network yet: ended at once
    ended = engine.drain().updated_deals[new.deal_id]
    assert ended.status is DealStatus.TERMINATED and "which it was replacing" in ended.status_reason


def test_a_degraded_deal_moves_to_another_seller_of_its_class() -> None:
    engine, deal = live("s2")
    engine.submit(offer("s2", price=900, grade="platinum"), 10)
    now = NOV_2026
    for _ in range(3):
        engine.record_delivered(deal.deal_id, measured(latency_us=12_000), now)
        now += 10 * SECOND
    old = engine.deals[deal.deal_id]
    assert old.replaced_by, old.status_reason
    assert "degraded (delivering gold, below platinum" in old.status_reason
    assert engine.quality_of(deal.deal_id).reason.endswith(f"; moving to deal {old.replaced_by}")  # type: ignore[union-attr]
    engine.swap_when_degraded = False
    engine2, deal2 = live("s2")
    engine2.swap_when_degraded = False
    engine2.submit(offer("s2", price=900, grade="platinum"), 10)
    for i in range(3):
        engine2.record_delivered(deal2.deal_id, measured(latency_us=12_000), NOV_2026 + i * 10 * SECOND)
    assert engine2.deals[deal2.deal_id].replaced_by == 0
    engine3, deal3 = live()  # no other seller: the QUALITY event says so, the deal's reason is left alone
    for i in range(3):
        engine3.record_delivered(deal3.deal_id, measured(latency_us=12_000), NOV_2026 + i * 10 * SECOND)
    assert "not moved to another seller: no offer of platinum" in engine3.quality_of(deal3.deal_id).reason  # type: ignore[union-attr]
    assert engine3.deals[deal3.deal_id].status_reason == ""
