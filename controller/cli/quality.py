"""Delivered quality and SLA credits: `quality DEAL` (or `--offer`), `penalties`."""

from __future__ import annotations

import argparse
from typing import Any

from ixchange.v1 import quality_pb2

from controller.cli.common import Client, Table, console, emit, fmt_time


def add_parsers(sub: Any) -> None:
    quality = sub.add_parser(
        "quality", help="what a deal delivers, measured in its own path: class, values, recent windows"
    )
    quality.add_argument("deal_id", type=int, nargs="?", help="the deal (or give --offer)")
    quality.add_argument("--offer", type=int, help="every deal struck from this offer of yours")
    quality.add_argument("--last", type=int, default=20, help="show this many recent windows (default 20)")
    quality.set_defaults(run=cmd_quality)
    penalties = sub.add_parser("penalties", help="the SLA credit ledger of your deals")
    penalties.add_argument("--deal", type=int, default=0, help="only this deal's entries")
    penalties.set_defaults(run=cmd_penalties)
    add_waiver_parser(sub)


def _us(value: int, present: bool) -> str:
    return f"{value / 1000:.2f} ms" if present else "-"


def _ppm(value: int) -> str:
    return f"{value / 10_000:.4f} %"


def cmd_quality(args: argparse.Namespace, client: Client) -> int:
    if bool(args.deal_id) == bool(args.offer):
        console.print("give a deal id or --offer ORDER_ID")
        return 2
    subject = {"offer_order_id": args.offer} if args.offer else {"deal_id": args.deal_id}
    samples: list[Any] = []
    token = ""
    reply: Any = None
    while True:  # the newest windows are on the last page
        reply = client.call(
            client.quality.GetQuality, quality_pb2.GetQualityRequest(page_size=1000, page_token=token, **subject)
        )
        samples = (samples + list(reply.samples))[-max(args.last, 0) :] if args.last else []
        token = reply.next_page_token
        if not token:
            break
    del reply.samples[:]
    reply.samples.extend(samples)
    emit(reply, lambda: _show_quality(reply))
    return 0


def _show_quality(reply: Any) -> None:
    now = Table(title="Delivered quality (latency and jitter two-way, last window; loss and availability rolled)")
    for col in (
        "deal",
        "bought",
        "delivered",
        "latency",
        "jitter",
        "loss",
        "availability",
        "probes",
        "windows",
        "as of",
    ):
        now.add_column(col, justify="right" if col in ("deal", "probes", "windows") else "left")
    for q in reply.current:
        delivered = q.delivered_grade or "no class"
        now.add_row(
            str(q.deal_id),
            f"{q.class_scheme}/{q.grade}",
            f"[red]{delivered} DEGRADED[/]" if q.degraded else f"[green]{delivered}[/]",
            _us(q.latency_us, q.HasField("latency_us")),
            _us(q.jitter_us, q.HasField("jitter_us")),
            _ppm(q.loss_ppm),
            _ppm(q.availability_ppm),
            f"{q.answered}/{q.probes}",
            str(q.windows),
            fmt_time(q.updated_at),
        )
    console.print(now)
    for q in reply.current:
        if q.reason:
            console.print(f"deal {q.deal_id}: {q.reason}")
    if not reply.current:
        console.print("not measured yet (no window recorded)")
    if reply.HasField("seller_quality_ppm"):
        console.print(f"seller's record: {_ppm(reply.seller_quality_ppm)} of measured windows at the class bought")
    if reply.samples:
        windows = Table(title=f"Last {len(reply.samples)} windows")
        for col in ("time", "deal", "latency", "jitter", "loss", "answered", "class after"):
            windows.add_column(col)
        for s in reply.samples:
            windows.add_row(
                fmt_time(s.time),
                str(s.deal_id),
                _us(s.latency_us, s.HasField("latency_us")),
                _us(s.jitter_us, s.HasField("jitter_us")),
                _ppm(s.loss_ppm),
                f"{s.answered}/{s.probes}",
                (s.delivered_grade or "no class") + ("" if s.at_class else " [red]below[/]"),
            )
        console.print(windows)


def cmd_penalties(args: argparse.Namespace, client: Client) -> int:
    rows: list[Any] = []
    token = ""
    while True:
        reply = client.call(
            client.quality.ListPenalties,
            quality_pb2.ListPenaltiesRequest(deal_id=args.deal, page_size=1000, page_token=token),
        )
        rows.extend(reply.penalties)
        token = reply.next_page_token
        if not token:
            break
    emit(quality_pb2.ListPenaltiesResponse(penalties=rows), lambda: _show_penalties(rows))
    return 0


def _show_penalties(rows: list[Any]) -> None:
    table = Table(title="SLA credits (owed by the seller to the buyer)")
    for col in ("id", "time", "deal", "seller", "buyer", "bought", "delivered", "below", "tier", "credit", "reason"):
        table.add_column(col, justify="right" if col in ("id", "deal", "below", "tier", "credit") else "left")
    for p in rows:
        unit = p.price_unit
        amount = p.amount / 10**unit.exponent
        table.add_row(
            str(p.penalty_id),
            fmt_time(p.time),
            str(p.deal_id),
            p.seller,
            p.buyer,
            p.grade,
            p.delivered_grade or "no class",
            str(p.classes_below),
            f"{p.percent} %",
            f"{amount:.{unit.exponent}f} {unit.currency}",
            p.reason,
        )
    console.print(table)


def add_waiver_parser(sub: Any) -> None:
    waive = sub.add_parser(
        "waive", help="(operator) list a seller's offers without measuring them first (a seller without a reflector)"
    )
    waive.add_argument("seller")
    waive.add_argument("--off", action="store_true", help="require verification again")
    waive.set_defaults(run=cmd_waive)


def cmd_waive(args: argparse.Namespace, client: Client) -> int:
    request = quality_pb2.SetVerificationWaiverRequest(participant=args.seller, waived=not args.off)
    reply = client.call(client.quality.SetVerificationWaiver, request)
    state = "required again" if args.off else "waived"
    emit(
        reply,
        lambda: console.print(f"verification {state} for {args.seller}; listed now: {list(reply.listed_order_ids)}"),
    )
    return 0
