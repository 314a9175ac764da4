"""The one interface through which brokered deals reach the provisioning layer."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Protocol

from marketplace.deals import Deal

if TYPE_CHECKING:
    from marketplace.api.sequencer import Sequencer


class Provisioner(Protocol):
    """Receives each deal once it is BROKERED (matched and covered by an agreement) and
    again when it is TERMINATING, after the change is durable. Implementations report
    progress back through the exchange's deal status commands on the sequencer."""

    async def start(self, sequencer: Sequencer) -> None:
        """The exchange is up: resume deals that were in flight when it stopped."""

    async def stop(self) -> None: ...

    def deal_brokered(self, deal: Deal) -> None: ...

    def deal_ending(self, deal: Deal) -> None: ...


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

    def deal_brokered(self, deal: Deal) -> None:
        self.handed.append(deal.deal_id)

    def deal_ending(self, deal: Deal) -> None:
        return None
