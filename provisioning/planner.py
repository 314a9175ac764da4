"""The provisioning layer's answer to "can this match be delivered?" (the matcher asks
before it strikes a deal): the intent compiler's own admission over the fabric as it is
held now, plus what deals just struck have reserved. The matcher asks for every candidate
it looks at, so the path found for a pair is kept and checked again by counting
(provisioning.path_plan); only when it no longer fits is a path searched for again."""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Callable, Mapping, Sequence

from marketplace.deals import Agreement, Deal, DealStatus
from marketplace.orders import Route, ServiceType
from provisioning.fabric_state import FabricState, Holding
from provisioning.intent import Intent, NotAdmitted, compile_intent
from provisioning.inventory import Inventory
from provisioning.path_plan import PathPlan

RECENT = 100  # provisioning times kept for the median a quote shows


class FabricPlanner:
    """Implements marketplace.deliverability.Deliverability over one fabric."""

    def __init__(
        self,
        inventory: Inventory,
        state: FabricState,
        unavailable: Callable[[], frozenset[str]],
        intent_of: Callable[[int], Intent | None] = lambda _deal_id: None,
        avoided: Callable[[], frozenset[str]] = frozenset,
    ) -> None:
        self.inventory = inventory
        self.state = state
        self.unavailable = unavailable  # switches not connected now
        self.intent_of = intent_of  # a live deal's path (seller swaps keep its buyer's hand-off)
        self.avoided = avoided  # links down or drained
        self.reserved: dict[int, Holding] = {}
        self.recent_ms: deque[float] = deque(maxlen=RECENT)
        # The last path found per (buyer, seller, agreement id): tried first by counting,
        # the full compile (a path search) only when it no longer fits.
        self._plans: dict[tuple[str, str, int], PathPlan] = {}
        # Why a full compile said no, per (buyer, seller, agreement id, rate), valid while
        # the fabric and the set of connected switches are what they were.
        self._refused: dict[tuple[str, str, int, int], str] = {}
        self._refused_as_of: tuple[int, frozenset[str]] = (-1, frozenset())  # (state version, switches + links out)
        # The last "deliverable" answer and what it was given: the matcher asks about a
        # candidate, then reserves it as it strikes the deal.
        self._answered: tuple[str, str, int, int, frozenset[str]] | None = None
        self._answer: tuple[Agreement, Holding] | None = None
        self._answered_from: Sequence[Agreement] = ()  # the very sequence asked about (the engine keeps one per pair)

    def check(
        self, buyer: str, seller: str, rate_kbps: int, agreements: Sequence[Agreement], use: Mapping[int, int]
    ) -> Agreement | str:
        found = self._find(buyer, seller, rate_kbps, agreements, use)
        return found if isinstance(found, str) else found[0]

    def check_swap(
        self, replaced: int, seller: str, agreements: Sequence[Agreement], use: Mapping[int, int]
    ) -> Agreement | str:
        """The full compile, with the replaced deal's buyer hand-off passed over as the
        swap will (rare: no caching)."""
        old = self.intent_of(replaced)
        if old is None:
            return f"deal {replaced} has no path in the network"
        entry = old.path[0]
        rest = self.state.beyond_buyer_end(old)
        self.state.release(old)
        self.state.take(rest)
        reasons = []
        try:
            for agreement in agreements:
                if agreement.max_rate_kbps - use.get(agreement.agreement_id, 0) < old.rate_kbps:
                    reasons.append(f"agreement {agreement.reference}: no room for {old.rate_kbps} kbit/s")
                    continue
                probe = _probe_deal(agreement.buyer, seller, old.rate_kbps)
                try:
                    compile_intent(
                        probe, agreement, self.inventory, self.state, self.unavailable(), self.avoided(),
                        buyer_end=(entry.node, entry.buyer_side_port, old.buyer_vlan),
                    )  # fmt: skip
                except NotAdmitted as err:
                    reasons.append(f"agreement {agreement.reference}: {err}")
                    continue
                return agreement
        finally:
            self.state.give_back(rest)
            self.state.hold(old)
        return "; ".join(reasons) or "no bilateral agreement"

    def reserve(self, deal: Deal, agreements: Sequence[Agreement], use: Mapping[int, int]) -> Agreement | None:
        """Holds what the check found (the same ports and links provisioning will compile a
        moment later, which is all a reservation needs)."""
        found = self._find(deal.buyer, deal.seller, deal.rate_kbps, agreements, use)
        if isinstance(found, str):
            return None  # checked a moment ago; provisioning will say why it no longer fits
        agreement, holding = found
        self.state.take(holding)
        self.reserved[deal.deal_id] = holding
        return agreement

    def _find(
        self, buyer: str, seller: str, rate: int, agreements: Sequence[Agreement], use: Mapping[int, int]
    ) -> tuple[Agreement, Holding] | str:
        """The first agreement that can carry `rate` now and what the deal would hold under
        it; or why none can."""
        down = self.unavailable()
        asked = (buyer, seller, rate, self.state.version, down | self.avoided())
        if asked == self._answered and agreements is self._answered_from and self._answer is not None:
            agreement = self._answer[0]
            if agreement.max_rate_kbps - use.get(agreement.agreement_id, 0) >= rate:
                return self._answer
        reasons = []
        for agreement in agreements:
            aid = agreement.agreement_id
            left = agreement.max_rate_kbps - use.get(aid, 0)
            if left < rate:
                reasons.append(f"agreement {agreement.reference}: {left} kbit/s left of {agreement.max_rate_kbps}")
                continue
            holding = self._allocate(buyer, seller, rate, agreement, down, reasons)
            if holding is not None:
                self._answered, self._answer, self._answered_from = asked, (agreement, holding), agreements
                return agreement, holding
        return "; ".join(reasons) or "no bilateral agreement"

    def _allocate(
        self, buyer: str, seller: str, rate: int, agreement: Agreement, down: frozenset[str], reasons: list[str]
    ) -> Holding | None:
        """What a deal would hold under `agreement` now: on the pair's last path when it
        still has room, else on a new path from the full compile; None with the reason
        added when the network cannot carry it."""
        avoided = self.avoided()
        plan = self._plans.get((buyer, seller, agreement.agreement_id))
        if plan is not None and not plan.link_keys & avoided:
            holding = plan.allocate(rate, down)
            if holding is not None:
                return holding
        as_of = (self.state.version, down | avoided)
        if self._refused_as_of != as_of:
            self._refused.clear()
            self._refused_as_of = as_of
        key = (buyer, seller, agreement.agreement_id, rate)
        refused = self._refused.get(key)
        if refused is None:
            try:
                probe = _probe_deal(buyer, seller, rate)
                intent = compile_intent(probe, agreement, self.inventory, self.state, down, avoided)
            except NotAdmitted as err:
                refused = self._refused[key] = f"agreement {agreement.reference}: {err}"
            else:
                plan = self._plans[(buyer, seller, agreement.agreement_id)] = PathPlan.of(
                    intent, agreement, buyer, seller, self.inventory, self.state
                )
                holding = plan.allocate(rate, down)
                if holding is not None:
                    return holding
                # Admitted by the compile, yet passing one port twice it needs twice the rate there.
                refused = self._refused[key] = f"agreement {agreement.reference}: no room on its path for {rate} kbit/s"
        reasons.append(refused)
        return None

    def release(self, deal_id: int) -> None:
        holding = self.reserved.pop(deal_id, None)
        if holding is not None:
            self.state.give_back(holding)

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
