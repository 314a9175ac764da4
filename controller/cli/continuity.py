"""Service continuity: `swap DEAL` (another seller under a live deal, make-before-break),
`protect DEAL` (a link-disjoint backup path with fast failover; `--off` removes it),
`change DEAL` (a new rate or a later service end, once both parties ask) and `drain LINK`
(move every deal off a fabric link for maintenance; `--undo` undrains)."""

from __future__ import annotations

import argparse
from typing import Any

from ixchange.v1 import continuity_pb2

from controller.cli.common import Client, Table, capacity, console, emit, when
from controller.cli.tables import deals_table


def add_parsers(sub: Any) -> None:
    swap = sub.add_parser("swap", help="move a live deal of yours to another seller, keeping your hand-off")
    swap.add_argument("deal_id", type=int)
    swap.add_argument("--better", action="store_true", help="accept a better class than the one bought")
    swap.add_argument("--max-price", type=int, default=0, help="most you pay per circuit (default: the deal's price)")
    swap.add_argument("--reason", default="", help="why, kept on the deal")
    swap.set_defaults(run=cmd_swap)
    protect = sub.add_parser("protect", help="give a live deal of yours a backup path that takes over in milliseconds")
    protect.add_argument("deal_id", type=int)
    protect.add_argument("--off", action="store_true", help="remove its protection")
    protect.set_defaults(run=cmd_protect)
    change = sub.add_parser("change", help="change a live deal's rate or extend its service end (both parties ask)")
    change.add_argument("deal_id", type=int)
    change.add_argument("--capacity", type=capacity, default=0, help="new capacity per circuit, e.g. 20M")
    change.add_argument("--ends", type=when, help="a later service end: ISO 8601, or +2h, +7d")
    change.set_defaults(run=cmd_change)
    drain = sub.add_parser(
        "drain", help="operators: move every deal off a fabric link or switch and keep new ones off it"
    )
    drain.add_argument("link", help="a fabric link as `ixchange fabric` names it (s1:p3-s3:p2), or a switch (s2)")
    drain.add_argument("--undo", action="store_true", help="put the link back in service")
    drain.set_defaults(run=cmd_drain)


def cmd_swap(args: argparse.Namespace, client: Client) -> int:
    request = continuity_pb2.SwapSellerRequest(
        deal_id=args.deal_id, better_class=args.better, max_price=args.max_price, reason=args.reason
    )
    reply = client.call(client.continuity.SwapSeller, request)
    emit(reply, lambda: console.print(deals_table([reply.deal], title=f"Replacing deal {args.deal_id}")))
    return 0


def cmd_protect(args: argparse.Namespace, client: Client) -> int:
    request = continuity_pb2.ProtectDealRequest(deal_id=args.deal_id, protected=not args.off)
    reply = client.call(client.continuity.ProtectDeal, request)
    emit(reply, lambda: console.print(deals_table([reply.deal], title="Protected" if not args.off else "Unprotected")))
    return 0


def cmd_change(args: argparse.Namespace, client: Client) -> int:
    request = continuity_pb2.ChangeDealRequest(deal_id=args.deal_id, capacity_kbps=args.capacity, ends_at=args.ends)
    reply = client.call(client.continuity.ChangeDeal, request)
    title = "Changed" if reply.applied else f"Asked; waiting for {reply.waiting_for} to ask for the same"
    emit(reply, lambda: console.print(deals_table([reply.deal], title=title)))
    return 0


def cmd_drain(args: argparse.Namespace, client: Client) -> int:
    reply = client.call(
        client.continuity.DrainLink, continuity_pb2.DrainLinkRequest(link=args.link, drained=not args.undo)
    )

    def show() -> None:
        if args.undo:
            console.print(f"{args.link} is back in service (deals stay on their paths)")
            return
        table = Table(title=f"Drained {args.link}")
        for col in ("deal", "moved", "path / why"):
            table.add_column(col)
        for d in reply.moved:
            table.add_row(str(d.deal_id), "[green]yes[/]", d.detail)
        for d in reply.stuck:
            table.add_row(str(d.deal_id), "[red]no[/]", d.detail)
        console.print(table if reply.moved or reply.stuck else f"{args.link} is drained; no deal was on it")

    emit(reply, show)
    return 0
