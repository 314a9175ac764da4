"""The matching engine: classes orders, keeps the books, matches inside one class in
price-time priority and brokers each match into a deal under a bilateral agreement.

Pure and deterministic: every command takes the time as an argument and the same
sequence of commands yields the same orders, deals and events. The engine keeps what
changed since the last `drain()` so the store can persist a batch atomically.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field

from marketplace.book import Book, BookKey
from marketplace.classing import (
    Classification,
    ClassScheme,
    CompiledScheme,
    MedianTracker,
    check_chosen_grade,
    classify,
    compile_scheme,
    effective_bound,
    grade_of,
    median_parameters,
    validate_scheme,
)
from marketplace.deals import (
    CAPACITY_HOLDING,
    FINAL,
    TRANSITIONS,
    Agreement,
    Deal,
    DealStatus,
    validate_agreement,
)
from marketplace.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from marketplace.events import Event, EventKind
from marketplace.orders import (
    MAX_CIRCUITS,
    MAX_PRICE,
    ClassAssignment,
    Order,
    OrderInput,
    OrderStatus,
    ServiceType,
    Side,
    check_order_input,
)
from marketplace.parameters import Parameter, validate_parameter


@dataclass(slots=True)
class Outcome:
    """What one command did: the order it was about and the deals it struck. It holds the
    live objects with their state at the end of the command; `order` and `deals` build the
    snapshots only when a reply needs them."""

    subject: Order | None = None
    subject_state: tuple[int, int, int, OrderStatus, int, int] | None = None
    struck: list[tuple[Deal, tuple[int, DealStatus, str, int]]] = field(default_factory=list)
    duplicate: bool = False
    duplicate_order_id: int = 0

    @property
    def order(self) -> Order | None:
        return self.subject.snapshot(self.subject_state) if self.subject is not None else None

    @property
    def deals(self) -> list[Deal]:
        return [deal.snapshot(state) for deal, state in self.struck]


@dataclass(slots=True)
class Changes:
    """Everything changed since the last drain, for the store to write in one transaction.
    Orders and deals are the live objects: write their state as it is at drain time."""

    new_orders: dict[int, Order] = field(default_factory=dict)
    updated_orders: dict[int, Order] = field(default_factory=dict)
    new_deals: dict[int, Deal] = field(default_factory=dict)
    updated_deals: dict[int, Deal] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    parameters: list[Parameter] = field(default_factory=list)
    schemes: list[ClassScheme] = field(default_factory=list)
    agreements: list[Agreement] = field(default_factory=list)
    released_deals: list[Deal] = field(default_factory=list)  # deals that became BROKERED

    def __bool__(self) -> bool:
        return bool(
            self.new_orders
            or self.updated_orders
            or self.new_deals
            or self.updated_deals
            or self.events
            or self.parameters
            or self.schemes
            or self.agreements
        )


@dataclass(slots=True)
class Counters:
    """The engine's id sequences; restored from the store's maxima on start."""

    order_id: int = 0
    deal_id: int = 0
    priority: int = 0
    sequence: int = 0
    agreement_id: int = 0


class ExchangeEngine:
    """Books, classing and brokering for the whole exchange. Single-threaded by design."""

    def __init__(self) -> None:
        self.parameters: dict[str, Parameter] = {}
        self.schemes: dict[str, ClassScheme] = {}  # active (latest) version by name
        self.scheme_versions: dict[tuple[str, int], ClassScheme] = {}
        self.scheme_for_service: dict[ServiceType, str] = {}
        self.medians = MedianTracker()
        self._median_params: dict[str, set[str]] = {}
        self._compiled: dict[tuple[str, int], CompiledScheme] = {}
        self.books: dict[BookKey, Book] = {}
        self.orders: dict[int, Order] = {}  # live orders only
        self.client_ids: dict[tuple[str, str], int] = {}
        self.deals: dict[int, Deal] = {}  # deals not yet final
        self.agreements: dict[int, Agreement] = {}
        self.agreement_refs: dict[str, int] = {}
        self._agreements_by_pair: dict[tuple[str, str], list[int]] = {}
        self._agreement_use: dict[int, int] = {}
        self._expiries: list[tuple[int, int]] = []  # (valid_until, order_id)
        self._scheduled: list[tuple[int, int, int]] = []  # (valid_from, priority, order_id)
        self._not_started: set[int] = set()  # live orders waiting for valid_from, not on a book
        self.counters = Counters()
        self._changes = Changes()

    # ----- reference data -------------------------------------------------------------

    def define_parameter(self, p: Parameter) -> Parameter:
        """Add an operator-defined parameter. Redefining one changes meaning under existing
        orders, so only an identical redefinition is accepted (as a retry)."""
        validate_parameter(p)
        existing = self.parameters.get(p.name)
        if existing is not None:
            if existing == p:
                return existing
            raise AlreadyExists("parameter.name", f"parameter {p.name} is already defined differently")
        self.parameters[p.name] = p
        self._changes.parameters.append(p)
        return p

    def define_scheme(self, scheme: ClassScheme, now: int) -> ClassScheme:
        """Create a scheme or its next version. The scheme defined last for a service type
        classes that service's new orders unless an order names another scheme. Defining
        the active version again changes nothing."""
        validate_scheme(scheme, self.parameters)
        current = self.schemes.get(scheme.name)
        if current is not None and (current.service_types, current.grades, current.weights) == (
            scheme.service_types,
            scheme.grades,
            scheme.weights,
        ):
            return current  # a retried definition makes no new version
        version = current.version + 1 if current else 1
        stored = ClassScheme(scheme.name, version, scheme.service_types, scheme.grades, dict(scheme.weights), now)
        self._install_scheme(stored)
        self._changes.schemes.append(stored)
        return stored

    def _install_scheme(self, scheme: ClassScheme) -> None:
        previous = self.schemes.get(scheme.name)
        if previous is not None:
            for st in previous.service_types:
                if self.scheme_for_service.get(st) == scheme.name:
                    del self.scheme_for_service[st]
        self.schemes[scheme.name] = scheme
        self.scheme_versions[(scheme.name, scheme.version)] = scheme
        for st in scheme.service_types:
            self.scheme_for_service[st] = scheme.name
        self._median_params[scheme.name] = median_parameters(scheme)
        self._compiled[(scheme.name, scheme.version)] = compile_scheme(scheme, self.parameters)

    def register_agreement(self, a: Agreement, now: int) -> tuple[Agreement, list[Deal]]:
        """Record a bilateral agreement and release the deals that were waiting for it."""
        validate_agreement(a)
        existing_id = self.agreement_refs.get(a.reference)
        if existing_id is not None:
            existing = self.agreements[existing_id]
            if existing.same_terms(a):
                return existing, []
            raise AlreadyExists("agreement.reference", f"agreement {a.reference} exists with other terms")
        self.counters.agreement_id += 1
        stored = Agreement(
            self.counters.agreement_id, a.reference, a.buyer, a.seller, a.interconnects, a.max_rate_kbps, a.terms, now
        )
        self._install_agreement(stored)
        self._changes.agreements.append(stored)
        released = []
        waiting = sorted(
            (
                d
                for d in self.deals.values()
                if d.status is DealStatus.PENDING_AGREEMENT and (d.buyer, d.seller) == (a.buyer, a.seller)
            ),
            key=lambda d: d.deal_id,
        )
        for deal in waiting:
            if self._agreement_use[stored.agreement_id] + deal.rate_kbps <= stored.max_rate_kbps:
                deal.agreement_id = stored.agreement_id
                self._agreement_use[stored.agreement_id] += deal.rate_kbps
                self._set_deal_status(deal, DealStatus.BROKERED, f"agreement {a.reference}", now)
                self._changes.released_deals.append(deal)
                released.append(deal.snapshot())
        return stored, released

    def _install_agreement(self, a: Agreement) -> None:
        self.agreements[a.agreement_id] = a
        self.agreement_refs[a.reference] = a.agreement_id
        self._agreements_by_pair.setdefault((a.buyer, a.seller), []).append(a.agreement_id)
        self._agreement_use.setdefault(a.agreement_id, 0)

    # ----- classing -------------------------------------------------------------------

    def scheme_for(self, service: ServiceType, name: str, field_name: str = "class_scheme") -> ClassScheme:
        """The scheme an order of `service` is classed under: the named one or the active one."""
        if name:
            scheme = self.schemes.get(name)
            if scheme is None:
                raise NotFound(field_name, f"no class scheme {name!r}")
            if service not in scheme.service_types:
                raise InvalidArgument(field_name, f"scheme {name} does not class {service.name}")
            return scheme
        active = self.scheme_for_service.get(service)
        if active is None:
            raise FailedPrecondition("service_type", f"no class scheme covers {service.name}")
        return self.schemes[active]

    def check_values(self, values: dict[str, int], field_name: str) -> None:
        """Every value must name a defined parameter and lie in its range."""
        for name, value in values.items():
            param = self.parameters.get(name)
            if param is None:
                raise InvalidArgument(
                    f"{field_name}.{name}", f"unknown parameter (known: {', '.join(sorted(self.parameters))})"
                )
            param.check_value(f"{field_name}.{name}", value)

    def classify(self, scheme: ClassScheme, values: dict[str, int]) -> Classification:
        """Dry run: which grade these values get under the scheme, and why."""
        return classify(scheme, values, self.parameters, self.medians)

    def effective_bounds(self, scheme: ClassScheme) -> dict[tuple[str, str], int]:
        """The boundary in force now for every (grade, parameter) band of a scheme."""
        return {
            (g.name, b.parameter): effective_bound(b, scheme.name, g.name, self.medians)
            for g in scheme.grades
            for b in g.bands
        }

    # ----- orders ---------------------------------------------------------------------

    def submit(self, o: OrderInput, now: int) -> Outcome:
        """Validate, class, book and match a new order. Raises DomainError before changing
        anything when the order is refused."""
        self.advance(now)
        known = self.client_ids.get((o.participant, o.client_order_id))
        if known is not None:
            live = self.orders.get(known)
            state = live.state() if live is not None else None
            return Outcome(live, state, duplicate=True, duplicate_order_id=known)
        service, route = check_order_input(o, now)
        scheme = self.scheme_for(service, o.class_scheme)
        values = dict(o.values)
        values_field = "values" if o.side is Side.OFFER else "requirements"
        self.check_values(values, values_field)
        classing = values if "capacity_kbps" in values else {**values, "capacity_kbps": o.capacity_kbps}
        grade, assigned_by, reason = self._choose_grade(o, scheme, classing, values_field)

        c = self.counters
        c.order_id += 1
        c.priority += 1
        order = Order(
            c.order_id,
            o.participant,
            o.client_order_id,
            o.side,
            service,
            route,
            o.capacity_kbps,
            o.circuits,
            o.circuits,
            values,
            o.price,
            scheme.name,
            scheme.version,
            grade,
            assigned_by,
            reason,
            o.valid_from or now,
            o.valid_until,
            OrderStatus.OPEN,
            c.priority,
            now,
            now,
        )
        self.client_ids[(o.participant, o.client_order_id)] = order.order_id
        self.orders[order.order_id] = order
        self._changes.new_orders[order.order_id] = order
        if o.side is Side.OFFER:
            self.medians.add(scheme.name, grade, classing, self._median_params[scheme.name])
        self._emit(now, EventKind.ORDER_ACCEPTED, order)
        if order.valid_until:
            heapq.heappush(self._expiries, (order.valid_until, order.order_id))
        struck = []
        if order.valid_from > now:
            self._schedule(order)
        else:
            struck = self._match(order, now)
        return Outcome(order, order.state(), struck)

    def _choose_grade(
        self, o: OrderInput, scheme: ClassScheme, values: dict[str, int], values_field: str
    ) -> tuple[str, ClassAssignment, str]:
        """The order's grade, who chose it, and a one-line reason. The full per-band
        explanation is built only to word a refusal (and by the Classify dry run)."""
        where = f"{scheme.name} v{scheme.version}"
        if o.grade:
            if scheme.grade(o.grade) is None:
                raise InvalidArgument(
                    "grade", f"no grade {o.grade!r} in {scheme.name} (grades: {', '.join(scheme.grade_names)})"
                )
            if o.side is Side.REQUEST:
                # A buyer's requirements only narrow which offers of the grade it accepts.
                extra = f"; requirements {_requirements(o.values)}" if o.values else ""
                return o.grade, ClassAssignment.BUYER, f"{o.grade} in {where} chosen by the buyer{extra}"
            best, score = grade_of(self._compiled[(scheme.name, scheme.version)], values, self.medians)
            if best != o.grade:  # grades need not nest: only the full check can tell
                check_chosen_grade(self.classify(scheme, values), o.grade, values_field)
            return o.grade, ClassAssignment.SELLER, f"{o.grade} in {where} chosen by the seller; score {score}"
        if o.side is Side.REQUEST and not o.values:
            raise InvalidArgument("grade", "give a grade or per-parameter requirements")
        grade, score = grade_of(self._compiled[(scheme.name, scheme.version)], values, self.medians)
        if not grade:
            lowest = self.classify(scheme, values).verdicts[-1]
            raise InvalidArgument(
                values_field, f"qualifies for no grade of {scheme.name}: {lowest.grade} needs {lowest.first_failure()}"
            )
        return grade, ClassAssignment.SERVER, f"{grade} in {where} from the values; score {score}"

    def cancel(self, participant: str, order_id: int, now: int, operator: bool = False) -> Outcome:
        """Take an order off the book."""
        self.advance(now)
        order = self._own_live_order(participant, order_id, operator)
        self._close(order, OrderStatus.CANCELLED, EventKind.ORDER_CANCELLED, now)
        return Outcome(order, order.state())

    def replace(
        self,
        participant: str,
        order_id: int,
        price: int | None,
        remaining: int | None,
        now: int,
        operator: bool = False,
    ) -> Outcome:
        """Cancel/replace. A new price or more circuits loses time priority; fewer keeps it."""
        self.advance(now)
        order = self._own_live_order(participant, order_id, operator)
        price_field = "price" if order.side is Side.OFFER else "limit_price"
        new_price = order.price if price is None else price
        new_remaining = order.remaining if remaining is None else remaining
        if not 1 <= new_price <= MAX_PRICE:
            raise InvalidArgument(price_field, f"must be 1..{MAX_PRICE} minor units per circuit")
        if not 1 <= new_remaining <= MAX_CIRCUITS:
            raise InvalidArgument("remaining_circuits", f"must be 1..{MAX_CIRCUITS}; cancel the order to remove it")
        loses_priority = new_price != order.price or new_remaining > order.remaining
        in_book = order.order_id not in self._not_started
        book = self.books[self._key(order)] if in_book else None
        if book is not None:
            book.remove(order)
        order.circuits += new_remaining - order.remaining
        order.remaining = new_remaining
        order.price = new_price
        if loses_priority:
            self.counters.priority += 1
            order.priority = self.counters.priority
        order.updated_at = now
        self._touch(order)
        self._emit(now, EventKind.ORDER_REPLACED, order)
        struck: list[tuple[Deal, tuple[int, DealStatus, str, int]]] = []
        if book is not None:
            struck = self._match(order, now)
        else:
            self._schedule(order)
        return Outcome(order, order.state(), struck)

    def _own_live_order(self, participant: str, order_id: int, operator: bool) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise FailedPrecondition(
                "order_id", f"order {order_id} is not open (filled, cancelled, expired or unknown)"
            )
        if order.participant != participant and not operator:
            raise PermissionDenied("order_id", f"order {order_id} belongs to another participant")
        return order

    # ----- time -----------------------------------------------------------------------

    def advance(self, now: int) -> None:
        """Bring scheduled orders onto the book and take expired ones off, up to `now`."""
        while self._expiries and self._expiries[0][0] <= now:
            until, oid = heapq.heappop(self._expiries)
            order = self.orders.get(oid)
            if order is not None and order.valid_until == until:
                self._close(order, OrderStatus.EXPIRED, EventKind.ORDER_EXPIRED, until)
        while self._scheduled and self._scheduled[0][0] <= now:
            _start, prio, oid = heapq.heappop(self._scheduled)
            # Stale entries (replaced, cancelled or already started) are skipped.
            order = self.orders.get(oid)
            if order is not None and order.priority == prio and oid in self._not_started:
                self._not_started.discard(oid)
                self._match(order, now)

    # ----- matching -------------------------------------------------------------------

    def _key(self, order: Order) -> BookKey:
        return BookKey(order.class_scheme, order.grade, order.service_type, order.route, order.capacity_kbps)

    def _match(self, incoming: Order, now: int) -> list[tuple[Deal, tuple[int, DealStatus, str, int]]]:
        """Match an order against the opposite side of its book; rest what is left."""
        key = self._key(incoming)
        book = self.books.get(key)
        if book is None:
            book = self.books[key] = Book(key)
        is_offer = incoming.side is Side.OFFER
        opposite = book.requests if is_offer else book.offers
        # Resting keys are "smaller is better"; they cross while key <= limit.
        limit = -incoming.price if is_offer else incoming.price
        keys, levels = opposite.keys, opposite.levels
        deals: list[tuple[Deal, tuple[int, DealStatus, str, int]]] = []
        at = 0
        while incoming.remaining and at < len(keys):
            level_key = keys[at]
            if level_key > limit:
                break
            level = levels[level_key]
            j = 0
            while incoming.remaining and j < len(level):
                resting = level[j]
                if resting.valid_until and resting.valid_until <= now:
                    opposite.drop(level, j)
                    self._close(
                        resting, OrderStatus.EXPIRED, EventKind.ORDER_EXPIRED, resting.valid_until, in_book=False
                    )
                    continue
                offer, request = (incoming, resting) if is_offer else (resting, incoming)
                if offer.participant == request.participant or not _meets(offer, request, self.parameters):
                    j += 1
                    continue
                deals.append(self._fill(offer, request, resting.price, now))
                if resting.remaining == 0:
                    opposite.drop(level, j)
            if level:
                at += 1
            else:
                opposite.prune(level_key)
        if incoming.remaining:
            book.add(incoming)
        elif not book:
            del self.books[key]
        return deals

    def _fill(
        self, offer: Order, request: Order, price: int, now: int
    ) -> tuple[Deal, tuple[int, DealStatus, str, int]]:
        qty = min(offer.remaining, request.remaining)
        for order in (offer, request):
            order.remaining -= qty
            order.status = OrderStatus.FILLED if order.remaining == 0 else OrderStatus.PARTIALLY_FILLED
            order.updated_at = now
            self._touch(order)
        self.counters.deal_id += 1
        deal = Deal(
            self.counters.deal_id,
            offer.order_id,
            request.order_id,
            offer.participant,
            request.participant,
            offer.service_type,
            offer.route,
            offer.capacity_kbps,
            qty,
            price,
            offer.class_scheme,
            offer.scheme_version,
            offer.grade,
            0,
            DealStatus.PENDING_AGREEMENT,
            "no bilateral agreement yet",
            now,
            now,
        )
        agreement = self._agreement_for(deal)
        if agreement is not None:
            deal.agreement_id = agreement.agreement_id
            deal.status = DealStatus.BROKERED
            deal.status_reason = f"agreement {agreement.reference}"
            self._agreement_use[agreement.agreement_id] += deal.rate_kbps
            self._changes.released_deals.append(deal)
        self.deals[deal.deal_id] = deal
        self._changes.new_deals[deal.deal_id] = deal
        self._emit(now, EventKind.DEAL_CREATED, deal)
        for order in (offer, request):
            self._emit(now, EventKind.ORDER_FILLED, order)
            if order.remaining == 0:
                self._forget(order)
        return deal, deal.state()

    def _agreement_for(self, deal: Deal) -> Agreement | None:
        """The earliest agreement between the two parties with room for the deal's rate."""
        for aid in self._agreements_by_pair.get((deal.buyer, deal.seller), ()):
            agreement = self.agreements[aid]
            if self._agreement_use[aid] + deal.rate_kbps <= agreement.max_rate_kbps:
                return agreement
        return None

    # ----- deals ----------------------------------------------------------------------

    def set_deal_status(self, deal_id: int, status: DealStatus, reason: str, now: int) -> Deal:
        """Move a deal along its lifecycle (used by provisioning and termination)."""
        deal = self.deals.get(deal_id)
        if deal is None:
            raise FailedPrecondition("deal_id", f"deal {deal_id} is unknown or already final")
        if status not in TRANSITIONS[deal.status]:
            raise FailedPrecondition("status", f"a {deal.status.name} deal cannot become {status.name}")
        self._set_deal_status(deal, status, reason, now)
        return deal.snapshot()

    def _set_deal_status(self, deal: Deal, status: DealStatus, reason: str, now: int) -> None:
        if deal.agreement_id and deal.status in CAPACITY_HOLDING and status not in CAPACITY_HOLDING:
            self._agreement_use[deal.agreement_id] -= deal.rate_kbps
        deal.status = status
        deal.status_reason = reason
        deal.updated_at = now
        if deal.deal_id not in self._changes.new_deals:
            self._changes.updated_deals[deal.deal_id] = deal
        self._emit(now, EventKind.DEAL_STATUS_CHANGED, deal)
        if status in FINAL:
            del self.deals[deal.deal_id]

    # ----- bookkeeping ----------------------------------------------------------------

    def _schedule(self, order: Order) -> None:
        self._not_started.add(order.order_id)
        heapq.heappush(self._scheduled, (order.valid_from, order.priority, order.order_id))

    def _close(self, order: Order, status: OrderStatus, kind: EventKind, now: int, in_book: bool = True) -> None:
        if order.order_id in self._not_started:
            self._not_started.discard(order.order_id)
        elif in_book:
            book = self.books.get(self._key(order))
            if book is not None:
                book.remove(order)
                if not book:
                    del self.books[book.key]
        order.status = status
        order.updated_at = now
        self._touch(order)
        self._emit(now, kind, order)
        self._forget(order)

    def _forget(self, order: Order) -> None:
        """Closed orders leave memory; the store keeps them."""
        self.orders.pop(order.order_id, None)

    def _touch(self, order: Order) -> None:
        if order.order_id not in self._changes.new_orders:
            self._changes.updated_orders[order.order_id] = order

    def _emit(self, now: int, kind: EventKind, subject: Order | Deal) -> None:
        self.counters.sequence += 1
        self._changes.events.append(Event(self.counters.sequence, now, kind, subject, subject.state()))

    def drain(self) -> Changes:
        """Hand over what changed since the last drain."""
        changes, self._changes = self._changes, Changes()
        return changes

    # ----- restore --------------------------------------------------------------------

    def restore(
        self,
        parameters: Iterable[Parameter],
        schemes: Iterable[ClassScheme],
        agreements: Iterable[Agreement],
        offer_history: Iterable[tuple[str, str, dict[str, int]]],
        live_orders: Iterable[Order],
        open_deals: Iterable[Deal],
        client_ids: Iterable[tuple[str, str, int]],
        counters: Counters,
        now: int,
    ) -> None:
        """Rebuild the in-memory state from what the store holds, without matching.

        `schemes` in version order, `offer_history` (scheme, grade, values) in order id
        order, `live_orders` in priority order."""
        for p in parameters:
            self.parameters[p.name] = p
        for s in schemes:
            self._install_scheme(s)
        for a in agreements:
            self._install_agreement(a)
        for scheme, grade, values in offer_history:
            self.medians.add(scheme, grade, values, self._median_params.get(scheme, set()))
        for order in live_orders:
            self.orders[order.order_id] = order
            if order.valid_until:
                heapq.heappush(self._expiries, (order.valid_until, order.order_id))
            if order.valid_from > now:
                self._schedule(order)
                continue
            key = self._key(order)
            book = self.books.get(key)
            if book is None:
                book = self.books[key] = Book(key)
            book.add(order)
        for deal in open_deals:
            self.deals[deal.deal_id] = deal
            if deal.agreement_id and deal.status in CAPACITY_HOLDING:
                self._agreement_use[deal.agreement_id] += deal.rate_kbps
        for participant, client_id, oid in client_ids:
            self.client_ids[(participant, client_id)] = oid
        self.counters = counters
        self._changes = Changes()


def _meets(offer: Order, request: Order, params: dict[str, Parameter]) -> bool:
    """An offer meets a request when its asserted values satisfy every requirement."""
    for name, required in request.values.items():
        value = offer.values.get(name)
        if value is None:
            if name == "capacity_kbps":
                value = offer.capacity_kbps
            else:
                return False
        if not params[name].better_or_equal(value, required):
            return False
    return True


def _requirements(values: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(values.items()))
