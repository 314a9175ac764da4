"""What deals hold in the fabric: committed rate per port and per link, VLANs per hand-off
port and per link. Deals are symmetric (their rate each way), so one committed figure per
port or link stands for both directions.

The matcher asks "can this be carried?" and holds what it finds for every deal it
strikes, so the state is shaped for that: one small `Use` object per port and per link,
which a path kept by the planner refers to directly (no lookups), and VLANs as bit masks
(bit v set: VLAN v taken), so that "the lowest free VLAN of a range", at one port or on
every link of a path, takes a few integer operations however many deals hold VLANs there."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from provisioning.inventory import Inventory

if TYPE_CHECKING:
    from provisioning.intent import Intent

FABRIC_VLANS = range(2, 4095)

Port = tuple[str, str]  # (node, port)


class Use:
    """What deals hold on one port or link."""

    __slots__ = ("load", "vlans")

    def __init__(self) -> None:
        self.load = 0  # kbit/s committed (each way)
        self.vlans = 0  # mask of the VLANs taken (hand-off ports and links; 0 holds it untagged)


class Holding(NamedTuple):
    """What one deal holds (a tuple: the matcher makes one per deal it strikes)."""

    rate_kbps: int
    ports: tuple[tuple[Use, int], ...]  # every port it passes, and how many times
    links: tuple[tuple[Use, bool], ...]  # each link, and whether it carries the fabric VLAN
    fabric_vlan: int  # on the tagged links (an access link is held whole, as VLAN 0)
    ends: tuple[Use, Use]  # the buyer's and the seller's hand-off port
    end_vlans: tuple[int, int]  # their VLANs (UNTAGGED (0) holds the port whole)


def first_free(taken: int, vlan_min: int, vlan_max: int) -> int | None:
    """The lowest VLAN of vlan_min..vlan_max whose bit is clear in `taken`; None if all
    are set. (Shifted down first, the mask is only as long as the VLANs taken above
    vlan_min, so this stays cheap for the usual few hundred.)"""
    above = taken >> vlan_min
    vlan = vlan_min + ((above + 1) & ~above).bit_length() - 1  # the lowest clear bit
    return vlan if vlan <= vlan_max else None


@dataclass(slots=True)
class FabricState:
    ports: dict[Port, Use] = field(default_factory=dict)
    links: dict[str, Use] = field(default_factory=dict)
    version: int = 0  # changes with every take and give-back (answers derived from it go stale)

    def port(self, port: Port) -> Use:
        found = self.ports.get(port)
        if found is None:
            found = self.ports[port] = Use()
        return found

    def link(self, key: str) -> Use:
        found = self.links.get(key)
        if found is None:
            found = self.links[key] = Use()
        return found

    def holding(self, intent: Intent) -> Holding:
        """What a compiled deal holds."""
        (buyer_end, buyer_vlan), (seller_end, seller_vlan) = intent.end_vlans()
        return Holding(
            intent.rate_kbps,
            tuple((self.port(port), times) for port, times in Counter(intent.ports()).items()),
            tuple((self.link(key), vlan != 0) for key, vlan in zip(intent.links, intent.link_vlans, strict=True))
            + tuple((self.link(key), True) for key in intent.backup_links),  # tagged links only
            intent.fabric_vlan,
            (self.port(buyer_end), self.port(seller_end)),
            (buyer_vlan, seller_vlan),
        )

    def beyond_buyer_end(self, intent: Intent) -> Holding:
        """What a deal holds apart from its buyer's hand-off (port share and VLAN): during a
        seller swap the old path keeps that while the new one takes the hand-off over."""
        whole = self.holding(intent)
        buyer_end = whole.ends[0]
        ports = tuple((use, times - (use is buyer_end)) for use, times in whole.ports)
        return whole._replace(ports=ports, ends=(Use(), whole.ends[1]))

    def hold(self, intent: Intent) -> None:
        self.take(self.holding(intent))

    def release(self, intent: Intent) -> None:
        self.give_back(self.holding(intent))

    def take(self, holding: Holding) -> None:
        self.version += 1
        rate = holding.rate_kbps
        for use, times in holding.ports:
            use.load += rate * times
        fabric = 1 << holding.fabric_vlan
        for use, tagged in holding.links:
            use.load += rate
            use.vlans |= fabric if tagged else 1
        buyer, seller = holding.ends
        buyer_vlan, seller_vlan = holding.end_vlans
        buyer.vlans |= 1 << buyer_vlan
        seller.vlans |= 1 << seller_vlan

    def give_back(self, holding: Holding) -> None:
        self.version += 1
        rate = holding.rate_kbps
        for use, times in holding.ports:
            use.load -= rate * times
        fabric = ~(1 << holding.fabric_vlan)
        for use, tagged in holding.links:
            use.load -= rate
            use.vlans &= fabric if tagged else ~1
        buyer, seller = holding.ends
        buyer_vlan, seller_vlan = holding.end_vlans
        buyer.vlans &= ~(1 << buyer_vlan)
        seller.vlans &= ~(1 << seller_vlan)

    def port_load(self, port: Port) -> int:
        found = self.ports.get(port)
        return found.load if found else 0

    def link_load(self, key: str) -> int:
        found = self.links.get(key)
        return found.load if found else 0

    def port_vlans(self, port: Port) -> int:
        found = self.ports.get(port)
        return found.vlans if found else 0

    def link_vlans(self, key: str) -> int:
        found = self.links.get(key)
        return found.vlans if found else 0

    def port_room(self, inventory: Inventory, node: str, port: str) -> int:
        """kbit/s still free (each way) on a port."""
        found = inventory.nodes[node].port(port)
        assert found is not None
        return found.capacity_kbps - self.port_load((node, port))

    def free_end_vlan(self, port: Port, vlan_min: int, vlan_max: int) -> int | None:
        """The lowest VLAN of vlan_min..vlan_max free at a hand-off."""
        return first_free(self.port_vlans(port), vlan_min, vlan_max)

    def free_fabric_vlan(self, keys: list[str]) -> int | None:
        """The lowest VLAN free on every one of the links."""
        taken = 0
        for key in keys:
            taken |= self.link_vlans(key)
        return first_free(taken, FABRIC_VLANS.start, FABRIC_VLANS.stop - 1)
