"""The web portal (issue 14): page latency of the order entry, orders and deals pages
with 10,000 orders in the store, and the fan-out of live events to 100 open browsers.

Everything on this machine: the exchange (`ixchange serve --no-controller`, embedded
SQLite) and the portal (`ixchange portal`, HTTPS with its self-signed certificate) each
in its own process, and the client here (httpx over HTTPS, keep-alive, as a browser
would). Floor in the same run: the gRPC call each page makes, straight to the exchange
(the portal adds its login check, its own call, rendering and TLS on top). The
exchange's per-participant rate limit is off (IXCHANGE_RATE_LIMIT=0): this measures
the portal, not the quotas.

SSE fan-out: 100 sessions of one participant's users hold /events open (one upstream
WatchEvents stream in the portal, copied 100 times); each round places an order over
gRPC and times from its acknowledgement to the moment each browser's stream has the
event: the median browser and the last one.

`python -m bench.portal [--orders 10000] [--pages 200] [--browsers 100] [--rounds 20]`"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import grpc
import httpx
from ixchange.v1 import (
    classes_pb2,
    classes_pb2_grpc,
    common_pb2,
    exchange_pb2,
    exchange_pb2_grpc,
    participants_pb2,
    participants_pb2_grpc,
)

from bench.e2e import free_port, rss_mb, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-password-1"
PLATINUM = {"latency_us": 4_000, "jitter_us": 300, "loss_ppm": 5, "availability_ppm": 999_995}


def spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 2),
        "max_ms": round(ordered[-1], 2),
        "n": len(ordered),
    }


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "controller.cli", *args],
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


async def seed(target: str, operator: str, orders: int) -> tuple[str, str]:
    """Half offers by one seller, half requests by one buyer priced below them (they rest),
    and 200 of each that match (deals). Returns the seller's and the buyer's tokens."""
    channel = grpc.aio.insecure_channel(target)
    parts = participants_pb2_grpc.ParticipantsServiceStub(channel)
    auth = (("authorization", f"Bearer {operator}"),)
    tokens = {}
    for name, role in (("seller", participants_pb2.ROLE_SELLER), ("buyer", participants_pb2.ROLE_BUYER)):
        await parts.RegisterParticipant(
            participants_pb2.RegisterParticipantRequest(
                participant=participants_pb2.Participant(name=name, roles=[role])
            ),
            metadata=auth,
        )
        tokens[name] = (
            await parts.IssueToken(participants_pb2.IssueTokenRequest(participant=name), metadata=auth)
        ).token
    await parts.RegisterAgreement(
        participants_pb2.RegisterAgreementRequest(
            agreement=participants_pb2.Agreement(
                reference="AG",
                buyer="buyer",
                seller="seller",
                max_rate_kbps=10**12,
                interconnects=[
                    participants_pb2.Interconnect(
                        party=participants_pb2.PARTY_BUYER, node="sw1", port="1", vlan_min=100, vlan_max=999
                    ),
                    participants_pb2.Interconnect(
                        party=participants_pb2.PARTY_SELLER, node="sw2", port="1", vlan_min=100, vlan_max=999
                    ),
                ],
            )
        ),
        metadata=auth,
    )
    stub = exchange_pb2_grpc.ExchangeServiceStub(channel)
    sell = (("authorization", f"Bearer {tokens['seller']}"),)
    buy = (("authorization", f"Bearer {tokens['buyer']}"),)

    def route(i: int) -> common_pb2.Route:
        return common_pb2.Route(a_end=f"P{i % 50:02d}", z_end=f"Q{i % 7}")

    async def offer(i: int, price: int) -> None:
        await stub.SubmitOffer(
            exchange_pb2.SubmitOfferRequest(
                client_order_id=f"o{i}",
                service_type=common_pb2.SERVICE_TYPE_ETHERNET_ELINE,
                route=route(i),
                capacity_kbps=1_000_000,
                circuits=1,
                values=PLATINUM,
                price=price,
            ),
            metadata=sell,
        )

    async def request(i: int, limit: int) -> None:
        await stub.SubmitRequest(
            exchange_pb2.SubmitRequestRequest(
                client_order_id=f"r{i}",
                service_type=common_pb2.SERVICE_TYPE_ETHERNET_ELINE,
                route=route(i),
                capacity_kbps=1_000_000,
                circuits=1,
                grade="platinum",
                limit_price=limit,
            ),
            metadata=buy,
        )

    half = orders // 2
    jobs = [offer(i, 100_000 + i % 100) for i in range(half)] + [request(i, 50_000) for i in range(half)]
    jobs += [offer(orders + i, 60_000) for i in range(200)] + [request(orders + i, 60_000) for i in range(200)]
    for start_at in range(0, len(jobs), 200):
        await asyncio.gather(*jobs[start_at : start_at + 200])
    await channel.close()
    return tokens["seller"], tokens["buyer"]


def log_in(client: httpx.Client | httpx.AsyncClient, url: str) -> Any:
    page = client.get(url + "/login")
    token = page.cookies.get("ixlogin") or client.cookies.get("ixlogin")
    return client.post(
        url + "/login", data={"csrf": token, "username": "bench", "password": PASSWORD, "next": "/trade"}
    )


def page_latency(url: str, target: str, buyer: str, pages: int) -> list[dict[str, Any]]:
    client = httpx.Client(verify=False, follow_redirects=False, timeout=30)
    assert log_in(client, url).status_code == 303
    channel = grpc.insecure_channel(target)
    stub = exchange_pb2_grpc.ExchangeServiceStub(channel)
    classes = classes_pb2_grpc.ClassesServiceStub(channel)
    auth = (("authorization", f"Bearer {buyer}"),)
    floors: dict[str, Any] = {
        "/orders": lambda: stub.ListOrders(exchange_pb2.ListOrdersRequest(page_size=200), metadata=auth),
        "/deals": lambda: stub.ListDeals(exchange_pb2.ListDealsRequest(page_size=200), metadata=auth),
        "/trade": lambda: (  # the order entry form's catalogue: parameters and schemes
            classes.ListParameters(classes_pb2.ListParametersRequest(), metadata=auth),
            classes.ListClassSchemes(classes_pb2.ListClassSchemesRequest(), metadata=auth),
        ),
    }
    times: dict[str, list[float]] = {p: [] for p in floors}
    floor: dict[str, list[float]] = {p: [] for p in floors}
    for path in floors:  # warm up
        assert client.get(url + path).status_code == 200, path
    for _ in range(pages):
        for path, call in floors.items():  # interleaved: the machine's drift hits all alike
            t0 = time.perf_counter()
            reply = client.get(url + path)
            times[path].append((time.perf_counter() - t0) * 1000)
            assert reply.status_code == 200
            t0 = time.perf_counter()
            call()
            floor[path].append((time.perf_counter() - t0) * 1000)
    channel.close()
    client.close()
    rows = []
    for path in floors:
        rows.append({"bench": "portal_page", "page": path, **spread(times[path]), "floor_grpc": spread(floor[path])})
    return rows


async def fan_out(url: str, target: str, buyer: str, browsers: int, rounds: int) -> dict[str, Any]:
    clients = [httpx.AsyncClient(verify=False, timeout=None) for _ in range(browsers)]
    arrivals: list[asyncio.Queue[float]] = [asyncio.Queue() for _ in clients]
    opened = asyncio.Event()
    ready = 0

    async def browse(i: int) -> None:
        """Log in, then open the stream at once (a connection left idle past the server's
        keep-alive would be closed under the client, which httpx does not retry)."""
        nonlocal ready
        client = clients[i]
        page = await client.get(url + "/login")
        await client.post(
            url + "/login",
            data={"csrf": page.cookies["ixlogin"], "username": "bench", "password": PASSWORD, "next": "/deals"},
        )
        async with client.stream("GET", url + "/events") as stream:
            ready += 1
            if ready == browsers:
                opened.set()
            async for line in stream.aiter_lines():
                if line.startswith("data: {") and '"kind"' in line:
                    arrivals[i].put_nowait(time.perf_counter())

    tasks = [asyncio.create_task(browse(i)) for i in range(browsers)]
    waiting = asyncio.create_task(opened.wait())
    await asyncio.wait([waiting, *tasks], timeout=120, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        if task.done():
            task.result()  # a browser that failed to open its stream fails the benchmark
    waiting.cancel()
    assert opened.is_set(), f"only {ready} of {browsers} streams opened"
    await asyncio.sleep(1.0)  # the portal's upstream stream is open
    channel = grpc.aio.insecure_channel(target)
    stub = exchange_pb2_grpc.ExchangeServiceStub(channel)
    auth = (("authorization", f"Bearer {buyer}"),)
    median, last = [], []
    for r in range(rounds):
        for q in arrivals:
            while not q.empty():
                q.get_nowait()
        # Immediate-or-cancel, priced to fill nothing: two events (accepted, cancelled).
        await stub.SubmitRequest(
            exchange_pb2.SubmitRequestRequest(
                client_order_id=uuid.uuid4().hex,
                service_type=common_pb2.SERVICE_TYPE_ETHERNET_ELINE,
                route=common_pb2.Route(a_end="FAN", z_end=f"OUT{r}"),
                capacity_kbps=1_000_000,
                circuits=1,
                grade="platinum",
                limit_price=1,
                time_in_force=common_pb2.TIME_IN_FORCE_IMMEDIATE_OR_CANCEL,
            ),
            metadata=auth,
        )
        acked = time.perf_counter()
        got = [(await asyncio.wait_for(q.get(), 30) - acked) * 1000 for q in arrivals]
        median.append(statistics.median(got))
        last.append(max(got))
        await asyncio.sleep(0.3)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for client in clients:
        await client.aclose()
    await channel.close()
    return {
        "bench": "portal_sse_fanout",
        "browsers": browsers,
        "rounds": rounds,
        "median_browser": spread(median),
        "last_browser": spread(last),
    }


def main(orders: int = 10_000, pages: int = 200, browsers: int = 100, rounds: int = 20) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ixbench-portal-") as tmp:
        data = Path(tmp)
        target, portal_port = f"127.0.0.1:{free_port()}", free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("IXCHANGE_")}
        env.update(
            IXCHANGE_DATA_DIR=tmp,
            IXCHANGE_LISTEN=target,
            IXCHANGE_SERVER=target,
            IXCHANGE_METRICS_LISTEN="",
            IXCHANGE_RATE_LIMIT="0",
            IXCHANGE_MAX_OPEN_ORDERS="100000",
            IXCHANGE_PORTAL_LISTEN=f"127.0.0.1:{portal_port}",
        )
        server = start(["serve", "--no-controller"], env, data / "serve.log")
        portal = None
        try:
            wait_healthy(target)
            operator = (data / "operator.token").read_text().strip()
            t0 = time.perf_counter()
            _, buyer = asyncio.run(seed(target, operator, orders))
            print(f"seeded {orders + 400} orders in {time.perf_counter() - t0:.1f} s", flush=True)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "controller.cli",
                    "portal",
                    "user",
                    "add",
                    "bench",
                    "--participant",
                    "buyer",
                    "--password-stdin",
                ],
                input=PASSWORD + "\n",
                text=True,
                env=env,
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            portal = start(["portal"], env, data / "portal.log")
            url = f"https://127.0.0.1:{portal_port}"
            for _ in range(300):
                try:
                    httpx.get(url + "/healthz", verify=False, timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            rows += page_latency(url, target, buyer, pages)
            for row in rows:
                print(row, flush=True)
            fan = asyncio.run(fan_out(url, target, buyer, browsers, rounds))
            fan["portal_rss_mb"] = rss_mb(portal.pid)
            print(fan, flush=True)
            rows.append(fan)
        finally:
            for process in (portal, server):
                if process is not None:
                    process.terminate()
                    process.wait(20)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--browsers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=20)
    a = parser.parse_args()
    main(a.orders, a.pages, a.browsers, a.rounds)
