"""`ixchange batch FILE`: many orders over one TradeStream, in batches — a trading desk's
or a reseller's bulk entry. FILE (or - for standard input) holds one command per line in
the proto3 JSON mapping of ixchange.v1.TradeCommand, e.g.
{"submit_offer": {"client_order_id": "o-1", "service_type": "SERVICE_TYPE_ETHERNET_ELINE", ...}}."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.rpc import error_details_pb2  # type: ignore[import-untyped]  # noqa: F401 - refusals' details in JSON
from ixchange.v1 import common_pb2, exchange_pb2

from controller.cli.common import Client, CliError, Table, as_dict, console, emit

MAX_BATCH = 1024  # the server's bound


def add_parsers(sub: Any) -> None:
    batch = sub.add_parser("batch", help="send orders (JSON lines of TradeCommand) over one TradeStream, in batches")
    batch.add_argument("file", help="JSON lines, one TradeCommand each; - for standard input")
    batch.add_argument("--size", type=int, default=100, help=f"commands per batch (1..{MAX_BATCH}, default 100)")
    batch.set_defaults(run=cmd_batch)


def read_commands(lines: Iterator[str]) -> list[exchange_pb2.TradeCommand]:
    commands = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            commands.append(json_format.Parse(line, exchange_pb2.TradeCommand()))
        except json_format.ParseError as err:
            raise CliError(f"line {number}: not a TradeCommand in JSON ({str(err)[:120]})") from None
    return commands


def cmd_batch(args: argparse.Namespace, client: Client) -> int:
    if not 1 <= args.size <= MAX_BATCH:
        raise CliError(f"--size: 1..{MAX_BATCH}")
    if args.file == "-":
        commands = read_commands(iter(sys.stdin))
    else:
        path = Path(args.file)
        if not path.is_file():
            raise CliError(f"{args.file}: no such file")
        with path.open() as lines:
            commands = read_commands(lines)
    if not commands:
        raise CliError(f"{args.file}: no commands")
    batches = [
        exchange_pb2.TradeStreamRequest(batch_id=i // args.size + 1, commands=commands[i : i + args.size])
        for i in range(0, len(commands), args.size)
    ]
    results: list[exchange_pb2.TradeResult] = []
    for reply in client.exchange.TradeStream(iter(batches), metadata=client.metadata, timeout=600):
        results.extend(reply.results)
    refused = sum(1 for r in results if r.WhichOneof("result") == "error")

    def show() -> None:
        table = Table(title=f"{len(results)} commands in {len(batches)} batches, {refused} refused")
        for column in ("#", "command", "order", "status", "deals / why not"):
            table.add_column(column)
        for number, (command, result) in enumerate(zip(commands, results, strict=True), 1):
            kind = result.WhichOneof("result")
            if kind == "error":
                table.add_row(str(number), command.WhichOneof("command") or "?", "", "refused", result.error.message)
                continue
            reply = getattr(result, kind)
            order = reply.order
            deals = ", ".join(str(d.deal_id) for d in getattr(reply, "deals", ()))
            status = common_pb2.OrderStatus.Name(order.status).removeprefix("ORDER_STATUS_").lower()
            table.add_row(str(number), kind, str(order.order_id), status, deals)
        console.print(table)

    emit({"results": [as_dict(r) for r in results]}, show)
    return 1 if refused else 0
