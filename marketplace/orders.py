"""Orders: offers (sell) and requests (buy) for a telecommunications service."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

from marketplace import limits
from marketplace.errors import InvalidArgument

_CLIENT_ID = limits.CLIENT_ORDER_ID_PATTERN

MAX_CAPACITY_KBPS = 1_000_000_000  # 1 Tbit/s per circuit
MAX_CIRCUITS = 10_000
MAX_PRICE = 10**12  # minor units per circuit


class ServiceType(IntEnum):
    """What is traded. Values match ixchange.v1.ServiceType."""

    ETHERNET_ELINE = 1
    IP_TRANSIT = 2
    VOICE_TERMINATION = 3


_SERVICE_TYPES = {int(s): s for s in ServiceType}


class Side(IntEnum):
    """Offer (sell) or request (buy). Values match ixchange.v1.Side."""

    OFFER = 1
    REQUEST = 2


class OrderStatus(IntEnum):
    """Values match ixchange.v1.OrderStatus."""

    OPEN = 1
    PARTIALLY_FILLED = 2
    FILLED = 3
    CANCELLED = 4
    EXPIRED = 5
    # A request whose server-proposed class waits for the buyer's approval; never matches.
    PENDING_APPROVAL = 6
    # An unmatched request replaced by a re-bid (the new order names it in rebid_of).
    SUPERSEDED = 7
    # An offer held off the book while the exchange measures the seller's service
    # (verification before listing), or taken off it when a re-verification found no class.
    UNVERIFIED = 8


LIVE_STATUSES = frozenset(
    {OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_APPROVAL, OrderStatus.UNVERIFIED}
)
# Live and off the book: waiting for the buyer's class decision, or for verification.
OFF_BOOK = frozenset({OrderStatus.PENDING_APPROVAL, OrderStatus.UNVERIFIED})


class TimeInForce(IntEnum):
    """How long an order stays and how it may fill. Values match ixchange.v1.TimeInForce."""

    GOOD_TILL_CANCELLED = 1
    GOOD_TILL_DATE = 2  # rests until valid_until
    IMMEDIATE_OR_CANCEL = 3  # fills what it can on entry; the rest is cancelled
    FILL_OR_KILL = 4  # fills entirely on entry or is cancelled with nothing filled
    ALL_OR_NONE = 5  # rests, but only ever fills its whole remaining quantity at once


ACTS_ON_ENTRY = frozenset({TimeInForce.IMMEDIATE_OR_CANCEL, TimeInForce.FILL_OR_KILL})
WHOLE_FILL = frozenset({TimeInForce.FILL_OR_KILL, TimeInForce.ALL_OR_NONE})


class RoutingPolicy(IntEnum):
    """Which crossing offers a request takes first. Values match ixchange.v1.RoutingPolicy."""

    CHEAPEST_FIRST = 1  # price, then time
    QUALITY_FIRST = 2  # the offer's quality score inside the class, then price, then time


class ClassAssignment(IntEnum):
    """Who chose an order's class. Values match ixchange.v1.ClassAssignment."""

    SELLER = 1
    BUYER = 2
    SERVER = 3


class Route(NamedTuple):
    """A-end and Z-end points of presence. E-Line circuits are symmetric, so their
    route is stored with the ends in sorted order; transit and voice are directed.
    A tuple, so book keys hash in C on the hot path."""

    a_end: str
    z_end: str

    @staticmethod
    def parse(service: ServiceType, a_end: str, z_end: str) -> Route:
        """Validate and normalise the two ends. A market trades few distinct routes, so
        the answers for valid ones are cached."""
        return _parse_route(service, a_end, z_end)

    def __str__(self) -> str:
        return f"{self.a_end}-{self.z_end}"


def check_pop(field_name: str, code: str) -> str:
    """A point-of-presence code, normalised to upper case."""
    return limits.POP.check(field_name, code.strip().upper())


@functools.lru_cache(maxsize=65_536)
def _parse_route(service: ServiceType, a_end: str, z_end: str) -> Route:
    a, z = check_pop("route.a_end", a_end), check_pop("route.z_end", z_end)
    if a == z:
        raise InvalidArgument("route.z_end", "must differ from route.a_end")
    if service is ServiceType.ETHERNET_ELINE and z < a:
        a, z = z, a
    return Route(a, z)


class ValueSets:
    """One shared dict per distinct set of values: a market repeats a few, and 10^6 open
    orders each holding their own copy cost ~300 MB. Orders never change their values
    (snapshots share the dict already), so sharing equal ones is safe."""

    __slots__ = ("_known", "size")

    def __init__(self, size: int = 65_536) -> None:
        self._known: dict[tuple[tuple[str, int], ...], dict[str, int]] = {}
        self.size = size

    def get(self, values: dict[str, int]) -> dict[str, int]:
        key = tuple(values.items())
        known = self._known.get(key)
        if known is None:
            if len(self._known) >= self.size:
                self._known.clear()  # forgotten, not freed: orders keep theirs
            known = self._known[key] = dict(values)
        return known


@dataclass(frozen=True, slots=True)
class OrderInput:
    """A new offer or request as a participant entered it, before validation and classing.

    For offers `values` are asserted parameter values and `price` the ask; for requests
    `values` are per-parameter requirements and `price` the limit. Times are microseconds
    since the Unix epoch; 0 means unset."""

    participant: str
    client_order_id: str
    side: Side
    service_type: int
    a_end: str
    z_end: str
    capacity_kbps: int
    circuits: int
    values: dict[str, int]
    price: int
    grade: str = ""
    class_scheme: str = ""
    valid_from: int = 0
    valid_until: int = 0
    time_in_force: int = 0  # 0: good-till-date when valid_until is set, else good-till-cancelled
    routing_policy: int = 0  # requests only; 0: cheapest first
    propose_class: bool = False  # requests only: the server proposes a class, the buyer approves it
    quote_id: int = 0  # requests only: enter at this quote's price
    rebid_of: int = 0  # requests only: atomically replace this unmatched request
    service_end: int = 0  # requests only: deals from it end then


# Read on every order; a member read off an Enum class is slow on CPython 3.11.
_GOOD_TILL_DATE = TimeInForce.GOOD_TILL_DATE
_GOOD_TILL_CANCELLED = TimeInForce.GOOD_TILL_CANCELLED
_CHEAPEST_FIRST = RoutingPolicy.CHEAPEST_FIRST

# The normalised fields of a new order checked before the class scheme: service, route,
# time in force, routing policy. A plain tuple: built once per order on the hot path.
Checked = tuple[ServiceType, Route, TimeInForce, RoutingPolicy]


def check_order_input(o: OrderInput, now: int) -> Checked:
    """Check every field of a new order that does not depend on the class scheme."""
    if not _CLIENT_ID.fullmatch(o.client_order_id):
        limits.CLIENT_ORDER_ID.check("client_order_id", o.client_order_id)
    service = _SERVICE_TYPES.get(o.service_type)
    if service is None:
        raise InvalidArgument("service_type", "must be ETHERNET_ELINE, IP_TRANSIT or VOICE_TERMINATION")
    route = Route.parse(service, o.a_end, o.z_end)
    if not 1 <= o.capacity_kbps <= MAX_CAPACITY_KBPS:
        raise InvalidArgument("capacity_kbps", f"must be 1..{MAX_CAPACITY_KBPS}")
    if not 1 <= o.circuits <= MAX_CIRCUITS:
        raise InvalidArgument("circuits", f"must be 1..{MAX_CIRCUITS}")
    if not 1 <= o.price <= MAX_PRICE:
        price_field = "price" if o.side is Side.OFFER else "limit_price"
        raise InvalidArgument(price_field, f"must be 1..{MAX_PRICE} minor units per circuit")
    if o.valid_until and o.valid_until <= now:
        raise InvalidArgument("valid_until", "must be in the future")
    if o.valid_from and o.valid_until and o.valid_until <= o.valid_from:
        raise InvalidArgument("valid_until", "must be after valid_from")
    if o.valid_from or o.valid_until or o.service_end:
        check_times(("valid_from", o.valid_from), ("valid_until", o.valid_until), ("service_end", o.service_end))
    if o.service_end:
        if o.side is Side.OFFER:
            raise InvalidArgument("service_end", "applies to purchase orders (requests) only")
        if o.service_end <= max(now, o.valid_from, o.valid_until):
            raise InvalidArgument("service_end", "must be later than now, valid_from and valid_until")
    # The common order sets neither; skip the checks then (the matching hot path).
    tif = _time_in_force(o, now) if o.time_in_force else _GOOD_TILL_DATE if o.valid_until else _GOOD_TILL_CANCELLED
    if o.routing_policy or o.propose_class or o.quote_id or o.rebid_of:
        return service, route, tif, _routing(o)
    return service, route, tif, _CHEAPEST_FIRST


def check_times(*moments: tuple[str, int]) -> None:
    """Times in microseconds since the epoch, inside what a Timestamp and the store hold."""
    for name, moment in moments:
        if not 0 <= moment <= limits.MAX_TIME_US:
            raise InvalidArgument(name, "must be a time between 1970 and the end of year 9999")


def _time_in_force(o: OrderInput, now: int) -> TimeInForce:
    try:
        tif = TimeInForce(o.time_in_force)
    except ValueError:
        raise InvalidArgument(
            "time_in_force",
            "must be GOOD_TILL_CANCELLED, GOOD_TILL_DATE, IMMEDIATE_OR_CANCEL, FILL_OR_KILL or ALL_OR_NONE",
        ) from None
    if tif is TimeInForce.GOOD_TILL_CANCELLED and o.valid_until:
        raise InvalidArgument("valid_until", "a good-till-cancelled order has no expiry; use GOOD_TILL_DATE")
    if tif is TimeInForce.GOOD_TILL_DATE and not o.valid_until:
        raise InvalidArgument("valid_until", "required for a good-till-date order")
    if tif in ACTS_ON_ENTRY:
        if o.valid_from > now:
            raise InvalidArgument("valid_from", f"a {tif.name} order acts on entry and cannot start later")
        if o.valid_until:
            raise InvalidArgument("valid_until", f"a {tif.name} order never rests, so it has no expiry")
    return tif


def _routing(o: OrderInput) -> RoutingPolicy:
    if o.side is Side.OFFER:
        for name, value in (
            ("routing_policy", o.routing_policy),
            ("propose_class", o.propose_class),
            ("quote_id", o.quote_id),
            ("rebid_of", o.rebid_of),
        ):
            if value:
                raise InvalidArgument(name, "applies to purchase orders (requests) only")
        return RoutingPolicy.CHEAPEST_FIRST
    if not o.routing_policy:
        return RoutingPolicy.CHEAPEST_FIRST
    try:
        return RoutingPolicy(o.routing_policy)
    except ValueError:
        raise InvalidArgument("routing_policy", "must be CHEAPEST_FIRST or QUALITY_FIRST") from None


@dataclass(slots=True, eq=False)
class Order:
    """An accepted order. The engine mutates remaining/status/price/priority in place;
    everything else is fixed once accepted. Equality is identity: books hold the objects."""

    order_id: int
    participant: str
    client_order_id: str
    side: Side
    service_type: ServiceType
    route: Route
    capacity_kbps: int
    circuits: int
    remaining: int
    values: dict[str, int]
    price: int
    class_scheme: str
    scheme_version: int
    grade: str
    assigned_by: ClassAssignment
    class_reason: str
    valid_from: int
    valid_until: int
    status: OrderStatus
    priority: int
    created_at: int
    updated_at: int
    time_in_force: TimeInForce = TimeInForce.GOOD_TILL_CANCELLED
    routing: RoutingPolicy = RoutingPolicy.CHEAPEST_FIRST
    score: int = 0  # quality score 0..1000 under the order's scheme (offers: of the asserted values)
    rebid_of: int = 0  # the request this one replaced
    quote_id: int = 0  # the quote it entered at
    approve_by: int = 0  # PENDING_APPROVAL: the proposal lapses (EXPIRED) at this time
    service_end: int = 0  # requests: the deals struck from it end at this time (0: never by themselves)

    def state(self) -> tuple[int, int, int, OrderStatus, int, int]:
        """The fields that change after acceptance, as one cheap tuple (for events)."""
        return (self.circuits, self.remaining, self.price, self.status, self.priority, self.updated_at)

    def snapshot(self, state: tuple[int, int, int, OrderStatus, int, int] | None = None) -> Order:
        """A copy frozen at this moment, or as it was at `state` (from `state()`)."""
        circuits, remaining, price, status, priority, updated_at = state or self.state()
        return Order(
            self.order_id,
            self.participant,
            self.client_order_id,
            self.side,
            self.service_type,
            self.route,
            self.capacity_kbps,
            circuits,
            remaining,
            self.values,
            price,
            self.class_scheme,
            self.scheme_version,
            self.grade,
            self.assigned_by,
            self.class_reason,
            self.valid_from,
            self.valid_until,
            status,
            priority,
            self.created_at,
            updated_at,
            self.time_in_force,
            self.routing,
            self.score,
            self.rebid_of,
            self.quote_id,
            self.approve_by,
            self.service_end,
        )
