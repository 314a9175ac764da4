"""`ixchange`: run the exchange and trade on it from the command line."""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import signal
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from ixchange.v1 import (
    classes_pb2,
    common_pb2,
    exchange_pb2,
    fabric_pb2,
    market_pb2,
)
from rich.table import Table

from controller import cli_participants
from controller.cli_common import (
    ROUTING,
    SERVICE_NAMES,
    SERVICES,
    TIME_IN_FORCE,
    Client,
    CliError,
    capacity,
    console,
    enum_name,
    err_console,
    fmt_kbps,
    fmt_time,
    key_value,
    route,
    when,
)
from marketplace.errors import DomainError
from marketplace.report import CSV_COLUMNS, day_window
from marketplace.settings import Settings, load_settings

# ----- tables ---------------------------------------------------------------------------


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
            str(d.agreement_id or "-"),
            enum_name(common_pb2.DealStatus, d.status, "DEAL_STATUS_"),
            fmt_time(d.ends_at) if d.HasField("ends_at") else "-",
            d.status_reason,
        )
    return table


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


# ----- commands -------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from marketplace.api.server import create_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    provisioner = None if args.no_controller else fabric_provisioner(settings)

    async def main() -> None:
        with console.status("opening the store and rebuilding the books..."):
            server = await create_server(settings, provisioner=provisioner)
        console.print(
            f"[bold green]ixchange[/] listening on [bold]{settings.listen.rsplit(':', 1)[0]}:{server.port}[/]"
            f" ({'TLS' if settings.tls_cert else 'plaintext'}"
            f"{', mutual TLS' if settings.tls_client_ca else ''})"
        )
        console.print(f"database: [bold]{server.store.describe()}[/]")
        if server.metrics_port:
            host = settings.metrics_listen.rpartition(":")[0]
            console.print(f"metrics: http://{host}:{server.metrics_port}/metrics")
        if server.operator_token_file:
            console.print(
                f"new exchange: operator credential written to [bold]{server.operator_token_file}[/]"
                " (mode 0600; the CLI reads it from there)"
            )
        else:
            console.print(f"operator credential: {settings.operator_token_file}")
        if provisioner is not None:
            nodes = provisioner.inventory.nodes
            console.print(
                f"OpenFlow controller on [bold]{settings.openflow_listen}[/]; fabric: {len(nodes)} nodes, "
                f"{len(provisioner.inventory.links)} links, {len(provisioner.inventory.attachments)} attachments"
            )
        elif args.no_controller:
            console.print("no controller (--no-controller): deals stay BROKERED")
        else:
            console.print("no fabric topology (give --topology FILE once): no controller, deals stay BROKERED")
        console.print(
            f"books: {len(server.sequencer.engine.books)}, open orders: "
            f"{len(server.sequencer.engine.orders)}; Ctrl-C stops"
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: loop.create_task(server.stop(5)))
        await server.wait()
        await server.stop(0)
        if server.sequencer.failed is not None:
            raise SystemExit(f"stopped: store failure: {server.sequencer.failed}")

    asyncio.run(main())
    return 0


def fabric_provisioner(settings: Settings) -> Any:
    """The provisioner for the fabric in the topology file (stored for next time) or in
    the store; None when there is no topology yet. Starts the OpenFlow controller."""
    from controller.runtime import start_controller
    from marketplace.store import Store
    from provisioning.inventory import load_inventory
    from provisioning.openflow import OpenFlowDriver
    from provisioning.routers import Credentials, RouterDrivers
    from provisioning.service import FabricProvisioner, ProvisioningSettings

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.resolved_database_url)
    try:
        if settings.topology:
            text = Path(settings.topology).read_text()
            inventory = load_inventory(text)
            if store.save_topology(text, time.time_ns() // 1000):
                console.print(f"topology loaded from {settings.topology} and stored")
        else:
            stored = store.topology()
            if stored is None:
                return None
            inventory = load_inventory(stored)
    finally:
        store.close()
    credentials = Credentials(Path(settings.credentials_file) if settings.credentials_file else None)
    driver = OpenFlowDriver()
    host, _, port = settings.openflow_listen.rpartition(":")
    start_controller(driver, int(port), host)
    options = ProvisioningSettings(probe_timeout_s=settings.probe_timeout_s, switch_wait_s=settings.switch_wait_s)
    return FabricProvisioner(inventory, driver, RouterDrivers(credentials), options)


def cmd_lab(args: argparse.Namespace, settings: Settings) -> int:
    from controller import lab

    try:
        if args.action == "up":
            info = lab.up(settings, with_exchange=not args.no_exchange)
            console.print(
                f"[bold green]lab up[/]: switches s1 s2 s3 (userspace Open vSwitch), router r1 over SSH at "
                f"{info['router']}, hosts {', '.join(sorted(info['hosts']))}; controller {settings.openflow_listen}"
            )
            console.print(lab.pairs_table())
            console.print(
                "Trade:   ixchange --as seller-a offer --route LAB1:LAB2 --capacity 10M --price 100 \\\n"
                "             --grade platinum --value latency_us=4000 --value jitter_us=300 --value loss_ppm=5 "
                "--value availability_ppm=999995\n"
                "         ixchange --as buyer-a request --route LAB1:LAB2 --capacity 10M --limit 100 --grade platinum\n"
                "Traffic: ixchange lab exec ba ping -c 3 10.0.1.2      (buyer-a's host to seller-a's)\n"
                "Stop:    ixchange lab down"
            )
        elif args.action == "down":
            stopped = lab.down(settings)
            console.print(f"lab down: stopped {', '.join(stopped) or 'nothing (it was not running)'}")
        elif args.action == "status":
            console.print(lab.pairs_table())
        else:
            if not args.command_line:
                raise CliError("lab exec HOST COMMAND...: give a command")
            return lab.run_on(settings, args.host, args.command_line).returncode
    except lab.LabError as err:
        console.print(f"[red]error:[/] {err}")
        return 2
    return 0


def _order_common(args: argparse.Namespace) -> dict[str, Any]:
    a, z = args.route
    fields: dict[str, Any] = {
        "client_order_id": args.client_id or uuid.uuid4().hex[:16],
        "service_type": SERVICES[args.service],
        "route": common_pb2.Route(a_end=a, z_end=z),
        "capacity_kbps": args.capacity,
        "circuits": args.circuits,
        "grade": args.grade or "",
        "class_scheme": args.scheme or "",
    }
    if args.valid_until is not None:
        fields["valid_until"] = args.valid_until
    if args.valid_from is not None:
        fields["valid_from"] = args.valid_from
    if args.tif:
        fields["time_in_force"] = TIME_IN_FORCE[args.tif]
    return fields


def _show_order_reply(reply: Any) -> None:
    if reply.duplicate:
        console.print("[yellow]already entered with this client id; the original order:[/]")
    console.print(orders_table([reply.order], title="Order"))
    console.print(f"class: {reply.order.class_reason}")
    if reply.deals:
        console.print(deals_table(reply.deals, title="Deals struck"))
    if reply.order.status == common_pb2.ORDER_STATUS_PENDING_APPROVAL:
        console.print(
            f"[yellow]class {reply.order.grade} proposed; waiting for your decision until "
            f"{fmt_time(reply.order.approve_by)} UTC:[/] ixchange approve {reply.order.order_id} "
            f"(or reject {reply.order.order_id})"
        )
    if getattr(reply, "alternates", None):
        console.print(alternates_table(reply.alternates))


def cmd_offer(args: argparse.Namespace, client: Client) -> int:
    req = exchange_pb2.SubmitOfferRequest(price=args.price, values=dict(args.value or []), **_order_common(args))
    _show_order_reply(client.call(client.exchange.SubmitOffer, req))
    return 0


def cmd_request(args: argparse.Namespace, client: Client) -> int:
    if args.quote:
        # Everything else comes from the quote; what is given here must equal it.
        req = exchange_pb2.SubmitRequestRequest(
            client_order_id=args.client_id or uuid.uuid4().hex[:16],
            quote_id=args.quote,
            limit_price=args.limit or 0,
            rebid_of=args.rebid_of or 0,
            time_in_force=TIME_IN_FORCE[args.tif] if args.tif else 0,
        )
    else:
        missing = [flag for flag, value in (("--route", args.route), ("--capacity", args.capacity)) if not value]
        if args.limit is None:
            missing.append("--limit")
        if missing:
            raise CliError(f"request: missing {', '.join(missing)} (or enter at a quote with --quote ID)")
        req = exchange_pb2.SubmitRequestRequest(
            limit_price=args.limit,
            requirements=dict(args.require or []),
            routing_policy=ROUTING[args.routing] if args.routing else 0,
            propose_class=args.propose,
            rebid_of=args.rebid_of or 0,
            service_end=args.service_end,
            **_order_common(args),
        )
    _show_order_reply(client.call(client.exchange.SubmitRequest, req))
    return 0


def _spec(args: argparse.Namespace) -> market_pb2.RequestSpec:
    a, z = args.route
    return market_pb2.RequestSpec(
        service_type=SERVICES[args.service],
        route=common_pb2.Route(a_end=a, z_end=z),
        capacity_kbps=args.capacity,
        circuits=args.circuits,
        grade=args.grade or "",
        requirements=dict(args.require or []),
        class_scheme=args.scheme or "",
        routing_policy=ROUTING[args.routing] if args.routing else 0,
    )


def cmd_quote(args: argparse.Namespace, client: Client) -> int:
    q = client.call(client.market.GetQuote, market_pb2.GetQuoteRequest(request=_spec(args))).quote
    table = Table(title=f"Quote {q.quote_id}: {q.class_scheme}/{q.grade} v{q.scheme_version}")
    for col in ("#", "price", "circuits"):
        table.add_column(col, justify="right")
    for i, f in enumerate(q.fills, start=1):
        table.add_row(str(i), str(f.price), str(f.circuits))
    console.print(table)
    if not q.fills:
        console.print("[yellow]nothing on the book matches now[/]")
        return 0
    fill = "fully" if q.full else f"partly ({q.fillable_circuits} of {q.circuits} circuits)"
    console.print(
        f"fills {fill} at up to [bold]{q.price}[/] per circuit, {q.total_value} in total; "
        f"valid until {fmt_time(q.expires_at)} UTC"
    )
    console.print(f"enter at it: ixchange request --quote {q.quote_id}")
    return 0


def cmd_class_decision(args: argparse.Namespace, client: Client) -> int:
    if args.command == "reject":
        reply = client.call(client.exchange.RejectClass, exchange_pb2.RejectClassRequest(order_id=args.order_id))
        console.print(orders_table([reply.order], title="Class rejected"))
        return 0
    reply = client.call(client.exchange.ApproveClass, exchange_pb2.ApproveClassRequest(order_id=args.order_id))
    console.print(orders_table([reply.order], title="Class approved"))
    if reply.deals:
        console.print(deals_table(reply.deals, title="Deals struck"))
    if reply.alternates:
        console.print(alternates_table(reply.alternates))
    return 0


def cmd_recommend(args: argparse.Namespace, client: Client) -> int:
    if args.order_id:
        req = market_pb2.RecommendRequest(order_id=args.order_id)
    elif args.route and args.capacity:
        req = market_pb2.RecommendRequest(request=_spec(args))
    else:
        raise CliError("recommend: give an ORDER_ID of yours, or --route and --capacity of a prospective request")
    rec = client.call(client.market.Recommend, req).recommendation
    if not rec.alternates:
        console.print("no alternates on the book now")
        return 0
    console.print(alternates_table(rec.alternates))
    return 0


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
        console.print(f"{len(rows)} rows written to [bold]{target}[/]")
    table = Table(title=f"Market report {fmt_time(reply.start)} .. {fmt_time(reply.end)} UTC")
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
    return 0


def cmd_neighbours(args: argparse.Namespace, client: Client) -> int:
    if args.action == "set":
        if not args.pop:
            raise CliError("neighbours set: give a POP and its neighbours")
        reply = client.call(
            client.market.SetNeighbours, market_pb2.SetNeighboursRequest(pop=args.pop, neighbours=args.neighbours)
        )
        console.print(f"{reply.pop}: {', '.join(reply.neighbours) or 'no neighbours'}")
        return 0
    listing = client.call(client.market.ListNeighbours, market_pb2.ListNeighboursRequest())
    table = Table(title="Point-of-presence adjacency")
    table.add_column("pop")
    table.add_column("neighbours")
    for p in listing.pops:
        table.add_row(p.pop, ", ".join(p.neighbours))
    console.print(table)
    return 0


def cmd_cancel(args: argparse.Namespace, client: Client) -> int:
    reply = client.call(client.exchange.CancelOrder, exchange_pb2.CancelOrderRequest(order_id=args.order_id))
    console.print(orders_table([reply.order], title="Cancelled"))
    return 0


def cmd_replace(args: argparse.Namespace, client: Client) -> int:
    req = exchange_pb2.ReplaceOrderRequest(order_id=args.order_id)
    if args.price is not None:
        req.price = args.price
    if args.circuits is not None:
        req.remaining_circuits = args.circuits
    reply = client.call(client.exchange.ReplaceOrder, req)
    console.print(orders_table([reply.order], title="Replaced"))
    if reply.deals:
        console.print(deals_table(reply.deals, title="Deals struck"))
    return 0


def cmd_orders(args: argparse.Namespace, client: Client) -> int:
    reply = client.call(client.exchange.ListOrders, exchange_pb2.ListOrdersRequest(open_only=args.open, page_size=1000))
    console.print(orders_table(reply.orders))
    return 0


def cmd_book(args: argparse.Namespace, client: Client) -> int:
    req = exchange_pb2.GetBookRequest(grade=args.grade or "", depth=args.depth, page_token=args.page or "")
    if args.service:
        req.service_type = SERVICES[args.service]
    if args.route:
        req.route.a_end, req.route.z_end = args.route
    reply = client.call(client.exchange.GetBook, req)
    if not reply.books:
        console.print("the book is empty")
    for b in reply.books:
        table = Table(
            title=f"{SERVICE_NAMES.get(b.service_type)} {b.route.a_end}:{b.route.z_end} "
            f"{fmt_kbps(b.capacity_kbps)}  class {b.class_scheme}/{b.grade}"
        )
        for col in ("bid circuits", "bid orders", "limit", "ask", "ask orders", "ask circuits"):
            table.add_column(col, justify="right")
        for i in range(max(len(b.requests), len(b.offers))):
            bid = b.requests[i] if i < len(b.requests) else None
            ask = b.offers[i] if i < len(b.offers) else None
            table.add_row(
                str(bid.circuits) if bid else "",
                str(bid.orders) if bid else "",
                str(bid.price) if bid else "",
                str(ask.price) if ask else "",
                str(ask.orders) if ask else "",
                str(ask.circuits) if ask else "",
            )
        console.print(table)
    if reply.next_page_token:
        console.print(f"more books: ixchange book --page {reply.next_page_token} (with the same filters)")
    return 0


def cmd_deals(args: argparse.Namespace, client: Client) -> int:
    status = getattr(common_pb2, f"DEAL_STATUS_{args.status.upper()}") if args.status else 0
    reply = client.call(client.exchange.ListDeals, exchange_pb2.ListDealsRequest(status=status, page_size=1000))
    console.print(deals_table(reply.deals))
    return 0


def cmd_fabric(args: argparse.Namespace, client: Client) -> int:
    reply = client.call(client.fabric.GetFabric, fabric_pb2.GetFabricRequest())
    if not reply.enabled:
        console.print("no fabric: the exchange runs without a controller or a topology (deals stay BROKERED)")
        return 0
    nodes = Table(title="Nodes")
    for col in ("node", "kind", "address", "connected"):
        nodes.add_column(col)
    for n in reply.nodes:
        state = "[green]yes[/]" if n.connected else ("[red]no[/]" if n.kind == "openflow" else "no session")
        nodes.add_row(n.name, n.kind, n.address, state)
    links = Table(title="Links")
    for col in ("link", "capacity", "committed", "deals", "LLDP", "untagged"):
        links.add_column(col, justify="right" if col in ("capacity", "committed", "deals") else "left")
    for link in reply.links:
        lldp = "seen" if link.seen else "-"
        untagged = "yes" if link.untagged else ""
        links.add_row(
            link.name, fmt_kbps(link.capacity_kbps), fmt_kbps(link.load_kbps), str(link.deals), lldp, untagged
        )
    console.print(nodes)
    console.print(links)
    console.print(f"deals holding a path: {reply.provisioned_deals}")
    for problem in reply.link_problems:
        console.print(f"[yellow]topology check:[/] {problem}")
    if not reply.link_problems:
        console.print("topology check: LLDP agrees with the topology (between connected switches)")
    return 0


def cmd_terminate(args: argparse.Namespace, client: Client) -> int:
    reply = client.call(
        client.exchange.TerminateDeal, exchange_pb2.TerminateDealRequest(deal_id=args.deal_id, reason=args.reason)
    )
    console.print(deals_table([reply.deal], title="Deal"))
    return 0


def cmd_watch(args: argparse.Namespace, client: Client) -> int:
    stream = client.exchange.WatchEvents(
        exchange_pb2.WatchEventsRequest(after_sequence=args.after), metadata=client.metadata
    )
    try:
        for count, ev in enumerate(stream, start=1):
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
                what = f"alternates for {r.participant} order {r.order_id or '-'}: " + "; ".join(
                    a.note for a in r.alternates
                )
            else:
                d = ev.deal
                what = (
                    f"deal {d.deal_id} {d.seller}->{d.buyer} {d.circuits} x {fmt_kbps(d.capacity_kbps)} "
                    f"@ {d.price} {enum_name(common_pb2.DealStatus, d.status, 'DEAL_STATUS_')}"
                )
            console.print(f"[dim]{ev.sequence:>8}[/] {fmt_time(ev.time)} [bold]{kind:<20}[/] {what}")
            if args.count and count >= args.count:
                break
    except KeyboardInterrupt:
        pass
    finally:
        stream.cancel()
    return 0


def cmd_classes(args: argparse.Namespace, client: Client) -> int:
    if args.action == "params":
        reply = client.call(client.classes.ListParameters, classes_pb2.ListParametersRequest())
        table = Table(title="Parameters")
        for col in ("name", "unit", "better", "range", "score worst..best", "description"):
            table.add_column(col)
        for p in reply.parameters:
            better = "higher" if p.direction == classes_pb2.DIRECTION_HIGHER_IS_BETTER else "lower"
            table.add_row(
                p.name,
                p.unit,
                better,
                f"{p.min_value}..{p.max_value}",
                f"{p.score_worst}..{p.score_best}",
                p.description,
            )
        console.print(table)
        return 0
    if args.action == "classify":
        req = classes_pb2.ClassifyRequest(
            service_type=SERVICES[args.service], class_scheme=args.scheme or "", values=dict(args.value or [])
        )
        reply = client.call(client.classes.Classify, req)
        table = Table(
            title=f"{reply.class_scheme} v{reply.scheme_version}: grade {reply.grade or 'none'} (score {reply.score})"
        )
        for col in ("grade", "qualifies", "score", "checks"):
            table.add_column(col)
        for v in reply.verdicts:
            checks = "; ".join(c.rule for c in v.checks)
            table.add_row(v.grade, "yes" if v.qualifies else "no", f"{v.score}/{v.min_score}", checks)
        console.print(table)
        return 0
    reply = client.call(client.classes.ListClassSchemes, classes_pb2.ListClassSchemesRequest(all_versions=args.all))
    for s in reply.schemes:
        services = ", ".join(SERVICE_NAMES.get(x, "?") for x in s.service_types)
        weights = ", ".join(f"{k}x{v}" for k, v in sorted(s.weights.items()))
        table = Table(title=f"scheme {s.name} v{s.version} ({services}); weights {weights}")
        table.add_column("grade")
        table.add_column("min score", justify="right")
        table.add_column("bands")
        for g in s.grades:
            bands = []
            for b in g.bands:
                rule = (
                    f"{b.effective}"
                    if b.WhichOneof("bound") == "fixed"
                    else (f"{b.effective} ({b.median.permille / 10:g}% of median)")
                )
                bands.append(f"{b.parameter} {rule}")
            table.add_row(g.name, str(g.min_score), ", ".join(bands))
        console.print(table)
    return 0


# ----- parser ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ixchange", description="Open exchange for telecommunications services.")
    parser.add_argument("--server", help="address of the exchange (IXCHANGE_SERVER)")
    parser.add_argument("--data-dir", type=Path, help="database and credentials folder (IXCHANGE_DATA_DIR)")
    parser.add_argument("--as", dest="as_name", metavar="NAME", help="act as this participant (saved credential)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the exchange")
    serve.add_argument("--listen", help="host:port to listen on (IXCHANGE_LISTEN)")
    serve.add_argument("--database-url", help="SQLAlchemy URL (IXCHANGE_DATABASE_URL); default embedded SQLite")
    serve.add_argument("--tls-cert", help="PEM certificate (IXCHANGE_TLS_CERT)")
    serve.add_argument("--tls-key", help="PEM private key (IXCHANGE_TLS_KEY)")
    serve.add_argument("--tls-client-ca", help="CA for client certificates: mutual TLS (IXCHANGE_TLS_CLIENT_CA)")
    serve.add_argument("--metrics-listen", help="Prometheus host:port, empty for none (IXCHANGE_METRICS_LISTEN)")
    serve.add_argument("--topology", help="fabric topology TOML to load and store (IXCHANGE_TOPOLOGY)")
    serve.add_argument("--openflow-listen", help="OpenFlow host:port (IXCHANGE_OPENFLOW_LISTEN)")
    serve.add_argument("--no-controller", action="store_true", help="run the exchange alone: deals stay BROKERED")
    serve.add_argument(
        "--insecure",
        action="store_true",
        default=None,
        help="serve plaintext gRPC on an address beyond loopback (IXCHANGE_INSECURE); use TLS instead",
    )

    for name, helptext in (("offer", "enter a sell order"), ("request", "enter a purchase order")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--service", choices=SERVICES, default="eline")
        p.add_argument("--route", type=route, required=True, help="A-END:Z-END points of presence")
        p.add_argument("--capacity", type=capacity, required=True, help="per circuit, e.g. 1G")
        p.add_argument("--circuits", type=int, default=1)
        p.add_argument("--grade", help="class chosen by the party; omit to let the exchange class it")
        p.add_argument("--scheme", help="class scheme; default the active one for the service")
        p.add_argument("--client-id", help="idempotency key; reuse it to retry safely")
        p.add_argument("--valid-from", type=when, help="+1h or ISO time")
        p.add_argument("--valid-until", type=when, help="+7d or ISO time; default good until cancelled")
        p.add_argument("--tif", choices=TIME_IN_FORCE, help="time in force (default gtc, or gtd with --valid-until)")
        if name == "offer":
            p.add_argument("--price", type=int, required=True, help="ask per circuit, minor units")
            p.add_argument("--value", type=key_value, action="append", help="asserted value, e.g. latency_us=4000")
        else:
            p.add_argument("--limit", type=int, help="limit per circuit, minor units (default with --quote: its price)")
            p.add_argument("--require", type=key_value, action="append", help="requirement, e.g. latency_us=10000")
            p.add_argument("--routing", choices=ROUTING, help="cheapest (default) or quality first")
            p.add_argument("--propose", action="store_true", help="let the exchange propose the class; approve it")
            p.add_argument("--quote", type=int, metavar="ID", help="enter at this quote's price")
            p.add_argument("--rebid-of", type=int, metavar="ORDER_ID", help="replace this unmatched request")
            p.add_argument("--service-end", type=when, help="+30d or ISO time: the deals end then")
    # A request entered at a quote takes route and capacity from it.
    for action in sub.choices["request"]._actions:
        if action.dest in ("route", "capacity"):
            action.required = False

    for name, helptext in (
        ("quote", "price a prospective request: class, fills, the price to enter at"),
        ("recommend", "ranked alternates for one of your requests or a prospective one"),
    ):
        p = sub.add_parser(name, help=helptext)
        if name == "recommend":
            p.add_argument("order_id", type=int, nargs="?", help="one of your live requests")
        p.add_argument("--service", choices=SERVICES, default="eline")
        p.add_argument("--route", type=route, required=name == "quote", help="A-END:Z-END points of presence")
        p.add_argument("--capacity", type=capacity, required=name == "quote", help="per circuit, e.g. 1G")
        p.add_argument("--circuits", type=int, default=1)
        p.add_argument("--grade", help="the class; or give --require for the exchange to class it")
        p.add_argument("--scheme")
        p.add_argument("--require", type=key_value, action="append", help="requirement, e.g. latency_us=10000")
        p.add_argument("--routing", choices=ROUTING)
    for name, helptext in (("approve", "approve the class proposed for a request"), ("reject", "reject it")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("order_id", type=int)

    report = sub.add_parser("report", help="market report: volume and prices by class and route")
    report.add_argument("--from", dest="since", type=when, help="window start (default: 24 h before --to)")
    report.add_argument("--to", type=when, help="window end (default: now)")
    report.add_argument("--csv", type=Path, help="also write the rows to this CSV file")
    report.add_argument("--daily", action="store_true", help="the last full UTC day, written to --dir")
    report.add_argument("--date", type=date.fromisoformat, help="with --daily: this UTC day (YYYY-MM-DD)")
    report.add_argument("--dir", type=Path, default=Path("."), help="where --daily writes market-report-DAY.csv")

    neighbours = sub.add_parser("neighbours", help="point-of-presence adjacency used for alternates")
    neighbours.add_argument("action", nargs="?", choices=("list", "set"), default="list")
    neighbours.add_argument("pop", nargs="?")
    neighbours.add_argument("neighbours", nargs="*")

    cancel = sub.add_parser("cancel", help="cancel an order")
    cancel.add_argument("order_id", type=int)
    replace = sub.add_parser("replace", help="cancel/replace an order's price or open circuits")
    replace.add_argument("order_id", type=int)
    replace.add_argument("--price", type=int)
    replace.add_argument("--circuits", type=int)
    orders = sub.add_parser("orders", help="list your orders")
    orders.add_argument("--open", action="store_true")

    book = sub.add_parser("book", help="show book depth")
    book.add_argument("--service", choices=SERVICES)
    book.add_argument("--route", type=route)
    book.add_argument("--grade")
    book.add_argument("--depth", type=int, default=10)
    book.add_argument("--page", help="the page token the previous page printed")

    lab = sub.add_parser("lab", help="the Mininet + Open vSwitch lab (root): up, down, status, exec HOST CMD")
    lab_sub = lab.add_subparsers(dest="action", required=True)
    lab_up = lab_sub.add_parser("up", help="start Open vSwitch, the lab network and the exchange")
    lab_up.add_argument("--no-exchange", action="store_true", help="only the network; run `ixchange serve` yourself")
    lab_sub.add_parser("down", help="stop the exchange and the lab network")
    lab_sub.add_parser("status", help="the lab's participants, VLANs and addresses")
    lab_exec = lab_sub.add_parser("exec", help="run a command on a lab host (ba, bb, sa, sb, sr, r1)")
    lab_exec.add_argument("host")
    lab_exec.add_argument("command_line", nargs=argparse.REMAINDER)
    sub.add_parser("fabric", help="the network: nodes, links, load, LLDP cross-check (operator)")
    terminate = sub.add_parser("terminate", help="end a deal: its interconnection is removed")
    terminate.add_argument("deal_id", type=int)
    terminate.add_argument("--reason", default="")
    deals = sub.add_parser("deals", help="list your deals")
    deals.add_argument(
        "--status", choices=[n.removeprefix("DEAL_STATUS_").lower() for n in common_pb2.DealStatus.keys()[1:]]
    )
    watch = sub.add_parser("watch", help="follow order and deal events")
    watch.add_argument("--after", type=int, default=0, help="resume after this sequence number")
    watch.add_argument("--count", type=int, default=0, help="stop after this many events")

    classes = sub.add_parser("classes", help="class schemes, parameters, dry-run classing")
    classes.add_argument("action", nargs="?", choices=("list", "params", "classify"), default="list")
    classes.add_argument("--all", action="store_true", help="every scheme version")
    classes.add_argument("--service", choices=SERVICES, default="eline")
    classes.add_argument("--scheme")
    classes.add_argument("--value", type=key_value, action="append")

    cli_participants.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        overrides = {
            "server": args.server,
            "data_dir": args.data_dir,
            **{
                k: getattr(args, k, None)
                for k in (
                    "listen",
                    "database_url",
                    "tls_cert",
                    "tls_key",
                    "tls_client_ca",
                    "metrics_listen",
                    "topology",
                    "openflow_listen",
                    "insecure",
                )
            },
        }
        settings = load_settings(**overrides)
        if args.command == "serve":
            return cmd_serve(args, settings)
        if args.command == "lab":
            return cmd_lab(args, settings)
        cli_participants.check_args(args)
        client = Client(settings, args.as_name)
        handlers = {
            "offer": cmd_offer,
            "request": cmd_request,
            "cancel": cmd_cancel,
            "replace": cmd_replace,
            "orders": cmd_orders,
            "book": cmd_book,
            "deals": cmd_deals,
            "terminate": cmd_terminate,
            "fabric": cmd_fabric,
            "watch": cmd_watch,
            "classes": cmd_classes,
            "agreements": cli_participants.cmd_agreements,
            "quote": cmd_quote,
            "approve": cmd_class_decision,
            "reject": cmd_class_decision,
            "recommend": cmd_recommend,
            "report": cmd_report,
            "neighbours": cmd_neighbours,
        }
        if args.command == "participants":
            return cli_participants.cmd_participants(args, client, settings)
        return handlers[args.command](args, client)
    except grpc.RpcError as err:
        err_console.print(f"[red]{err.code().name}[/]: {err.details()}")  # type: ignore[attr-defined]
        return 1
    except (CliError, DomainError) as err:
        err_console.print(f"[red]error[/]: {err}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
