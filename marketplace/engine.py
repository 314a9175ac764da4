"""The matching engine: classes orders, keeps the books, matches inside one class in
price-time priority and brokers each match into a deal under a bilateral agreement.

Pure and deterministic: every command takes the time as an argument and the same
sequence of commands yields the same orders, deals and events. The engine keeps what
changed since the last `drain()` so the store can persist a batch atomically.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Callable, Iterable, Iterator

from marketplace import fills, limits
from marketplace.agreements import agreement_for, why_no_agreement
from marketplace.alternates import find_alternates
from marketplace.assurance import Assurance
from marketplace.book import Book, BookIndex, BookKey, BookSide
from marketplace.changes import Changes, Counters, DealState, Outcome, Struck
from marketplace.classing import (
    Classification,
    ClassScheme,
    CompiledScheme,
    MedianTracker,
    classify,
    compile_scheme,
    effective_bound,
    median_parameters,
    validate_scheme,
)
from marketplace.continuity import Continuity
from marketplace.deals import (
    CAPACITY_HOLDING,
    FINAL,
    TRANSITIONS,
    Agreement,
    Deal,
    DealStatus,
    validate_agreement,
)
from marketplace.deliverability import Deliverability, delivery
from marketplace.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
)
from marketplace.events import EventKind, Subject, new_event
from marketplace.fills import meets
from marketplace.grade_choice import choose_grade
from marketplace.holdings import Holdings
from marketplace.orders import (
    ACTS_ON_ENTRY,
    MAX_CIRCUITS,
    MAX_PRICE,
    OFF_BOOK,
    WHOLE_FILL,
    Order,
    OrderInput,
    OrderStatus,
    Route,
    RoutingPolicy,
    ServiceType,
    Side,
    TimeInForce,
    ValueSets,
    check_order_input,
    check_pop,
)
from marketplace.parameters import Parameter, check_values, validate_parameter
from marketplace.quotes import Quote, Recommendation, entered_at, iso, merge_fills
from marketplace.settlement import Settlement

# Enum members as module constants: reading a member off an Enum class costs ~100 ns on
# CPython 3.11 (a global ~10 ns), and the per-order path reads dozens.
OFFER = Side.OFFER
REQUEST = Side.REQUEST
CANCELLED = OrderStatus.CANCELLED
EXPIRED = OrderStatus.EXPIRED
FILLED = OrderStatus.FILLED
OPEN = OrderStatus.OPEN
PARTIALLY_FILLED = OrderStatus.PARTIALLY_FILLED
PENDING_APPROVAL = OrderStatus.PENDING_APPROVAL
SUPERSEDED = OrderStatus.SUPERSEDED
ALL_OR_NONE = TimeInForce.ALL_OR_NONE
QUALITY_FIRST = RoutingPolicy.QUALITY_FIRST
BROKERED = DealStatus.BROKERED
TERMINATING = DealStatus.TERMINATING
TERMINATED = DealStatus.TERMINATED
PENDING_AGREEMENT = DealStatus.PENDING_AGREEMENT
ALTERNATES_PROPOSED = EventKind.ALTERNATES_PROPOSED
DEAL_CREATED = EventKind.DEAL_CREATED
DEAL_STATUS_CHANGED = EventKind.DEAL_STATUS_CHANGED
ORDER_ACCEPTED = EventKind.ORDER_ACCEPTED
ORDER_CANCELLED = EventKind.ORDER_CANCELLED
ORDER_CLASS_APPROVED = EventKind.ORDER_CLASS_APPROVED
ORDER_CLASS_REJECTED = EventKind.ORDER_CLASS_REJECTED
ORDER_EXPIRED = EventKind.ORDER_EXPIRED
ORDER_FILLED = EventKind.ORDER_FILLED
ORDER_REBID = EventKind.ORDER_REBID
ORDER_REPLACED = EventKind.ORDER_REPLACED
QUOTE_ISSUED = EventKind.QUOTE_ISSUED

SECOND = 1_000_000  # the engine's clock counts microseconds
QUOTE_MEMORY = 3600 * SECOND  # an expired quote is remembered this long, to say "expired" not "unknown"


class ExchangeEngine(Settlement, Assurance, Continuity):
    """Books, classing and brokering for the whole exchange. Single-threaded by design."""

    def __init__(
        self,
        quote_ttl: int = 30 * SECOND,
        approval_ttl: int = 3600 * SECOND,
        max_open_orders: int = 0,
        max_live_quotes: int = 0,
    ) -> None:
        self.quote_ttl = quote_ttl  # how long a quote can be entered at
        self.approval_ttl = approval_ttl  # how long a proposed class waits for the buyer
        self.holdings = Holdings(max_open_orders, max_live_quotes)
        self._held = self.holdings.open_orders
        self.parameters: dict[str, Parameter] = {}
        self.schemes: dict[str, ClassScheme] = {}  # active (latest) version by name
        self.scheme_versions: dict[tuple[str, int], ClassScheme] = {}
        self.scheme_for_service: dict[ServiceType, str] = {}
        self.medians = MedianTracker()
        self.value_sets = ValueSets()
        self._median_params: dict[str, set[str]] = {}
        self._compiled: dict[tuple[str, int], CompiledScheme] = {}
        self.books: dict[BookKey, Book] = {}
        self.book_index = BookIndex()  # the books in listing order, for paged book depth
        self.orders: dict[int, Order] = {}  # live orders only
        self.client_ids: dict[tuple[str, str], int] = {}
        self.deals: dict[int, Deal] = {}  # deals not yet final
        self.deliverability: Deliverability | None = None  # asked before a match (a network is attached)
        self._init_settlement()
        self._init_assurance()
        self._init_continuity()
        self.agreements: dict[int, Agreement] = {}
        self.agreement_refs: dict[str, int] = {}
        self._agreements_by_pair: dict[tuple[str, str], tuple[Agreement, ...]] = {}
        self._agreement_use: dict[int, int] = {}
        self._expiries: list[tuple[int, int]] = []  # (valid_until, order_id)
        self._scheduled: list[tuple[int, int, int]] = []  # (valid_from, priority, order_id)
        self._not_started: set[int] = set()  # live orders waiting for valid_from, not on a book
        self.quotes: dict[int, Quote] = {}  # unexpired, and expired ones for QUOTE_MEMORY
        self._quote_expiries: list[tuple[int, int]] = []  # (forget at, quote_id)
        self._deal_ends: list[tuple[int, int]] = []  # (ends_at, deal_id)
        self._quote_used: dict[int, int] = {}  # quote_id -> the order that entered at it
        self.neighbours: dict[str, frozenset[str]] = {}  # point-of-presence adjacency, symmetric
        # Capacities with a book, per class/service/route: where capacity splits can be found.
        self.book_capacities: dict[tuple[str, str, ServiceType, Route], set[int]] = {}
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
        if len(self.parameters) >= limits.MAX_PARAMETERS:
            raise ResourceExhausted("parameter", f"at most {limits.MAX_PARAMETERS} parameters can be defined")
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
                if d.status is PENDING_AGREEMENT and (d.buyer, d.seller) == (a.buyer, a.seller)
            ),
            key=lambda d: d.deal_id,
        )
        for deal in waiting:
            if self._agreement_use[stored.agreement_id] + deal.rate_kbps <= stored.max_rate_kbps:
                deal.agreement_id = stored.agreement_id
                self._agreement_use[stored.agreement_id] += deal.rate_kbps
                self._set_deal_status(deal, BROKERED, f"agreement {a.reference}", now)
                self._changes.released_deals.append(deal)
                released.append(deal.snapshot())
        return stored, released

    def rebind_agreement(self, deal_id: int, agreement_id: int, now: int) -> Deal:
        """Move a deal being provisioned, with its share of the rate, to another agreement
        between the same parties: provisioning found its own cannot carry it in the
        network (no free VLAN at a hand-off) and this one can."""
        deal, new = self.deals.get(deal_id), self.agreements.get(agreement_id)
        if deal is None or new is None or (new.buyer, new.seller) != (deal.buyer, deal.seller):
            raise FailedPrecondition("agreement_id", f"agreement {agreement_id} is not one of deal {deal_id}'s parties")
        if (
            deal.status is not DealStatus.PROVISIONING
            or self._agreement_use[agreement_id] + deal.rate_kbps > new.max_rate_kbps
        ):
            raise FailedPrecondition("agreement_id", f"deal {deal_id} cannot move to agreement {new.reference} now")
        self._agreement_use[deal.agreement_id] -= deal.rate_kbps
        self._agreement_use[agreement_id] += deal.rate_kbps
        deal.agreement_id = agreement_id
        self._set_deal_status(deal, deal.status, f"under agreement {new.reference}", now)
        return deal.snapshot()

    def _undeliverable(self, offer: Order, request: Order) -> bool:
        """The network cannot carry a fill between the two now: skipped like a self-trade."""
        if (offer.order_id, request.order_id) in self.failed_pairs:
            return True  # the network failed them once (a void deal)
        buyer, seller = request.participant, offer.participant
        rate = offer.capacity_kbps * min(offer.remaining, request.remaining)
        pair = self._agreements_by_pair.get((buyer, seller), ())
        return isinstance(delivery(self.deliverability, pair, self._agreement_use, buyer, seller, rate), str)

    def agreement_use(self) -> dict[int, int]:
        """kbit/s each agreement's live deals use, by agreement id (a copy)."""
        return dict(self._agreement_use)

    def agreements_of(self, buyer: str, seller: str) -> tuple[Agreement, ...]:
        """The agreements between a buyer and a seller, earliest first."""
        return self._agreements_by_pair.get((buyer, seller), ())

    def _install_agreement(self, a: Agreement) -> None:
        self.agreements[a.agreement_id] = a
        self.agreement_refs[a.reference] = a.agreement_id
        self._agreements_by_pair[(a.buyer, a.seller)] = (*self.agreements_of(a.buyer, a.seller), a)
        self._agreement_use.setdefault(a.agreement_id, 0)

    # ----- classing -------------------------------------------------------------------

    def scheme_for(self, service: ServiceType, name: str, field_name: str = "class_scheme") -> ClassScheme:
        """The scheme an order of `service` is classed under: the named one or the active one."""
        if name:
            scheme = self.schemes.get(name)
            if scheme is None:
                raise NotFound(field_name, f"no class scheme {limits.shown(name)}")
            if service not in scheme.service_types:
                raise InvalidArgument(field_name, f"scheme {name} does not class {service.name}")
            return scheme
        active = self.scheme_for_service.get(service)
        if active is None:
            raise FailedPrecondition("service_type", f"no class scheme covers {service.name}")
        return self.schemes[active]

    def check_values(self, values: dict[str, int], field_name: str) -> None:
        """Every value must name a defined parameter and lie in its range."""
        check_values(self.parameters, values, field_name)

    def classify(self, scheme: ClassScheme, values: dict[str, int]) -> Classification:
        """Dry run: which grade these values get under the scheme, and why."""
        return classify(scheme, values, self.parameters, self.medians)

    def effective_bounds(self, scheme: ClassScheme) -> dict[tuple[str, str], int]:
        """The boundary in force now for every (grade, parameter) band of a scheme."""
        return {
            (g.name, b.parameter): effective_bound(b, scheme.name, g.name, self.medians, self.parameters[b.parameter])
            for g in scheme.grades
            for b in g.bands
        }

    # ----- orders ---------------------------------------------------------------------

    def submit(self, o: OrderInput, now: int, recommend: bool = False) -> Outcome:
        """Validate, class, book and match a new order. Raises DomainError before changing
        anything when the order is refused. With `recommend`, a request that does not
        fill completely comes back with ranked alternates."""
        self.advance(now)
        known = self.client_ids.get((o.participant, o.client_order_id))
        if known is not None:
            live = self.orders.get(known)
            state = live.state() if live is not None else None
            return Outcome(live, state, duplicate=True, duplicate_order_id=known)
        quote = None
        if o.quote_id and o.side is REQUEST:  # on an offer, check_order_input refuses it
            o, quote = self._resolve_quote(o, now)
        order, classing = self._prepare(o, now)
        if quote is not None:
            self._check_quote_holds(quote, order, now)
        superseded = self._rebid_target(o) if o.rebid_of else None
        if self.holdings.max_open_orders:
            self.holdings.check_order(o.participant, 1 if superseded is None else 0)
        # Every check has passed: from here on the command changes state.
        if superseded is not None:
            self._close(superseded, SUPERSEDED, ORDER_REBID, now)
        c = self.counters
        c.order_id += 1
        c.priority += 1
        order.order_id, order.priority = c.order_id, c.priority
        if quote is not None:
            self._quote_used[quote.quote_id] = order.order_id
        self.client_ids[(o.participant, o.client_order_id)] = order.order_id
        self.orders[order.order_id] = order
        held = self._held  # per participant; read on every order, so kept at hand
        held[o.participant] = held.get(o.participant, 0) + 1
        self._changes.new_orders[order.order_id] = order
        if o.side is OFFER:
            self.medians.add(order.class_scheme, order.grade, classing, self._median_params[order.class_scheme])
        self._emit(now, ORDER_ACCEPTED, order)
        if order.valid_until:
            heapq.heappush(self._expiries, (order.valid_until, order.order_id))
        if order.status is PENDING_APPROVAL:
            heapq.heappush(self._expiries, (order.approve_by, order.order_id))
            return Outcome(order, order.state())
        return self._list(order, now, recommend)

    def _go_live(self, order: Order, now: int, recommend: bool) -> Outcome:
        """Match a new or approved order now, or hold it until its valid_from."""
        struck: Struck = []
        if order.valid_from > now:
            self._schedule(order)
        else:
            struck = self._match(order, now)
        outcome = Outcome(order, order.state(), struck)
        if recommend:
            outcome.recommendation = self._propose_alternates(order, now)
        return outcome

    def _prepare(self, o: OrderInput, now: int) -> tuple[Order, dict[str, int]]:
        """Check and class a new order without changing anything; ids are assigned later.
        Also returns the values it was classed on (with the circuit capacity)."""
        service, route, time_in_force, routing = check_order_input(o, now)
        scheme = self.scheme_for(service, o.class_scheme)
        values_field = "values" if o.side is OFFER else "requirements"
        self.check_values(o.values, values_field)
        values = self.value_sets.get(o.values)  # only values that passed are kept
        classing = values if "capacity_kbps" in values else {**values, "capacity_kbps": o.capacity_kbps}
        compiled = self._compiled[(scheme.name, scheme.version)]
        grade, assigned_by, reason, score = choose_grade(
            o, scheme, compiled, classing, values_field, self.medians, lambda: self.classify(scheme, classing)
        )
        status = OPEN
        approve_by = 0
        if o.propose_class:
            status = PENDING_APPROVAL
            approve_by = now + self.approval_ttl
            if o.valid_until:
                approve_by = min(approve_by, o.valid_until)
        order = Order(
            0,
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
            status,
            0,
            now,
            now,
            time_in_force,
            routing,
            score,
            o.rebid_of,
            o.quote_id,
            approve_by,
            o.service_end,
        )
        return order, classing

    def cancel(self, participant: str, order_id: int, now: int, operator: bool = False) -> Outcome:
        """Take an order off the book."""
        self.advance(now)
        order = self._own_live_order(participant, order_id, operator)
        self._close(order, CANCELLED, ORDER_CANCELLED, now)
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
        price_field = "price" if order.side is OFFER else "limit_price"
        new_price = order.price if price is None else price
        new_remaining = order.remaining if remaining is None else remaining
        if not 1 <= new_price <= MAX_PRICE:
            raise InvalidArgument(price_field, f"must be 1..{MAX_PRICE} minor units per circuit")
        if not 1 <= new_remaining <= MAX_CIRCUITS:
            raise InvalidArgument("remaining_circuits", f"must be 1..{MAX_CIRCUITS}; cancel the order to remove it")
        loses_priority = new_price != order.price or new_remaining > order.remaining
        pending = order.status in OFF_BOOK
        in_book = not pending and order.order_id not in self._not_started
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
        self._emit(now, ORDER_REPLACED, order)
        struck: Struck = []
        if book is not None:
            struck = self._match(order, now)
        elif not pending:
            self._schedule(order)
        return Outcome(order, order.state(), struck)

    def _own_live_order(self, participant: str, order_id: int, operator: bool, field_name: str = "order_id") -> Order:
        """One of the caller's live orders. Another participant's order is answered as if
        it did not exist, so nobody can probe which competitor orders are live; the API
        looks in the store to say why one of the caller's own is no longer open."""
        order = self.orders.get(order_id)
        if order is None or (order.participant != participant and not operator):
            raise NotFound(field_name, f"no open order {order_id} of yours")
        return order

    # ----- class approval -------------------------------------------------------------

    def approve_class(
        self, participant: str, order_id: int, now: int, operator: bool = False, recommend: bool = False
    ) -> Outcome:
        """The buyer accepts the class the server proposed: the request goes live, with
        time priority from now, and matches."""
        self.advance(now)
        order = self._pending_order(participant, order_id, operator)
        order.status = OPEN
        self.counters.priority += 1
        order.priority = self.counters.priority
        order.updated_at = now
        self._touch(order)
        self._emit(now, ORDER_CLASS_APPROVED, order)
        return self._go_live(order, now, recommend)

    def reject_class(self, participant: str, order_id: int, now: int, operator: bool = False) -> Outcome:
        """The buyer refuses the proposed class: the request is cancelled unmatched."""
        self.advance(now)
        order = self._pending_order(participant, order_id, operator)
        self._close(order, CANCELLED, ORDER_CLASS_REJECTED, now)
        return Outcome(order, order.state())

    def _pending_order(self, participant: str, order_id: int, operator: bool) -> Order:
        order = self._own_live_order(participant, order_id, operator)
        if order.status is not PENDING_APPROVAL:
            raise FailedPrecondition(
                "order_id", f"order {order_id} is not waiting for class approval (it is {order.status.name})"
            )
        return order

    # ----- re-bid ---------------------------------------------------------------------

    def _rebid_target(self, o: OrderInput) -> Order:
        """The unmatched request a re-bid replaces; checked before anything changes."""
        old = self._own_live_order(o.participant, o.rebid_of, False, "rebid_of")
        if old.side is not REQUEST:
            raise InvalidArgument("rebid_of", f"order {old.order_id} is an offer; a re-bid replaces a purchase order")
        if old.remaining != old.circuits:
            raise FailedPrecondition(
                "rebid_of",
                f"order {old.order_id} has matched {old.circuits - old.remaining} circuits; a re-bid replaces "
                "an unmatched request (use ReplaceOrder to change a partly filled one)",
            )
        return old

    # ----- quotes ---------------------------------------------------------------------

    def quote(self, o: OrderInput, now: int) -> Quote:
        """What a request of this shape would match now, valid for `quote_ttl`. The
        request's client id and limit are not used: a quote has no limit."""
        self.advance(now)
        spec = dataclasses.replace(
            o, side=REQUEST, client_order_id="quote", price=MAX_PRICE, time_in_force=0, propose_class=False
        )
        if spec.quote_id or spec.rebid_of:
            raise InvalidArgument("quote_id" if spec.quote_id else "rebid_of", "does not apply to a quote")
        want, _ = self._prepare(spec, now)
        self.holdings.check_quote(o.participant, now)
        plan = self.plan_fills(want, now)
        self.counters.quote_id += 1
        quote = Quote(
            self.counters.quote_id,
            want.participant,
            want.service_type,
            want.route,
            want.capacity_kbps,
            want.circuits,
            want.values,
            want.class_scheme,
            want.scheme_version,
            want.grade,
            want.class_reason,
            want.routing,
            merge_fills([(resting.price, qty) for resting, qty in plan]),
            now,
            now + self.quote_ttl,
            self.deliverability.provisioning_p50_ms() if self.deliverability is not None else 0,
        )
        self._remember_quote(quote)
        self.holdings.quote_added(quote.participant, quote.expires_at)
        self._changes.quotes.append(quote)
        self._emit(now, QUOTE_ISSUED, quote)
        return quote

    def _remember_quote(self, quote: Quote) -> None:
        self.quotes[quote.quote_id] = quote
        heapq.heappush(self._quote_expiries, (quote.expires_at + QUOTE_MEMORY, quote.quote_id))

    def _resolve_quote(self, o: OrderInput, now: int) -> tuple[OrderInput, Quote]:
        """The request to enter at a quote: fields left empty come from the quote, fields
        given must equal it, and the limit is the quote's price. Never re-priced."""
        qid = o.quote_id
        quote = self.quotes.get(qid)
        if quote is None or quote.participant != o.participant:
            raise NotFound("quote_id", f"no quote {qid} of yours (expired quotes are forgotten after an hour)")
        if quote.expires_at <= now:
            expired = f"quote {qid} expired at {iso(quote.expires_at)}; ask for a new one"
            raise FailedPrecondition("quote_id", expired, reason="QUOTE_EXPIRED")
        used_by = self._quote_used.get(qid)
        if used_by is not None:
            raise FailedPrecondition(
                "quote_id", f"quote {qid} was already used by order {used_by}", reason="QUOTE_USED"
            )
        if not quote.fills:
            raise FailedPrecondition("quote_id", f"quote {qid} found no offer, so it has no price to enter at")

        entered = entered_at(o, quote)
        if self.schemes[quote.class_scheme].version != quote.scheme_version:
            raise FailedPrecondition("quote_id", f"class scheme {quote.class_scheme} changed since quote {qid}")
        return entered, quote

    def _check_quote_holds(self, quote: Quote, order: Order, now: int) -> None:
        """Refuse the request when the book moved against the quote: fewer circuits at or
        under the quoted price, or the quoted circuits cost more now."""
        plan = self.plan_fills(order, now)
        have, cost, left = 0, 0, quote.fillable
        for resting, qty in plan:
            take = min(qty, left)
            have += take
            cost += take * resting.price
            left -= take
        if have < quote.fillable or cost > quote.total_value:
            raise FailedPrecondition(
                "quote_id",
                f"the book moved since quote {quote.quote_id}: {have} of the quoted {quote.fillable} circuits "
                f"are available at or under {quote.price} now, for {cost} against the quoted {quote.total_value}; "
                "ask for a new quote",
                reason="BOOK_MOVED",
            )

    # ----- alternates -----------------------------------------------------------------

    def recommend(
        self, participant: str, order_id: int, spec: OrderInput | None, now: int, operator: bool = False
    ) -> Recommendation:
        """Ranked alternates for one of the buyer's live requests, or for a prospective
        one described by `spec`."""
        self.advance(now)
        if order_id:
            want = self._own_live_order(participant, order_id, operator)
            if want.side is not REQUEST:
                raise InvalidArgument("order_id", f"order {order_id} is an offer; alternates are for purchase orders")
        elif spec is not None:
            want, _ = self._prepare(
                dataclasses.replace(spec, side=REQUEST, client_order_id="recommend", price=MAX_PRICE), now
            )
        else:
            raise InvalidArgument("order_id", "give one of your live requests (an id above 0) or a request spec")
        return self._recommendation(want, now)

    def _propose_alternates(self, order: Order, now: int) -> Recommendation | None:
        """Alternates for a request that went live and did not fill completely."""
        held = order.order_id in self._not_started or order.status is PENDING_APPROVAL
        if order.side is not REQUEST or not order.remaining or held:
            return None
        rec = self._recommendation(order, now)
        return rec if rec.alternates else None

    def _recommendation(self, want: Order, now: int) -> Recommendation:
        rec = Recommendation(
            want.participant,
            want.order_id,
            want.service_type,
            want.route,
            want.capacity_kbps,
            want.remaining,
            want.class_scheme,
            want.grade,
            tuple(find_alternates(self, want, now)),
            now,
        )
        if rec.alternates:
            self._emit(now, ALTERNATES_PROPOSED, rec)
        return rec

    # ----- point-of-presence adjacency ------------------------------------------------

    def set_neighbours(self, pop: str, neighbours: Iterable[str]) -> frozenset[str]:
        """Set the points of presence near `pop` (symmetric: each of them gets `pop` as a
        neighbour too). An empty set removes `pop` from the adjacency."""
        pop = check_pop("pop", pop)
        given = list(neighbours)
        if len(given) > limits.MAX_NEIGHBOURS:
            raise InvalidArgument("neighbours", f"at most {limits.MAX_NEIGHBOURS} points of presence")
        new = frozenset(check_pop(f"neighbours[{i}]", n) for i, n in enumerate(given))
        if pop in new:
            raise InvalidArgument("neighbours", f"must not contain {pop} itself")
        old = self.neighbours.get(pop, frozenset())
        if new == old:
            return new
        for n in old - new:
            self._set_pop(n, self.neighbours.get(n, frozenset()) - {pop})
        for n in new - old:
            self._set_pop(n, self.neighbours.get(n, frozenset()) | {pop})
        self._set_pop(pop, new)
        self._changes.neighbour_links = {(a, b) for a, ns in self.neighbours.items() for b in ns if a < b}
        return new

    def _set_pop(self, pop: str, neighbours: frozenset[str]) -> None:
        if neighbours:
            self.neighbours[pop] = neighbours
        else:
            self.neighbours.pop(pop, None)

    # ----- time -----------------------------------------------------------------------

    def advance(self, now: int) -> None:
        """Bring scheduled orders onto the book and take expired ones off, up to `now`."""
        while self._expiries and self._expiries[0][0] <= now:
            until, oid = heapq.heappop(self._expiries)
            order = self.orders.get(oid)
            if order is None:
                continue
            lapsed = order.status is PENDING_APPROVAL and order.approve_by == until
            if lapsed or order.valid_until == until:
                self._close(order, EXPIRED, ORDER_EXPIRED, until)
        while self._scheduled and self._scheduled[0][0] <= now:
            _start, prio, oid = heapq.heappop(self._scheduled)
            # Stale entries (replaced, cancelled or already started) are skipped.
            order = self.orders.get(oid)
            if order is not None and order.priority == prio and oid in self._not_started:
                self._not_started.discard(oid)
                self._match(order, now)
        while self._deal_ends and self._deal_ends[0][0] <= now:
            end, deal_id = heapq.heappop(self._deal_ends)
            deal = self.deals.get(deal_id)
            if deal is not None and deal.status is not TERMINATING and deal.ends_at == end:  # else extended since
                self._end_deal(deal, "the service end was reached", now)
        while self._quote_expiries and self._quote_expiries[0][0] <= now:
            _, qid = heapq.heappop(self._quote_expiries)
            self.quotes.pop(qid, None)
            self._quote_used.pop(qid, None)

    # ----- matching -------------------------------------------------------------------

    def _key(self, order: Order) -> BookKey:
        return BookKey(order.class_scheme, order.grade, order.service_type, order.route, order.capacity_kbps)

    def _match(self, incoming: Order, now: int) -> Struck:
        """Match an order against the opposite side of its book under its time in force
        and routing policy; rest what is left, or cancel it (immediate-or-cancel,
        fill-or-kill)."""
        key = self._key(incoming)
        book = self.books.get(key)
        deals: Struck = []
        tif = incoming.time_in_force
        if book is None:
            pass
        elif tif in WHOLE_FILL and self._fillable(incoming, book, now) < incoming.remaining:
            pass  # all or nothing, and it cannot be all now
        elif incoming.routing is QUALITY_FIRST:
            deals = self._match_plan(incoming, book, now)
        else:
            deals = self._match_by_price(incoming, book, now)
        if incoming.remaining and tif not in ACTS_ON_ENTRY:
            if book is None:
                book = self._new_book(key)
            book.add(incoming)
            return deals
        if incoming.remaining:  # immediate-or-cancel, fill-or-kill: the rest never rests
            self._close(incoming, CANCELLED, ORDER_CANCELLED, now, in_book=False)
        if book is not None and not book:
            self._drop_book(key)
        return deals

    def _match_by_price(self, incoming: Order, book: Book, now: int) -> Struck:
        """Price-time priority, walking the opposite side in place (the hot path)."""
        is_offer = incoming.side is OFFER
        opposite = book.requests if is_offer else book.offers
        # Resting keys are "smaller is better"; they cross while key <= limit.
        limit = -incoming.price if is_offer else incoming.price
        keys, levels, aon = opposite.keys, opposite.levels, opposite.aon
        deals: Struck = []
        at = 0
        while incoming.remaining and at < len(keys):
            level_key = keys[at]
            if level_key > limit:
                break
            if aon and level_key in aon:
                self._match_level(incoming, opposite, level_key, now, deals)
                if opposite.has(level_key):
                    at += 1
                continue
            level = levels[level_key]
            j = 0
            while incoming.remaining and j < len(level):
                resting = level[j]
                if resting.valid_until and resting.valid_until <= now:
                    opposite.drop(level, j)
                    self._close(resting, EXPIRED, ORDER_EXPIRED, resting.valid_until, in_book=False)
                    continue
                offer, request = (incoming, resting) if is_offer else (resting, incoming)
                if offer.participant == request.participant or not meets(offer, request, self.parameters):
                    j += 1
                    continue
                if self.deliverability is not None and self._undeliverable(offer, request):
                    j += 1
                    continue
                deals.append(self._fill(offer, request, resting.price, now))
                if resting.remaining == 0:
                    opposite.drop(level, j)
            if level:
                at += 1
            else:
                opposite.prune(level_key)
        return deals

    def _match_level(self, incoming: Order, opposite: BookSide, level_key: int, now: int, deals: Struck) -> None:
        """One price where all-or-none orders rest too: only those that fit what is left
        of `incoming` are looked at, merged with the others in time priority."""
        is_offer = incoming.side is OFFER
        for resting in opposite.walk(level_key, lambda: incoming.remaining):
            if not incoming.remaining:
                return
            if resting.valid_until and resting.valid_until <= now:
                opposite.remove(resting)
                self._close(resting, EXPIRED, ORDER_EXPIRED, resting.valid_until, in_book=False)
                continue
            offer, request = (incoming, resting) if is_offer else (resting, incoming)
            if offer.participant == request.participant or not meets(offer, request, self.parameters):
                continue
            if self.deliverability is not None and self._undeliverable(offer, request):
                continue
            deals.append(self._fill(offer, request, resting.price, now))
            if resting.remaining == 0:
                opposite.remove(resting)

    def _match_plan(self, incoming: Order, book: Book, now: int) -> Struck:
        """Take the fills `_plan` chose (quality-first requests)."""
        opposite = book.side(REQUEST if incoming.side is OFFER else OFFER)
        deals: Struck = []
        for resting, _qty in self._plan(incoming, book, now):
            offer, request = (incoming, resting) if incoming.side is OFFER else (resting, incoming)
            deals.append(self._fill(offer, request, resting.price, now))
            if resting.remaining == 0:
                opposite.remove(resting)
        return deals

    def _crossing(
        self, incoming: Order, opposite: BookSide, now: int, left: Callable[[], int] | None = None
    ) -> Iterator[Order]:
        """Resting orders `incoming` may trade with, in price-time priority. Reads only.
        All-or-none orders bigger than `left()` (what the caller still wants) are not
        looked at; without `left`, every crossing order is."""
        is_offer = incoming.side is OFFER
        limit = -incoming.price if is_offer else incoming.price
        wanted = left or fills.everything
        for level_key in opposite.keys:
            if level_key > limit:
                return
            # Levels without all-or-none orders (the usual case) are read as they are.
            level = opposite.walk(level_key, wanted) if level_key in opposite.aon else opposite.levels[level_key]
            for resting in level:
                if resting.valid_until and resting.valid_until <= now:
                    continue
                offer, request = (incoming, resting) if is_offer else (resting, incoming)
                tradable = offer.participant != request.participant and meets(offer, request, self.parameters)
                if tradable and (self.deliverability is None or not self._undeliverable(offer, request)):
                    yield resting

    def _plan(self, incoming: Order, book: Book | None, now: int) -> list[tuple[Order, int]]:
        """The fills matching `incoming` would take now, as (resting order, circuits),
        without taking them. Quality-first requests take the best-scored offers first,
        then price-time. A resting all-or-none order is taken whole or passed over."""
        if book is None:
            return []
        opposite = book.requests if incoming.side is OFFER else book.offers
        if incoming.routing is not QUALITY_FIRST or incoming.side is not REQUEST:
            want = fills.Want(incoming.remaining)
            return fills.take(self._crossing(incoming, opposite, now, want.get), want)
        # Quality first: the best score, then price-time. Offers with the best score on
        # this side usually fill the request, and then their price-time prefix is the
        # plan; only otherwise is every crossing offer ranked.
        top = opposite.top_score
        seen: list[Order] = []
        plan: list[tuple[Order, int]] = []
        left = incoming.remaining
        for resting in self._crossing(incoming, opposite, now):
            seen.append(resting)
            if resting.score != top or (resting.time_in_force is ALL_OR_NONE and resting.remaining > left):
                continue
            take = min(left, resting.remaining)
            plan.append((resting, take))
            left -= take
            if not left:
                return plan
        seen.sort(key=fills.score, reverse=True)  # stable: price-time inside a score
        return fills.take(seen, fills.Want(incoming.remaining))

    def plan_fills(self, order: Order, now: int) -> list[tuple[Order, int]]:
        """The fills `order` would take from its book now (a dry run; see `_plan`)."""
        return self._plan(order, self.books.get(self._key(order)), now)

    def _fillable(self, incoming: Order, book: Book, now: int) -> int:
        return sum(qty for _, qty in self._plan(incoming, book, now))

    def _new_book(self, key: BookKey) -> Book:
        book = self.books[key] = Book(key)
        self.book_index.add(key)
        self.book_capacities.setdefault(key.without_capacity(), set()).add(key.capacity_kbps)
        return book

    def _drop_book(self, key: BookKey) -> None:
        del self.books[key]
        self.book_index.remove(key)
        sizes = self.book_capacities[key.without_capacity()]
        sizes.discard(key.capacity_kbps)
        if not sizes:
            del self.book_capacities[key.without_capacity()]

    def _fill(self, offer: Order, request: Order, price: int, now: int) -> tuple[Deal, DealState]:
        qty = min(offer.remaining, request.remaining)
        for order in (offer, request):
            order.remaining -= qty
            order.status = FILLED if order.remaining == 0 else PARTIALLY_FILLED
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
            PENDING_AGREEMENT,
            "no bilateral agreement yet",
            now,
            now,
            request.service_end,
        )
        if deal.ends_at:
            heapq.heappush(self._deal_ends, (deal.ends_at, deal.deal_id))
        pair = self.agreements_of(deal.buyer, deal.seller)
        held = self.deliverability.reserve(deal, pair, self._agreement_use) if self.deliverability and pair else None
        agreement = held or agreement_for(deal, pair, self._agreement_use)  # held: the network is reserved
        if agreement is not None:
            deal.agreement_id = agreement.agreement_id
            deal.status = BROKERED
            deal.status_reason = f"agreement {agreement.reference}"
            self._agreement_use[agreement.agreement_id] += deal.rate_kbps
            self._changes.released_deals.append(deal)
        else:
            deal.status_reason = why_no_agreement(deal, pair, self._agreement_use)
        self.deals[deal.deal_id] = deal
        self._await_delivery(deal, offer, request)
        self._changes.new_deals[deal.deal_id] = deal
        self._emit(now, DEAL_CREATED, deal)
        for order in (offer, request):
            self._emit(now, ORDER_FILLED, order)
            if order.remaining == 0:
                self._forget(order)
        return deal, deal.state()

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

    def terminate_deal(self, participant: str, deal_id: int, reason: str, now: int, operator: bool = False) -> Deal:
        """Either party (or an operator) ends a deal. A deal with nothing in the network
        (pending an agreement, or brokered and not yet picked up) ends at once; one that is
        being provisioned or is active goes TERMINATING until provisioning removes it.
        Terminating a deal that is already terminating changes nothing (a retry)."""
        deal = self.deals.get(deal_id)
        if deal is None or not (operator or participant in (deal.buyer, deal.seller)):
            raise NotFound("deal_id", f"no live deal {deal_id} of yours")
        limits.REASON.check("reason", reason)
        why = f"terminated by {participant}" + (f": {reason}" if reason else "")
        self._withdraw_or_end(deal, participant, why, now)  # the seller's: moves the buyer where it can
        return deal.snapshot()

    def _end_deal(self, deal: Deal, why: str, now: int) -> None:
        if deal.status in (PENDING_AGREEMENT, BROKERED):
            self._set_deal_status(deal, TERMINATED, why, now)
        else:
            self._set_deal_status(deal, TERMINATING, why, now)
            self._changes.ending_deals.append(deal)

    def _set_deal_status(self, deal: Deal, status: DealStatus, reason: str, now: int) -> None:
        if deal.agreement_id and deal.status in CAPACITY_HOLDING and status not in CAPACITY_HOLDING:
            self._agreement_use[deal.agreement_id] -= deal.rate_kbps
        deal.status = status
        deal.status_reason = reason
        deal.updated_at = now
        if deal.deal_id not in self._changes.new_deals:
            self._changes.updated_deals[deal.deal_id] = deal
        self._emit(now, DEAL_STATUS_CHANGED, deal)
        if status is DealStatus.ACTIVE or status in FINAL:
            self._awaiting.pop(deal.deal_id, None)  # delivered, or ended: its orders are settled
        if status in FINAL:
            self._deal_final(deal)

    # ----- bookkeeping ----------------------------------------------------------------

    def _schedule(self, order: Order) -> None:
        self._not_started.add(order.order_id)
        heapq.heappush(self._scheduled, (order.valid_from, order.priority, order.order_id))

    def _close(self, order: Order, status: OrderStatus, kind: EventKind, now: int, in_book: bool = True) -> None:
        if order.order_id in self._not_started:
            self._not_started.discard(order.order_id)
        elif in_book and order.status not in OFF_BOOK:
            book = self.books.get(self._key(order))
            if book is not None:
                book.remove(order)
                if not book:
                    self._drop_book(book.key)
        order.status = status
        order.updated_at = now
        self._touch(order)
        self._emit(now, kind, order)
        self._forget(order)

    def _forget(self, order: Order) -> None:
        """Closed orders leave memory; the store keeps them."""
        if self.orders.pop(order.order_id, None) is not None:
            held = self._held
            left = held[order.participant] - 1
            if left:
                held[order.participant] = left
            else:
                del held[order.participant]

    def _touch(self, order: Order) -> None:
        if order.order_id not in self._changes.new_orders:
            self._changes.updated_orders[order.order_id] = order

    def _emit(self, now: int, kind: EventKind, subject: Subject) -> None:
        self.counters.sequence += 1
        self._changes.events.append(new_event((self.counters.sequence, now, kind, subject, subject.state())))

    def fingerprint(self) -> tuple[int, ...]:
        """Cheap evidence of change (ids issued, changes recorded): a command that raised
        while this stayed the same changed nothing (commands check, then change and record)."""
        c, ch = self.counters, self._changes
        return (
            c.order_id,
            c.deal_id,
            c.priority,
            c.sequence,
            c.agreement_id,
            c.quote_id,
            len(ch.new_orders),
            len(ch.updated_orders),
            len(ch.new_deals),
            len(ch.updated_deals),
            len(ch.events),
            len(ch.parameters) + len(ch.schemes) + len(ch.agreements) + len(ch.quotes) + len(ch.samples),
        )

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
        quotes: Iterable[tuple[Quote, int]] = (),
        neighbour_links: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Rebuild the in-memory state from what the store holds, without matching.

        `schemes` in version order, `offer_history` (scheme, grade, values) in order id
        order, `live_orders` in priority order, `quotes` the ones still remembered with
        the order that used each (0: unused)."""
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
            self.holdings.order_added(order.participant)
            if order.valid_until:
                heapq.heappush(self._expiries, (order.valid_until, order.order_id))
            if order.status is PENDING_APPROVAL:
                heapq.heappush(self._expiries, (order.approve_by, order.order_id))
                continue
            if order.valid_from > now:
                self._schedule(order)
                continue
            key = self._key(order)
            book = self.books.get(key) or self._new_book(key)
            book.add(order)
        for quote, used_by in quotes:
            self._remember_quote(quote)
            if quote.expires_at > now:
                self.holdings.quote_added(quote.participant, quote.expires_at)
            if used_by:
                self._quote_used[quote.quote_id] = used_by
        for one, other in neighbour_links:
            self._set_pop(one, self.neighbours.get(one, frozenset()) | {other})
            self._set_pop(other, self.neighbours.get(other, frozenset()) | {one})
        for deal in open_deals:
            self.deals[deal.deal_id] = deal
            if deal.ends_at:
                heapq.heappush(self._deal_ends, (deal.ends_at, deal.deal_id))
            if deal.agreement_id and deal.status in CAPACITY_HOLDING:
                self._agreement_use[deal.agreement_id] += deal.rate_kbps
        for participant, client_id, oid in client_ids:
            self.client_ids[(participant, client_id)] = oid
        self.counters = counters
        self._changes = Changes()
