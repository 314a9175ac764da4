"""The one interface through which brokered deals reach the provisioning layer."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from marketplace.deals import Deal
from marketplace.errors import FailedPrecondition
from marketplace.orders import Order

if TYPE_CHECKING:
    from marketplace.api.sequencer import Sequencer


@dataclass(frozen=True, slots=True)
class NodeStatus:
    name: str
    kind: str  # "openflow" or "router"
    connected: bool
    address: str  # datapath id, or NAPALM driver and host
    since_us: int = 0  # when `connected` last changed; 0: not since the start


@dataclass(frozen=True, slots=True)
class LinkStatus:
    name: str
    capacity_kbps: int
    load_kbps: int
    deals: int
    seen: bool  # LLDP sees it
    untagged: bool
    since_us: int = 0  # when `seen` last changed; 0: never


@dataclass(frozen=True, slots=True)
class FabricStatus:
    """What the provisioning layer can tell an operator about the network."""

    nodes: tuple[NodeStatus, ...]
    links: tuple[LinkStatus, ...]
    link_problems: tuple[str, ...] = field(default_factory=tuple)
    provisioned_deals: int = 0
    as_of_us: int = 0  # when this was read


class Provisioner(Protocol):
    """Receives each deal once it is BROKERED (matched and covered by an agreement) and
    again when it is TERMINATING, after the change is durable. Implementations report
    progress back through the exchange's deal status commands on the sequencer."""

    async def start(self, sequencer: Sequencer) -> None:
        """The exchange is up: resume deals that were in flight when it stopped."""

    async def stop(self) -> None: ...

    def standing_by(self, leader_generation: int) -> None:
        """High availability: this process is a standby under the leader of this generation."""

    def deal_brokered(self, deal: Deal) -> None: ...

    def deal_ending(self, deal: Deal) -> None: ...

    def offer_unverified(self, order: Order) -> None:
        """An offer waits for its seller's service to be measured (verification before listing)."""

    def fabric_status(self) -> FabricStatus | None:
        """The network as the controller sees it; None without one."""

    async def drain_link(self, link: str, drained: bool) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
        """Move every deal off a fabric link and keep new ones off (or undrain it):
        (deal, new path) moved, (deal, why) not."""
        ...

    async def protect_deal(self, deal_id: int, protected: bool) -> str:
        """Give a live deal a backup path with fast failover (or take it away); its paths in words."""
        ...

    async def change_rate(self, deal_id: int, rate_kbps: int) -> str:
        """Admit and install a live deal's new committed rate; its path in words."""
        ...


class HoldingProvisioner:
    """Leaves deals BROKERED: the exchange without a network attached (nothing to remove
    either, so terminated deals end at once). Keeps the most recent ids it was handed so
    tests can see the hand-off happened."""

    def __init__(self) -> None:
        self.handed: deque[int] = deque(maxlen=10_000)

    async def start(self, sequencer: Sequencer) -> None:
        return None

    async def stop(self) -> None:
        return None

    def standing_by(self, leader_generation: int) -> None:
        return None  # no network to stand by for

    def deal_brokered(self, deal: Deal) -> None:
        self.handed.append(deal.deal_id)

    def deal_ending(self, deal: Deal) -> None:
        return None

    def offer_unverified(self, order: Order) -> None:
        return None  # never: without a measurement point the engine verifies nothing

    def fabric_status(self) -> FabricStatus | None:
        return None

    async def drain_link(self, link: str, drained: bool) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
        raise FailedPrecondition("link", "the exchange runs without a network: no fabric topology loaded")

    async def protect_deal(self, deal_id: int, protected: bool) -> str:
        raise FailedPrecondition("deal_id", "the exchange runs without a network: no fabric topology loaded")

    async def change_rate(self, deal_id: int, rate_kbps: int) -> str:
        raise FailedPrecondition("capacity_kbps", "the exchange runs without a network: no fabric topology loaded")
