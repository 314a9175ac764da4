"""Durable acknowledged orders per second through ExchangeService.TradeStream (issue 15),
beside the unary SubmitOffer and an empty grpc.aio unary handler (the floor the issue
names: the stream should do at least twice the floor), all in the same run.

The server: `ixchange serve` on embedded SQLite (synchronous=FULL), its fair-share limits
lifted as in bench/e2e.py (one client measures the whole capacity). Clients: two
processes on the same machine; each keeps one stream with up to `window` batches of
`batch` offers unanswered. An order counts when its batch's answer (after its commit)
has come back.

Then latency at 1,000 orders/s offered on the book those runs left (over 10^5 open
orders): through the stream (a batch of 10 every 10 ms, latency from each batch's due
time) and unary (bench/load.py open loop).

`python -m bench.stream [--orders 100000] [--batch 100] [--window 4]`"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import grpc
from ixchange.v1 import common_pb2, exchange_pb2, exchange_pb2_grpc

from bench.e2e import combine, free_port, load, seller_exchange

ROOT = Path(__file__).resolve().parents[1]
PLATINUM = {"latency_us": 4_000, "jitter_us": 300, "loss_ppm": 5, "availability_ppm": 999_995}


async def client(
    target: str, token: str, count: int, batch: int, window: int, prefix: str, rate: float = 0
) -> dict[str, Any]:
    """One stream: `count` offers in batches, `window` batches in flight; with `rate`,
    paced at that many orders per second (a batch every batch/rate seconds, as a gateway
    sends what arrived in that time), latency counted from each batch's due time."""
    channel = grpc.aio.insecure_channel(target)
    stub = exchange_pb2_grpc.ExchangeServiceStub(channel)
    slots = asyncio.Semaphore(window)
    sent_at: dict[int, float] = {}
    batches = (count + batch - 1) // batch

    async def batches_out() -> Any:
        begin = time.perf_counter()
        for b in range(batches):
            if rate:
                due = begin + b * batch / rate
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            await slots.acquire()
            commands = [
                exchange_pb2.TradeCommand(
                    submit_offer=exchange_pb2.SubmitOfferRequest(
                        client_order_id=f"{prefix}-{b}-{i}",
                        service_type=common_pb2.SERVICE_TYPE_ETHERNET_ELINE,
                        route=common_pb2.Route(a_end=f"P{(b * batch + i) % 500}", z_end="Z"),
                        capacity_kbps=1_000_000,
                        circuits=1,
                        values=PLATINUM,
                        price=100_000 + i,
                    )
                )
                for i in range(min(batch, count - b * batch))
            ]
            sent_at[b + 1] = begin + b * batch / rate if rate else time.perf_counter()
            yield exchange_pb2.TradeStreamRequest(batch_id=b + 1, commands=commands)

    acked = errors = 0
    latencies: list[int] = []
    start = time.perf_counter()
    async for reply in stub.TradeStream(batches_out(), metadata=(("authorization", f"Bearer {token}"),)):
        took = int((time.perf_counter() - sent_at.pop(reply.batch_id)) * 1e6)
        for result in reply.results:
            if result.WhichOneof("result") == "error":
                errors += 1
            else:
                acked += 1
                latencies.append(took)
        slots.release()
    seconds = time.perf_counter() - start
    await channel.close()
    return {"acked": acked, "errors": errors, "seconds": seconds, "latencies_us": latencies}


def streams(
    target: str, token: str, count: int, procs: int, batch: int, window: int, prefix: str, rate: float = 0
) -> dict[str, Any]:
    running = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.stream",
                "client",
                target,
                token,
                str(count // procs),
                str(batch),
                str(window),
                f"{prefix}{i}",
                str(rate / procs),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(procs)
    ]
    return combine([json.loads(p.communicate()[0]) for p in running])


def main(orders: int = 100_000, batch: int = 100, window: int = 4) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with seller_exchange() as (target, token, _):
        result = streams(target, token, orders, 2, batch, window, "s")
        rows.append({"bench": "stream", "name": f"TradeStream, SQLite, 2 streams x {window} x {batch}", **result})
        print(rows[-1], flush=True)
        result = load(target, token, orders // 4, procs=2, prefix="u")
        rows.append({"bench": "stream", "name": "unary SubmitOffer, SQLite, 2x64 in flight", **result})
        print(rows[-1], flush=True)
        # Latency at 1,000 orders/s offered, on the book the runs above left (10^5 and
        # more open orders): through the stream (a batch of 10 every 10 ms), and unary.
        result = streams(target, token, 10_000, 1, 10, 64, "l", rate=1000)
        rows.append({"bench": "stream_latency", "name": "TradeStream at 1,000/s, batches of 10", **result})
        print(rows[-1], flush=True)
        result = load(target, token, 10_000, procs=1, prefix="lu", rate=1000)
        rows.append({"bench": "stream_latency", "name": "unary SubmitOffer at 1,000/s", **result})
        print(rows[-1], flush=True)
    port = free_port()
    empty = subprocess.Popen(
        [sys.executable, "-m", "bench.empty_server", str(port)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert empty.stdout is not None
        empty.stdout.readline()
        result = load(f"127.0.0.1:{port}", "", orders // 4, procs=2, prefix="e")
        rows.append({"bench": "stream", "name": "empty grpc.aio unary handler (floor), 2x64 in flight", **result})
        print(rows[-1], flush=True)
    finally:
        empty.terminate()
        empty.wait(30)
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        target, token, count, batch, window, prefix, rate = sys.argv[2:9]
        print(json.dumps(asyncio.run(client(target, token, int(count), int(batch), int(window), prefix, float(rate)))))
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--orders", type=int, default=100_000)
        parser.add_argument("--batch", type=int, default=100)
        parser.add_argument("--window", type=int, default=4)
        a = parser.parse_args()
        main(a.orders, a.batch, a.window)
