"""Verification before listing in the engine (issue 12, claims 49, 55, 56): offers with
asserted values wait UNVERIFIED off the book until measured, are listed in the grade the
measured values support or refused naming the value, move on re-verification, and list
at once (marked) for sellers an operator waived verification for."""

from __future__ import annotations

import pytest

from marketplace.delivered import Delivered
from marketplace.errors import FailedPrecondition, InvalidArgument
from marketplace.events import EventKind
from marketplace.orders import OrderStatus
from marketplace.verification import VerificationState
from tests.unit import factories
from tests.unit.factories import new_engine, offer, request

SECOND = 1_000_000


def measured(latency_us: int = 2_000, lost: int = 0) -> Delivered:
    """A verification's measurement: five windows, 50 probes."""
    return factories.measured(latency_us, lost, probes=50, jitter_us=300)


def verifying_engine():  # type: ignore[no-untyped-def]
    engine = new_engine()
    engine.verifying = True
    return engine


def test_an_offer_with_asserted_values_waits_off_the_book_until_measured() -> None:
    engine = verifying_engine()
    held = engine.submit(offer(grade="platinum"), 1).order
    assert held is not None and held.status is OrderStatus.UNVERIFIED
    changes = engine.drain()
    assert [o.order_id for o in changes.unverified] == [held.order_id]
    assert [e.kind for e in changes.events] == [EventKind.ORDER_ACCEPTED, EventKind.ORDER_UNVERIFIED]
    assert not engine.submit(request(grade="platinum"), 2).deals  # not on the book
    engine.drain()
    listed = engine.verify_offer(held.order_id, measured(), 3)
    assert (listed.status, listed.grade) == (OrderStatus.FILLED, "platinum")  # and traded at once
    assert listed.class_reason.startswith("verified: measured ")
    assert engine.offer_checks[held.order_id].state is VerificationState.VERIFIED
    kinds = [e.kind for e in engine.drain().events]
    assert kinds[0] is EventKind.ORDER_VERIFIED and EventKind.DEAL_CREATED in kinds


def test_the_offer_is_listed_in_the_grade_measured_never_above_the_one_asserted() -> None:
    engine = verifying_engine()
    held = engine.submit(offer(grade="platinum"), 1).order
    assert held is not None
    listed = engine.verify_offer(held.order_id, measured(latency_us=12_000), 2)
    assert (listed.status, listed.grade) == (OrderStatus.OPEN, "gold")
    assert "supports gold (asserted platinum: latency_us=12000 (needs <= 5000))" in listed.class_reason
    gold = engine.submit(offer(grade="gold"), 3).order
    assert gold is not None
    assert engine.verify_offer(gold.order_id, measured(latency_us=1_000), 4).grade == "gold"  # not platinum


def test_values_no_class_holds_refuse_the_offer_naming_the_value() -> None:
    engine = verifying_engine()
    held = engine.submit(offer(grade="platinum"), 1).order
    assert held is not None
    refused = engine.verify_offer(held.order_id, measured(lost=25), 2)
    assert refused.status is OrderStatus.CANCELLED
    assert "verification failed" in refused.class_reason and "loss_ppm=500000 (needs <= 10000)" in refused.class_reason
    assert held.order_id not in engine.orders
    assert EventKind.ORDER_VERIFICATION_FAILED in [e.kind for e in engine.drain().events]


def test_re_verification_moves_a_listed_offer_and_takes_it_off_when_no_class_holds() -> None:
    engine = verifying_engine()
    held = engine.submit(offer(circuits=3, grade="platinum"), 1).order
    assert held is not None
    engine.verify_offer(held.order_id, measured(), 2)
    live = engine.orders[held.order_id]
    priority = live.priority
    engine.verify_offer(held.order_id, measured(latency_us=12_000), 3)
    assert (live.grade, live.priority) == ("gold", priority)  # down: priority kept
    engine.verify_offer(held.order_id, measured(lost=25), 4)
    assert (
        live.status is OrderStatus.UNVERIFIED
        and engine.offer_checks[held.order_id].state is VerificationState.SUSPENDED
    )
    assert not engine.submit(request(grade="gold"), 5).deals  # off the book
    engine.cancel("b1", max(engine.orders), 5)
    engine.verify_offer(held.order_id, measured(), 6)
    assert (live.status, live.grade) == (OrderStatus.OPEN, "platinum")
    assert engine.submit(request(grade="platinum"), 7).deals


def test_a_waived_seller_is_listed_at_once_and_marked_unverified() -> None:
    engine = verifying_engine()
    held = engine.submit(offer("s1", grade="platinum"), 1).order
    assert held is not None and held.status is OrderStatus.UNVERIFIED
    assert engine.set_waiver("s1", True, 2) == [held.order_id]
    live = engine.orders[held.order_id]
    assert live.status is OrderStatus.OPEN and live.class_reason.startswith("unverified")
    assert engine.offer_checks[held.order_id].state is VerificationState.WAIVED
    later = engine.submit(offer("s1", grade="platinum"), 3).order
    assert later is not None and later.status is OrderStatus.OPEN and "unverified" in later.class_reason
    engine.set_waiver("s1", False, 4)
    again = engine.submit(offer("s1", grade="platinum"), 5).order
    assert again is not None and again.status is OrderStatus.UNVERIFIED


def test_what_is_not_verified_and_what_cannot_be_asked() -> None:
    engine = verifying_engine()
    with pytest.raises(FailedPrecondition, match="order_id"):
        engine.verify_offer(12345, measured(), 2)
    held = engine.submit(offer(grade="platinum"), 3).order
    assert held is not None
    before = engine.fingerprint()
    with pytest.raises(InvalidArgument, match="window"):
        engine.verify_offer(held.order_id, Delivered(5, 6, 1, 1, 0, 0, 5, 5), 4)
    assert engine.fingerprint() == before
    engine.verification_blocked(held.order_id, "no answer from the seller's reflector 10.0.0.2:862", 5)
    assert "cannot be verified yet: no answer" in engine.orders[held.order_id].class_reason
    engine.cancel("s1", held.order_id, 6)  # a held offer can be cancelled
    assert held.order_id not in engine.orders
    off = new_engine()  # without a measurement point nothing is held
    listed = off.submit(offer(grade="platinum"), 1).order
    assert listed is not None and listed.status is OrderStatus.OPEN


def test_a_held_offer_expires_at_its_valid_until() -> None:
    engine = verifying_engine()
    held = engine.submit(offer(grade="platinum", valid_until=10 * SECOND), 1).order
    assert held is not None
    engine.advance(11 * SECOND)
    assert held.order_id not in engine.orders
