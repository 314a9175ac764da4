"""Service continuity in the engine (issue 13): what the provisioning layer tells the
exchange when it moved a live deal's path (a re-route around a failed link), recorded on
the deal with an event; seller swaps (marketplace.swap), protection
(marketplace.protection) and in-service changes (marketplace.amendments). A mixin of
ExchangeEngine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from marketplace.amendments import Amendments
from marketplace.deals import Deal, DealStatus
from marketplace.errors import FailedPrecondition
from marketplace.events import EventKind
from marketplace.protection import Protection
from marketplace.swap import Swaps

if TYPE_CHECKING:
    from marketplace.changes import Changes
    from marketplace.events import Subject


class Continuity(Swaps, Protection, Amendments):
    if TYPE_CHECKING:  # what it uses of ExchangeEngine
        deals: dict[int, Deal]
        _changes: Changes

        def _emit(self, now: int, kind: EventKind, subject: Subject) -> None: ...

    def _init_continuity(self) -> None:
        self._init_swaps()
        self._init_amendments()

    def note_deal(self, deal_id: int, reason: str, now: int) -> Deal:
        """A live deal's path changed (or could not be changed) in the network: the reason
        says how, with a DEAL_STATUS_CHANGED event; the status stays."""
        deal = self.deals.get(deal_id)
        if deal is None or deal.status is not DealStatus.ACTIVE:
            raise FailedPrecondition("deal_id", f"deal {deal_id} is not active")
        self._restate(deal, reason, now)
        return deal.snapshot()

    def _restate(self, deal: Deal, reason: str, now: int) -> None:
        """A deal's reason changes (its status does not), with an event."""
        deal.status_reason = reason[:2000]  # composed by the exchange; bounded all the same
        deal.updated_at = now
        if deal.deal_id not in self._changes.new_deals:
            self._changes.updated_deals[deal.deal_id] = deal
        self._emit(now, EventKind.DEAL_STATUS_CHANGED, deal)
