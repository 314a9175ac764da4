"""SIGKILL the server while clients submit (unary calls and TradeStream batches); after a
restart no acknowledged order is lost or duplicated and no deal is made twice."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from ixchange.v1 import common_pb2, exchange_pb2, participants_pb2

from tests.service.client import ELINE, PLATINUM, Client, G, agreement

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    data_dir: Path, database_url: str, port: int, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "controller.cli",
            "--data-dir",
            str(data_dir),
            "serve",
            "--listen",
            f"127.0.0.1:{port}",
            "--database-url",
            database_url,
            "--metrics-listen",
            "",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
    health = health_pb2_grpc.HealthStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if (
                health.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                == health_pb2.HealthCheckResponse.SERVING
            ):
                return proc
        except grpc.RpcError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start")


def every_page(client: Client, method: Any, request: Any, field: str) -> list[Any]:
    """All rows of a paged list, following next_page_token."""
    out: list[Any] = []
    while True:
        page = client(method, request)
        out += getattr(page, field)
        if not page.next_page_token:
            return out
        request.page_token = page.next_page_token


def all_orders(client: Client) -> list[common_pb2.Order]:
    return every_page(client, client.exchange.ListOrders, exchange_pb2.ListOrdersRequest(page_size=1000), "orders")


def all_deals(client: Client) -> list[common_pb2.Deal]:
    return every_page(client, client.exchange.ListDeals, exchange_pb2.ListDealsRequest(page_size=1000), "deals")


def assert_fills_match_deals(orders: list[common_pb2.Order], deals: list[common_pb2.Deal]) -> None:
    """Every order is filled by exactly what its deals say: none lost, none made twice."""
    assert deals, "crossing flow should have traded"
    assert len({d.deal_id for d in deals}) == len(deals)
    filled: dict[int, int] = {}
    for d in deals:
        filled[d.offer_order_id] = filled.get(d.offer_order_id, 0) + d.circuits
        filled[d.request_order_id] = filled.get(d.request_order_id, 0) + d.circuits
    for o in orders:
        traded = filled.get(o.order_id, 0)
        assert o.circuits - o.remaining_circuits == traded, f"order {o.order_id} filled twice or lost a fill"


def assert_journal_has_no_gap(client: Client, first: int) -> None:
    """The first `first` events of the journal are numbered 1, 2, 3, ..."""
    events = client.exchange.WatchEvents(exchange_pb2.WatchEventsRequest(), metadata=client.metadata)
    sequences = []
    for ev in events:
        sequences.append(ev.sequence)
        if len(sequences) == first:
            break
    events.cancel()
    assert sequences == list(range(1, len(sequences) + 1)), "the event journal has a gap"


def stream_command(offer: bool, cid: str, content: dict[str, int]) -> exchange_pb2.TradeCommand:
    """The TradeStream command with the very content Client.offer / Client.request send,
    so that a unary retry of it is a duplicate."""
    route = common_pb2.Route(a_end="FRA", z_end="AMS")
    if offer:
        return exchange_pb2.TradeCommand(
            submit_offer=exchange_pb2.SubmitOfferRequest(
                client_order_id=cid,
                service_type=ELINE,
                route=route,
                capacity_kbps=G,
                circuits=content["circuits"],
                values=PLATINUM,
                price=content["price"],
            )
        )
    return exchange_pb2.TradeCommand(
        submit_request=exchange_pb2.SubmitRequestRequest(
            client_order_id=cid,
            service_type=ELINE,
            route=route,
            capacity_kbps=G,
            circuits=content["circuits"],
            grade="platinum",
            limit_price=content["limit"],
        )
    )


def test_sigkill_loses_no_acknowledged_order_and_makes_no_deal_twice(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    target = f"127.0.0.1:{port}"
    proc = start_server(tmp_path, database_url, port)
    try:
        operator = Client(target, (tmp_path / "operator.token").read_text().strip())
        seller = operator.as_participant("acme", participants_pb2.ROLE_SELLER)
        buyer = operator.as_participant("globex", participants_pb2.ROLE_BUYER)
        operator(
            operator.participants.RegisterAgreement,
            participants_pb2.RegisterAgreementRequest(agreement=agreement("AG", "globex", "acme", 10**11)),
        )

        acked: dict[str, int] = {}  # client id -> order id, from acknowledged replies
        unsure: list[tuple[Client, str, dict[str, int]]] = []  # sent, no answer: outcome unknown
        lock = threading.Lock()
        stop = threading.Event()

        def submitter(worker: int) -> None:
            client = seller if worker % 2 == 0 else buyer
            for i in range(100_000):
                if stop.is_set():
                    return
                cid = f"w{worker}-{i}"
                if client is seller:
                    content = {"price": 100 + i % 7, "circuits": 1 + i % 3}
                else:
                    content = {"limit": 100 + i % 5, "circuits": 1 + i % 2}
                try:
                    reply = client.offer(cid, **content) if client is seller else client.request(cid, **content)
                except grpc.RpcError:
                    with lock:
                        unsure.append((client, cid, content))
                    return
                with lock:
                    acked[cid] = reply.order.order_id

        def streamer(worker: int) -> None:
            """Batches of 20 over one TradeStream, one batch in flight: acknowledged per
            command when its batch is answered."""
            client = seller if worker % 2 == 0 else buyer
            batches: queue.Queue[exchange_pb2.TradeStreamRequest | None] = queue.Queue()
            answers = client.exchange.TradeStream(iter(batches.get, None), metadata=client.metadata)
            for b in range(100_000):
                if stop.is_set():
                    batches.put(None)
                    return
                sent = []
                for i in range(20):
                    cid = f"s{worker}-{b}-{i}"
                    content = (
                        {"price": 100 + i % 7, "circuits": 1 + i % 3}
                        if client is seller
                        else {"limit": 100 + i % 5, "circuits": 1 + i % 2}
                    )
                    sent.append((cid, content))
                batches.put(
                    exchange_pb2.TradeStreamRequest(
                        batch_id=b + 1, commands=[stream_command(client is seller, cid, c) for cid, c in sent]
                    )
                )
                try:
                    answer = next(answers)
                except grpc.RpcError:
                    with lock:
                        unsure.extend((client, cid, content) for cid, content in sent)
                    return
                with lock:
                    for (cid, _), result in zip(sent, answer.results, strict=True):
                        kind = result.WhichOneof("result")
                        assert kind != "error", result.error.message
                        acked[cid] = getattr(result, kind).order.order_id

        threads = [threading.Thread(target=submitter, args=(w,)) for w in range(4)]
        threads += [threading.Thread(target=streamer, args=(w,)) for w in range(2)]
        for t in threads:
            t.start()
        time.sleep(2.0)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        for t in threads:
            t.join(30)
        stop.set()
        assert len(acked) > 50, "the clients should have been acknowledged before the kill"
        assert any(cid.startswith("s") for cid in acked), "the streams should have been acknowledged too"

        proc = start_server(tmp_path, database_url, port)
        orders = all_orders(operator)
        by_cid = {o.client_order_id: o for o in orders}
        assert len(by_cid) == len(orders), "a client order id was stored twice"
        for cid, order_id in acked.items():
            assert cid in by_cid, f"acknowledged order {cid} was lost"
            assert by_cid[cid].order_id == order_id

        # Orders in flight at the kill: a retry (the same content) returns the stored one or
        # enters it once.
        for client, cid, content in unsure:

            def retry(client: Client = client, cid: str = cid, content: dict[str, int] = content) -> Any:
                return client.offer(cid, **content) if client is seller else client.request(cid, **content)

            assert retry().duplicate == (cid in by_cid)
            assert retry().duplicate

        assert_fills_match_deals(all_orders(operator), all_deals(operator))
        assert_journal_has_no_gap(operator, 200)
    finally:
        proc.kill()
        proc.wait(10)
