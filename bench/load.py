"""Load generator for the end-to-end benchmark: SubmitOffer over gRPC from one process,
closed loop (`--concurrency` calls in flight) or open loop (`--rate` calls per second).
Prints one JSON line: acknowledged calls, wall time, latencies in microseconds."""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import grpc
from ixchange.v1 import common_pb2, exchange_pb2, exchange_pb2_grpc

POPS = [f"P{i:02d}" for i in range(20)]
VALUES = {"latency_us": 4_000, "jitter_us": 500, "loss_ppm": 5, "availability_ppm": 999_995}


def offer(prefix: str, i: int) -> exchange_pb2.SubmitOfferRequest:
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
    )


async def run(args: argparse.Namespace) -> dict[str, object]:
    metadata = (("authorization", f"Bearer {args.token}"),)
    latencies: list[int] = []
    errors = 0
    async with grpc.aio.insecure_channel(args.target) as channel:
        stub = exchange_pb2_grpc.ExchangeServiceStub(channel)
        requests = [offer(args.prefix, i) for i in range(args.count)]

        async def one(req: exchange_pb2.SubmitOfferRequest) -> None:
            nonlocal errors
            t0 = time.perf_counter_ns()
            try:
                await stub.SubmitOffer(req, metadata=metadata, timeout=60)
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
    print(json.dumps(asyncio.run(run(p.parse_args()))))


if __name__ == "__main__":
    main()
