"""Protected deals (issue 13): a deal bought protected gets a second path, link-disjoint
from its primary, admitted at provisioning (its capacity reserved on every backup link
and port, like the primary's), and OpenFlow fast-failover groups at both ends of the
path. Each end's group sends the deal's traffic out of the primary's port while that port
is live, else out of the backup's: the switch itself fails over, in the time it takes to
see the port die (at once for loss of carrier; BFD's 3 missed intervals for a failure
that keeps carrier, on links that run it), with no controller round trip. When the
primary's port is live again the group goes back to it by itself.

The backup rides the deal's fabric VLAN (one VLAN free on every link of both paths), so
the ends tell the paths apart by port only. The buyer's entry switch forwards into the
group (metered as before); the seller's end switch likewise for the way back; each end
accepts the deal's traffic from either path. A failure the end switches cannot see (a
link in the middle of a longer primary) is handled by the controller as for an
unprotected deal (provisioning.restoration), which keeps the deal protected where the
fabric allows. Paths through router-type nodes and deals whose hand-offs share one switch
are not protected (NotAdmitted says so)."""

from __future__ import annotations

import dataclasses

from marketplace.deals import Deal
from provisioning.fabric_state import FabricState
from provisioning.intent import (
    Flow,
    Group,
    Intent,
    NotAdmitted,
    deal_group_ids,
    fabric_vlan_of,
    hops_along,
    node_changes,
    route,
    vlan_action,
)
from provisioning.inventory import Inventory, NodeKind


def with_backup(
    intent: Intent,
    deal: Deal,
    inventory: Inventory,
    state: FabricState,
    unavailable: frozenset[str] = frozenset(),
    down: frozenset[str] = frozenset(),
) -> Intent:
    """The compiled (not yet held) `intent` with a link-disjoint backup path and the
    fast-failover groups that use it. Raises NotAdmitted when it cannot be protected."""
    if intent.router_services:
        routers_on_it = ", ".join(s.node for s in intent.router_services)
        raise NotAdmitted(f"its path passes router-type node {routers_on_it}: not protected yet")
    if len(intent.path) < 2:
        raise NotAdmitted(f"both hand-offs are on switch {intent.path[0].node}: no fabric link to protect")
    entry, far = intent.path[0], intent.path[-1]
    routers = frozenset(n.name for n in inventory.nodes.values() if n.kind is not NodeKind.OPENFLOW)
    untagged = frozenset(link.key for link in inventory.links if link.untagged)
    try:
        nodes, links = route(
            inventory, state, entry.node, far.node, intent.rate_kbps, unavailable | routers,
            down | set(intent.links) | untagged,
        )  # fmt: skip
    except NotAdmitted:
        raise NotAdmitted(
            f"no backup path from {entry.node} to {far.node} sharing no link with the primary "
            f"({' > '.join(intent.nodes())}) with {intent.rate_kbps} kbit/s free"
        ) from None
    primary_links = [inventory.links_by_key[key] for key in intent.links]
    fabric_vlan = fabric_vlan_of([*primary_links, *links], state)
    link_vlans = tuple(fabric_vlan for _ in intent.links)
    cookie = intent.cookie
    flows, meters, _ = node_changes(
        deal.deal_id, cookie, inventory, intent.path, intent.buyer_vlan, intent.seller_vlan, link_vlans,
        intent.rate_kbps, intent.burst_kbits,
    )  # fmt: skip
    backup_path = hops_along(nodes, links, entry.buyer_side_port, far.seller_side_port)
    backup_flows, _, _ = node_changes(
        deal.deal_id, cookie, inventory, backup_path, intent.buyer_vlan, intent.seller_vlan,
        tuple(fabric_vlan for _ in links), intent.rate_kbps, intent.burst_kbits,
    )  # fmt: skip
    to_seller, to_buyer = deal_group_ids(deal.deal_id, intent.generation)
    port_no = {(node, p.name): p.number for node in (entry.node, far.node) for p in inventory.nodes[node].ports}
    groups = (
        Group(
            entry.node,
            to_seller,
            port_no[(entry.node, entry.seller_side_port)],
            vlan_action(intent.buyer_vlan, fabric_vlan),
            fabric_vlan,
            port_no[(entry.node, backup_path[0].seller_side_port)],
            vlan_action(intent.buyer_vlan, fabric_vlan),
            fabric_vlan,
        ),
        Group(
            far.node,
            to_buyer,
            port_no[(far.node, far.buyer_side_port)],
            vlan_action(intent.seller_vlan, fabric_vlan),
            fabric_vlan,
            port_no[(far.node, backup_path[-1].buyer_side_port)],
            vlan_action(intent.seller_vlan, fabric_vlan),
            fabric_vlan,
        ),
    )
    entry_in = (entry.node, port_no[(entry.node, entry.buyer_side_port)], intent.buyer_vlan)
    far_in = (far.node, port_no[(far.node, far.seller_side_port)], intent.seller_vlan)

    def into_group(f: Flow) -> Flow:
        where = (f.node, f.in_port, f.vlan)
        if where == entry_in:
            return dataclasses.replace(f, group_id=to_seller)
        if where == far_in:
            return dataclasses.replace(f, group_id=to_buyer)
        return f

    # The backup's own flows at the two ends' hand-offs are the groups' second buckets.
    extra = tuple(f for f in backup_flows if (f.node, f.in_port, f.vlan) not in (entry_in, far_in))
    return dataclasses.replace(
        intent,
        link_vlans=link_vlans,
        fabric_vlan=fabric_vlan,
        flows=tuple(into_group(f) for f in flows) + extra,
        meters=meters,
        backup_path=backup_path,
        backup_links=tuple(link.key for link in links),
        groups=groups,
    )
