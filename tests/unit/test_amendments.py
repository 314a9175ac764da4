"""Changes to a live deal without a new order (issue 13): both parties' consent, the
agreement's room held while the network takes the change, price scaled with capacity,
service ends only extended (and the old end no longer ends the deal)."""

from __future__ import annotations

import pytest

from marketplace.deals import Agreement, DealStatus, Interconnect, Party
from marketplace.errors import FailedPrecondition, InvalidArgument, NotFound
from tests.unit.factories import new_engine, offer, request

SECOND = 1_000_000
M = 1000  # kbit/s


def live(rate_room: int = 100 * M, service_end: int = 0):  # type: ignore[no-untyped-def]
    engine = new_engine()
    ends = (Interconnect(Party.BUYER, "sw1", "1", 100, 199), Interconnect(Party.SELLER, "sw2", "2", 100, 199))
    engine.register_agreement(Agreement(0, "A-1", "b1", "s1", ends, rate_room, "", 0), 0)
    engine.submit(offer(capacity=10 * M, circuits=2, price=1000, grade="platinum"), 1)
    deal = engine.submit(request(capacity=10 * M, circuits=2, service_end=service_end), 2).deals[0]
    engine.set_deal_status(deal.deal_id, DealStatus.PROVISIONING, "", 3)
    engine.set_deal_status(deal.deal_id, DealStatus.ACTIVE, "", 4)
    engine.drain()
    return engine, deal


def test_a_rate_change_needs_both_parties_and_holds_the_agreements_room_until_made() -> None:
    engine, deal = live()
    aid = deal.agreement_id
    first, agreed = engine.propose_change("b1", deal.deal_id, 20 * M, 0, 10)
    assert agreed is None and "b1 asks for capacity 20000 kbit/s per circuit; waiting for s1" in first.status_reason
    _, different = engine.propose_change("s1", deal.deal_id, 15 * M, 0, 11)  # replaces the proposal
    assert different is None and engine.proposals[deal.deal_id].by == "s1"
    _, agreed = engine.propose_change("b1", deal.deal_id, 15 * M, 0, 12)
    assert agreed is not None and agreed.capacity_kbps == 15 * M
    assert engine.agreement_use()[aid] == 30 * M  # 2 x 15 held from now
    with pytest.raises(FailedPrecondition, match="being changed"):
        engine.propose_change("s1", deal.deal_id, 5 * M, 0, 13)
    changed = engine.apply_change(deal.deal_id, agreed, "path s1 > s2", 14)
    assert (changed.capacity_kbps, changed.price, changed.rate_kbps) == (15 * M, 1500, 30 * M)
    assert (
        "changed as both parties agreed: capacity 10000 -> 15000 kbit/s per circuit, price 1500"
        in changed.status_reason
    )
    assert engine.agreement_use()[aid] == 30 * M
    assert deal.deal_id in engine.drain().updated_deals


def test_a_change_the_network_cannot_take_leaves_the_deal_and_the_agreement_as_they_were() -> None:
    engine, deal = live()
    engine.propose_change("s1", deal.deal_id, 40 * M, 0, 10)
    _, agreed = engine.propose_change("b1", deal.deal_id, 40 * M, 0, 11)
    assert agreed is not None and engine.agreement_use()[deal.agreement_id] == 80 * M
    engine.fail_change(deal.deal_id, "s1:p3 has 5000 kbit/s left", 12)
    kept = engine.deals[deal.deal_id]
    assert (kept.capacity_kbps, engine.agreement_use()[deal.agreement_id]) == (10 * M, 20 * M)
    assert "the agreed change was not made: s1:p3 has 5000 kbit/s left" in kept.status_reason


def test_changes_are_checked_against_the_agreement_and_the_parties() -> None:
    engine, deal = live(rate_room=50 * M)
    with pytest.raises(FailedPrecondition, match="room for 50000 kbit/s for this deal, 2 x 30000"):
        engine.propose_change("b1", deal.deal_id, 30 * M, 0, 10)
    with pytest.raises(NotFound):
        engine.propose_change("stranger", deal.deal_id, 20 * M, 0, 10)
    with pytest.raises(InvalidArgument, match="capacity_kbps"):
        engine.propose_change("b1", deal.deal_id, 0, 0, 10)  # nothing asked
    with pytest.raises(InvalidArgument, match="capacity_kbps"):
        engine.propose_change("b1", deal.deal_id, -5, 0, 10)
    with pytest.raises(FailedPrecondition, match="no service end to extend"):
        engine.propose_change("b1", deal.deal_id, 0, 100 * SECOND, 10)


def test_a_service_end_is_only_extended_and_the_old_end_no_longer_ends_the_deal() -> None:
    engine, deal = live(service_end=100 * SECOND)
    with pytest.raises(InvalidArgument, match="only extended"):
        engine.propose_change("b1", deal.deal_id, 0, 50 * SECOND, 10)
    engine.propose_change("b1", deal.deal_id, 0, 200 * SECOND, 10)
    _, agreed = engine.propose_change("s1", deal.deal_id, 0, 200 * SECOND, 11)
    assert agreed is not None
    engine.apply_change(deal.deal_id, agreed, "", 12)
    engine.advance(150 * SECOND)
    assert engine.deals[deal.deal_id].status is DealStatus.ACTIVE  # the old end passed: still live
    engine.advance(200 * SECOND)
    assert engine.deals[deal.deal_id].status is DealStatus.TERMINATING
