"""Load generator for the end-to-end and fairness benchmarks: SubmitOffer (or, with
`--buy`, SubmitRequest) over gRPC from one process, closed loop (`--concurrency` calls
in flight) or open loop (`--rate` calls per second). `--ioc` sends immediate-or-cancel
orders, which never rest (a steady load that does not fill the books). Prints one JSON
line: acknowledged calls, wall time, latencies in microseconds."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import grpc
from ixchange.v1 import common_pb2, exchange_pb2, exchange_pb2_grpc

POPS = [f"P{i:02d}" for i in range(20)]
VALUES = {"latency_us": 4_000, "jitter_us": 500, "loss_ppm": 5, "availability_ppm": 999_995}


def buy(prefix: str, i: int, ioc: bool) -> exchange_pb2.SubmitRequestRequest:
    """One circuit of platinum FRA:AMS at up to 100: what the fairness benchmark's
    sellers offer there."""
    return exchange_pb2.SubmitRequestRequest(
        client_order_id=f"{prefix}-{i}",
        service_type=common_pb2.SERVICE_TYPE_ETHERNET_ELINE,
        route=common_pb2.Route(a_end="FRA", z_end="AMS"),
        capacity_kbps=1_000_000,
        circuits=1,
        grade="platinum",
        limit_price=100,
        time_in_force=common_pb2.TIME_IN_FORCE_IMMEDIATE_OR_CANCEL if ioc else 0,
    )


def offer(prefix: str, i: int, ioc: bool = False) -> exchange_pb2.SubmitOfferRequest:
    a, z = POPS[i % 20], POPS[(i // 20) % 19 + 1 if (i // 20) % 19 + 1 != i % 20 else 0]
    if a == z:
        z = POPS[(POPS.index(a) + 1) % 20]
    return exchange_pb2.SubmitOfferRequest(
        client_order_id=f"{prefix}-{i}",
        service_type=common_pb2.SERVICE_TYPE_ETHERNET_ELINE,
        route=common_pb2.Route(a_end=a, z_end=z),
        capacity_kbps=1_000_000,
        circuits=1 + i % 4,
        values=VALUES,
        price=100_000 + i % 997,
        time_in_force=common_pb2.TIME_IN_FORCE_IMMEDIATE_OR_CANCEL if ioc else 0,
    )


async def run(args: argparse.Namespace) -> dict[str, object]:
    metadata = (("authorization", f"Bearer {args.token}"),)
    latencies: list[int] = []
    errors = 0
    async with grpc.aio.insecure_channel(args.target) as channel:
        stub = exchange_pb2_grpc.ExchangeServiceStub(channel)
        if args.buy:
            requests: list[Any] = [buy(args.prefix, i, args.ioc) for i in range(args.count)]
            method = stub.SubmitRequest
        else:
            requests = [offer(args.prefix, i, args.ioc) for i in range(args.count)]
            method = stub.SubmitOffer

        async def one(req: Any) -> None:
            nonlocal errors
            t0 = time.perf_counter_ns()
            try:
                await method(req, metadata=metadata, timeout=60)
            except grpc.RpcError:
                errors += 1
                return
            latencies.append((time.perf_counter_ns() - t0) // 1000)

        start = time.perf_counter()
        if args.rate:
            tasks = []
            for i, req in enumerate(requests):
                delay = start + i / args.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(req)))
            await asyncio.gather(*tasks)
        else:
            queue = iter(requests)

            async def worker() -> None:
                for req in queue:
                    await one(req)

            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        seconds = time.perf_counter() - start
    return {"acked": len(latencies), "errors": errors, "seconds": seconds, "latencies_us": latencies}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--target", required=True)
    p.add_argument("--token", default="")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--rate", type=float, default=0)
    p.add_argument("--prefix", default="load")
    p.add_argument("--buy", action="store_true", help="requests instead of offers")
    p.add_argument("--ioc", action="store_true", help="immediate-or-cancel orders")
    print(json.dumps(asyncio.run(run(p.parse_args()))))


if __name__ == "__main__":
    main()
