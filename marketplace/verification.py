"""Verification before listing (issue 12, claims 49, 55, 56): an offer that asserts
quality values is held UNVERIFIED, off the book, until the exchange has measured the
seller's service from the seller's attachment; then it is listed in the best grade the
measured values support, never above the one asserted, with the reclassification rule's
threshold as the tolerance (10 % of each bound's distance from the best value, at least
what the probes resolve), or refused (CANCELLED) naming the parameter that failed and the
value measured. Listed offers are measured again every IXCHANGE_REVERIFY_S and move class
when the values moved (no class at all: back to UNVERIFIED, off the book, until a later
measurement lists it again).

Time priority: an offer listed after verification keeps the priority of its entry (it
was entered then; the measurement is the exchange's delay, not the seller's). A class
change on re-verification follows the reclassification rule: down keeps priority, up
takes fresh priority.

Only with a measurement point (the provisioning layer turns `verifying` on), only offers
with asserted values of a measured service (E-Line, IP transit: voice parameters are not
STAMP measurements), and not for sellers an operator waived verification for: their
offers are listed at once and carry "unverified" (state WAIVED, and in class_reason).

A mixin of ExchangeEngine (through Assurance)."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from marketplace.changes import Outcome
from marketplace.delivered import Delivered
from marketplace.errors import FailedPrecondition
from marketplace.events import EventKind
from marketplace.orders import Order, OrderStatus, ServiceType, Side
from marketplace.reclassification import described, fits, limits_of, misses, with_score

if TYPE_CHECKING:
    from marketplace.assurance import AssuranceTerms
    from marketplace.book import Book, BookKey
    from marketplace.changes import Changes, Struck
    from marketplace.classing import ClassScheme, MedianTracker
    from marketplace.events import Subject
    from marketplace.parameters import Parameter

MEASURED_SERVICES = frozenset({ServiceType.ETHERNET_ELINE, ServiceType.IP_TRANSIT})


class VerificationState(IntEnum):
    """Values match ixchange.v1.Verification."""

    PENDING = 1  # held off the book until measured
    VERIFIED = 2  # listed in the grade measured
    WAIVED = 3  # listed unmeasured: an operator waived verification for the seller
    FAILED = 4  # measured, no class: refused
    SUSPENDED = 5  # a re-verification found no class: off the book again


@dataclass(frozen=True, slots=True)
class OfferCheck:
    """The last verification of one offer."""

    order_id: int
    seller: str
    state: VerificationState
    asserted_grade: str
    grade: str  # listed in ("" none)
    reason: str
    latency_us: int | None
    jitter_us: int | None
    loss_ppm: int | None
    availability_ppm: int | None
    probes: int
    updated_at: int


class Verification:
    if TYPE_CHECKING:  # what it uses of ExchangeEngine
        orders: dict[int, Order]
        books: dict[BookKey, Book]
        parameters: dict[str, Parameter]
        scheme_versions: dict[tuple[str, int], ClassScheme]
        assurance: AssuranceTerms
        delivered_medians: MedianTracker
        _changes: Changes
        _held: dict[str, int]
        _expiries: list[tuple[int, int]]

        def _go_live(self, order: Order, now: int, recommend: bool) -> Outcome: ...
        def _close(
            self, order: Order, status: OrderStatus, kind: EventKind, now: int, in_book: bool = True
        ) -> None: ...
        def _key(self, order: Order) -> BookKey: ...
        def _drop_book(self, key: BookKey) -> None: ...
        def _touch(self, order: Order) -> None: ...
        def _emit(self, now: int, kind: EventKind, subject: Subject) -> None: ...
        def _move_offer(self, order: Order, grade: str, promoted: bool, reason: str, now: int) -> Struck: ...

    def _init_verification(self) -> None:
        self.verifying = False  # a measurement point is attached and verification is on
        self.waived: set[str] = set()  # sellers an operator waived verification for
        self.offer_checks: dict[int, OfferCheck] = {}  # live offers' last verification

    def _list(self, order: Order, now: int, recommend: bool) -> Outcome:
        """A new offer with asserted values waits for verification; everything else goes live."""
        if not (
            self.verifying and order.side is Side.OFFER and order.values and order.service_type in MEASURED_SERVICES
        ):
            return self._go_live(order, now, recommend)
        if order.participant in self.waived:
            order.class_reason = f"unverified (verification waived for {order.participant}); {order.class_reason}"
            self._check(order, VerificationState.WAIVED, order.grade, "verification waived by an operator", now)
            return self._go_live(order, now, recommend)
        order.status = OrderStatus.UNVERIFIED
        order.class_reason = "held off the book until the exchange has measured the seller's service"
        self._check(order, VerificationState.PENDING, "", order.class_reason, now)
        self._emit(now, EventKind.ORDER_UNVERIFIED, order)
        self._changes.unverified.append(order)
        return Outcome(order, order.state())

    def unverified_offers(self) -> list[Order]:
        """Offers waiting for a measurement (after a restart, or suspended)."""
        return [o.snapshot() for o in self.orders.values() if o.status is OrderStatus.UNVERIFIED]

    def due_for_reverification(self, older_than: int) -> list[Order]:
        """Listed, verified offers last measured before `older_than`."""
        due = []
        for check in list(self.offer_checks.values()):
            order = self.orders.get(check.order_id)
            if order is None:  # closed meanwhile: its check stays in the store only
                del self.offer_checks[check.order_id]
            elif check.state is VerificationState.VERIFIED and check.updated_at < older_than:
                due.append(order.snapshot())
        return due

    def verify_offer(self, order_id: int, measured: Delivered, now: int) -> Order:
        """The measurement of an offer's service: list it, refuse it, or move it."""
        order = self.orders.get(order_id)
        if order is None or order.side is not Side.OFFER or order.status is OrderStatus.PENDING_APPROVAL:
            raise FailedPrecondition("order_id", f"order {order_id} is not a live offer")
        measured.check()
        check = self.offer_checks.get(order_id)
        asserted = check.asserted_grade if check is not None else order.grade
        scheme = self.scheme_versions[(order.class_scheme, order.scheme_version)]
        names = [g.name for g in scheme.grades]
        ceiling = names.index(asserted) if asserted in names else 0
        grades = limits_of(scheme, self.parameters, self.delivered_medians)
        values = with_score(measured.values(), scheme, self.parameters)
        policy = self.assurance.policy.at_resolution(measured.probes, measured.intervals)
        slack = policy.threshold_permille
        best = next((i for i in range(ceiling, len(grades)) if fits(grades[i], values, slack, policy)), None)
        shown = ", ".join(f"{k}={v}" for k, v in sorted(values.items()) if k != "score")
        if best is None:
            missed = described(misses(grades[-1], values, slack, policy), values)
            reason = f"verification failed: measured {shown}; not even {names[-1]}: {missed}"
            first = check is None or check.state is VerificationState.PENDING
            state = VerificationState.FAILED if first else VerificationState.SUSPENDED
            self._check(order, state, "", reason, now, measured, asserted)
            order.class_reason = reason
            self._changes.regraded.append(order)
            if first:
                self._close(order, OrderStatus.CANCELLED, EventKind.ORDER_VERIFICATION_FAILED, now)
            else:  # listed before: off the book until a later measurement lists it again
                self._suspend(order, now)
            return order.snapshot()
        grade = names[best]
        below = f" (asserted {asserted}: {described(misses(grades[ceiling], values, slack, policy), values)})"
        reason = f"verified: measured {shown} supports {grade}" + (below if best > ceiling else "")
        self._check(order, VerificationState.VERIFIED, grade, reason, now, measured, asserted)
        if order.status is OrderStatus.UNVERIFIED:
            order.grade, order.class_reason, order.updated_at = grade, reason, now
            order.status = OrderStatus.OPEN if order.remaining == order.circuits else OrderStatus.PARTIALLY_FILLED
            self._touch(order)
            self._changes.regraded.append(order)
            self._emit(now, EventKind.ORDER_VERIFIED, order)
            self._go_live(order, now, False)
        elif grade != order.grade:
            self._move_offer(order, grade, best < names.index(order.grade), reason, now)
        return order.snapshot()

    def verification_blocked(self, order_id: int, reason: str, now: int) -> None:
        """The offer cannot be measured now (no attachment with measurement terms, no
        answer from the seller's reflector): it stays UNVERIFIED and says why."""
        order = self.orders.get(order_id)
        if order is None or order.status is not OrderStatus.UNVERIFIED:
            raise FailedPrecondition("order_id", f"order {order_id} is not waiting for verification")
        text = f"cannot be verified yet: {reason}; an operator may waive verification for {order.participant}"
        if order.class_reason == text:
            return
        order.class_reason, order.updated_at = text, now
        self._touch(order)
        self._changes.regraded.append(order)
        self._emit(now, EventKind.ORDER_UNVERIFIED, order)

    def set_waiver(self, seller: str, waived: bool, now: int) -> list[int]:
        """Waive (or require again) verification for a seller. Waiving lists its offers that
        wait for a measurement at once, marked unverified; returns their ids."""
        if not waived:
            self.waived.discard(seller)
            return []
        self.waived.add(seller)
        listed = []
        for order in [o for o in self.orders.values() if o.participant == seller]:
            if order.status is OrderStatus.UNVERIFIED:
                order.status = OrderStatus.OPEN if order.remaining == order.circuits else OrderStatus.PARTIALLY_FILLED
                order.class_reason, order.updated_at = f"unverified (verification waived for {seller})", now
                self._check(order, VerificationState.WAIVED, order.grade, "verification waived by an operator", now)
                self._touch(order)
                self._changes.regraded.append(order)
                self._emit(now, EventKind.ORDER_VERIFIED, order)
                self._go_live(order, now, False)
                listed.append(order.order_id)
        return listed

    def _unbook(self, order: Order) -> None:
        """Take a listed order off its book (dropping the book when it empties)."""
        key = self._key(order)
        book = self.books.get(key)
        if book is not None:
            book.remove(order)
            if not book:
                self._drop_book(key)

    def _suspend(self, order: Order, now: int) -> None:
        if order.status is not OrderStatus.UNVERIFIED and order.valid_from <= now:
            self._unbook(order)
        order.status, order.updated_at = OrderStatus.UNVERIFIED, now
        self._touch(order)
        self._emit(now, EventKind.ORDER_UNVERIFIED, order)

    def _check(
        self,
        order: Order,
        state: VerificationState,
        grade: str,
        reason: str,
        now: int,
        measured: Delivered | None = None,
        asserted: str = "",
    ) -> None:
        values = measured.values() if measured is not None else {}
        check = self.offer_checks[order.order_id] = OfferCheck(
            order.order_id,
            order.participant,
            state,
            asserted or order.grade,
            grade,
            reason,
            values.get("latency_us"),
            values.get("jitter_us"),
            values.get("loss_ppm"),
            values.get("availability_ppm"),
            measured.probes if measured is not None else 0,
            now,
        )
        self._changes.checks[order.order_id] = check

    def restore_verification(self, waived: set[str], checks: list[OfferCheck], held: list[Order]) -> None:
        """Sellers waived, live offers' checks, and the offers held UNVERIFIED (not on a book)."""
        self.waived = set(waived)
        for order in held:
            self.orders[order.order_id] = order
            self._held[order.participant] = self._held.get(order.participant, 0) + 1
            if order.valid_until:
                heapq.heappush(self._expiries, (order.valid_until, order.order_id))
        for check in checks:
            if check.order_id in self.orders:
                self.offer_checks[check.order_id] = check
