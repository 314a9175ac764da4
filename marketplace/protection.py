"""Protected deals in the engine (issue 13): the buyer adds (or removes) protection on a
live deal; the provisioning layer builds the backup path first, then the engine records
it with the protection charge. A mixin of ExchangeEngine.

The rule, written down (README "Protected deals"): a protected deal carries a protection
charge per circuit of IXCHANGE_PROTECTION_PERCENT (default 50 %) of its price, rounded up,
on top of the price: the exchange's charge for the capacity it keeps reserved on the
backup path (the agreement counts the deal's rate once: the backup carries the same
traffic, never both at once). The SLA is the class bought, measured on whichever path
carries the traffic; what protection buys is restoration by the switches themselves (a
link failure at either end of the path: tens of milliseconds) instead of the controller's
re-route (under a second). A deal running without its backup for a while (the fabric had
no disjoint path) stays protected and is re-protected when a link comes back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from marketplace.deals import Deal, DealStatus
from marketplace.errors import FailedPrecondition, NotFound


class Protection:
    if TYPE_CHECKING:  # what it uses of ExchangeEngine
        deals: dict[int, Deal]

        def _restate(self, deal: Deal, reason: str, now: int) -> None: ...

    protection_percent = 50  # IXCHANGE_PROTECTION_PERCENT (the server sets it)

    def protection_fee(self, price: int) -> int:
        return -(-price * self.protection_percent // 100)

    def check_protection(self, participant: str, deal_id: int, operator: bool) -> Deal:
        """May `participant` change this deal's protection? (Before the network is touched.)"""
        deal = self.deals.get(deal_id)
        if deal is None or not (operator or participant == deal.buyer):
            raise NotFound("deal_id", f"no live deal {deal_id} of yours as buyer")
        if deal.status is not DealStatus.ACTIVE:
            raise FailedPrecondition("deal_id", f"deal {deal_id} is {deal.status.name}: only a live deal is protected")
        if deal.replaced_by:
            raise FailedPrecondition("deal_id", f"deal {deal_id} is being moved to deal {deal.replaced_by}")
        return deal.snapshot()

    def set_protection(self, deal_id: int, protected: bool, paths: str, now: int) -> Deal:
        """The network did it: record the protection charge (or its end), with an event."""
        deal = self.deals.get(deal_id)
        if deal is None or deal.status is not DealStatus.ACTIVE:
            raise FailedPrecondition("deal_id", f"deal {deal_id} is not active")
        deal.protection_price = self.protection_fee(deal.price) if protected else 0
        charge = f"; protection {deal.protection_price} per circuit" if protected else "; protection removed"
        self._restate(deal, f"{paths}{charge}", now)
        return deal.snapshot()
