"""A resubmitted client_order_id: an identical retry gets the original order back; one
with different content is a different order under a used id, refused naming the field
(as exchanges reject a duplicate ClOrdID)."""

from __future__ import annotations

from marketplace.errors import DomainError
from marketplace.orders import Order, OrderInput, Route, ServiceType


def first_difference(entry: OrderInput, order: Order) -> str | None:
    """The first field the new entry gives differently from the order entered under the
    same client_order_id, or None for a retry. Fields left unset (0, empty) are not
    compared: an order entered at a quote takes them from the quote. Price and circuits
    are compared with the order as it stands (a ReplaceOrder changes them; a retry is for
    a submission never answered, which cannot have been replaced)."""
    if int(entry.side) != int(order.side):
        return "side"
    given: list[tuple[str, object, object]] = [
        ("service_type", entry.service_type, int(order.service_type)),
        ("capacity_kbps", entry.capacity_kbps, order.capacity_kbps),
        ("circuits", entry.circuits, order.circuits),
        ("price", entry.price, order.price),
        ("grade", entry.grade, order.grade),
        ("class_scheme", entry.class_scheme, order.class_scheme),
        ("valid_from", entry.valid_from, order.valid_from),
        ("valid_until", entry.valid_until, order.valid_until),
        ("time_in_force", entry.time_in_force, int(order.time_in_force)),
        ("routing_policy", entry.routing_policy, int(order.routing)),
        ("quote_id", entry.quote_id, order.quote_id),
        ("rebid_of", entry.rebid_of, order.rebid_of),
        ("service_end", entry.service_end, order.service_end),
    ]
    for name, new, old in given:
        if new and new != old:
            return name
    if entry.values and entry.values != order.values:
        return "values" if int(order.side) == 1 else "requirements"
    if entry.a_end or entry.z_end:
        try:
            route = Route.parse(ServiceType(order.service_type), entry.a_end, entry.z_end)
        except (DomainError, ValueError):
            return "route"
        if route != order.route:
            return "route"
    return None
