"""Benchmarks (b) and (c): the exchange end to end over gRPC with SQLite durability, beside
an empty grpc.aio handler; then the server's resident memory with the offers it holds open.

Everything runs on this machine: the server in one process, load generators in others,
sharing the same cores (as a 2-core CI machine would)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from ixchange.v1 import participants_pb2, participants_pb2_grpc

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(target: str, timeout: float = 60) -> None:
    stub = health_pb2_grpc.HealthStub(grpc.insecure_channel(target))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
            return
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.UNIMPLEMENTED:  # the empty server has no health
                return
            time.sleep(0.1)
    raise RuntimeError(f"{target} did not come up")


def percentiles(lat: list[int]) -> dict[str, float]:
    lat = sorted(lat)
    if not lat:
        return {}

    def q(x: float) -> float:
        return round(lat[min(len(lat) - 1, int(x * len(lat)))] / 1000, 2)

    return {"p50_ms": q(0.50), "p90_ms": q(0.90), "p99_ms": q(0.99), "max_ms": q(1.0)}


def load(
    target: str,
    token: str,
    count: int,
    procs: int,
    prefix: str,
    concurrency: int = 64,
    rate: float = 0,
    extra: list[str] | None = None,
) -> dict[str, object]:
    """Run `procs` load generators at once; merge their results."""
    per = count // procs
    cmd = [
        sys.executable,
        "-m",
        "bench.load",
        "--target",
        target,
        "--token",
        token,
        "--count",
        str(per),
        "--concurrency",
        str(concurrency),
        *(extra or []),
    ]
    running = [
        subprocess.Popen(
            [*cmd, "--prefix", f"{prefix}{i}", "--rate", str(rate / procs)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for i in range(procs)
    ]
    return combine([json.loads(p.communicate()[0]) for p in running])


def combine(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The client processes' results as one: orders acknowledged per second over the
    slowest client's time, latency percentiles over all of them."""
    acked = sum(r["acked"] for r in results)
    seconds = max(r["seconds"] for r in results)
    lat = [x for r in results for x in r["latencies_us"]]
    return {
        "acked": acked,
        "errors": sum(r["errors"] for r in results),
        "seconds": round(seconds, 2),
        "acked_per_s": round(acked / seconds),
        **percentiles(lat),
    }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS")


def start_exchange(
    data_dir: Path,
    target: str,
    stdout: Any = subprocess.DEVNULL,
    database_url: str = "",
    settings: dict[str, str] | None = None,
) -> subprocess.Popen[Any]:
    """`ixchange serve` on `database_url` (empty: embedded SQLite in `data_dir`), fair-share
    limits lifted, with any other IXCHANGE_* `settings`."""
    database = ["--database-url", database_url] if database_url else []
    return subprocess.Popen(
        [sys.executable, "-m", "controller.cli", "--data-dir", str(data_dir), "serve", "--listen", target,
         "--metrics-listen", "", *database],
        cwd=ROOT,
        stdout=stdout,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "COLUMNS": "200", "IXCHANGE_RATE_LIMIT": "0", "IXCHANGE_MAX_OPEN_ORDERS": "10000000",
             **(settings or {})},
    )  # fmt: skip


def register_seller(data_dir: Path, target: str, name: str = "bench") -> str:
    """Register a seller as the operator; its token."""
    operator = (data_dir / "operator.token").read_text().strip()
    md = (("authorization", f"Bearer {operator}"),)
    stub = participants_pb2_grpc.ParticipantsServiceStub(grpc.insecure_channel(target))
    stub.RegisterParticipant(
        participants_pb2.RegisterParticipantRequest(
            participant=participants_pb2.Participant(name=name, roles=[participants_pb2.ROLE_SELLER])
        ),
        metadata=md,
    )
    token: str = stub.IssueToken(participants_pb2.IssueTokenRequest(participant=name), metadata=md).token
    return token


@contextlib.contextmanager
def seller_exchange() -> Iterator[tuple[str, str, int]]:
    """`ixchange serve` on embedded SQLite in a temporary directory, with one seller
    registered: (target, the seller's token, the server's pid). One client measures the
    server's whole capacity: its own fair-share limits (a rate per participant, open
    orders per participant) are lifted here."""
    with tempfile.TemporaryDirectory() as tmp:
        target = f"127.0.0.1:{free_port()}"
        server = start_exchange(Path(tmp), target)
        try:
            wait_healthy(target)
            yield target, register_seller(Path(tmp), target), server.pid
        finally:
            server.terminate()
            server.wait(30)


def main(open_orders: int = 100_000, fixed_rate: int = 1000, fixed_seconds: int = 10) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    with seller_exchange() as (target, token, pid):
        rss_before = rss_mb(pid)

        result = load(target, token, open_orders, procs=2, prefix="t")
        rows.append({"bench": "e2e", "name": "ixchange SubmitOffer, SQLite, 2x64 in flight", **result})
        print("throughput", result, flush=True)
        rows.append(
            {
                "bench": "memory",
                "name": f"server RSS with {result['acked']} open orders",
                "rss_mb": rss_mb(pid),
                "rss_at_start_mb": rss_before,
            }
        )
        print("memory", rows[-1], flush=True)

        result = load(target, token, fixed_rate * fixed_seconds, procs=1, prefix="f", rate=fixed_rate)
        rows.append({"bench": "e2e", "name": f"ixchange SubmitOffer at {fixed_rate}/s offered", **result})
        print("fixed rate", result, flush=True)

    port = free_port()
    target = f"127.0.0.1:{port}"
    empty = subprocess.Popen(
        [sys.executable, "-m", "bench.empty_server", str(port)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert empty.stdout is not None
        empty.stdout.readline()
        result = load(target, "", open_orders, procs=2, prefix="e")
        rows.append({"bench": "e2e", "name": "empty grpc.aio handler (floor), 2x64 in flight", **result})
        print("floor", result, flush=True)
        result = load(target, "", fixed_rate * fixed_seconds, procs=1, prefix="ef", rate=fixed_rate)
        rows.append({"bench": "e2e", "name": f"empty grpc.aio handler at {fixed_rate}/s offered", **result})
        print("floor fixed rate", result, flush=True)
    finally:
        empty.terminate()
        empty.wait(30)
    return rows


if __name__ == "__main__":
    main(open_orders=int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
