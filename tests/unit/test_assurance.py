"""Service assurance in the engine (issue 12): measured windows move a live deal's
delivered class by the reclassification rule, flag it DEGRADED, assess SLA credits and
move its offer between class books."""

from __future__ import annotations

import pytest

from marketplace.deals import Agreement, DealStatus, Interconnect, Party
from marketplace.delivered import Delivered
from marketplace.errors import FailedPrecondition, InvalidArgument
from marketplace.events import EventKind
from marketplace.quality import credit_due, credit_percent, credit_tiers, month_of
from tests.unit.factories import measured, new_engine, offer, request

SECOND = 1_000_000
NOV_2026 = 1_795_000_000 * SECOND  # 2026-11-18


def agreement(terms: str = "net 30") -> Agreement:
    ends = (Interconnect(Party.BUYER, "sw1", "1", 100, 199), Interconnect(Party.SELLER, "sw2", "2", 100, 199))
    return Agreement(0, "A-1", "b1", "s1", ends, 10**9, terms, 0)


window = measured  # one 10-probe window


def live_deal(terms: str = "net 30", circuits: int = 1, price: int = 1000):  # type: ignore[no-untyped-def]
    engine = new_engine()
    engine.register_agreement(agreement(terms), 0)
    engine.submit(offer(circuits=circuits + 1, price=price, grade="platinum"), 1)
    deal = engine.submit(request(circuits=circuits, limit=price), 2).deals[0]
    engine.set_deal_status(deal.deal_id, DealStatus.PROVISIONING, "", 3)
    engine.set_deal_status(deal.deal_id, DealStatus.ACTIVE, "", 4)
    engine.drain()
    return engine, deal


def feed(engine, deal_id: int, w: Delivered, count: int, start: int) -> int:  # type: ignore[no-untyped-def]
    for i in range(count):
        engine.record_delivered(deal_id, w, start + i * 10 * SECOND)
    return start + count * 10 * SECOND


def test_a_deal_delivering_its_class_stays_in_it_and_every_window_is_a_sample() -> None:
    engine, deal = live_deal()
    feed(engine, deal.deal_id, window(), 5, NOV_2026)
    record = engine.quality_of(deal.deal_id)
    assert record is not None
    assert (record.grade, record.delivered_grade, record.degraded, record.windows) == ("platinum", "platinum", False, 5)
    changes = engine.drain()
    assert len(changes.samples) == 5 and all(s.at_class for s in changes.samples)
    assert not changes.penalties
    assert engine.seller_quality_ppm("s1") == 1_000_000


def test_delay_beyond_the_band_degrades_after_the_hold_and_names_the_value() -> None:
    engine, deal = live_deal()
    now = feed(engine, deal.deal_id, window(), 3, NOV_2026)
    engine.drain()
    now = feed(engine, deal.deal_id, window(latency_us=12_000), 2, now)
    assert not engine.quality_of(deal.deal_id).degraded  # type: ignore[union-attr]  # two windows: held
    feed(engine, deal.deal_id, window(latency_us=12_000), 1, now)
    record = engine.quality_of(deal.deal_id)
    assert record is not None and record.degraded and record.delivered_grade == "gold"
    assert "latency_us=12000 (needs <= 5000)" in record.reason
    changes = engine.drain()
    kinds = [e.kind for e in changes.events]
    assert EventKind.QUALITY in kinds and EventKind.PENALTY_ASSESSED in kinds
    (penalty,) = changes.penalties
    assert (penalty.classes_below, penalty.percent, penalty.amount) == (1, 10, 100)  # 10 % of 1000 x 1
    assert {e.parties() for e in changes.events if e.kind is EventKind.PENALTY_ASSESSED} == {("s1", "b1")}


def test_a_deeper_fall_tops_the_credit_up_and_a_month_never_passes_the_full_charge() -> None:
    engine, deal = live_deal(terms="net 30; sla_credit_percent=40,70,100", circuits=2, price=500)
    now = feed(engine, deal.deal_id, window(latency_us=12_000), 3, NOV_2026)  # gold: one below
    now = feed(engine, deal.deal_id, window(latency_us=100_000), 3, now)  # bronze: three below
    now = feed(engine, deal.deal_id, window(), 3, now)  # back to platinum
    feed(engine, deal.deal_id, window(latency_us=12_000), 3, now)  # one below again, same month
    penalties = engine.drain().penalties
    assert [(p.classes_below, p.percent, p.amount) for p in penalties] == [(1, 40, 400), (3, 100, 600)]
    assert sum(p.amount for p in penalties) == 1000  # the month's charge: 500 x 2


def test_the_class_comes_back_only_after_the_hold_inside_the_band() -> None:
    engine, deal = live_deal()
    now = feed(engine, deal.deal_id, window(latency_us=12_000), 3, NOV_2026)
    assert engine.quality_of(deal.deal_id).delivered_grade == "gold"  # type: ignore[union-attr]
    # Just inside platinum's bound is not enough: a move up needs the hysteresis margin.
    now = feed(engine, deal.deal_id, window(latency_us=4_900), 5, now)
    assert engine.quality_of(deal.deal_id).delivered_grade == "gold"  # type: ignore[union-attr]
    now = feed(engine, deal.deal_id, window(latency_us=2_000), 2, now)
    assert engine.quality_of(deal.deal_id).degraded  # type: ignore[union-attr]
    feed(engine, deal.deal_id, window(latency_us=2_000), 1, now)
    record = engine.quality_of(deal.deal_id)
    assert record is not None and not record.degraded and record.delivered_grade == "platinum"
    assert record.reason.startswith("back to platinum")


def test_one_lost_probe_is_within_what_the_probes_resolve_but_steady_loss_is_not() -> None:
    engine, deal = live_deal()
    now = feed(engine, deal.deal_id, window(lost=1), 6, NOV_2026)  # 10 % every window: 6 of 60
    assert engine.quality_of(deal.deal_id).degraded  # type: ignore[union-attr]
    engine2, deal2 = live_deal()
    now = feed(engine2, deal2.deal_id, window(), 5, NOV_2026)
    feed(engine2, deal2.deal_id, window(lost=1), 1, now)  # 1 of 60 probes: one probe's worth
    assert not engine2.quality_of(deal2.deal_id).degraded  # type: ignore[union-attr]


def test_no_answers_at_all_is_no_class() -> None:
    engine, deal = live_deal()
    feed(engine, deal.deal_id, window(lost=10), 3, NOV_2026)
    record = engine.quality_of(deal.deal_id)
    assert record is not None and record.delivered_grade == "" and record.degraded
    assert "delivering no class" in record.reason and "latency_us=not measured" in record.reason
    (penalty,) = engine.drain().penalties
    assert penalty.classes_below == 4  # below bronze, the lowest of four


def test_the_offer_follows_its_deals_delivered_class_between_books() -> None:
    engine, deal = live_deal()
    offer_order = engine.orders[deal.offer_order_id]
    priority = offer_order.priority
    now = feed(engine, deal.deal_id, window(latency_us=12_000), 3, NOV_2026)
    assert offer_order.grade == "gold" and offer_order.priority == priority  # down: priority kept
    assert "reclassified by delivered quality of deal" in offer_order.class_reason
    changes = engine.drain()
    assert [o.order_id for o in changes.regraded] == [offer_order.order_id]
    assert EventKind.ORDER_RECLASSIFIED in [e.kind for e in changes.events]
    # A gold request now trades with it; a platinum one no longer does.
    assert not engine.submit(request("b1", grade="platinum"), now).deals
    engine.cancel("b1", max(engine.orders), now)
    feed(engine, deal.deal_id, window(), 3, now)
    assert offer_order.grade == "platinum" and offer_order.priority > priority  # up: fresh priority


def test_only_live_deals_and_sane_windows_are_recorded() -> None:
    engine, deal = live_deal()
    with pytest.raises(FailedPrecondition, match="deal_id"):
        engine.record_delivered(deal.deal_id + 1, window(), NOV_2026)
    before = engine.fingerprint()
    with pytest.raises(InvalidArgument, match="window"):
        engine.record_delivered(deal.deal_id, Delivered(5, 6, 1, 1, 0, 0, 5, 5), NOV_2026)
    assert engine.fingerprint() == before
    engine.terminate_deal("b1", deal.deal_id, "", NOV_2026)
    with pytest.raises(FailedPrecondition):
        engine.record_delivered(deal.deal_id, window(), NOV_2026)


def test_the_credit_rule() -> None:
    assert credit_tiers("net 30") == (10, 20, 30, 40, 50)
    assert credit_tiers("sla_credit_percent = 5, 15,250") == (5, 15, 100)
    assert [credit_percent(n, (10, 20, 30)) for n in range(5)] == [0, 10, 20, 30, 30]
    assert credit_due(1000, 30, 10) == (30, 200)
    assert credit_due(1000, 10, 30) == (30, 0)
    assert month_of(NOV_2026) == 202611


def test_quality_first_ranks_an_offer_by_what_its_deals_deliver() -> None:
    engine = new_engine()
    engine.register_agreement(agreement(), 0)
    asserted_best = {"latency_us": 1_000, "jitter_us": 100, "loss_ppm": 0, "availability_ppm": 1_000_000}
    engine.submit(offer("s1", circuits=3, price=1000, values=asserted_best, grade="gold"), 1)
    deal = engine.submit(request(circuits=1, limit=1000, grade="gold"), 2).deals[0]
    engine.set_deal_status(deal.deal_id, DealStatus.PROVISIONING, "", 3)
    engine.set_deal_status(deal.deal_id, DealStatus.ACTIVE, "", 4)
    engine.register_agreement(Agreement(0, "A-2", "b1", "s2", agreement().interconnects, 10**9, "net 30", 0), 5)
    engine.submit(offer("s2", circuits=1, price=1000, grade="gold"), 6)  # asserts platinum values: scores lower
    assert engine.orders[deal.offer_order_id].score > max(
        o.score for o in engine.orders.values() if o.participant == "s2"
    )
    # Measured: the first seller delivers gold-edge values, far worse than it asserted.
    feed(engine, deal.deal_id, window(latency_us=18_000, jitter_us=4_000), 1, NOV_2026)
    taken = engine.submit(request(circuits=1, limit=1000, grade="gold", routing_policy=2), NOV_2026 + SECOND)
    assert [d.seller for d in taken.deals] == ["s2"]
