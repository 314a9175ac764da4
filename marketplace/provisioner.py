"""The one interface through which brokered deals reach the provisioning layer."""

from __future__ import annotations

from collections import deque
from typing import Protocol

from marketplace.deals import Deal


class Provisioner(Protocol):
    """Receives each deal once it is BROKERED (matched and covered by an agreement),
    after the deal is durable. Implementations report progress back through the
    exchange's deal status commands."""

    def deal_brokered(self, deal: Deal) -> None: ...


class HoldingProvisioner:
    """Leaves deals BROKERED: the exchange without a network attached. Keeps the most
    recent ids it was handed so tests can see the hand-off happened."""

    def __init__(self) -> None:
        self.handed: deque[int] = deque(maxlen=10_000)

    def deal_brokered(self, deal: Deal) -> None:
        self.handed.append(deal.deal_id)
