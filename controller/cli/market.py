"""Market data: `report` (volume and prices by class and route), `neighbours`."""

from __future__ import annotations

import argparse
import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from ixchange.v1 import market_pb2

from controller.cli.common import Client, CliError, Table, console, emit, fmt_kbps, fmt_time, say, when
from controller.cli.tables import report_rows
from marketplace.report import CSV_COLUMNS, day_window


def add_parsers(sub: Any) -> None:
    report = sub.add_parser("report", help="market report: volume and prices by class and route")
    report.add_argument("--from", dest="since", type=when, help="window start (default: 24 h before --to)")
    report.add_argument("--to", type=when, help="window end (default: now)")
    report.add_argument("--csv", type=Path, help="also write the rows to this CSV file")
    report.add_argument("--daily", action="store_true", help="the last full UTC day, written to --dir")
    report.add_argument("--date", type=date.fromisoformat, help="with --daily: this UTC day (YYYY-MM-DD)")
    report.add_argument("--dir", type=Path, default=Path("."), help="where --daily writes market-report-DAY.csv")
    report.set_defaults(run=cmd_report)

    neighbours = sub.add_parser("neighbours", help="point-of-presence adjacency used for alternates")
    neighbours.add_argument("action", nargs="?", choices=("list", "set"), default="list")
    neighbours.add_argument("pop", nargs="?")
    neighbours.add_argument("neighbours", nargs="*")
    neighbours.set_defaults(run=cmd_neighbours)


def cmd_report(args: argparse.Namespace, client: Client) -> int:
    if args.daily or args.date:
        day = args.date or (datetime.now(UTC).date() - timedelta(days=1))
        start_us, end_us = day_window(day)
        start, end = Timestamp(), Timestamp()
        start.FromMicroseconds(start_us)
        end.FromMicroseconds(end_us)
    else:
        end = args.to or when("+0s")
        start = args.since or Timestamp(seconds=end.seconds - 86_400, nanos=end.nanos)
    reply = client.call(client.market.GetMarketReport, market_pb2.GetMarketReportRequest(start=start, end=end))
    window = [stamp.ToDatetime(tzinfo=UTC).isoformat() for stamp in (reply.start, reply.end)]
    rows = report_rows(reply.rows)
    target = args.csv
    if args.daily or args.date:
        target = target or (args.dir / f"market-report-{day.isoformat()}.csv")
    if target:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(CSV_COLUMNS)
            writer.writerows([*window, *row] for row in rows)
        say(f"{len(rows)} rows written to [bold]{target}[/]")

    def show() -> None:
        unit = reply.rows[0].price_unit if reply.rows else None
        money = f"; prices in {unit.currency} / 10^{unit.exponent}" if unit else ""
        table = Table(title=f"Market report {fmt_time(reply.start)} .. {fmt_time(reply.end)} UTC{money}")
        for col in ("class", "service", "route", "capacity", "deals", "circuits", "vwap", "min", "max", "quality"):
            table.add_column(col, justify="left" if col in ("class", "service", "route") else "right")
        for r in rows:
            scheme, grade, service, a, z, cap, deals, circuits, _volume, vwap, low, high, _total, quality = r
            table.add_row(
                f"{scheme}/{grade}",
                service,
                f"{a}:{z}",
                fmt_kbps(cap),
                str(deals),
                str(circuits),
                str(vwap),
                str(low),
                str(high),
                str(quality) if quality != "" else "-",
            )
        console.print(table)

    emit(reply, show)
    return 0


def cmd_neighbours(args: argparse.Namespace, client: Client) -> int:
    if args.action == "set":
        if not args.pop:
            raise CliError("neighbours set: give a POP and its neighbours")
        reply = client.call(
            client.market.SetNeighbours, market_pb2.SetNeighboursRequest(pop=args.pop, neighbours=args.neighbours)
        )
        emit(reply, lambda: console.print(f"{reply.pop}: {', '.join(reply.neighbours) or 'no neighbours'}"))
        return 0
    listing = client.call(client.market.ListNeighbours, market_pb2.ListNeighboursRequest())

    def show() -> None:
        table = Table(title="Point-of-presence adjacency")
        table.add_column("pop")
        table.add_column("neighbours")
        for p in listing.pops:
            table.add_row(p.pop, ", ".join(p.neighbours))
        console.print(table)

    emit(listing, show)
    return 0
