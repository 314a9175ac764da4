"""One participant misbehaving, as the fairness benchmark runs it in a process of its
own: `python -m bench.attacks KIND --target HOST:PORT --token T --seconds S`.

Each attack is the one issue 9 measured: unread event streams, made-up tokens, large
read loops, journal replays from the start, year-long market reports, book depth over
as many books as the attacker may open, and all-or-none offers that fit nobody. Prints
one JSON line: calls made and how they were answered."""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from ixchange.v1 import common_pb2, exchange_pb2, exchange_pb2_grpc, market_pb2, market_pb2_grpc

KINDS = ("streams", "tokens", "reads", "replay", "reports", "books", "aon")
PLATINUM = {"latency_us": 4_000, "jitter_us": 500, "loss_ppm": 5, "availability_ppm": 999_995}


def offer_msg(
    cid: str, route: tuple[str, str], price: int, circuits: int = 1, tif: int = 0, grade: str = "platinum"
) -> exchange_pb2.SubmitOfferRequest:
    """A platinum 1G E-Line offer: the shape every benchmark participant sells."""
    return exchange_pb2.SubmitOfferRequest(
        client_order_id=cid,
        service_type=common_pb2.SERVICE_TYPE_ETHERNET_ELINE,
        route=common_pb2.Route(a_end=route[0], z_end=route[1]),
        capacity_kbps=1_000_000,
        circuits=circuits,
        values=PLATINUM,
        price=price,
        grade=grade,
        time_in_force=tif,
    )


def ioc_offer(cid: str) -> exchange_pb2.SubmitOfferRequest:
    """An offer that never rests (immediate or cancel): events without open orders."""
    return offer_msg(cid, ("ATK", "ZZZ"), 999, tif=common_pb2.TIME_IN_FORCE_IMMEDIATE_OR_CANCEL, grade="")


def aon_offer(cid: str) -> exchange_pb2.SubmitOfferRequest:
    """Ten circuits all or none at the best price of FRA:AMS: fits no 1-circuit request."""
    return offer_msg(cid, ("FRA", "AMS"), 100, 10, common_pb2.TIME_IN_FORCE_ALL_OR_NONE)


async def hammer(
    seconds: float, concurrency: int, call: Callable[[int], Awaitable[Any]], codes: collections.Counter[str]
) -> None:
    """Run `call` from `concurrency` tasks until the time is up, counting answers."""
    deadline = time.monotonic() + seconds
    counter = iter(range(10**9))

    async def worker() -> None:
        while time.monotonic() < deadline:
            try:
                await call(next(counter))
                codes["OK"] += 1
            except grpc.RpcError as err:
                codes[err.code().name] += 1  # type: ignore[attr-defined]
                if err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:  # type: ignore[attr-defined]
                    await asyncio.sleep(0.01)  # an attacker retries at once; a little pause keeps the client alive

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def run(kind: str, target: str, token: str, seconds: float) -> dict[str, Any]:
    md = (("authorization", f"Bearer {token}"),)
    codes: collections.Counter[str] = collections.Counter()
    async with grpc.aio.insecure_channel(target) as channel:
        exchange = exchange_pb2_grpc.ExchangeServiceStub(channel)
        market = market_pb2_grpc.MarketServiceStub(channel)
        if kind == "streams":
            # 500 event streams from the start of the journal, never read, while the
            # attacker trades as fast as it may so that its streams have events to queue.
            calls = [exchange.WatchEvents(exchange_pb2.WatchEventsRequest(), metadata=md) for _ in range(500)]
            codes["opened"] = len(calls)
            run_id = secrets.token_hex(4)

            async def trade(i: int) -> None:
                await exchange.SubmitOffer(ioc_offer(f"s-{run_id}-{i}"), metadata=md, timeout=30)

            await hammer(seconds, 8, trade, codes)
            for c in calls:
                codes[f"stream {(await c.code()).name}" if c.done() else "stream open"] += 1
                c.cancel()
        elif kind == "tokens":
            listing = exchange_pb2.ListOrdersRequest()

            async def forged(_: int) -> None:
                fake = (("authorization", f"Bearer ixc_{secrets.token_urlsafe(32)}"),)
                await exchange.ListOrders(listing, metadata=fake, timeout=10)

            await hammer(seconds, 16, forged, codes)
        elif kind == "reads":
            pages = exchange_pb2.ListOrdersRequest(page_size=1000)
            depth = exchange_pb2.GetBookRequest(depth=100, page_size=100)

            async def read(i: int) -> None:
                if i % 2:
                    await exchange.ListOrders(pages, metadata=md, timeout=30)
                else:
                    await exchange.GetBook(depth, metadata=md, timeout=30)

            await hammer(seconds, 8, read, codes)
        elif kind == "replay":

            async def replay(_: int) -> None:
                # From the start of the journal, as fast as it comes, then again: the
                # stream goes live after the backlog, so each replay gets two seconds.
                stream = exchange.WatchEvents(exchange_pb2.WatchEventsRequest(), metadata=md, timeout=2)
                try:
                    async for _event in stream:
                        codes["events"] += 1
                except grpc.RpcError as err:
                    if err.code() != grpc.StatusCode.DEADLINE_EXCEEDED:  # type: ignore[attr-defined]
                        raise

            await hammer(seconds, 4, replay, codes)
        elif kind == "reports":
            now = int(time.time())
            year = market_pb2.GetMarketReportRequest(
                start=Timestamp(seconds=now - 365 * 86_400), end=Timestamp(seconds=now + 3600)
            )

            async def report(_: int) -> None:
                await market.GetMarketReport(year, metadata=md, timeout=30)

            await hammer(seconds, 8, report, codes)
        elif kind == "books":
            every = exchange_pb2.GetBookRequest(depth=100, page_size=100)

            async def books(_: int) -> None:
                token = ""
                while True:
                    reply = await exchange.GetBook(
                        exchange_pb2.GetBookRequest(depth=every.depth, page_size=every.page_size, page_token=token),
                        metadata=md,
                        timeout=30,
                    )
                    token = reply.next_page_token
                    if not token:
                        break

            await hammer(seconds, 8, books, codes)
        elif kind == "aon":
            # On top of the 9,000 placed beforehand: more, as fast as it is allowed.
            run_id = secrets.token_hex(4)

            async def place(i: int) -> None:
                await exchange.SubmitOffer(aon_offer(f"aon-{run_id}-{i}"), metadata=md, timeout=30)

            await hammer(seconds, 8, place, codes)
    return dict(codes)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=KINDS)
    p.add_argument("--target", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--seconds", type=float, default=10)
    args = p.parse_args()
    print(json.dumps(asyncio.run(run(args.kind, args.target, args.token, args.seconds))), flush=True)


if __name__ == "__main__":
    main()
