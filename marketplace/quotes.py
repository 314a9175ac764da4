"""Pre-trade answers to a buyer: price quotes and ranked alternates.

A quote says what a prospective request would get now: its class, each fill it would
take (price and circuits, in the order the matcher would take them) and so the price to
enter at. An alternate is a nearby product the book can sell when the exact one is not
there. Both are immutable records; the engine makes them and journals them as events."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from fractions import Fraction

from marketplace import fills
from marketplace.errors import InvalidArgument
from marketplace.orders import OrderInput, Route, RoutingPolicy, ServiceType


def iso(micros: int) -> str:
    """A time for messages: 2026-11-25T21:00:00.000000Z."""
    return datetime.fromtimestamp(micros / 1_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class Quote:
    """What a request of this shape would match now. Valid until `expires_at`."""

    quote_id: int
    participant: str
    service_type: ServiceType
    route: Route
    capacity_kbps: int
    circuits: int
    requirements: dict[str, int]
    class_scheme: str
    scheme_version: int
    grade: str
    class_reason: str
    routing: RoutingPolicy
    fills: tuple[tuple[int, int], ...]  # (price, circuits), consecutive equal prices merged
    created_at: int
    expires_at: int
    # Median time from match to ACTIVE of the exchange's recent deals when quoted (0: no
    # network, or none yet). Shown, not stored.
    provisioning_p50_ms: int = 0

    @property
    def fillable(self) -> int:
        """Circuits the book would fill now."""
        return sum(c for _, c in self.fills)

    @property
    def full(self) -> bool:
        return self.fillable == self.circuits

    @property
    def price(self) -> int:
        """The limit to enter at: the highest price any of the fills takes (0: no fill)."""
        return top_price(self.fills)

    @property
    def total_value(self) -> int:
        return value_of(self.fills)

    def state(self) -> tuple[()]:
        return ()

    def snapshot(self, state: tuple[()] | None = None) -> Quote:
        return self


def top_price(fills: tuple[tuple[int, int], ...]) -> int:
    """The highest price among (price, circuits) fills; 0 for none."""
    return max((p for p, _ in fills), default=0)


def value_of(fills: tuple[tuple[int, int], ...]) -> int:
    """Sum of price x circuits."""
    return sum(p * c for p, c in fills)


def merge_fills(fills: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """(price, circuits) fills with consecutive equal prices merged, keeping the order."""
    out: list[tuple[int, int]] = []
    for price, circuits in fills:
        if out and out[-1][0] == price:
            out[-1] = (price, out[-1][1] + circuits)
        else:
            out.append((price, circuits))
    return tuple(out)


class AlternateKind(IntEnum):
    """How an alternate differs from what was asked. The value is its rank: closer to
    the request first. Values match ixchange.v1.AlternateKind."""

    BETTER_CLASS = 1  # the same route and shape one class up: meets everything asked, costs more
    CAPACITY_SPLIT = 2  # the same class and route, the same total capacity in other circuit sizes
    NEARBY_ROUTE = 3  # the same class and shape with one end at a neighbouring point of presence
    WORSE_CLASS = 4  # the same route and shape one class down: cheaper, below the quality asked


@dataclass(frozen=True, slots=True)
class ParameterDifference:
    """One parameter as asked (a requirement, else the asked grade's bound) and as the
    alternate's best offer asserts it."""

    parameter: str
    asked: int
    offered: int
    meets: bool  # the offered value is at least as good as the asked one


@dataclass(frozen=True, slots=True)
class Alternate:
    """A product the book can sell instead, with its price for the quantity asked."""

    kind: AlternateKind
    class_scheme: str
    grade: str
    service_type: ServiceType
    route: Route
    capacity_kbps: int
    circuits: int  # circuits of this capacity that give the capacity asked for
    available: int  # of those, circuits the book would fill now
    fills: tuple[tuple[int, int], ...]
    differences: tuple[ParameterDifference, ...]
    note: str

    @property
    def full(self) -> bool:
        return self.available == self.circuits

    @property
    def price(self) -> int:
        return top_price(self.fills)

    @property
    def total_value(self) -> int:
        return value_of(self.fills)

    def rank_key(self) -> tuple[bool, int, Fraction, str, str, str, int]:
        """The ranking rule (README "Alternates"): full fills first, then the kind
        (closest to the request first), then the price per kbit/s of what it fills, then
        grade, route and capacity for a stable order."""
        per_kbps = Fraction(self.total_value, max(1, self.available * self.capacity_kbps))
        return (
            not self.full,
            int(self.kind),
            per_kbps,
            self.grade,
            self.route.a_end,
            self.route.z_end,
            self.capacity_kbps,
        )


@dataclass(frozen=True, slots=True)
class Recommendation:
    """Alternates proposed to a buyer for a request (order_id 0: a prospective one)."""

    participant: str
    order_id: int
    service_type: ServiceType
    route: Route
    capacity_kbps: int
    circuits: int  # circuits still wanted
    class_scheme: str
    grade: str
    alternates: tuple[Alternate, ...]
    created_at: int

    def state(self) -> tuple[()]:
        return ()

    def snapshot(self, state: tuple[()] | None = None) -> Recommendation:
        return self


def entered_at(o: OrderInput, quote: Quote) -> OrderInput:
    """A request entered at `quote`: fields left empty come from the quote, fields given
    must equal it, and the limit is the quote's price (never re-priced)."""

    def same(field_name: str, given: object, quoted: object, shown: object = None) -> None:
        if given != quoted:
            raise InvalidArgument(
                field_name,
                f"must be left unset or equal quote {quote.quote_id}'s ({shown if shown is not None else quoted})",
            )

    service = o.service_type or int(quote.service_type)
    same("service_type", service, int(quote.service_type), quote.service_type.name)
    if o.a_end or o.z_end:
        route = Route.parse(quote.service_type, o.a_end, o.z_end)
        same("route", route, quote.route, str(quote.route))
    for field_name, given, quoted in (
        ("capacity_kbps", o.capacity_kbps, quote.capacity_kbps),
        ("circuits", o.circuits, quote.circuits),
        ("grade", o.grade, quote.grade),
        ("class_scheme", o.class_scheme, quote.class_scheme),
        ("routing_policy", o.routing_policy, int(quote.routing)),
        ("limit_price", o.price, quote.price),
    ):
        if given:
            same(field_name, given, quoted)
    if o.values:
        same("requirements", o.values, quote.requirements, fills.requirements(quote.requirements))
    if o.propose_class:
        raise InvalidArgument("propose_class", "a quoted request already has its class")
    return dataclasses.replace(
        o,
        service_type=service,
        a_end=quote.route.a_end,
        z_end=quote.route.z_end,
        capacity_kbps=quote.capacity_kbps,
        circuits=quote.circuits,
        values=dict(quote.requirements),
        price=quote.price,
        grade=quote.grade,
        class_scheme=quote.class_scheme,
        routing_policy=int(quote.routing),
    )
