"""Deal + agreement + inventory -> interconnection intent -> per-node changes. Pure: no I/O.

The intent is a path through the fabric from the buyer's hand-off to the seller's, with
capacity admission (no link carries more than its capacity in either direction), the VLAN
handling at each end, and the committed rate and burst. Each node on the path gets its
share as data: OpenFlow flows and meters for switches, a service description for
router-type nodes (rendered per platform by the router drivers).

VLANs: each end uses the lowest free VLAN of the agreement's range on that port (or the
port untagged when its attachment is untagged). Inside the fabric the deal rides one
fabric VLAN, free on every link of its path, so two deals never share a tag on a link;
the edges swap (or push/pop, for untagged ends) between the end VLAN and the fabric VLAN.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from dataclasses import dataclass
from enum import StrEnum

import networkx as nx

from marketplace.deals import Agreement, Deal, Interconnect, Party
from provisioning.fabric_state import FabricState
from provisioning.inventory import UNTAGGED, Inventory, Link, NodeKind

COOKIE_TAG = 0x1F << 56  # high byte of every deal flow's cookie: tells ours from strangers'
GENERATION_SHIFT = 40  # cookie bits 40-55: the path's generation; 0-39: the deal id
DEAL_BITS = (1 << GENERATION_SHIFT) - 1
DEAL_COOKIE_MASK = COOKIE_TAG | DEAL_BITS  # matches every generation of one deal's flows
BURST_SECONDS = 0.25  # meter burst: 250 ms at the committed rate; TCP needs it (BENCHMARKS.md: goodput)


class NotAdmitted(Exception):
    """The deal cannot be provisioned as asked; the message says why (for PROVISIONING_FAILED)."""


def deal_cookie(deal_id: int, generation: int = 0) -> int:
    """A deal flow's cookie: the tag, the path's generation (a re-route installs the next
    one beside the old before the old is deleted by its exact cookie) and the deal id."""
    return COOKIE_TAG | (generation & 0xFFFF) << GENERATION_SHIFT | (deal_id & DEAL_BITS)


def deal_meter_ids(deal_id: int) -> tuple[int, int]:
    """The deal's meters on a switch: towards the seller, towards the buyer."""
    return 2 * deal_id - 1, 2 * deal_id


def deal_group_ids(deal_id: int, generation: int = 0) -> tuple[int, int]:
    """A protected deal's fast-failover groups (towards the seller at its entry switch,
    towards the buyer at the far end), in one of two banks by the path's generation: a
    re-route adds the new path's groups beside the old ones instead of changing groups the
    old path's flows still use."""
    bank = (generation & 1) << 31
    return tuple(bank + m for m in deal_meter_ids(deal_id))  # type: ignore[return-value]


def deal_of_cookie(cookie: int) -> int | None:
    """The deal id in one of our cookies; None for flows that are not deal flows."""
    return cookie & DEAL_BITS if cookie >> 56 == COOKIE_TAG >> 56 else None


class VlanAction(StrEnum):
    SWAP = "swap"  # tagged end: rewrite the VLAN id
    PUSH = "push"  # untagged end -> fabric: add the fabric tag
    POP = "pop"  # fabric -> untagged end: remove it


@dataclass(frozen=True, slots=True)
class Hop:
    """The deal's pass through one node: in from the buyer's side, out towards the seller."""

    node: str
    buyer_side_port: str
    seller_side_port: str


@dataclass(frozen=True, slots=True)
class Flow:
    """One OpenFlow rule: traffic in on `in_port` tagged `vlan` (0: untagged) goes out of
    `out_port` after `vlan_action` to `set_vlan`, metered by `meter_id` when set."""

    node: str
    cookie: int
    in_port: int
    vlan: int
    out_port: int
    vlan_action: VlanAction | None
    set_vlan: int
    meter_id: int = 0
    group_id: int = 0  # set: out through this fast-failover group instead (a protected deal's end)


@dataclass(frozen=True, slots=True)
class Group:
    """A fast-failover group at one end of a protected deal: out of `port` (after
    `action` to `vlan`) while that port is live, else out of `backup_port` likewise."""

    node: str
    group_id: int
    port: int
    action: VlanAction | None
    vlan: int
    backup_port: int
    backup_action: VlanAction | None
    backup_vlan: int


@dataclass(frozen=True, slots=True)
class Meter:
    node: str
    meter_id: int
    rate_kbps: int
    burst_kbits: int


@dataclass(frozen=True, slots=True)
class RouterService:
    """What a router-type node does for a deal: bridge two VLAN subinterfaces and hold
    the committed rate on both. Drivers render it per platform."""

    node: str
    deal_id: int
    buyer_side_port: str
    buyer_side_vlan: int
    seller_side_port: str
    seller_side_vlan: int
    rate_kbps: int
    burst_kbits: int


@dataclass(frozen=True, slots=True)
class Intent:
    deal_id: int
    path: tuple[Hop, ...]
    links: tuple[str, ...]  # keys of the fabric links used, buyer's end first
    link_vlans: tuple[int, ...]  # the tag on each of them: fabric_vlan, or 0 on access links
    buyer_vlan: int
    seller_vlan: int
    fabric_vlan: int  # 0 when the path is one node or all access links
    rate_kbps: int
    burst_kbits: int
    flows: tuple[Flow, ...]
    meters: tuple[Meter, ...]
    router_services: tuple[RouterService, ...]
    generation: int = 0  # of the path: its flows' cookies carry it
    # A protected deal (provisioning.protection): its link-disjoint backup path (same ends,
    # same fabric VLAN) and the fast-failover groups at both ends that choose between them.
    backup_path: tuple[Hop, ...] = ()
    backup_links: tuple[str, ...] = ()
    groups: tuple[Group, ...] = ()

    @property
    def cookie(self) -> int:
        return deal_cookie(self.deal_id, self.generation)

    def nodes(self) -> list[str]:
        return [h.node for h in self.path]

    def side_vlans(self, index: int) -> tuple[int, int]:
        """The tag on the buyer's and on the seller's side of path[index]."""
        buyer_side = self.buyer_vlan if index == 0 else self.link_vlans[index - 1]
        seller_side = self.seller_vlan if index == len(self.path) - 1 else self.link_vlans[index]
        return buyer_side, seller_side

    def ports(self) -> tuple[tuple[str, str], ...]:
        """Every (node, port) the deal passes: both hand-offs and both ends of each link
        (of the backup path's links too: their capacity is reserved)."""
        primary = tuple(
            port for hop in self.path for port in ((hop.node, hop.buyer_side_port), (hop.node, hop.seller_side_port))
        )
        last = len(self.backup_path) - 1
        backup = tuple(
            (hop.node, port)
            for i, hop in enumerate(self.backup_path)
            for side, port in ((0, hop.buyer_side_port), (1, hop.seller_side_port))
            if not (i == 0 and side == 0) and not (i == last and side == 1)  # the hand-offs: counted once
        )
        return primary + backup

    def setup_on(self, node: str) -> tuple[Meter | Group, ...]:
        """The meters and groups one switch needs before the deal's flows there."""
        return (*(m for m in self.meters if m.node == node), *(g for g in self.groups if g.node == node))

    def all_links(self) -> tuple[str, ...]:
        return self.links + self.backup_links

    def hops(self) -> tuple[Hop, ...]:
        """The path, then the backup path's nodes that are not on it (every node changed)."""
        on_path = set(self.nodes())
        return self.path + tuple(h for h in self.backup_path if h.node not in on_path)

    def end_vlans(self) -> tuple[tuple[tuple[str, str], int], ...]:
        """((node, port), VLAN) at the buyer's and at the seller's hand-off."""
        first, last = self.path[0], self.path[-1]
        buyer_end = (first.node, first.buyer_side_port)
        return (buyer_end, self.buyer_vlan), ((last.node, last.seller_side_port), self.seller_vlan)


def intent_to_json(intent: Intent) -> str:
    return json.dumps(dataclasses.asdict(intent), separators=(",", ":"))


def intent_from_json(text: str) -> Intent:
    raw = json.loads(text)
    return Intent(
        raw["deal_id"],
        tuple(Hop(**h) for h in raw["path"]),
        tuple(raw["links"]),
        tuple(raw["link_vlans"]),
        raw["buyer_vlan"],
        raw["seller_vlan"],
        raw["fabric_vlan"],
        raw["rate_kbps"],
        raw["burst_kbits"],
        tuple(
            Flow(**{**f, "vlan_action": VlanAction(f["vlan_action"]) if f["vlan_action"] else None})
            for f in raw["flows"]
        ),
        tuple(Meter(**m) for m in raw["meters"]),
        tuple(RouterService(**r) for r in raw["router_services"]),
        raw.get("generation", 0),
        tuple(Hop(**h) for h in raw.get("backup_path", ())),
        tuple(raw.get("backup_links", ())),
        tuple(
            Group(
                **{
                    **g,
                    "action": VlanAction(g["action"]) if g["action"] else None,
                    "backup_action": VlanAction(g["backup_action"]) if g["backup_action"] else None,
                }
            )
            for g in raw.get("groups", ())
        ),
    )


def hand_off(agreement: Agreement, party: Party, participant: str, inventory: Inventory) -> Interconnect:
    """The agreement's interconnect for one party that the inventory knows as that
    participant's attachment, with a VLAN range inside the attachment's."""
    reasons = []
    for ic in agreement.interconnects:
        if ic.party is not party:
            continue
        att = inventory.attachment(participant, ic.node, ic.port)
        if att is None:
            reasons.append(f"{ic.node}:{ic.port} is not an attachment of {participant}")
        elif att.vlan_min != UNTAGGED and not att.vlan_min <= ic.vlan_min <= ic.vlan_max <= att.vlan_max:
            where = f"{ic.node}:{ic.port}"
            reasons.append(f"VLANs {ic.vlan_min}-{ic.vlan_max} at {where} exceed {att.vlan_min}-{att.vlan_max}")
        else:
            return ic
    detail = "; ".join(reasons) or "none listed"
    raise NotAdmitted(f"agreement {agreement.reference}: no usable {party.name.lower()} interconnect ({detail})")


def kept_hand_off(
    agreement: Agreement, participant: str, end: tuple[str, str, int], inventory: Inventory
) -> Interconnect:
    """The agreement's buyer interconnect that contains the hand-off a swap keeps."""
    node, port, vlan = end
    att = inventory.attachment(participant, node, port)
    untagged = att is not None and att.vlan_min == UNTAGGED
    for ic in agreement.interconnects if att is not None else ():
        here = ic.party is Party.BUYER and (ic.node, ic.port) == (node, port)
        if here and (untagged or ic.vlan_min <= vlan <= ic.vlan_max):
            return ic
    where = f"{node}:{port} VLAN {vlan or 'untagged'}"
    raise NotAdmitted(f"agreement {agreement.reference}: the buyer's hand-off {where} is not one of its interconnects")


def compile_intent(
    deal: Deal,
    agreement: Agreement,
    inventory: Inventory,
    state: FabricState,
    unavailable: frozenset[str] = frozenset(),
    down: frozenset[str] = frozenset(),
    replacing: Intent | None = None,
    buyer_end: tuple[str, str, int] | None = None,
) -> Intent:
    """The interconnection for `deal`, admitted against what `state` already holds, routed
    around `unavailable` nodes (switches that are not connected) and `down` links where the
    fabric allows. `replacing`: a live deal's path being re-routed (not held in `state`
    meanwhile): the hand-off VLANs stay, the generation is the next one. `buyer_end`
    (node, port, VLAN): a seller swap, the buyer keeps the hand-off of the deal replaced
    (not held in `state` meanwhile). Raises NotAdmitted with the reason when it cannot be
    provisioned."""
    rate = deal.rate_kbps
    burst = max(1, int(rate * BURST_SECONDS))
    if buyer_end is not None:
        buyer_ic = kept_hand_off(agreement, deal.buyer, buyer_end, inventory)
    else:
        buyer_ic = hand_off(agreement, Party.BUYER, deal.buyer, inventory)
    seller_ic = hand_off(agreement, Party.SELLER, deal.seller, inventory)
    if replacing is not None:  # the buyer and the seller keep their hand-off VLANs
        buyer_vlan, seller_vlan = replacing.buyer_vlan, replacing.seller_vlan
    elif buyer_end is not None:
        buyer_vlan = buyer_end[2]
        seller_vlan = _end_vlan(seller_ic, inventory, state, deal.seller)
    else:
        buyer_vlan = _end_vlan(buyer_ic, inventory, state, deal.buyer)
        seller_vlan = _end_vlan(seller_ic, inventory, state, deal.seller)
    generation = replacing.generation + 1 if replacing is not None else 0
    for ic in (buyer_ic, seller_ic):
        port = inventory.nodes[ic.node].port(ic.port)
        assert port is not None  # hand_off found the attachment, so the port exists
        if port.capacity_kbps < rate:
            raise NotAdmitted(f"{ic.node}:{ic.port} carries {port.capacity_kbps} kbit/s, the deal needs {rate}")
        room = state.port_room(inventory, ic.node, ic.port)
        if room < rate:
            raise NotAdmitted(
                f"{ic.node}:{ic.port} has {room} kbit/s left of {port.capacity_kbps} (committed to other deals), "
                f"the deal needs {rate}"
            )
    nodes, links = route(inventory, state, buyer_ic.node, seller_ic.node, rate, unavailable, down)
    tagged = [link for link in links if not link.untagged]
    fabric_vlan = fabric_vlan_of(tagged, state) if tagged else 0
    link_vlans = tuple(0 if link.untagged else fabric_vlan for link in links)
    path = hops_along(nodes, links, buyer_ic.port, seller_ic.port)
    cookie = deal_cookie(deal.deal_id, generation)
    flows, meters, services = node_changes(
        deal.deal_id, cookie, inventory, path, buyer_vlan, seller_vlan, link_vlans, rate, burst
    )
    return Intent(
        deal.deal_id,
        path,
        tuple(link.key for link in links),
        link_vlans,
        buyer_vlan,
        seller_vlan,
        fabric_vlan,
        rate,
        burst,
        flows,
        meters,
        services,
        generation,
    )


def _end_vlan(ic: Interconnect, inventory: Inventory, state: FabricState, participant: str) -> int:
    att = inventory.attachment(participant, ic.node, ic.port)
    assert att is not None
    if att.vlan_min == UNTAGGED:
        if state.port_vlans((ic.node, ic.port)):
            raise NotAdmitted(f"untagged port {ic.node}:{ic.port} already carries a deal")
        return UNTAGGED
    vlan = state.free_end_vlan((ic.node, ic.port), ic.vlan_min, ic.vlan_max)
    if vlan is None:
        raise NotAdmitted(f"no free VLAN in {ic.vlan_min}-{ic.vlan_max} at {ic.node}:{ic.port}")
    return vlan


def route(
    inventory: Inventory,
    state: FabricState,
    source: str,
    target: str,
    rate: int,
    unavailable: frozenset[str],
    down: frozenset[str] = frozenset(),
) -> tuple[list[str], list[Link]]:
    """Fewest hops over links with `rate` to spare; among parallel links, the one with
    the most room; never through an unavailable node (the ends are what the agreement
    names, so they stay). Raises NotAdmitted when no such path exists."""
    if source == target:
        return [source], []
    avoid = unavailable - {source, target}
    graph: nx.Graph[str] = nx.Graph()
    graph.add_nodes_from(inventory.nodes)
    for link in inventory.links:
        room = min(
            link.capacity_kbps - state.link_load(link.key),
            state.port_room(inventory, link.a_node, link.a_port),
            state.port_room(inventory, link.z_node, link.z_port),
        )
        if room < rate or link.a_node in avoid or link.z_node in avoid or link.key in down:
            continue
        if link.untagged and state.link_vlans(link.key):
            continue  # an access link already carrying a deal
        current = graph.get_edge_data(link.a_node, link.z_node)
        if current is None or current["room"] < room:
            graph.add_edge(link.a_node, link.z_node, link=link, room=room)
    try:
        nodes: list[str] = nx.shortest_path(graph, source, target)
    except nx.NetworkXNoPath:
        raise NotAdmitted(f"no path from {source} to {target} with {rate} kbit/s free on every link and port") from None
    links = [graph.edges[a, z]["link"] for a, z in itertools.pairwise(nodes)]
    return nodes, links


def fabric_vlan_of(links: list[Link], state: FabricState) -> int:
    vlan = state.free_fabric_vlan([link.key for link in links])
    if vlan is None:
        raise NotAdmitted("no fabric VLAN is free on every link of the path")
    return vlan


def hops_along(nodes: list[str], links: list[Link], buyer_port: str, seller_port: str) -> tuple[Hop, ...]:
    hops = []
    for i, node in enumerate(nodes):
        into = buyer_port if i == 0 else _port_on(links[i - 1], node)
        out = seller_port if i == len(nodes) - 1 else _port_on(links[i], node)
        hops.append(Hop(node, into, out))
    return tuple(hops)


def _port_on(link: Link, node: str) -> str:
    return link.a_port if link.a_node == node else link.z_port


def node_changes(
    deal_id: int,
    cookie: int,
    inventory: Inventory,
    path: tuple[Hop, ...],
    buyer_vlan: int,
    seller_vlan: int,
    link_vlans: tuple[int, ...],
    rate: int,
    burst: int,
) -> tuple[tuple[Flow, ...], tuple[Meter, ...], tuple[RouterService, ...]]:
    """Per node: both directions. Traffic is metered where it enters the fabric: the
    buyer's direction at the buyer's edge, the seller's at the seller's."""
    to_seller_meter, to_buyer_meter = deal_meter_ids(deal_id)
    flows: list[Flow] = []
    meters: list[Meter] = []
    services: list[RouterService] = []
    last = len(path) - 1
    for i, hop in enumerate(path):
        node = inventory.nodes[hop.node]
        # The tag on each side of this node: the end VLAN at an edge, the link's inside.
        buyer_side_vlan = buyer_vlan if i == 0 else link_vlans[i - 1]
        seller_side_vlan = seller_vlan if i == last else link_vlans[i]
        if node.kind is NodeKind.ROUTER:
            services.append(
                RouterService(
                    hop.node,
                    deal_id,
                    hop.buyer_side_port,
                    buyer_side_vlan,
                    hop.seller_side_port,
                    seller_side_vlan,
                    rate,
                    burst,
                )
            )
            continue
        ports = {p.name: p.number for p in node.ports}
        to_seller = to_seller_meter if i == 0 else 0
        to_buyer = to_buyer_meter if i == last else 0
        for meter_id in (to_seller, to_buyer):
            if meter_id:
                meters.append(Meter(hop.node, meter_id, rate, burst))
        flows.append(
            Flow(
                hop.node,
                cookie,
                ports[hop.buyer_side_port],
                buyer_side_vlan,
                ports[hop.seller_side_port],
                vlan_action(buyer_side_vlan, seller_side_vlan),
                seller_side_vlan,
                to_seller,
            )
        )
        flows.append(
            Flow(
                hop.node,
                cookie,
                ports[hop.seller_side_port],
                seller_side_vlan,
                ports[hop.buyer_side_port],
                vlan_action(seller_side_vlan, buyer_side_vlan),
                buyer_side_vlan,
                to_buyer,
            )
        )
    return tuple(flows), tuple(meters), tuple(services)


def vlan_action(vlan_in: int, vlan_out: int) -> VlanAction | None:
    if vlan_in == vlan_out:
        return None
    if vlan_in == UNTAGGED:
        return VlanAction.PUSH
    if vlan_out == UNTAGGED:
        return VlanAction.POP
    return VlanAction.SWAP
