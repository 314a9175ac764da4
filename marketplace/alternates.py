"""Alternates: what the book can sell a buyer instead of the exact product it asked for.

Looked for in four places, each priced for the quantity still wanted by walking the
book as the matcher would (without a limit, so a buyer sees what it would cost):
the nearest better and the nearest worse class on the same route that has offers; the
same class and route in other circuit sizes that add up to the same capacity; the same
class with one end moved to a neighbouring point of presence (operator-defined
adjacency). They are ranked by `Alternate.rank_key`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from marketplace.classing import effective_bound
from marketplace.orders import MAX_CIRCUITS, MAX_PRICE, Order, OrderStatus, Route, Side, TimeInForce
from marketplace.quotes import Alternate, AlternateKind, ParameterDifference, merge_fills

if TYPE_CHECKING:
    from marketplace.engine import ExchangeEngine

MAX_ALTERNATES = 10


def find_alternates(engine: ExchangeEngine, want: Order, now: int, limit: int = MAX_ALTERNATES) -> list[Alternate]:
    """Ranked alternates for the `want.remaining` circuits of a request."""
    scheme = engine.schemes.get(want.class_scheme)
    if scheme is None or not want.remaining:
        return []
    found: list[Alternate] = []
    names = scheme.grade_names
    if want.grade in names:
        at = names.index(want.grade)
        for kind, grades in (
            (AlternateKind.BETTER_CLASS, reversed(names[:at])),
            (AlternateKind.WORSE_CLASS, names[at + 1 :]),
        ):
            for grade in grades:  # the nearest class on that side that has offers
                # Requirements are the asked class's business: show how the other class differs instead.
                alternate = _price(engine, want, now, kind, f"{grade} instead of {want.grade}", grade=grade, values={})
                if alternate is not None:
                    found.append(alternate)
                    break
    total = want.capacity_kbps * want.remaining
    shelf = (want.class_scheme, want.grade, want.service_type, want.route)
    for capacity in sorted(engine.book_capacities.get(shelf, ())):
        circuits, rest = divmod(total, capacity)
        if capacity == want.capacity_kbps or rest or not 1 <= circuits <= MAX_CIRCUITS:
            continue
        note = f"{circuits} x {capacity} kbit/s instead of {want.remaining} x {want.capacity_kbps} kbit/s"
        values = {k: v for k, v in want.values.items() if k != "capacity_kbps"}
        kind = AlternateKind.CAPACITY_SPLIT
        alternate = _price(engine, want, now, kind, note, capacity_kbps=capacity, circuits=circuits, values=values)
        if alternate is not None:
            found.append(alternate)
    for route in nearby_routes(engine.neighbours, want):
        note = f"{route} instead of {want.route}"
        alternate = _price(engine, want, now, AlternateKind.NEARBY_ROUTE, note, route=route)
        if alternate is not None:
            found.append(alternate)
    found.sort(key=Alternate.rank_key)
    return found[:limit]


def nearby_routes(neighbours: dict[str, frozenset[str]], want: Order) -> Iterator[Route]:
    """Routes with one end moved to a neighbouring point of presence."""
    a, z = want.route
    seen = {want.route}
    moves = [(n, z) for n in sorted(neighbours.get(a, ()))] + [(a, n) for n in sorted(neighbours.get(z, ()))]
    for a_end, z_end in moves:
        if a_end == z_end:
            continue
        route = Route.parse(want.service_type, a_end, z_end)
        if route not in seen:
            seen.add(route)
            yield route


def _price(
    engine: ExchangeEngine,
    want: Order,
    now: int,
    kind: AlternateKind,
    note: str,
    grade: str | None = None,
    route: Route | None = None,
    capacity_kbps: int | None = None,
    circuits: int | None = None,
    values: dict[str, int] | None = None,
) -> Alternate | None:
    """The alternate `want` changed as given, priced by walking its book; None when the
    book has nothing for it."""
    wanted = circuits if circuits is not None else want.remaining
    # A request for the alternate product without a limit (built directly: this runs for
    # every request that does not fill).
    probe = Order(
        0,
        want.participant,
        "",
        Side.REQUEST,
        want.service_type,
        route if route is not None else want.route,
        capacity_kbps if capacity_kbps is not None else want.capacity_kbps,
        wanted,
        wanted,
        values if values is not None else want.values,
        MAX_PRICE,
        want.class_scheme,
        want.scheme_version,
        grade if grade is not None else want.grade,
        want.assigned_by,
        "",
        0,
        0,
        OrderStatus.OPEN,
        0,
        now,
        now,
        TimeInForce.GOOD_TILL_CANCELLED,
        want.routing,
    )
    plan = engine.plan_fills(probe, now)
    if not plan:
        return None
    best_offer = plan[0][0]
    if kind is AlternateKind.CAPACITY_SPLIT:
        differences: tuple[ParameterDifference, ...] = (
            ParameterDifference(
                "capacity_kbps", want.capacity_kbps, probe.capacity_kbps, probe.capacity_kbps >= want.capacity_kbps
            ),
        )
    elif kind in (AlternateKind.BETTER_CLASS, AlternateKind.WORSE_CLASS):
        differences = _differences(engine, want, best_offer)
    else:
        differences = ()
    return Alternate(
        kind,
        probe.class_scheme,
        probe.grade,
        probe.service_type,
        probe.route,
        probe.capacity_kbps,
        wanted,
        sum(qty for _, qty in plan),
        merge_fills([(resting.price, qty) for resting, qty in plan]),
        differences,
        note,
    )


def _differences(engine: ExchangeEngine, want: Order, offer: Order) -> tuple[ParameterDifference, ...]:
    """Each parameter the request asked for (a requirement, else the asked grade's
    bound in force now) against what the alternate's first offer asserts."""
    asked = {}
    scheme = engine.schemes[want.class_scheme]
    grade = scheme.grade(want.grade)
    if grade is not None:
        for band in grade.bands:
            asked[band.parameter] = effective_bound(
                band, scheme.name, grade.name, engine.medians, engine.parameters[band.parameter]
            )
    asked.update(want.values)
    out = []
    for name in sorted(asked):
        offered = offer.values.get(name)
        if offered is None and name == "capacity_kbps":
            offered = offer.capacity_kbps
        if offered is None:
            continue
        meets = engine.parameters[name].better_or_equal(offered, asked[name])
        out.append(ParameterDifference(name, asked[name], offered, meets))
    return tuple(out)
