"""High availability (issue 16): failover time from kill -9 of the leader to the first
acknowledged order on the new leader, over repeated kills; two `ixchange serve --ha`
processes on one PostgreSQL database (the test suite's private cluster,
tests/tools/postgres.sh; a fresh database per run).

After each kill the client keeps sending the same order (same client order id, so at most
one is placed) to the standby every 20 ms until it is acknowledged; then the killed
process is started again and stands by for the next round.

With `--open-orders N` the book is loaded first (TradeStream). A standby loads the live
orders into memory once (store/warm.py) and follows them; each kill waits until it says
they are held warm, so the takeover is measured as it happens in service, not mid-load.

`python -m bench.failover [--kills 10] [--lease 1.5] [--open-orders 0]`"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from ixchange.v1 import common_pb2, exchange_pb2, exchange_pb2_grpc

from bench.e2e import free_port, register_seller
from bench.scale import rss_mb
from bench.stream import streams

ROOT = Path(__file__).resolve().parents[1]
PLATINUM = {"latency_us": 4_000, "jitter_us": 300, "loss_ppm": 5, "availability_ppm": 999_995}


def database() -> str:
    base = subprocess.run(
        ["tests/tools/postgres.sh"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip().splitlines()[-1]  # fmt: skip
    import psycopg

    name = f"ixbench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base.rpartition('/')[0]}/{name}"


def serve(data_dir: Path, url: str, port: int, lease: float) -> subprocess.Popen[Any]:
    return subprocess.Popen(
        [sys.executable, "-m", "controller.cli", "--data-dir", str(data_dir), "serve", "--listen",
         f"127.0.0.1:{port}", "--database-url", url, "--metrics-listen", ""],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "IXCHANGE_HA": "1", "IXCHANGE_HA_LEASE_S": str(lease),
             # one client loads the book: its fair-share limits lifted (as bench/e2e.py does)
             "IXCHANGE_RATE_LIMIT": "0", "IXCHANGE_MAX_OPEN_ORDERS": "10000000"},
    )  # fmt: skip


def health(port: int) -> int | None:
    try:
        stub = health_pb2_grpc.HealthStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
        return int(stub.Check(health_pb2.HealthCheckRequest(), timeout=0.5).status)
    except grpc.RpcError:
        return None


def wait_for(port: int, status: int) -> None:
    deadline = time.monotonic() + 60
    while health(port) != status:
        if time.monotonic() > deadline:
            raise RuntimeError(f"127.0.0.1:{port} never reached {status}")
        time.sleep(0.05)


def wait_warm(port: int, metadata: tuple[tuple[str, str], ...]) -> None:
    """Until the standby's refusal says it holds the live orders warm."""
    stub = exchange_pb2_grpc.ExchangeServiceStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            stub.GetOrder(exchange_pb2.GetOrderRequest(order_id=1), metadata=metadata, timeout=5)
        except grpc.RpcError as err:
            if "held warm" in (err.details() or ""):
                return
        time.sleep(0.2)
    raise RuntimeError(f"127.0.0.1:{port} never held the book warm")


def offer(cid: str) -> exchange_pb2.SubmitOfferRequest:
    return exchange_pb2.SubmitOfferRequest(
        client_order_id=cid, service_type=common_pb2.SERVICE_TYPE_ETHERNET_ELINE,
        route=common_pb2.Route(a_end="FRA", z_end="AMS"), capacity_kbps=1_000_000, circuits=1,
        values=PLATINUM, price=100_000,
    )  # fmt: skip


def main(kills: int = 10, lease: float = 1.5, open_orders: int = 0) -> list[dict[str, Any]]:
    url = database()
    serving, standing = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
    times: list[float] = []
    standby_mb: list[float] = []  # resident, holding the live orders warm, just before the kill
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        ports = [free_port(), free_port()]
        procs = [serve(data, url, ports[0], lease), None]
        wait_for(ports[0], serving)
        procs[1] = serve(data, url, ports[1], lease)
        wait_for(ports[1], standing)
        token = register_seller(data, f"127.0.0.1:{ports[0]}")
        metadata = (("authorization", f"Bearer {token}"),)
        if open_orders:  # a large book: the takeover's restore then dominates
            loaded = streams(f"127.0.0.1:{ports[0]}", token, open_orders, 2, 1000, 4, "book")
            print(f"book loaded: {loaded['acked']} open orders", flush=True)
        leader = 0
        try:
            for kill in range(kills):
                standby = 1 - leader
                wait_warm(ports[standby], metadata)
                standby_process = procs[standby]
                assert standby_process is not None
                standby_mb.append(rss_mb(standby_process.pid))
                stub = exchange_pb2_grpc.ExchangeServiceStub(grpc.insecure_channel(f"127.0.0.1:{ports[leader]}"))
                stub.SubmitOffer(offer(f"warm-{kill}"), metadata=metadata, timeout=10)
                to = exchange_pb2_grpc.ExchangeServiceStub(grpc.insecure_channel(f"127.0.0.1:{ports[standby]}"))
                killed = procs[leader]
                assert killed is not None
                killed.send_signal(signal.SIGKILL)
                began = time.perf_counter()
                while True:
                    try:
                        to.SubmitOffer(offer(f"after-{kill}"), metadata=metadata, timeout=1)
                        break
                    except grpc.RpcError:
                        time.sleep(0.02)
                times.append(time.perf_counter() - began)
                print(
                    f"kill {kill + 1}: first acknowledged order on the new leader after {times[-1]:.2f} s", flush=True
                )
                killed.wait(30)
                procs[leader] = serve(data, url, ports[leader], lease)
                wait_for(ports[leader], standing)
                leader = standby
        finally:
            for p in procs:
                if p is not None and p.poll() is None:
                    p.kill()
                    p.wait(30)
    ordered = sorted(times)
    row = {
        "bench": "failover", "open_orders": open_orders,
        "name": f"kill -9 of the leader -> first acked order on the new leader (lease {lease} s, "
                f"{open_orders or 'a few'} open orders)",
        "kills": kills, "p50_s": round(statistics.median(ordered), 2),
        "p95_s": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
        "min_s": round(ordered[0], 2), "max_s": round(ordered[-1], 2),
        "standby_rss_mb_p50": round(statistics.median(standby_mb)),
    }  # fmt: skip
    print(row, flush=True)
    return [row]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--lease", type=float, default=1.5)
    parser.add_argument("--open-orders", type=int, default=0, help="load the book first (e.g. 1000000)")
    a = parser.parse_args()
    main(a.kills, a.lease, a.open_orders)
