"""Changes to a live deal without a new order (issue 13): its committed rate raised or
lowered, its service end extended. A mixin of ExchangeEngine.

Consent, written down (README "Changing a live deal"): a change is made when both parties
have asked for the same change (ChangeDeal by the buyer and by the seller, in either
order); the first one's proposal waits on the deal (its reason says what and for whom),
the last one to ask with different values replaces it. A rate change is admitted in the
network before it is made (the provisioning layer re-checks every port and link of the
path, moving it if it must, and modifies the meters in place); the agreement's rate must
have room. The price per circuit scales with the capacity (rounded up), as does a
protection charge. A service end can only move later. Proposals are kept in memory: a
restart forgets them (ask again)."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import TYPE_CHECKING

from marketplace import limits
from marketplace.deals import Deal, DealStatus
from marketplace.errors import FailedPrecondition, InvalidArgument, NotFound
from marketplace.orders import MAX_CAPACITY_KBPS
from marketplace.quotes import iso

if TYPE_CHECKING:
    from marketplace.deals import Agreement


@dataclass(frozen=True, slots=True)
class Change:
    """What one party asked for (0: that part unchanged)."""

    by: str
    capacity_kbps: int
    ends_at: int

    def terms(self) -> tuple[int, int]:
        return self.capacity_kbps, self.ends_at

    def described(self) -> str:
        parts = [f"capacity {self.capacity_kbps} kbit/s per circuit"] if self.capacity_kbps else []
        parts += [f"service end {iso(self.ends_at)}"] if self.ends_at else []
        return " and ".join(parts)


class Amendments:
    if TYPE_CHECKING:  # what it uses of ExchangeEngine
        deals: dict[int, Deal]
        agreements: dict[int, Agreement]
        _agreement_use: dict[int, int]
        _deal_ends: list[tuple[int, int]]

        def protection_fee(self, price: int) -> int: ...
        def _restate(self, deal: Deal, reason: str, now: int) -> None: ...

    def _init_amendments(self) -> None:
        self.proposals: dict[int, Change] = {}  # deal -> the change one party asked for
        self._rate_held: dict[int, int] = {}  # deal -> agreement rate held for an agreed change

    def propose_change(
        self, participant: str, deal_id: int, capacity_kbps: int, ends_at: int, now: int
    ) -> tuple[Deal, Change | None]:
        """One party asks for a change. Returns the deal and, when the other party had
        asked for the same, the agreed change (its agreement rate is held from now)."""
        deal = self.deals.get(deal_id)
        if deal is None or participant not in (deal.buyer, deal.seller):
            raise NotFound("deal_id", f"no live deal {deal_id} of yours")
        if deal.status is not DealStatus.ACTIVE or deal.replaced_by:
            raise FailedPrecondition("deal_id", f"deal {deal_id} is not live and settled (ACTIVE, not being moved)")
        if deal_id in self._rate_held:
            raise FailedPrecondition("deal_id", f"deal {deal_id} is being changed in the network; ask again after")
        change = Change(participant, self._checked_capacity(deal, capacity_kbps), self._checked_end(deal, ends_at, now))
        if not any(change.terms()):
            raise InvalidArgument("capacity_kbps", "give a new capacity_kbps or a later ends_at")
        waiting = self.proposals.get(deal_id)
        if waiting is None or waiting.by == participant or waiting.terms() != change.terms():
            self.proposals[deal_id] = change
            other = deal.seller if participant == deal.buyer else deal.buyer
            self._restate(deal, f"{participant} asks for {change.described()}; waiting for {other} to agree", now)
            return deal.snapshot(), None
        del self.proposals[deal_id]
        if change.capacity_kbps:
            held = (change.capacity_kbps - deal.capacity_kbps) * deal.circuits
            self._agreement_use[deal.agreement_id] += held
            self._rate_held[deal_id] = held
        return deal.snapshot(), change

    def apply_change(self, deal_id: int, change: Change, paths: str, now: int) -> Deal:
        """The change is in the network (or needs none): make it on the deal."""
        deal = self.deals.get(deal_id)
        if deal is None or deal.status is not DealStatus.ACTIVE:
            self.fail_change(deal_id, "the deal ended meanwhile", now)
            raise FailedPrecondition("deal_id", f"deal {deal_id} is not active")
        self._rate_held.pop(deal_id, None)
        done = []
        if change.capacity_kbps:
            old = deal.capacity_kbps
            deal.price = -(-deal.price * change.capacity_kbps // old)
            if deal.protection_price:
                deal.protection_price = self.protection_fee(deal.price)
            deal.capacity_kbps = change.capacity_kbps
            done.append(f"capacity {old} -> {change.capacity_kbps} kbit/s per circuit, price {deal.price}")
        if change.ends_at:
            deal.ends_at = change.ends_at
            heapq.heappush(self._deal_ends, (deal.ends_at, deal.deal_id))
            done.append(f"service end {iso(change.ends_at)}")
        self._restate(deal, f"changed as both parties agreed: {', '.join(done)}" + (f"; {paths}" if paths else ""), now)
        return deal.snapshot()

    def fail_change(self, deal_id: int, reason: str, now: int) -> None:
        """The network could not take an agreed change: nothing changes; the deal says why."""
        held = self._rate_held.pop(deal_id, 0)
        deal = self.deals.get(deal_id)
        if deal is not None:
            self._agreement_use[deal.agreement_id] -= held
            if deal.status is DealStatus.ACTIVE:
                self._restate(deal, f"the agreed change was not made: {reason}", now)

    def _checked_capacity(self, deal: Deal, capacity: int) -> int:
        if capacity == 0 or capacity == deal.capacity_kbps:
            return 0
        if not 1 <= capacity <= MAX_CAPACITY_KBPS:
            raise InvalidArgument("capacity_kbps", f"must be 1..{MAX_CAPACITY_KBPS} (0: unchanged)")
        agreement = self.agreements[deal.agreement_id]
        room = agreement.max_rate_kbps - self._agreement_use.get(agreement.agreement_id, 0) + deal.rate_kbps
        if capacity * deal.circuits > room:
            raise FailedPrecondition(
                "capacity_kbps",
                f"agreement {agreement.reference} has room for {room} kbit/s for this deal, "
                f"{deal.circuits} x {capacity} kbit/s asked",
            )
        return capacity

    def _checked_end(self, deal: Deal, ends_at: int, now: int) -> int:
        if ends_at == 0 or ends_at == deal.ends_at:
            return 0
        if not deal.ends_at:
            raise FailedPrecondition("ends_at", "the deal has no service end to extend (it runs until a party ends it)")
        if not now < ends_at <= limits.MAX_TIME_US or ends_at < deal.ends_at:
            raise InvalidArgument(
                "ends_at", "must be later than the deal's service end (a service end is only extended)"
            )
        return ends_at
