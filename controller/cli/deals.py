"""Deals and the network under them: `deals`, `terminate`, `watch`, `fabric`."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ixchange.v1 import common_pb2, exchange_pb2, fabric_pb2

from controller.cli.common import (
    Client,
    Output,
    Table,
    as_dict,
    console,
    emit,
    enum_name,
    fmt_kbps,
    fmt_time,
)
from controller.cli.tables import deals_table


def add_parsers(sub: Any) -> None:
    deals = sub.add_parser("deals", help="list your deals")
    deals.add_argument(
        "--status", choices=[n.removeprefix("DEAL_STATUS_").lower() for n in common_pb2.DealStatus.keys()[1:]]
    )
    deals.set_defaults(run=cmd_deals)
    terminate = sub.add_parser("terminate", help="end a deal: its interconnection is removed")
    terminate.add_argument("deal_id", type=int)
    terminate.add_argument("--reason", default="")
    terminate.set_defaults(run=cmd_terminate)
    watch = sub.add_parser("watch", help="follow order and deal events (-o json: one JSON object per line)")
    watch.add_argument("--after", type=int, default=0, help="resume after this sequence number")
    watch.add_argument("--count", type=int, default=0, help="stop after this many events")
    watch.set_defaults(run=cmd_watch)
    fabric = sub.add_parser("fabric", help="the network: nodes, links, load, LLDP cross-check (operator)")
    fabric.set_defaults(run=cmd_fabric)


def cmd_deals(args: argparse.Namespace, client: Client) -> int:
    status = getattr(common_pb2, f"DEAL_STATUS_{args.status.upper()}") if args.status else 0
    reply = client.call(client.exchange.ListDeals, exchange_pb2.ListDealsRequest(status=status, page_size=1000))
    emit(reply, lambda: console.print(deals_table(reply.deals)))
    return 0


def cmd_terminate(args: argparse.Namespace, client: Client) -> int:
    reply = client.call(
        client.exchange.TerminateDeal, exchange_pb2.TerminateDealRequest(deal_id=args.deal_id, reason=args.reason)
    )
    emit(reply, lambda: console.print(deals_table([reply.deal], title="Deal")))
    return 0


def _event_line(ev: Any) -> str:
    kind = enum_name(exchange_pb2.EventKind, ev.kind, "EVENT_KIND_")
    if ev.HasField("order"):
        o = ev.order
        what = (
            f"order {o.order_id} {o.participant} {enum_name(common_pb2.Side, o.side, 'SIDE_')} "
            f"{o.remaining_circuits}/{o.circuits} @ {o.price} {o.class_scheme}/{o.grade}"
        )
    elif ev.HasField("quote"):
        q = ev.quote
        what = f"quote {q.quote_id} {q.participant} {q.fillable_circuits}/{q.circuits} up to {q.price}"
    elif ev.HasField("recommendation"):
        r = ev.recommendation
        what = f"alternates for {r.participant} order {r.order_id or '-'}: " + "; ".join(a.note for a in r.alternates)
    elif ev.HasField("quality"):
        q = ev.quality
        state = "[red]DEGRADED[/] " if q.degraded else ""
        what = f"deal {q.deal_id} {state}bought {q.grade}, delivers {q.delivered_grade or 'no class'}: {q.reason}"
    elif ev.HasField("penalty"):
        p = ev.penalty
        what = f"deal {p.deal_id} SLA credit {p.percent} % ({p.amount}) from {p.seller} to {p.buyer}"
    else:
        d = ev.deal
        what = (
            f"deal {d.deal_id} {d.seller}->{d.buyer} {d.circuits} x {fmt_kbps(d.capacity_kbps)} "
            f"@ {d.price} {enum_name(common_pb2.DealStatus, d.status, 'DEAL_STATUS_')}"
        )
    return f"[dim]{ev.sequence:>8}[/] {fmt_time(ev.time)} [bold]{kind:<20}[/] {what}"


def cmd_watch(args: argparse.Namespace, client: Client) -> int:
    stream = client.exchange.WatchEvents(
        exchange_pb2.WatchEventsRequest(after_sequence=args.after), metadata=client.metadata
    )
    count = 0
    try:
        for ev in stream:
            if ev.kind == exchange_pb2.EVENT_KIND_HEARTBEAT:
                continue  # the server's sign of life on an idle stream
            count += 1
            if Output.json:
                print(json.dumps(as_dict(ev)), flush=True)
            else:
                console.print(_event_line(ev))
            if args.count and count >= args.count:
                break
    except KeyboardInterrupt:
        pass
    finally:
        stream.cancel()
    return 0


def cmd_fabric(args: argparse.Namespace, client: Client) -> int:
    reply = client.call(client.fabric.GetFabric, fabric_pb2.GetFabricRequest())
    emit(reply, lambda: _show_fabric(reply))
    return 0


def _show_fabric(reply: Any) -> None:
    if not reply.enabled:
        console.print("no fabric: the exchange runs without a controller or a topology (deals stay BROKERED)")
        return
    nodes = Table(title="Nodes")
    for col in ("node", "kind", "address", "connected", "since"):
        nodes.add_column(col)
    for n in reply.nodes:
        state = "[green]yes[/]" if n.connected else ("[red]no[/]" if n.kind == "openflow" else "no session")
        nodes.add_row(n.name, n.kind, n.address, state, fmt_time(n.since) or "-")
    links = Table(title="Links")
    for col in ("link", "capacity", "committed", "deals", "LLDP", "since", "untagged"):
        links.add_column(col, justify="right" if col in ("capacity", "committed", "deals") else "left")
    for link in reply.links:
        lldp = "seen" if link.seen else "-"
        untagged = "yes" if link.untagged else ""
        links.add_row(
            link.name,
            fmt_kbps(link.capacity_kbps),
            fmt_kbps(link.load_kbps),
            str(link.deals),
            lldp,
            fmt_time(link.since) or "-",
            untagged,
        )
    console.print(f"as of {fmt_time(reply.as_of)} UTC (the controller's view at that moment)")
    console.print(nodes)
    console.print(links)
    console.print(f"deals holding a path: {reply.provisioned_deals}")
    for problem in reply.link_problems:
        console.print(f"[yellow]topology check:[/] {problem}")
    if not reply.link_problems:
        console.print("topology check: LLDP agrees with the topology (between connected switches)")
