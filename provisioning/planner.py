"""The provisioning layer's answer to "can this match be delivered?" (the matcher asks
before it strikes a deal): the intent compiler's own admission over the fabric as it is
held now, plus what deals just struck have reserved. Answers are cached until the fabric,
the agreements' use or the set of connected switches changes: the matcher asks for every
candidate it looks at."""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Callable, Mapping, Sequence

from marketplace.deals import Agreement, Deal, DealStatus
from marketplace.orders import Route, ServiceType
from provisioning.intent import FabricState, Intent, NotAdmitted, compile_intent, replan, still_fits
from provisioning.inventory import Inventory

RECENT = 100  # provisioning times kept for the median a quote shows


class FabricPlanner:
    """Implements marketplace.deliverability.Deliverability over one fabric."""

    def __init__(self, inventory: Inventory, state: FabricState, unavailable: Callable[[], frozenset[str]]) -> None:
        self.inventory = inventory
        self.state = state
        self.unavailable = unavailable  # switches not connected now
        self.reserved: dict[int, Intent] = {}
        self.recent_ms: deque[float] = deque(maxlen=RECENT)
        self._cache: dict[tuple[object, ...], Agreement | str] = {}
        self._cache_version = -1
        # The allocations behind this version's "deliverable" answers: a deal struck right
        # after its check is reserved over the same path, not routed a second time.
        self._checked: dict[tuple[str, str, int, int], Intent] = {}
        # The last allocation found per pair and agreement: its path is tried first (cheap),
        # the full compile (path search) only when it no longer fits.
        self._last: dict[tuple[str, str, int], Intent] = {}

    def check(
        self, buyer: str, seller: str, rate_kbps: int, agreements: Sequence[Agreement], use: Mapping[int, int]
    ) -> Agreement | str:
        if self._cache_version != self.state.version:
            self._cache.clear()
            self._checked.clear()
            self._cache_version = self.state.version
        down = self.unavailable()  # a switch leaving or coming back changes answers too
        uses = tuple((a.agreement_id, use.get(a.agreement_id, 0)) for a in agreements)
        key = (buyer, seller, rate_kbps, uses, down)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._check(buyer, seller, rate_kbps, agreements, use, down)
        return found

    def _check(
        self,
        buyer: str,
        seller: str,
        rate_kbps: int,
        agreements: Sequence[Agreement],
        use: Mapping[int, int],
        down: frozenset[str],
    ) -> Agreement | str:
        reasons = []
        probe = _probe_deal(buyer, seller, rate_kbps)
        for agreement in agreements:
            left = agreement.max_rate_kbps - use.get(agreement.agreement_id, 0)
            if left < rate_kbps:
                reasons.append(f"agreement {agreement.reference}: {left} kbit/s left of {agreement.max_rate_kbps}")
                continue
            earlier = self._last.get((buyer, seller, agreement.agreement_id))
            if earlier is not None and still_fits(earlier, agreement, rate_kbps, self.inventory, self.state, down):
                intent = earlier  # its path still carries it: the VLANs are chosen at reserve
            else:
                try:
                    intent = compile_intent(probe, agreement, self.inventory, self.state, down)
                except NotAdmitted as err:
                    reasons.append(f"agreement {agreement.reference}: {err}")
                    continue
                self._last[(buyer, seller, agreement.agreement_id)] = intent
            self._checked[(buyer, seller, rate_kbps, agreement.agreement_id)] = intent
            return agreement
        return "; ".join(reasons) or "no bilateral agreement"

    def reserve(self, deal: Deal, agreement: Agreement) -> None:
        """Holds what the check found (the same ports, VLANs and links provisioning will
        compile a moment later, which is all a reservation needs)."""
        key = (deal.buyer, deal.seller, deal.rate_kbps, agreement.agreement_id)
        down = self.unavailable()
        template = self._checked.get(key) if self._cache_version == self.state.version else None
        intent = replan(template, deal, agreement, self.inventory, self.state, down) if template else None
        if intent is None:
            try:
                intent = compile_intent(deal, agreement, self.inventory, self.state, down)
            except NotAdmitted:
                return  # checked a moment ago; if it no longer fits, provisioning will say why
        self.reserved[deal.deal_id] = intent
        self.state.hold(intent)

    def release(self, deal_id: int) -> None:
        intent = self.reserved.pop(deal_id, None)
        if intent is not None:
            self.state.release(intent)

    def took(self, seconds: float) -> None:
        """A deal went from BROKERED to ACTIVE in `seconds`."""
        self.recent_ms.append(seconds * 1000)

    def provisioning_p50_ms(self) -> int:
        return round(statistics.median(self.recent_ms)) if self.recent_ms else 0


def _probe_deal(buyer: str, seller: str, rate_kbps: int) -> Deal:
    """A stand-in deal of the rate asked: admission reads its parties and rate only."""
    return Deal(
        0,
        0,
        0,
        seller,
        buyer,
        ServiceType.ETHERNET_ELINE,
        Route("A", "Z"),
        rate_kbps,
        1,
        1,
        "",
        0,
        "",
        0,
        DealStatus.BROKERED,
        "",
        0,
        0,
    )
