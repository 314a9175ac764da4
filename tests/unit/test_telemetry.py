"""Per-deal traffic from the switches' flow counters: each direction is counted where it
enters the fabric (the buyer's port at the first switch, the seller's at the last)."""

from __future__ import annotations

from pathlib import Path

from provisioning.intent import Hop, Intent, deal_cookie
from provisioning.inventory import load_inventory
from provisioning.openflow import FlowCount
from provisioning.telemetry import Traffic, fabric_drops_by_deal, ingress_ports, traffic_by_deal

LAB = load_inventory((Path(__file__).resolve().parents[2] / "topologies" / "lab.toml").read_text())


def intent(deal_id: int, path: tuple[Hop, ...]) -> Intent:
    return Intent(deal_id, path, (), (), 101, 201, 2, 10_000, 1_000, (), (), ())


def test_each_direction_is_counted_at_its_ingress_port_only() -> None:
    # buyer-a on s3:p1, through s3 > s1, seller-a on s1:p1 (the lab's fabric)
    deal = intent(7, (Hop("s3", "p1", "p2"), Hop("s1", "p3", "p1")))
    assert ingress_ports(deal, LAB) == ((3, 1), (1, 1))
    cookie = deal_cookie(7)
    counts = {
        3: [FlowCount(cookie, 1, 10, 1000), FlowCount(cookie, 2, 99, 9900)],  # in from the fabric: not counted
        1: [FlowCount(cookie, 1, 4, 400), FlowCount(cookie, 3, 77, 7700), FlowCount(deal_cookie(8), 1, 5, 5)],
    }
    assert traffic_by_deal([deal], LAB, counts) == {7: Traffic(to_seller=(10, 1000), to_buyer=(4, 400))}


def test_a_switch_that_has_not_answered_counts_nothing() -> None:
    deal = intent(7, (Hop("s3", "p1", "p2"), Hop("s1", "p3", "p1")))
    assert traffic_by_deal([deal], LAB, {}) == {7: Traffic()}


def test_a_path_of_routers_only_has_no_openflow_counters() -> None:
    deal = intent(9, (Hop("r1", "r1-eth0", "r1-eth1"),))
    assert ingress_ports(deal, LAB) is None and traffic_by_deal([deal], LAB, {}) == {}


def test_what_a_deal_lost_inside_the_fabric_each_way() -> None:
    """Entered at the first switch less arrived at the last (meter drops, link loss)."""
    deal = intent(7, (Hop("s3", "p1", "p2"), Hop("s1", "p3", "p1")))
    cookie = deal_cookie(7)
    counts = {
        3: [FlowCount(cookie, 1, 1000, 0), FlowCount(cookie, 2, 95, 0)],  # buyer's in; seller's arriving
        1: [FlowCount(cookie, 3, 990, 0), FlowCount(cookie, 1, 100, 0)],  # buyer's arriving; seller's in
    }
    assert fabric_drops_by_deal([deal], LAB, counts) == {7: (10, 5)}
    assert fabric_drops_by_deal([deal], LAB, {3: counts[3]}) == {}  # s1 has not answered
    one_switch = intent(8, (Hop("s3", "p1", "p4"),))
    assert fabric_drops_by_deal([one_switch], LAB, counts) == {}
