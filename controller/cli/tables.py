"""Tables the commands share: orders, deals, alternates, market report rows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ixchange.v1 import common_pb2, market_pb2

from controller.cli.common import SERVICE_NAMES, Table, enum_name, fmt_kbps, fmt_time


def orders_table(orders: Iterable[common_pb2.Order], title: str = "Orders") -> Table:
    table = Table(title=title)
    for col in (
        "id",
        "client id",
        "owner",
        "side",
        "service",
        "route",
        "capacity",
        "circuits",
        "open",
        "price",
        "class",
        "status",
    ):
        table.add_column(col, justify="right" if col in ("id", "circuits", "open", "price") else "left")
    for o in orders:
        table.add_row(
            str(o.order_id),
            o.client_order_id,
            o.participant,
            enum_name(common_pb2.Side, o.side, "SIDE_"),
            SERVICE_NAMES.get(o.service_type, "?"),
            f"{o.route.a_end}:{o.route.z_end}",
            fmt_kbps(o.capacity_kbps),
            str(o.circuits),
            str(o.remaining_circuits),
            str(o.price),
            f"{o.class_scheme}/{o.grade} v{o.scheme_version}",
            enum_name(common_pb2.OrderStatus, o.status, "ORDER_STATUS_"),
        )
    return table


def deals_table(deals: Iterable[common_pb2.Deal], title: str = "Deals") -> Table:
    table = Table(title=title)
    for col in (
        "id",
        "seller",
        "buyer",
        "service",
        "route",
        "capacity",
        "circuits",
        "price",
        "class",
        "delivered",
        "agreement",
        "status",
        "ends",
        "reason",
    ):
        table.add_column(col, justify="right" if col in ("id", "circuits", "price", "agreement") else "left")
    for d in deals:
        table.add_row(
            str(d.deal_id),
            d.seller,
            d.buyer,
            SERVICE_NAMES.get(d.service_type, "?"),
            f"{d.route.a_end}:{d.route.z_end}",
            fmt_kbps(d.capacity_kbps),
            str(d.circuits),
            str(d.price),
            f"{d.class_scheme}/{d.grade} v{d.scheme_version}",
            delivered_text(d),
            str(d.agreement_id or "-"),
            enum_name(common_pb2.DealStatus, d.status, "DEAL_STATUS_")
            + (" [red]DEGRADED[/]" if degraded(d) else "")
            + (f" (replaces {d.replaces})" if d.replaces else "")
            + (f" (to {d.replaced_by})" if d.replaced_by else "")
            + (" PROTECTED" if d.protection_price and d.status == common_pb2.DEAL_STATUS_ACTIVE else ""),
            fmt_time(d.ends_at) if d.HasField("ends_at") else "-",
            d.delivered.reason if degraded(d) else d.status_reason,
        )
    return table


def degraded(d: common_pb2.Deal) -> bool:
    return d.HasField("delivered") and d.delivered.degraded and d.status == common_pb2.DEAL_STATUS_ACTIVE


def delivered_text(d: common_pb2.Deal) -> str:
    """The class the deal delivers, as measured ("-": not measured)."""
    if not d.HasField("delivered"):
        return "-"
    grade = d.delivered.delivered_grade or "no class"
    return f"[red]{grade}[/]" if d.delivered.degraded else grade


def fills_text(fills: Iterable[market_pb2.Fill]) -> str:
    return ", ".join(f"{f.circuits} @ {f.price}" for f in fills) or "-"


def alternates_table(alternates: Iterable[market_pb2.Alternate], title: str = "Alternates (best first)") -> Table:
    table = Table(title=title)
    for col in ("#", "kind", "class", "route", "capacity", "circuits", "available", "price", "fills", "differences"):
        table.add_column(col, justify="right" if col in ("#", "circuits", "available", "price") else "left")
    for rank, a in enumerate(alternates, start=1):
        diffs = "; ".join(
            f"{d.parameter} {d.offered} vs {d.asked}{'' if d.meets else ' (worse)'}" for d in a.differences
        )
        table.add_row(
            str(rank),
            enum_name(market_pb2.AlternateKind, a.kind, "ALTERNATE_KIND_").lower().replace("_", " "),
            f"{a.class_scheme}/{a.grade}",
            f"{a.route.a_end}:{a.route.z_end}",
            fmt_kbps(a.capacity_kbps),
            str(a.circuits),
            str(a.available_circuits),
            str(a.price),
            fills_text(a.fills),
            diffs or a.note,
        )
    return table


def report_rows(rows: Iterable[market_pb2.MarketReportRow]) -> list[list[Any]]:
    """Report rows as CSV_COLUMNS values, without the window columns."""
    return [
        [
            r.class_scheme,
            r.grade,
            SERVICE_NAMES.get(r.service_type, "?"),
            r.route.a_end,
            r.route.z_end,
            r.capacity_kbps,
            r.deals,
            r.circuits,
            r.volume_kbps,
            r.vwap,
            r.min_price,
            r.max_price,
            r.total_value,
            r.median_quality if r.HasField("median_quality") else "",
        ]
        for r in rows
    ]
