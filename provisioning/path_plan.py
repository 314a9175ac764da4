"""A path the intent compiler found between two hand-offs, kept so that the matcher's next
question about the same buyer, seller and agreement is answered by counting (the rate
free on each port and link of the path, a VLAN free at each end and along the fabric)
and a deal struck on it is held by choosing VLANs, not by routing again.

A plan refers to the ports' and links' `Use` in one FabricState directly: it belongs to
that state. When `allocate` finds no room on this path, a full compile may find another."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from marketplace.deals import Agreement, Party
from provisioning.fabric_state import FABRIC_VLANS, FabricState, Holding, Use, first_free
from provisioning.intent import Intent, hand_off
from provisioning.inventory import UNTAGGED, Inventory


@dataclass(frozen=True, slots=True)
class HandOffEnd:
    use: Use  # the hand-off port's
    vlan_min: int  # UNTAGGED..UNTAGGED: the port carries one deal untagged
    vlan_max: int

    def free_vlan(self) -> int | None:
        """The lowest VLAN of the range free now; UNTAGGED for an untagged port nothing
        holds; None when there is none."""
        if self.vlan_min == UNTAGGED:
            return None if self.use.vlans else UNTAGGED
        return first_free(self.use.vlans, self.vlan_min, self.vlan_max)


@dataclass(frozen=True, slots=True)
class PathPlan:
    nodes: frozenset[str]
    ports: tuple[tuple[Use, int], ...]  # every port passed, and how many times (as held)
    port_capacity: tuple[tuple[Use, int, int], ...]  # (port, capacity, times)
    # (link, capacity, tagged) per link, buyer's end first; an untagged (access) link is
    # held whole by one deal, the tagged ones carry the deal's fabric VLAN.
    links: tuple[tuple[Use, int, bool], ...]
    held_links: tuple[tuple[Use, bool], ...]  # (link, tagged), as a Holding has them
    tagged: bool  # some link carries the fabric VLAN
    buyer: HandOffEnd
    seller: HandOffEnd
    ends: tuple[Use, Use]
    link_keys: frozenset[str] = frozenset()  # a plan over a link down or drained is not used

    @classmethod
    def of(
        cls, intent: Intent, agreement: Agreement, buyer: str, seller: str, inventory: Inventory, state: FabricState
    ) -> PathPlan:
        """The plan behind a compiled intent (its path, the agreement's VLAN ranges)."""
        passes = Counter(intent.ports())
        links = [inventory.links_by_key[key] for key in intent.links]
        buyer_end = _end(agreement, Party.BUYER, buyer, inventory, state)
        seller_end = _end(agreement, Party.SELLER, seller, inventory, state)
        return cls(
            frozenset(intent.nodes()),
            tuple((state.port(port), times) for port, times in passes.items()),
            tuple((state.port(port), _capacity(inventory, port), times) for port, times in passes.items()),
            tuple((state.link(link.key), link.capacity_kbps, not link.untagged) for link in links),
            tuple((state.link(link.key), not link.untagged) for link in links),
            any(not link.untagged for link in links),
            buyer_end,
            seller_end,
            (buyer_end.use, seller_end.use),
            frozenset(intent.links),
        )

    def allocate(self, rate: int, down: frozenset[str]) -> Holding | None:
        """What a deal of `rate` would hold on this path now (the rate free on every port
        and link, the lowest free VLANs), or None when the path cannot carry it. Valid
        until the state changes; `FabricState.take` it to hold it."""
        if down and not self.nodes.isdisjoint(down):
            return None
        for use, capacity, times in self.port_capacity:
            if capacity - use.load < rate * times:
                return None
        inside = 0
        for use, capacity, tagged in self.links:
            if capacity - use.load < rate:
                return None
            if use.vlans:
                if not tagged:
                    return None  # an access link already carrying a deal
                inside |= use.vlans
        fabric_vlan = first_free(inside, FABRIC_VLANS.start, FABRIC_VLANS.stop - 1) if self.tagged else 0
        buyer_vlan = self.buyer.free_vlan()
        seller_vlan = self.seller.free_vlan()
        if fabric_vlan is None or buyer_vlan is None or seller_vlan is None:
            return None
        return Holding(rate, self.ports, self.held_links, fabric_vlan, self.ends, (buyer_vlan, seller_vlan))


def _end(agreement: Agreement, party: Party, participant: str, inventory: Inventory, state: FabricState) -> HandOffEnd:
    ic = hand_off(agreement, party, participant, inventory)
    attachment = inventory.attachment(participant, ic.node, ic.port)
    assert attachment is not None  # hand_off found it
    use = state.port((ic.node, ic.port))
    if attachment.vlan_min == UNTAGGED:
        return HandOffEnd(use, UNTAGGED, UNTAGGED)
    return HandOffEnd(use, ic.vlan_min, ic.vlan_max)


def _capacity(inventory: Inventory, port: tuple[str, str]) -> int:
    found = inventory.nodes[port[0]].port(port[1])
    assert found is not None  # the intent came from this inventory
    return found.capacity_kbps
