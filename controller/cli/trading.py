"""Orders: `offer`, `request`, `quote`, `approve`/`reject`, `recommend`, `cancel`,
`replace`, `orders`, `book`."""

from __future__ import annotations

import argparse
import uuid
from typing import Any

from ixchange.v1 import common_pb2, exchange_pb2, market_pb2

from controller.cli.common import (
    ROUTING,
    SERVICE_NAMES,
    SERVICES,
    TIME_IN_FORCE,
    Client,
    CliError,
    Table,
    capacity,
    console,
    emit,
    fmt_kbps,
    fmt_time,
    key_value,
    route,
    say,
    when,
)
from controller.cli.tables import alternates_table, deals_table, orders_table


def add_parsers(sub: Any) -> None:
    for name, helptext in (("offer", "enter a sell order"), ("request", "enter a purchase order")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--service", choices=SERVICES, default="eline")
        p.add_argument("--route", type=route, required=name == "offer", help="A-END:Z-END points of presence")
        p.add_argument("--capacity", type=capacity, required=name == "offer", help="per circuit, e.g. 1G")
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
            p.set_defaults(run=cmd_offer)
        else:
            # A request entered at a quote takes route and capacity from it.
            p.add_argument("--limit", type=int, help="limit per circuit, minor units (default with --quote: its price)")
            p.add_argument("--require", type=key_value, action="append", help="requirement, e.g. latency_us=10000")
            p.add_argument("--routing", choices=ROUTING, help="cheapest (default) or quality first")
            p.add_argument("--propose", action="store_true", help="let the exchange propose the class; approve it")
            p.add_argument("--quote", type=int, metavar="ID", help="enter at this quote's price")
            p.add_argument("--rebid-of", type=int, metavar="ORDER_ID", help="replace this unmatched request")
            p.add_argument("--service-end", type=when, help="+30d or ISO time: the deals end then")
            p.set_defaults(run=cmd_request)

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
        p.set_defaults(run=cmd_quote if name == "quote" else cmd_recommend)
    for name, helptext in (("approve", "approve the class proposed for a request"), ("reject", "reject it")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("order_id", type=int)
        p.set_defaults(run=cmd_class_decision)

    cancel = sub.add_parser("cancel", help="cancel an order")
    cancel.add_argument("order_id", type=int)
    cancel.set_defaults(run=cmd_cancel)
    replace = sub.add_parser("replace", help="cancel/replace an order's price or open circuits")
    replace.add_argument("order_id", type=int)
    replace.add_argument("--price", type=int)
    replace.add_argument("--circuits", type=int)
    replace.set_defaults(run=cmd_replace)
    orders = sub.add_parser("orders", help="list your orders")
    orders.add_argument("--open", action="store_true")
    orders.set_defaults(run=cmd_orders)

    book = sub.add_parser("book", help="show book depth")
    book.add_argument("--service", choices=SERVICES)
    book.add_argument("--route", type=route)
    book.add_argument("--grade")
    book.add_argument("--depth", type=int, default=10)
    book.add_argument("--page", help="the page token the previous page printed")
    book.set_defaults(run=cmd_book)


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
    def show() -> None:
        if reply.duplicate:
            console.print("[yellow]already entered with this client id; the original order:[/]")
        console.print(orders_table([reply.order], title="Order"))
        console.print(f"class: {reply.order.class_reason}")
        if reply.deals:
            console.print(deals_table(reply.deals, title="Deals struck"))
        if reply.order.status == common_pb2.ORDER_STATUS_PENDING_APPROVAL:
            say(
                f"[yellow]class {reply.order.grade} proposed; waiting for your decision until "
                f"{fmt_time(reply.order.approve_by)} UTC:[/] ixchange approve {reply.order.order_id} "
                f"(or reject {reply.order.order_id})"
            )
        if getattr(reply, "alternates", None):
            console.print(alternates_table(reply.alternates))

    emit(reply, show)


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
    reply = client.call(client.market.GetQuote, market_pb2.GetQuoteRequest(request=_spec(args)))
    q = reply.quote

    def show() -> None:
        table = Table(title=f"Quote {q.quote_id}: {q.class_scheme}/{q.grade} v{q.scheme_version}")
        for col in ("#", "price", "circuits"):
            table.add_column(col, justify="right")
        for i, f in enumerate(q.fills, start=1):
            table.add_row(str(i), str(f.price), str(f.circuits))
        console.print(table)
        if not q.fills:
            console.print("[yellow]nothing on the book matches now[/]")
            return
        fill = "fully" if q.full else f"partly ({q.fillable_circuits} of {q.circuits} circuits)"
        console.print(
            f"fills {fill} at up to [bold]{q.price}[/] per circuit, {q.total_value} in total; "
            f"valid until {fmt_time(q.expires_at)} UTC"
        )
        say(f"enter at it: ixchange request --quote {q.quote_id}")

    emit(reply, show)
    return 0


def cmd_class_decision(args: argparse.Namespace, client: Client) -> int:
    if args.command == "reject":
        reply = client.call(client.exchange.RejectClass, exchange_pb2.RejectClassRequest(order_id=args.order_id))
        emit(reply, lambda: console.print(orders_table([reply.order], title="Class rejected")))
        return 0
    reply = client.call(client.exchange.ApproveClass, exchange_pb2.ApproveClassRequest(order_id=args.order_id))

    def show() -> None:
        console.print(orders_table([reply.order], title="Class approved"))
        if reply.deals:
            console.print(deals_table(reply.deals, title="Deals struck"))
        if reply.alternates:
            console.print(alternates_table(reply.alternates))

    emit(reply, show)
    return 0


def cmd_recommend(args: argparse.Namespace, client: Client) -> int:
    if args.order_id:
        req = market_pb2.RecommendRequest(order_id=args.order_id)
    elif args.route and args.capacity:
        req = market_pb2.RecommendRequest(request=_spec(args))
    else:
        raise CliError("recommend: give an ORDER_ID of yours, or --route and --capacity of a prospective request")
    reply = client.call(client.market.Recommend, req)
    alternates = reply.recommendation.alternates
    emit(
        reply,
        lambda: console.print(alternates_table(alternates) if alternates else "no alternates on the book now"),
    )
    return 0


def cmd_cancel(args: argparse.Namespace, client: Client) -> int:
    reply = client.call(client.exchange.CancelOrder, exchange_pb2.CancelOrderRequest(order_id=args.order_id))
    emit(reply, lambda: console.print(orders_table([reply.order], title="Cancelled")))
    return 0


def cmd_replace(args: argparse.Namespace, client: Client) -> int:
    req = exchange_pb2.ReplaceOrderRequest(order_id=args.order_id)
    if args.price is not None:
        req.price = args.price
    if args.circuits is not None:
        req.remaining_circuits = args.circuits
    reply = client.call(client.exchange.ReplaceOrder, req)

    def show() -> None:
        console.print(orders_table([reply.order], title="Replaced"))
        if reply.deals:
            console.print(deals_table(reply.deals, title="Deals struck"))

    emit(reply, show)
    return 0


def cmd_orders(args: argparse.Namespace, client: Client) -> int:
    reply = client.call(client.exchange.ListOrders, exchange_pb2.ListOrdersRequest(open_only=args.open, page_size=1000))
    emit(reply, lambda: console.print(orders_table(reply.orders)))
    return 0


def cmd_book(args: argparse.Namespace, client: Client) -> int:
    req = exchange_pb2.GetBookRequest(grade=args.grade or "", depth=args.depth, page_token=args.page or "")
    if args.service:
        req.service_type = SERVICES[args.service]
    if args.route:
        req.route.a_end, req.route.z_end = args.route
    reply = client.call(client.exchange.GetBook, req)

    def show() -> None:
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
            say(f"more books: ixchange book --page {reply.next_page_token} (with the same filters)")

    emit(reply, show)
    return 0
