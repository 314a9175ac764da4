"""Order entry forms -> API requests (pure). Form fields are named after the API's fields
(`capacity` for capacity_kbps, `value.<parameter>` for values/requirements), so that a
refusal from the exchange lands next to the field it names, like a refusal found here."""

from __future__ import annotations

import argparse
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from ixchange.v1 import common_pb2, exchange_pb2, market_pb2

from controller.cli.common import ROUTING, SERVICES, TIME_IN_FORCE, capacity

SIDES = ("offer", "request")
# The fields an order form keeps (and a saved template holds): nothing else is stored.
KEPT = (
    "side",
    "service",
    "a_end",
    "z_end",
    "capacity",
    "circuits",
    "price",
    "limit_price",
    "grade",
    "tif",
    "routing",
    "propose",
)


@dataclass
class Parsed:
    """What a form asked for, or the errors by field."""

    side: str = "request"
    errors: dict[str, str] = field(default_factory=dict)
    offer: exchange_pb2.SubmitOfferRequest | None = None
    request: exchange_pb2.SubmitRequestRequest | None = None
    spec: market_pb2.RequestSpec | None = None  # a request's terms, for a quote


def new_client_order_id() -> str:
    """Put in each rendered form: submitting the same form twice is one order."""
    return "portal-" + uuid.uuid4().hex


def template_fields(form: Mapping[str, str]) -> dict[str, str]:
    """The part of a form a saved template keeps: the terms, never ids or quotes."""
    kept = {k: form[k] for k in KEPT if form.get(k)}
    kept.update({k: v for k, v in form.items() if k.startswith("value.") and v.strip()})
    return kept


def parse_order(form: Mapping[str, str]) -> Parsed:
    side = form.get("side", "request")
    parsed = Parsed(side=side if side in SIDES else "request")
    errors = parsed.errors
    if side not in SIDES:
        errors["side"] = "side: choose offer or request"
    service = SERVICES.get(form.get("service", ""))
    if service is None:
        errors["service"] = f"service: choose one of {', '.join(SERVICES)}"
    a_end, z_end = form.get("a_end", "").strip(), form.get("z_end", "").strip()
    for name, pop in (("a_end", a_end), ("z_end", z_end)):
        if not pop:
            errors[name] = f"{name}: enter a point of presence, e.g. FRA1"
    kbps = 0
    try:
        kbps = capacity(form.get("capacity", ""))
    except argparse.ArgumentTypeError:
        errors["capacity"] = "capacity: use e.g. 10G, 100M, 512k (bit/s)"
    circuits = _integer(form, "circuits", errors, default=1)
    price_field = "price" if parsed.side == "offer" else "limit_price"
    price = _integer(form, price_field, errors)
    values: dict[str, int] = {}
    for key, text in form.items():
        if key.startswith("value.") and text.strip():
            number = _integer(form, key, errors)
            if number is not None:
                values[key.removeprefix("value.")] = number
    grade = form.get("grade", "").strip()
    tif = TIME_IN_FORCE.get(form.get("tif", "gtc") or "gtc")
    if tif is None:
        errors["tif"] = f"tif: choose one of {', '.join(TIME_IN_FORCE)}"
    valid_until = _moment(form, "valid_until", errors)
    service_end = _moment(form, "service_end", errors)
    routing = ROUTING.get(form.get("routing", "cheapest") or "cheapest")
    if routing is None:
        errors["routing"] = f"routing: choose one of {', '.join(ROUTING)}"
    if errors:
        return parsed
    route = common_pb2.Route(a_end=a_end, z_end=z_end)
    cid = form.get("client_order_id", "") or new_client_order_id()
    if parsed.side == "offer":
        parsed.offer = exchange_pb2.SubmitOfferRequest(
            client_order_id=cid,
            service_type=service,
            route=route,
            capacity_kbps=kbps,
            circuits=circuits or 0,
            values=values,
            price=price or 0,
            grade=grade,
            time_in_force=tif,
            valid_until=valid_until,
        )
        return parsed
    quote_id = form.get("quote_id", "")
    # What a quote prices and the request then asks for: the same terms.
    terms: dict[str, Any] = {
        "service_type": service,
        "route": route,
        "capacity_kbps": kbps,
        "circuits": circuits or 0,
        "grade": grade,
        "requirements": values,
        "routing_policy": routing,
    }
    parsed.spec = market_pb2.RequestSpec(**terms)
    parsed.request = exchange_pb2.SubmitRequestRequest(
        client_order_id=cid,
        limit_price=price or 0,
        time_in_force=tif,
        valid_until=valid_until,
        propose_class=form.get("propose") == "on",
        quote_id=int(quote_id) if quote_id.isdigit() else 0,
        service_end=service_end,
        **terms,
    )
    return parsed


def classify_values(form: Mapping[str, str]) -> tuple[common_pb2.ServiceType, dict[str, int]]:
    """(service type, parameter values) of a form being typed: for the grade shown as you
    type. Values not (yet) numbers are left out."""
    values = {
        k.removeprefix("value."): int(v)
        for k, v in form.items()
        if k.startswith("value.") and re.fullmatch(r"-?\d{1,18}", v.strip())
    }
    return SERVICES.get(form.get("service", ""), common_pb2.SERVICE_TYPE_ETHERNET_ELINE), values


def _integer(form: Mapping[str, str], name: str, errors: dict[str, str], default: int | None = None) -> int | None:
    text = form.get(name, "").strip().replace("_", "")
    if not text and default is not None:
        return default
    if not re.fullmatch(r"-?\d{1,18}", text):
        errors[name] = f"{name}: enter a whole number"
        return None
    return int(text)


def _moment(form: Mapping[str, str], name: str, errors: dict[str, str]) -> Timestamp | None:
    """A datetime-local field (the browser sends YYYY-MM-DDTHH:MM, taken as UTC)."""
    text = form.get(name, "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        errors[name] = f"{name}: use YYYY-MM-DDTHH:MM (UTC)"
        return None
    stamp = Timestamp()
    stamp.FromDatetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return stamp
