"""Between table rows and domain objects: what the store writes for each kind of record
and how it reads one back, plus the bulk statements of the write path."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Row

from marketplace.classing import Band, ClassScheme, Grade
from marketplace.deals import Agreement, Deal, DealStatus, Interconnect, Party
from marketplace.orders import ClassAssignment, Order, OrderStatus, Route, RoutingPolicy, ServiceType, Side, TimeInForce
from marketplace.parameters import Direction, Parameter
from marketplace.participants import Participant, Role, TokenInfo, token_id
from marketplace.quotes import Quote
from marketplace.store import tables as t

ORDER_COLUMNS = (
    "id",
    "participant",
    "client_order_id",
    "side",
    "service_type",
    "a_end",
    "z_end",
    "capacity_kbps",
    "circuits",
    "remaining",
    "param_values",
    "price",
    "class_scheme",
    "scheme_version",
    "grade",
    "assigned_by",
    "class_reason",
    "valid_from",
    "valid_until",
    "status",
    "priority",
    "created_at",
    "updated_at",
    "time_in_force",
    "routing",
    "score",
    "rebid_of",
    "quote_id",
    "approve_by",
    "service_end",
)
DEAL_COLUMNS = (
    "id",
    "offer_order_id",
    "request_order_id",
    "seller",
    "buyer",
    "service_type",
    "a_end",
    "z_end",
    "capacity_kbps",
    "circuits",
    "price",
    "class_scheme",
    "scheme_version",
    "grade",
    "agreement_id",
    "status",
    "status_reason",
    "created_at",
    "updated_at",
    "ends_at",
    "replaces",
    "replaced_by",
    "protection_price",
)
EVENT_COLUMNS = ("sequence", "time", "kind", "party_a", "party_b", "payload")
# Written by every insert and update of an order or deal: the commit's revision (0009).
REVISION = "revision"


def bulk_statements(mark: str) -> dict[str, str]:
    """The hot-path statements in the driver's own parameter style."""

    def insert(table: str, columns: tuple[str, ...]) -> str:
        return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(mark for _ in columns)})"

    return {
        "order_insert": insert("orders", (*ORDER_COLUMNS, REVISION)),
        "deal_insert": insert("deals", (*DEAL_COLUMNS, REVISION)),
        "event_insert": insert("events", EVENT_COLUMNS),
        "order_update": (
            f"UPDATE orders SET circuits = {mark}, remaining = {mark}, price = {mark}, status = {mark}, "
            f"priority = {mark}, updated_at = {mark}, revision = {mark} WHERE id = {mark}"
        ),
        "deal_update": (
            f"UPDATE deals SET agreement_id = {mark}, status = {mark}, status_reason = {mark}, "
            f"updated_at = {mark}, replaced_by = {mark}, protection_price = {mark}, capacity_kbps = {mark}, "
            f"price = {mark}, ends_at = {mark}, revision = {mark} WHERE id = {mark}"
        ),
    }


def order_tuple(o: Order, revision: int) -> tuple[Any, ...]:
    return (
        o.order_id,
        o.participant,
        o.client_order_id,
        int(o.side),
        int(o.service_type),
        o.route.a_end,
        o.route.z_end,
        o.capacity_kbps,
        o.circuits,
        o.remaining,
        json.dumps(o.values, sort_keys=True),
        o.price,
        o.class_scheme,
        o.scheme_version,
        o.grade,
        int(o.assigned_by),
        o.class_reason,
        o.valid_from,
        o.valid_until,
        int(o.status),
        o.priority,
        o.created_at,
        o.updated_at,
        int(o.time_in_force),
        int(o.routing),
        o.score,
        o.rebid_of,
        o.quote_id,
        o.approve_by,
        o.service_end,
        revision,
    )


def order_update_tuple(o: Order, revision: int) -> tuple[Any, ...]:
    return (o.circuits, o.remaining, o.price, int(o.status), o.priority, o.updated_at, revision, o.order_id)


def deal_tuple(d: Deal, revision: int) -> tuple[Any, ...]:
    return (
        d.deal_id,
        d.offer_order_id,
        d.request_order_id,
        d.seller,
        d.buyer,
        int(d.service_type),
        d.route.a_end,
        d.route.z_end,
        d.capacity_kbps,
        d.circuits,
        d.price,
        d.class_scheme,
        d.scheme_version,
        d.grade,
        d.agreement_id,
        int(d.status),
        d.status_reason,
        d.created_at,
        d.updated_at,
        d.ends_at,
        d.replaces,
        d.replaced_by,
        d.protection_price,
        revision,
    )


def deal_update_tuple(d: Deal, revision: int) -> tuple[Any, ...]:
    return (
        d.agreement_id,
        int(d.status),
        d.status_reason,
        d.updated_at,
        d.replaced_by,
        d.protection_price,
        d.capacity_kbps,
        d.price,
        d.ends_at,
        revision,
        d.deal_id,
    )


# A restart reads every live order (10^6 of them take the bulk of a restart): enum members
# by dict lookup, not the Enum call, and each distinct set of values parsed once and
# shared by the orders that have it (orders never change their values: ValueSets); the
# few distinct participants, ends, routes, schemes, grades and reasons shared too (the
# driver makes a new string per row: ~0.3 GB at 10^6 orders).
_SIDES = {int(x): x for x in Side}
_SERVICES = {int(x): x for x in ServiceType}
_ASSIGNED = {int(x): x for x in ClassAssignment}
_STATUSES = {int(x): x for x in OrderStatus}
_TIFS = {int(x): x for x in TimeInForce}
_ROUTINGS = {int(x): x for x in RoutingPolicy}
_PARSED: dict[str, dict[str, int]] = {}


_SHARED: dict[Any, Any] = {}
SHARED_AT_MOST = 65_536


def _values(text: str) -> dict[str, int]:
    parsed = _PARSED.get(text)
    if parsed is None:
        if len(_PARSED) >= SHARED_AT_MOST:
            _PARSED.clear()
        parsed = _PARSED[text] = json.loads(text)
    return parsed


def shared(value: Any) -> Any:
    """The copy of `value` already kept, if any (strings and routes are immutable)."""
    kept = _SHARED.get(value)
    if kept is None:
        if len(_SHARED) >= SHARED_AT_MOST:
            _SHARED.clear()
        kept = _SHARED[value] = value
    return kept


# A row of `select(*ORDER_ROW)`, in ORDER_COLUMNS' order (a test holds them to the table's):
# unpacked as a tuple, which costs a fraction of 29 reads by name. (The revision is left out.)
ORDER_ROW = tuple(t.orders.c[name] for name in ORDER_COLUMNS)


def order(r: Sequence[Any]) -> Order:
    (order_id, participant, client_order_id, side, service, a_end, z_end, capacity, circuits, remaining,
     values, price, scheme, version, grade, assigned_by, reason, valid_from, valid_until, status, priority,
     created_at, updated_at, tif, routing, score, rebid_of, quote_id, approve_by, service_end) = r  # fmt: skip
    return Order(
        order_id,
        shared(participant),
        client_order_id,
        _SIDES[side],
        _SERVICES[service],
        shared(Route(shared(a_end), shared(z_end))),
        capacity,
        circuits,
        remaining,
        _values(values),
        price,
        shared(scheme),
        version,
        shared(grade),
        _ASSIGNED[assigned_by],
        shared(reason),
        valid_from,
        valid_until,
        _STATUSES[status],
        priority,
        created_at,
        updated_at,
        _TIFS[tif],
        _ROUTINGS[routing],
        score,
        rebid_of,
        quote_id,
        approve_by,
        service_end,
    )


def deal(r: Row[Any]) -> Deal:
    return Deal(
        r.id,
        r.offer_order_id,
        r.request_order_id,
        r.seller,
        r.buyer,
        ServiceType(r.service_type),
        Route(r.a_end, r.z_end),
        r.capacity_kbps,
        r.circuits,
        r.price,
        r.class_scheme,
        r.scheme_version,
        r.grade,
        r.agreement_id,
        DealStatus(r.status),
        r.status_reason,
        r.created_at,
        r.updated_at,
        r.ends_at,
        r.replaces,
        r.replaced_by,
        r.protection_price,
    )


def parameter_row(p: Parameter) -> dict[str, Any]:
    return {
        "name": p.name,
        "unit": p.unit,
        "direction": int(p.direction),
        "description": p.description,
        "min_value": p.min_value,
        "max_value": p.max_value,
        "score_worst": p.score_worst,
        "score_best": p.score_best,
    }


def parameter(r: Row[Any]) -> Parameter:
    return Parameter(
        r.name, r.unit, Direction(r.direction), r.description, r.min_value, r.max_value, r.score_worst, r.score_best
    )


def scheme_row(s: ClassScheme) -> dict[str, Any]:
    definition = {
        "service_types": [int(x) for x in s.service_types],
        "weights": s.weights,
        "grades": [
            {
                "name": g.name,
                "min_score": g.min_score,
                "bands": [
                    {
                        "parameter": b.parameter,
                        "fixed": b.fixed,
                        "median_permille": b.median_permille,
                        "initial": b.initial,
                    }
                    for b in g.bands
                ],
            }
            for g in s.grades
        ],
    }
    return {
        "name": s.name,
        "version": s.version,
        "definition": json.dumps(definition, sort_keys=True),
        "created_at": s.created_at,
    }


def scheme(r: Row[Any]) -> ClassScheme:
    d = json.loads(r.definition)
    grades = tuple(
        Grade(
            g["name"],
            tuple(Band(b["parameter"], b["fixed"], b["median_permille"], b["initial"]) for b in g["bands"]),
            g["min_score"],
        )
        for g in d["grades"]
    )
    return ClassScheme(
        r.name,
        r.version,
        tuple(ServiceType(x) for x in d["service_types"]),
        grades,
        {k: int(v) for k, v in d["weights"].items()},
        r.created_at,
    )


def agreement_row(a: Agreement) -> dict[str, Any]:
    return {
        "id": a.agreement_id,
        "reference": a.reference,
        "buyer": a.buyer,
        "seller": a.seller,
        "interconnects": json.dumps([[int(i.party), i.node, i.port, i.vlan_min, i.vlan_max] for i in a.interconnects]),
        "max_rate_kbps": a.max_rate_kbps,
        "terms": a.terms,
        "created_at": a.created_at,
    }


def agreement(r: Row[Any]) -> Agreement:
    ics = tuple(Interconnect(Party(p), n, port, lo, hi) for p, n, port, lo, hi in json.loads(r.interconnects))
    return Agreement(r.id, r.reference, r.buyer, r.seller, ics, r.max_rate_kbps, r.terms, r.created_at)


def participant_row(p: Participant) -> dict[str, Any]:
    return {
        "name": p.name,
        "roles": ",".join(r.name for r in sorted(p.roles)),
        "carrier": p.carrier,
        "display_name": p.display_name,
        "created_at": p.created_at,
        "cert_subject": p.cert_subject,
    }


def participant(r: Row[Any]) -> Participant:
    roles = frozenset(Role[x] for x in r.roles.split(",") if x)
    return Participant(r.name, roles, bool(r.carrier), r.display_name, r.created_at, r.cert_subject)


def token_info(r: Row[Any]) -> TokenInfo:
    return TokenInfo(token_id(r.token_hash), r.participant, r.label, r.created_at, r.expires_at, r.revoked_at)


def quote_row(q: Quote) -> dict[str, Any]:
    definition = {
        "service_type": int(q.service_type),
        "route": [q.route.a_end, q.route.z_end],
        "capacity_kbps": q.capacity_kbps,
        "circuits": q.circuits,
        "requirements": q.requirements,
        "class_scheme": q.class_scheme,
        "scheme_version": q.scheme_version,
        "grade": q.grade,
        "class_reason": q.class_reason,
        "routing": int(q.routing),
        "fills": [list(f) for f in q.fills],
    }
    return {
        "id": q.quote_id,
        "participant": q.participant,
        "definition": json.dumps(definition, sort_keys=True),
        "created_at": q.created_at,
        "expires_at": q.expires_at,
    }


def quote(r: Row[Any]) -> Quote:
    d = json.loads(r.definition)
    return Quote(
        r.id,
        r.participant,
        ServiceType(d["service_type"]),
        Route(*d["route"]),
        d["capacity_kbps"],
        d["circuits"],
        {k: int(v) for k, v in d["requirements"].items()},
        d["class_scheme"],
        d["scheme_version"],
        d["grade"],
        d["class_reason"],
        RoutingPolicy(d["routing"]),
        tuple((int(p), int(c)) for p, c in d["fills"]),
        r.created_at,
        r.expires_at,
    )
