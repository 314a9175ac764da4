"""The market at a glance: book depth by class and route, and the market report as a
table, a chart of price and volume over time by class, and CSV."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC

from fastapi import APIRouter, Request
from fastapi.responses import Response
from google.protobuf.timestamp_pb2 import Timestamp
from ixchange.v1 import exchange_pb2, market_pb2

from controller.cli.common import SERVICE_NAMES
from controller.cli.tables import report_rows
from marketplace.report import CSV_COLUMNS
from portal.charts import line_chart
from portal.web import Portal

router = APIRouter()
# span -> (buckets, seconds per bucket)
SPANS = {"hour": (12, 300), "day": (24, 3600), "week": (7, 86_400), "month": (30, 86_400)}


def _portal(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


async def _report(portal: Portal, request: Request, start: int, end: int) -> market_pb2.GetMarketReportResponse:
    reply: market_pb2.GetMarketReportResponse = await portal.call(
        request,
        portal.exchange.market.GetMarketReport,
        market_pb2.GetMarketReportRequest(start=Timestamp(seconds=start), end=Timestamp(seconds=end)),
    )
    return reply


def _class_of(row: market_pb2.MarketReportRow) -> str:
    return f"{row.grade} {SERVICE_NAMES.get(row.service_type, '')} {row.route.a_end}-{row.route.z_end}"


@router.get("/market")
async def market(request: Request, span: str = "day") -> Response:
    portal = _portal(request)
    span = span if span in SPANS else "day"
    buckets, step = SPANS[span]
    book = await portal.call(
        request, portal.exchange.exchange.GetBook, exchange_pb2.GetBookRequest(depth=5, page_size=100)
    )
    end = int(time.time())
    start = end - buckets * step
    whole = await _report(portal, request, start, end)
    price: dict[str, list[tuple[float, float]]] = {}
    volume: dict[str, list[tuple[float, float]]] = {}
    # One report per bucket: the report is the exchange's own aggregation (and its
    # minimum-deals rule for what participants may see), not a second one made here.
    for i in range(buckets):
        lo = start + i * step
        part = await _report(portal, request, lo, lo + step)
        for row in part.rows:
            name = _class_of(row)
            volume.setdefault(name, []).append((lo + step / 2, row.volume_kbps / 1e6))
            price.setdefault(name, []).append((lo + step / 2, row.vwap))
    charts = [
        line_chart(price, f"Volume-weighted price per {span_label(span)}", "price", x_range=(start, end)),
        line_chart(volume, f"Volume traded per {span_label(span)}", "Gbit/s", x_range=(start, end)),
    ]
    return portal.render(
        request, "market.html", books=list(book.books), report=whole, charts=charts, span=span, spans=list(SPANS)
    )


def span_label(span: str) -> str:
    return {"hour": "5 minutes", "day": "hour", "week": "day", "month": "day"}[span]


@router.get("/market/report.csv")
async def report_csv(request: Request, span: str = "day") -> Response:
    """The same CSV as `ixchange report --csv` (one format for scripts and spreadsheets).
    Names in it start with a letter or digit (the API's rules): no cell can be a formula."""
    portal = _portal(request)
    buckets, step = SPANS.get(span, SPANS["day"])
    end = int(time.time())
    reply = await _report(portal, request, end - buckets * step, end)
    window = [stamp.ToDatetime(tzinfo=UTC).isoformat() for stamp in (reply.start, reply.end)]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows([*window, *row] for row in report_rows(reply.rows))
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="ixchange-market-{span}.csv"'},
    )
