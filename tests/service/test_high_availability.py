"""Two `ixchange serve` processes on one PostgreSQL database (issue 16, item 1, first
part): one leads, the other stands by (health NOT_SERVING, calls UNAVAILABLE naming the
leader) and takes over when the leader is killed; a leader paused past its lease commits
nothing after the takeover and steps down."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from ixchange.v1 import exchange_pb2, participants_pb2

from tests.service.client import Client
from tests.service.test_crash_recovery import free_port

pytestmark = pytest.mark.slow
LEASE_S = 1.0
SELLER = 1  # participants_pb2.ROLE_SELLER


def serve(data_dir: Path, database_url: str, port: int) -> subprocess.Popen[bytes]:
    """`ixchange serve` with HA on; its output in data_dir/serve-PORT.log (see `logs`)."""
    with open(data_dir / f"serve-{port}.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "controller.cli", "--data-dir", str(data_dir), "serve", "--listen",
             f"127.0.0.1:{port}", "--database-url", database_url, "--metrics-listen", ""],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "200", "IXCHANGE_HA": "1", "IXCHANGE_HA_LEASE_S": str(LEASE_S)},
        )  # fmt: skip


def logs(data_dir: Path) -> str:
    """The end of every server's output, for a failure's message."""
    return "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(data_dir.glob("serve-*.log"))
    )


def status(port: int) -> int | None:
    try:
        stub = health_pb2_grpc.HealthStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
        return int(stub.Check(health_pb2.HealthCheckRequest(), timeout=0.5).status)
    except grpc.RpcError:
        return None


def wait_status(port: int, wanted: int, within: float = 60) -> float:
    began = time.monotonic()
    while time.monotonic() - began < within:
        if status(port) == wanted:
            return time.monotonic() - began
        time.sleep(0.05)
    raise AssertionError(f"127.0.0.1:{port} never answered {wanted}")


SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture
def pair(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    if not database_url.startswith("postgresql"):
        pytest.skip("high availability runs on PostgreSQL only")
    ports = (free_port(), free_port())
    leader = serve(tmp_path, database_url, ports[0])
    wait_status(ports[0], SERVING)
    standby = serve(tmp_path, database_url, ports[1])
    wait_status(ports[1], NOT_SERVING)
    processes = [leader, standby]
    yield processes, ports, tmp_path
    for p in processes:
        if p.poll() is None:
            p.send_signal(signal.SIGCONT)
            p.kill()
        p.wait(30)


def seller(port: int, data_dir: Path, name: str = "acme") -> Client:
    operator = Client(f"127.0.0.1:{port}", (data_dir / "operator.token").read_text().strip())
    return operator.as_participant(name, SELLER)


def test_the_standby_refuses_naming_the_leader_and_takes_over_when_it_is_killed(pair) -> None:  # type: ignore[no-untyped-def]
    (leader, _), (leader_port, standby_port), data_dir = pair
    acme = seller(leader_port, data_dir)
    first = acme.offer("before").order
    token = acme.metadata
    other = Client(f"127.0.0.1:{standby_port}", "")
    with pytest.raises(grpc.RpcError) as err:
        other.exchange.GetOrder(exchange_pb2.GetOrderRequest(order_id=first.order_id), metadata=token, timeout=5)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert f"the leader is 127.0.0.1:{leader_port}" in (err.value.details() or "")
    # It follows the leader's journal (LISTEN/NOTIFY): its refusals say how far it has read.
    deadline = time.monotonic() + 10
    while not re.search(r"follows its journal at [1-9]\d*, \d+ ms behind", err.value.details() or ""):
        assert time.monotonic() < deadline, err.value.details()
        time.sleep(0.1)
        with pytest.raises(grpc.RpcError) as err:
            other.exchange.GetOrder(exchange_pb2.GetOrderRequest(order_id=1), metadata=token, timeout=5)
    leader.kill()  # kill -9
    took = wait_status(standby_port, SERVING, within=30)
    assert took < 30
    after = Client(f"127.0.0.1:{standby_port}", "")
    after.metadata = token
    again = after.offer("before").order  # a retry with the same client order id: the same order
    assert again.order_id == first.order_id
    new = after.offer("after").order
    assert new.order_id > first.order_id


def test_a_leader_paused_past_its_lease_commits_nothing_after_the_takeover_and_steps_down(pair) -> None:  # type: ignore[no-untyped-def]
    (leader, _), (leader_port, standby_port), data_dir = pair
    acme = seller(leader_port, data_dir)
    acme.offer("before")
    leader.send_signal(signal.SIGSTOP)
    wait_status(standby_port, SERVING, within=30)
    now_leading = Client(f"127.0.0.1:{standby_port}", "")
    now_leading.metadata = acme.metadata
    now_leading.offer("on-the-new-leader")
    paused = Client(f"127.0.0.1:{leader_port}", "")
    paused.metadata = acme.metadata
    leader.send_signal(signal.SIGCONT)
    # Never acknowledged: the old leader either finds its lease gone first and stops, or its
    # commit is fenced (which of the two wins is a race; test_leadership.py pins the fencing).
    with pytest.raises(grpc.RpcError) as err:
        paused.offer("on-the-old-leader")
    assert err.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED), err.value
    assert leader.wait(30) == 3  # stepped down
    orders = now_leading(now_leading.exchange.ListOrders, exchange_pb2.ListOrdersRequest(page_size=100)).orders
    assert sorted(o.client_order_id for o in orders) == ["before", "on-the-new-leader"]


def test_the_cli_given_every_server_follows_the_leader(pair) -> None:  # type: ignore[no-untyped-def]
    """IXCHANGE_SERVER lists both (the standby first): calls go to whichever leads, before
    and after a failover (gRPC's health-checked round_robin, marketplace/api/following.py)."""
    (leader, _), (leader_port, standby_port), data_dir = pair
    servers = f"127.0.0.1:{standby_port},127.0.0.1:{leader_port}"
    env = {**os.environ, "IXCHANGE_SERVER": servers, "IXCHANGE_DATA_DIR": str(data_dir), "COLUMNS": "200"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "controller.cli", *args], env=env, capture_output=True, text=True, timeout=60
        )

    added = cli("participants", "add", "acme", "--role", "seller")
    assert added.returncode == 0, added.stdout + added.stderr
    leader.kill()
    wait_status(standby_port, SERVING, within=30)
    shown = cli("participants")
    assert shown.returncode == 0 and "acme" in shown.stdout, shown.stdout + shown.stderr + logs(data_dir)
    added = cli("participants", "add", "globex", "--role", "buyer")
    assert added.returncode == 0, added.stdout + added.stderr
    # The new leader keeps its lease (once, a slow standby clean-up between the take and the
    # first renewal outlasted this 1 s lease: the new leader stepped down at once).
    time.sleep(3 * LEASE_S)
    assert status(standby_port) == SERVING, logs(data_dir)


def test_the_standby_keeps_the_book_warm_and_takes_over_with_it(pair) -> None:  # type: ignore[no-untyped-def]
    """The standby holds the live orders as the leader commits them (store/warm.py) and
    builds its engine from them on taking over: the book is the leader's, level for level."""
    (leader, _), (leader_port, standby_port), data_dir = pair
    acme = seller(leader_port, data_dir)
    operator = Client(f"127.0.0.1:{leader_port}", (data_dir / "operator.token").read_text().strip())
    bigco = operator.as_participant("bigco", participants_pb2.ROLE_BUYER)

    def trade(tag: str) -> None:
        placed = [acme.offer(f"{tag}-o{i}", price=1000 + i % 7, circuits=1 + i % 3).order for i in range(30)]
        for o in placed[::5]:
            acme(acme.exchange.CancelOrder, exchange_pb2.CancelOrderRequest(order_id=o.order_id))
        bigco.request(f"{tag}-r1", limit=1003, circuits=4)  # fills the cheapest, part of one
        bigco.request(f"{tag}-r2", limit=990, circuits=2)  # rests: nothing that cheap

    def refusal() -> str:
        with pytest.raises(grpc.RpcError) as err:
            standby_client.exchange.GetOrder(exchange_pb2.GetOrderRequest(order_id=1), metadata=acme.metadata)
        return err.value.details() or ""

    standby_client = Client(f"127.0.0.1:{standby_port}", "")
    trade("a")
    deadline = time.monotonic() + 20
    while not re.search(r"[1-9]\d* live orders and \d+ open deals held warm", refusal()):
        assert time.monotonic() < deadline, refusal() + logs(data_dir)
        time.sleep(0.1)
    trade("b")  # followed change by change (and the rest caught up at the takeover)
    book = exchange_pb2.GetBookRequest(depth=100)
    before = acme(acme.exchange.GetBook, book)
    assert before.books and sum(len(b.offers) for b in before.books) > 3
    leader.kill()  # kill -9
    wait_status(standby_port, SERVING, within=30)
    assert "took over with the rows kept warm" in logs(data_dir), logs(data_dir)
    standby_client.metadata = acme.metadata
    assert standby_client(standby_client.exchange.GetBook, book) == before
    bigco_after = Client(f"127.0.0.1:{standby_port}", "")
    bigco_after.metadata = bigco.metadata
    assert bigco_after.request("after", limit=2000, circuits=1).deals  # and it trades on it
