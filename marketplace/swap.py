"""Seller swaps (issue 13, claim 64): the buyer's live service moved to another seller's
offer while it is in use. The exchange picks the replacement, brokers it as a new deal
under the buyer's agreement with the new seller (linked both ways with the deal it
replaces), and the provisioning layer moves the traffic make-before-break, keeping the
buyer's hand-off; then the old deal ends "swapped to deal N". A mixin of ExchangeEngine.

Selection, written down (README "Seller swaps"): offers of the same class scheme, service,
route and circuit size as the deal, of the class bought (or a better one, when the buyer
asks), with the deal's circuits still open (an all-or-none offer only when it is exactly
that size), from a seller other than the deal's two parties, at a price within the
buyer's limit (the deal's price unless the buyer gives one); best price first, then time
priority, as the book ranks them; the first whose seller has an agreement with the buyer
with room for the rate and a network path. The new deal is at the offer's price (the
resting order's, as every deal). The request's requirements are not re-checked: the class
is the contract.

Triggers: the buyer or an operator asks (SwapSeller); the seller ends the deal (a
seller's withdrawal moves the buyer rather than cutting it off, when a replacement
exists); the deal is DEGRADED below its class (IXCHANGE_SWAP_WHEN_DEGRADED); the seller's
hand-off port goes down (the provisioning layer asks). No replacement: the deal stays as
it is and an event says why (the deal's own, or for a degradation the QUALITY event, so
the deal's reason keeps naming its path)."""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from marketplace import limits
from marketplace.book import BookKey
from marketplace.deals import Deal, DealStatus
from marketplace.errors import FailedPrecondition, InvalidArgument, NotFound
from marketplace.events import EventKind
from marketplace.orders import MAX_PRICE, Order, OrderStatus, Side, TimeInForce

if TYPE_CHECKING:
    from marketplace.book import Book
    from marketplace.changes import Changes, Counters, Struck
    from marketplace.classing import ClassScheme
    from marketplace.deals import Agreement
    from marketplace.deliverability import Deliverability
    from marketplace.events import Subject


class Swaps:
    if TYPE_CHECKING:  # what it uses of ExchangeEngine
        deals: dict[int, Deal]
        orders: dict[int, Order]
        books: dict[BookKey, Book]
        schemes: dict[str, ClassScheme]
        scheme_versions: dict[tuple[str, int], ClassScheme]
        deliverability: Deliverability | None
        counters: Counters
        _changes: Changes
        _agreement_use: dict[int, int]
        _deal_ends: list[tuple[int, int]]

        def _emit(self, now: int, kind: EventKind, subject: Subject) -> None: ...
        def _touch(self, order: Order) -> None: ...
        def _forget(self, order: Order) -> None: ...
        def _drop_book(self, key: BookKey) -> None: ...
        def _end_deal(self, deal: Deal, why: str, now: int) -> None: ...
        def _set_deal_status(self, deal: Deal, status: DealStatus, reason: str, now: int) -> None: ...
        def _give_back(self, order: Order, circuits: int, now: int) -> Struck: ...
        def agreements_of(self, buyer: str, seller: str) -> tuple[Agreement, ...]: ...
        def protection_fee(self, price: int) -> int: ...
        def _restate(self, deal: Deal, reason: str, now: int) -> None: ...

    swap_when_degraded = True  # IXCHANGE_SWAP_WHEN_DEGRADED (the server sets it)

    def _init_swaps(self) -> None:
        self._swap_offers: dict[int, Order] = {}  # swap deal -> its offer, until it is live (a failure gives back)

    # ----- triggers -------------------------------------------------------------------

    def swap_seller(
        self, participant: str, deal_id: int, better: bool, max_price: int, reason: str, now: int, operator: bool
    ) -> Deal:
        """The buyer (or an operator) asks for another seller. Returns the new deal
        (BROKERED, moving in the network); FAILED_PRECONDITION saying why when there is no
        replacement, and the deal stays as it is."""
        deal = self.deals.get(deal_id)
        if deal is None or not (operator or participant == deal.buyer):
            raise NotFound("deal_id", f"no live deal {deal_id} of yours as buyer")
        if not 0 <= max_price <= MAX_PRICE:
            raise InvalidArgument("max_price", f"must be 0..{MAX_PRICE} (0: the deal's price)")
        limits.REASON.check("reason", reason)
        why = f"swap asked by {participant}" + (f": {reason}" if reason else "")
        found = self._swap(deal, better, max_price or deal.price, why, now)
        if isinstance(found, str):
            raise FailedPrecondition("deal_id", found)
        return found.snapshot()

    def swap_for_outage(self, deal_id: int, why: str, now: int) -> Deal | None:
        """The seller's hand-off failed (provisioning's command): move the buyer, or say
        on the deal why not. The new deal, or None."""
        deal = self.deals.get(deal_id)
        if deal is None or deal.status is not DealStatus.ACTIVE or deal.replaced_by:
            return None
        return self._swap_or_note(deal, why, now)

    def _withdraw_or_end(self, deal: Deal, participant: str, why: str, now: int) -> None:
        """A party ends a deal. When the seller ends a live one, the buyer is moved to
        another seller if one can take it (the old deal ends when the new one carries the
        traffic); otherwise, and for the buyer, it ends as asked. A deal being swapped
        ends together with its replacement."""
        if deal.status is DealStatus.TERMINATING:
            return  # a retry
        if participant == deal.seller and deal.status is DealStatus.ACTIVE and not deal.replaced_by:
            found = self._swap(deal, False, deal.price, f"{why}; moving the buyer to another seller", now)
            if not isinstance(found, str):
                return
            why = f"{why}; no other seller could take it over: {found}"
        new = self.deals.get(deal.replaced_by) if deal.replaced_by else None
        if new is not None and new.status is not DealStatus.TERMINATING:
            self._end_deal(new, f"{why} (on deal {deal.deal_id}, which it was replacing)", now)
        self._end_deal(deal, why, now)

    def _degraded(self, deal: Deal, reason: str, now: int) -> str:
        """The assurance rule found the deal below its class: what became of the swap,
        for its QUALITY event (the deal's own reason keeps its path when nothing moved)."""
        if not self.swap_when_degraded or deal.replaced_by:
            return ""
        found = self._swap(deal, False, deal.price, f"degraded ({reason})", now)
        return (
            f"; not moved to another seller: {found}" if isinstance(found, str) else f"; moving to deal {found.deal_id}"
        )

    def _swap_or_note(self, deal: Deal, why: str, now: int) -> Deal | None:
        found = self._swap(deal, False, deal.price, why, now)
        if isinstance(found, str):
            self._restate(deal, f"{why}: {found}; the deal stays with {deal.seller}", now)
            return None
        return found

    # ----- the swap -------------------------------------------------------------------

    def _swap(self, deal: Deal, better: bool, limit: int, why: str, now: int) -> Deal | str:
        """Broker the replacement for a live deal, or say why there is none."""
        if deal.status is not DealStatus.ACTIVE:
            return f"deal {deal.deal_id} is {deal.status.name}: only a live (ACTIVE) deal's seller can be swapped"
        if deal.replaced_by:
            return f"deal {deal.deal_id} is already being moved to deal {deal.replaced_by}"
        found = self._replacement(deal, better, limit)
        if isinstance(found, str):
            return found
        offer, agreement = found
        n = deal.circuits
        book = self.books[_key(offer)]
        book.remove(offer)  # filed again below with what is left, its priority kept
        offer.remaining -= n
        offer.status = OrderStatus.FILLED if offer.remaining == 0 else OrderStatus.PARTIALLY_FILLED
        offer.updated_at = now
        self._touch(offer)
        if offer.remaining:
            book.add(offer)
        elif not book:
            self._drop_book(book.key)
        self.counters.deal_id += 1
        protection = self.protection_fee(offer.price) if deal.protection_price else 0  # it stays protected
        new = Deal(
            self.counters.deal_id,
            offer.order_id,
            deal.request_order_id,
            offer.participant,
            deal.buyer,
            deal.service_type,
            deal.route,
            deal.capacity_kbps,
            n,
            offer.price,
            offer.class_scheme,
            offer.scheme_version,
            offer.grade,
            agreement.agreement_id,
            DealStatus.BROKERED,
            f"agreement {agreement.reference}; replaces deal {deal.deal_id} ({why})",
            now,
            now,
            deal.ends_at,
            replaces=deal.deal_id,
            protection_price=protection,
        )
        if new.ends_at:
            heapq.heappush(self._deal_ends, (new.ends_at, new.deal_id))
        self._agreement_use[agreement.agreement_id] += new.rate_kbps
        self.deals[new.deal_id] = new
        self._swap_offers[new.deal_id] = offer
        self._changes.new_deals[new.deal_id] = new
        self._changes.released_deals.append(new)
        self._emit(now, EventKind.DEAL_CREATED, new)
        self._emit(now, EventKind.ORDER_FILLED, offer)
        if offer.remaining == 0:
            self._forget(offer)
        deal.replaced_by = new.deal_id
        self._restate(deal, f"{why}: moving to deal {new.deal_id} ({new.seller}, {new.grade} at {new.price})", now)
        return new

    def _replacement(self, deal: Deal, better: bool, limit: int) -> tuple[Order, Agreement] | str:
        scheme = self.scheme_versions.get((deal.class_scheme, deal.scheme_version)) or self.schemes.get(
            deal.class_scheme
        )
        names = scheme.grade_names if scheme is not None else [deal.grade]
        bought = names.index(deal.grade) if deal.grade in names else len(names) - 1
        grades = names[: bought + 1] if better else [deal.grade]
        candidates: list[Order] = []
        for grade in grades:
            book = self.books.get(BookKey(deal.class_scheme, grade, deal.service_type, deal.route, deal.capacity_kbps))
            if book is None:
                continue
            for offer in book.side(Side.OFFER):  # best (lowest) price first
                if offer.price > limit:
                    break
                if offer.participant in (deal.seller, deal.buyer) or offer.remaining < deal.circuits:
                    continue
                if offer.time_in_force is TimeInForce.ALL_OR_NONE and offer.remaining != deal.circuits:
                    continue
                candidates.append(offer)
        if not candidates:
            classes = f"{deal.grade} or better" if better else deal.grade
            return (
                f"no offer of {classes} for {deal.circuits} x {deal.capacity_kbps} kbit/s on {deal.route.a_end}-"
                f"{deal.route.z_end} from another seller at {limit} or less"
            )
        candidates.sort(key=lambda o: (o.price, o.priority))
        reasons = []
        for offer in candidates:
            pair = self.agreements_of(deal.buyer, offer.participant)
            if not pair:
                reasons.append(f"{offer.participant}: no agreement with {deal.buyer}")
                continue
            use = self._agreement_use
            agreement = next((a for a in pair if use.get(a.agreement_id, 0) + deal.rate_kbps <= a.max_rate_kbps), None)
            if agreement is None:
                reasons.append(f"{offer.participant}: no agreement with {deal.rate_kbps} kbit/s left")
                continue
            if self.deliverability is not None:
                found = self.deliverability.check_swap(deal.deal_id, offer.participant, pair, self._agreement_use)
                if isinstance(found, str):
                    reasons.append(f"{offer.participant}: {found}")
                    continue
                agreement = found
            return offer, agreement
        return "no replacement can be delivered: " + "; ".join(reasons)

    # ----- the provisioning layer's answers ---------------------------------------------

    def finish_swap(self, deal_id: int, summary: str, now: int) -> Deal:
        """The new deal carries the buyer's traffic and the old path is gone: it is ACTIVE,
        the deal it replaces ends "swapped to deal N"."""
        new = self.deals.get(deal_id)
        if new is None or not new.replaces or new.status is not DealStatus.PROVISIONING:
            raise FailedPrecondition("deal_id", f"deal {deal_id} is not a swap being provisioned")
        self._swap_offers.pop(deal_id, None)
        self._set_deal_status(new, DealStatus.ACTIVE, summary, now)
        old = self.deals.get(new.replaces)
        if old is not None:
            if old.status is DealStatus.ACTIVE:
                self._set_deal_status(old, DealStatus.TERMINATING, f"swapped to deal {deal_id}", now)
            if old.status is DealStatus.TERMINATING:
                self._set_deal_status(old, DealStatus.TERMINATED, f"swapped to deal {deal_id} ({new.seller})", now)
        return new.snapshot()

    def fail_swap(self, deal_id: int, reason: str, now: int) -> None:
        """The move did not happen: the new deal is void (its circuits back to the offer),
        the old one carries on and says why."""
        new = self.deals.get(deal_id)
        if new is None or not new.replaces:
            raise FailedPrecondition("deal_id", f"deal {deal_id} is not a swap")
        if new.status in (DealStatus.BROKERED, DealStatus.PROVISIONING):
            self._set_deal_status(new, DealStatus.PROVISIONING_FAILED, f"{reason}; void, nothing charged", now)
            offer = self._swap_offers.pop(deal_id, None)
            if offer is not None:
                self._give_back(offer, new.circuits, now)
        old = self.deals.get(new.replaces)
        if old is not None and old.replaced_by == deal_id:
            old.replaced_by = 0
            if old.status is DealStatus.ACTIVE:
                stays = f"the move to deal {deal_id} failed ({reason}); the deal stays with {old.seller}"
                self._restate(old, stays, now)


def _key(order: Order) -> BookKey:
    return BookKey(order.class_scheme, order.grade, order.service_type, order.route, order.capacity_kbps)
