"""What the provisioning layer shows Prometheus: time to ACTIVE, failures, the fabric
(switches connected, LLDP), reconciliation changes, and each live deal's traffic and loss
inside the fabric per direction from the switches' own flow counters."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from provisioning.intent import Intent
from provisioning.inventory import Inventory, NodeKind
from provisioning.monitor import DealMonitor
from provisioning.openflow import FlowCount, OpenFlowDriver

# How often the switches are asked for their deal flows' counters.
TRAFFIC_POLL_S = 10.0


@dataclass(frozen=True, slots=True)
class Traffic:
    """Packets and bytes a deal carried, each way, where they entered the fabric."""

    to_seller: tuple[int, int] = (0, 0)  # (packets, bytes) in from the buyer's port
    to_buyer: tuple[int, int] = (0, 0)  # in from the seller's port


def ingress_ports(intent: Intent, inventory: Inventory) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """(datapath id, port) where the buyer's and the seller's traffic enter the OpenFlow
    part of the path; None for a path of router-type nodes only."""
    switches = [h for h in intent.path if inventory.nodes[h.node].kind is NodeKind.OPENFLOW]
    if not switches:
        return None
    first, last = inventory.nodes[switches[0].node], inventory.nodes[switches[-1].node]
    buyer_port, seller_port = first.port(switches[0].buyer_side_port), last.port(switches[-1].seller_side_port)
    if buyer_port is None or seller_port is None:
        return None
    return (first.datapath_id, buyer_port.number), (last.datapath_id, seller_port.number)


def traffic_by_deal(
    intents: Iterable[Intent], inventory: Inventory, counts: dict[int, list[FlowCount]]
) -> dict[int, Traffic]:
    """Each deal's traffic from the last counters of its ingress flows (absent switches
    count nothing until they answer)."""
    by_flow = {(dpid, c.cookie, c.in_port): (c.packets, c.bytes) for dpid, found in counts.items() for c in found}
    result = {}
    for intent in intents:
        ports = ingress_ports(intent, inventory)
        if ports is None:
            continue
        cookie = intent.cookie
        (buyer_dpid, buyer_port), (seller_dpid, seller_port) = ports
        result[intent.deal_id] = Traffic(
            by_flow.get((buyer_dpid, cookie, buyer_port), (0, 0)),
            by_flow.get((seller_dpid, cookie, seller_port), (0, 0)),
        )
    return result


def fabric_drops_by_deal(
    intents: Iterable[Intent], inventory: Inventory, counts: dict[int, list[FlowCount]]
) -> dict[int, tuple[int, int]]:
    """Packets each deal lost inside the fabric, (towards the seller, towards the buyer):
    what its flow counted where a direction entered the fabric less what its flow counted
    where that direction reached the last switch (meter drops at the entry, loss on the
    links between). Only for paths through two switches or more, and only once both ends
    answered; polled a moment apart, the figure can include packets in flight."""
    by_flow = {(dpid, c.cookie, c.in_port): c.packets for dpid, found in counts.items() for c in found}
    result = {}
    for intent in intents:
        switches = [h for h in intent.path if inventory.nodes[h.node].kind is NodeKind.OPENFLOW]
        if len(switches) < 2:
            continue
        first, last = inventory.nodes[switches[0].node], inventory.nodes[switches[-1].node]
        cookie = intent.cookie
        counted = []
        for node, port_name in (
            (first, switches[0].buyer_side_port),  # the buyer's traffic enters here
            (last, switches[-1].buyer_side_port),  # and reaches the last switch here
            (last, switches[-1].seller_side_port),  # the seller's enters here
            (first, switches[0].seller_side_port),  # and reaches the first switch here
        ):
            port = node.port(port_name)
            counted.append(by_flow.get((node.datapath_id, cookie, port.number)) if port else None)
        entered_b, reached_s, entered_s, reached_b = counted
        if entered_b is None or reached_s is None or entered_s is None or reached_b is None:
            continue  # a switch has not answered yet
        result[intent.deal_id] = (max(0, entered_b - reached_s), max(0, entered_s - reached_b))
    return result


class DealTrafficCollector(Collector):
    """ixchange_deal_traffic_{packets,bytes}_total{deal, direction} and
    ixchange_deal_fabric_dropped_packets{deal, direction}, read at scrape time."""

    def __init__(self, intents: dict[int, Intent], inventory: Inventory, openflow: OpenFlowDriver) -> None:
        self.intents = intents
        self.inventory = inventory
        self.openflow = openflow

    def collect(self) -> Iterator[Any]:
        labels = ["deal", "direction"]
        packets = CounterMetricFamily(
            "ixchange_deal_traffic_packets", "Packets a live deal carried, by direction", labels=labels
        )
        octets = CounterMetricFamily(
            "ixchange_deal_traffic_bytes", "Bytes a live deal carried, by direction", labels=labels
        )
        intents = list(self.intents.values())  # copied: the event loop changes the dict
        dropped = GaugeMetricFamily(
            "ixchange_deal_fabric_dropped_packets",
            "Packets a live deal lost between where a direction entered the fabric and its last switch",
            labels=labels,
        )
        counts = dict(self.openflow.traffic)
        for deal_id, traffic in sorted(traffic_by_deal(intents, self.inventory, counts).items()):
            for direction, (n, size) in (("to_seller", traffic.to_seller), ("to_buyer", traffic.to_buyer)):
                packets.add_metric([str(deal_id), direction], n)
                octets.add_metric([str(deal_id), direction], size)
        for deal_id, (to_seller, to_buyer) in sorted(fabric_drops_by_deal(intents, self.inventory, counts).items()):
            dropped.add_metric([str(deal_id), "to_seller"], to_seller)
            dropped.add_metric([str(deal_id), "to_buyer"], to_buyer)
        yield packets
        yield octets
        yield dropped


class DeliveredQualityCollector(Collector):
    """ixchange_deal_delivered_{latency_us,jitter_us,loss_ppm,availability_ppm}{deal}: each
    measured deal's last complete window (provisioning/monitor.py; latency is two-way); and
    ixchange_deal_probes_total / _answered_total{deal} over its life."""

    def __init__(self, monitor: DealMonitor) -> None:
        self.monitor = monitor

    def collect(self) -> Iterator[Any]:
        families = {
            name: GaugeMetricFamily(f"ixchange_deal_delivered_{name}", help_text, labels=["deal"])
            for name, help_text in (
                ("latency_us", "Two-way delay a live deal delivered (median of its last window), us"),
                ("jitter_us", "Mean change of that delay between consecutive probes, us"),
                ("loss_ppm", "Probes of the last window lost either way, ppm"),
                ("availability_ppm", "Share of the last window's intervals with a probe answered, ppm"),
            )
        }
        probes = CounterMetricFamily(
            "ixchange_deal_probes", "Measurement probes of a live deal in closed windows", labels=["deal"]
        )
        answered = CounterMetricFamily(
            "ixchange_deal_probes_answered", "Of those, answered (loss over any span: rate of the two)", labels=["deal"]
        )
        for deal_id, delivered in sorted(dict(self.monitor.delivered).items()):
            for name, value in delivered.values().items():
                families[name].add_metric([str(deal_id)], value)
        for deal_id, session in sorted(dict(self.monitor.sessions).items()):
            probes.add_metric([str(deal_id)], session.probes_total)
            answered.add_metric([str(deal_id)], session.answered_total)
        yield from families.values()
        yield probes
        yield answered


@dataclass(slots=True)
class ProvisioningMetrics:
    registry: Any
    to_active: Histogram = field(init=False)
    failed: Counter = field(init=False)
    mismatches: Gauge = field(init=False)
    links_seen: Gauge = field(init=False)

    def __post_init__(self) -> None:
        self.to_active = Histogram(
            "ixchange_provisioning_seconds",
            "From BROKERED to ACTIVE (path installed and probed)",
            registry=self.registry,
            buckets=(0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0),
        )
        self.failed = Counter(
            "ixchange_provisioning_failed", "Deals that went PROVISIONING_FAILED", registry=self.registry
        )
        self.mismatches = Gauge(
            "ixchange_fabric_link_mismatches", "Links where LLDP and the topology disagree", registry=self.registry
        )
        self.links_seen = Gauge(
            "ixchange_fabric_links_seen", "Switch-to-switch links LLDP sees", registry=self.registry
        )

    def watch(
        self,
        intents: dict[int, Intent],
        inventory: Inventory,
        openflow: OpenFlowDriver,
        monitor: DealMonitor | None = None,
    ) -> None:
        """Gauges read at scrape time: switches connected, reconciliation changes since
        start, the per-deal traffic counters and, when measured, delivered quality."""
        Gauge("ixchange_switches_connected", "OpenFlow switches connected", registry=self.registry).set_function(
            lambda: len(openflow.connected_switches())
        )
        Gauge(
            "ixchange_reconcile_installed",
            "Deal flows and meters (re)installed by reconciliations, since start",
            registry=self.registry,
        ).set_function(lambda: openflow.reconcile_installed)
        Gauge(
            "ixchange_reconcile_removed",
            "Stray deal flows and meters removed by reconciliations, since start",
            registry=self.registry,
        ).set_function(lambda: openflow.reconcile_removed)
        Gauge(
            "ixchange_switches_mastered",
            "Switches whose last role reply or status names this controller MASTER (high availability)",
            registry=self.registry,
        ).set_function(lambda: sum(role.name == "master" for role in list(openflow.roles.values())))
        self.registry.register(DealTrafficCollector(intents, inventory, openflow))
        if monitor is not None:
            self.registry.register(DeliveredQualityCollector(monitor))
