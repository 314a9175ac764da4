"""Whether a match can be delivered before it is struck: the interface the matcher asks
(the provisioning layer answers it from its own view of the fabric; without a network
every match is deliverable)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from marketplace.deals import Agreement, Deal


class Deliverability(Protocol):
    def check(
        self, buyer: str, seller: str, rate_kbps: int, agreements: Sequence[Agreement], use: Mapping[int, int]
    ) -> Agreement | str:
        """The first of `agreements` (earliest first) with room for `rate_kbps` under
        `use` that the network can carry now (a free VLAN at both hand-offs, a path with
        the rate free on every port and link); or why none can."""
        ...

    def check_swap(
        self, replaced: int, seller: str, agreements: Sequence[Agreement], use: Mapping[int, int]
    ) -> Agreement | str:
        """As `check`, for a seller swap: the new seller's deal taking live deal
        `replaced`'s service over, keeping its buyer's hand-off (port, VLAN and share)."""
        ...

    def reserve(self, deal: Deal, agreements: Sequence[Agreement], use: Mapping[int, int]) -> Agreement | None:
        """Hold the network for a deal just struck, under the agreement `check` would
        answer, until provisioning takes it over, so the next match cannot promise the same
        capacity or VLAN; that agreement, or None when the network cannot carry it now."""
        ...

    def release(self, deal_id: int) -> None:
        """The deal ended, or provisioning took it over: drop its reservation."""
        ...

    def provisioning_p50_ms(self) -> int:
        """How long provisioning took lately (median, ms; 0 when nothing yet)."""
        ...


def delivery(
    checker: Deliverability | None,
    agreements: Sequence[Agreement],
    use: Mapping[int, int],
    buyer: str,
    seller: str,
    rate_kbps: int,
) -> Agreement | str | None:
    """What the matcher asks about a fill between `buyer` and `seller`: the agreement that
    can deliver it, why none can, or None when there is nothing to check (no network, or
    no agreement yet: the deal then waits for one, as before)."""
    if checker is None or not agreements:
        return None
    return checker.check(buyer, seller, rate_kbps, agreements, use)
