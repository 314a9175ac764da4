"""The leader lost under order load (issue 16, item 4): two `ixchange serve` processes on
one PostgreSQL database; unary and streaming clients, sellers and buyers, keep entering
orders and follow the leader: on an error that says the exchange they called cannot take
the order now (UNAVAILABLE, or a call cut off before its answer), they send the same
command, with the same client order id, to the next server of their list until one
acknowledges it.

Two ways to lose the leader: kill -9, and the database restarted under it. Afterwards:
every acknowledged order is stored once, under the id it was acknowledged with; no client
order id is stored twice; no order is filled beyond what its deals say (no deal made
twice); the journal has no gap."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from ixchange.v1 import exchange_pb2, participants_pb2

from tests.service.client import Client, agreement
from tests.service.test_crash_recovery import (
    all_deals,
    all_orders,
    assert_fills_match_deals,
    assert_journal_has_no_gap,
    free_port,
    stream_command,
)
from tests.service.test_high_availability import NOT_SERVING, SERVING, logs, serve, status, wait_status

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
# What a client may retry elsewhere: the server is gone, stands by or stepped down, or the
# call was cut off before an answer (its outcome unknown: the client order id makes the
# retry safe).
RETRY = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED}
PER_CLIENT = 240  # orders each of the six clients enters
CLIENTS = 6


class Unavailable(grpc.RpcError):  # type: ignore[misc]
    """A TradeStream command answered UNAVAILABLE inside its batch: retry it elsewhere."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE


class Following:
    """One participant's clients on every server, calling whichever leads."""

    def __init__(self, targets: list[str], metadata: Any) -> None:
        self.clients = [Client(t, "") for t in targets]
        for c in self.clients:
            c.metadata = metadata
        self.at = 0
        self.retries = 0

    def call(self, send: Callable[[Client], Any], within_s: float = 90) -> Any:
        deadline = time.monotonic() + within_s
        while True:
            try:
                return send(self.clients[self.at])
            except grpc.RpcError as err:
                if err.code() not in RETRY or time.monotonic() > deadline:  # type: ignore[attr-defined]
                    raise
                self.retries += 1
                self.at = (self.at + 1) % len(self.clients)
                time.sleep(0.05)


@dataclass
class Pair:
    processes: list[subprocess.Popen[bytes]]
    ports: tuple[int, int]
    data_dir: Path
    operator: Client
    seller: Client
    buyer: Client

    @property
    def targets(self) -> list[str]:
        return [f"127.0.0.1:{p}" for p in self.ports]


@pytest.fixture
def pair(database_url: str, tmp_path: Path) -> Iterator[Pair]:
    if not database_url.startswith("postgresql"):
        pytest.skip("high availability runs on PostgreSQL only")
    ports = (free_port(), free_port())
    processes = [serve(tmp_path, database_url, ports[0])]
    try:
        wait_status(ports[0], SERVING)
        processes.append(serve(tmp_path, database_url, ports[1]))
        wait_status(ports[1], NOT_SERVING)
        operator = Client(f"127.0.0.1:{ports[0]}", (tmp_path / "operator.token").read_text().strip())
        seller = operator.as_participant("acme", participants_pb2.ROLE_SELLER)
        buyer = operator.as_participant("globex", participants_pb2.ROLE_BUYER)
        operator(
            operator.participants.RegisterAgreement,
            participants_pb2.RegisterAgreementRequest(agreement=agreement("AG", "globex", "acme", 10**11)),
        )
        yield Pair(processes, ports, tmp_path, operator, seller, buyer)
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
            p.wait(30)


def content(selling: bool, i: int) -> dict[str, int]:
    return {"price": 100 + i % 7, "circuits": 1 + i % 3} if selling else {"limit": 100 + i % 5, "circuits": 1}


def load_across(pair: Pair, disrupt: Callable[[], None]) -> tuple[dict[str, int], int]:
    """Four unary and two streaming clients enter PER_CLIENT orders each; `disrupt` runs
    once 100 are acknowledged. Returns what was acknowledged (client order id -> order id)
    and how many were acknowledged before the disruption; fails unless every client met it
    (retried at least once)."""
    acked: dict[str, int] = {}
    retried: list[int] = []
    lock = threading.Lock()
    failures: list[BaseException] = []

    def unary(worker: int) -> None:
        selling = worker % 2 == 0
        follow = Following(pair.targets, (pair.seller if selling else pair.buyer).metadata)
        for i in range(PER_CLIENT):
            cid, c = f"u{worker}-{i}", content(selling, i)
            reply = follow.call(lambda cl, cid=cid, c=c: cl.offer(cid, **c) if selling else cl.request(cid, **c))
            with lock:
                acked[cid] = reply.order.order_id
        retried.append(follow.retries)

    def streaming(worker: int) -> None:
        selling = worker % 2 == 0
        follow = Following(pair.targets, (pair.seller if selling else pair.buyer).metadata)
        for b in range(PER_CLIENT // 20):
            sent = [(f"s{worker}-{b}-{i}", content(selling, i)) for i in range(20)]
            batch = exchange_pb2.TradeStreamRequest(
                batch_id=b + 1, commands=[stream_command(selling, cid, c) for cid, c in sent]
            )

            def once(cl: Client, batch: Any = batch) -> Any:
                # One batch per stream: a stream cut off mid-batch is sent again whole, and
                # so is one whose commands were refused UNAVAILABLE (not applied: the
                # exchange is stopping), to the next server.
                answer = next(cl.exchange.TradeStream(iter([batch]), metadata=cl.metadata, timeout=20))
                refused = [r.error for r in answer.results if r.WhichOneof("result") == "error"]
                if any(e.code == grpc.StatusCode.UNAVAILABLE.value[0] for e in refused):
                    raise Unavailable(refused[0].message)
                return answer

            answer = follow.call(once)
            with lock:
                for (cid, _), result in zip(sent, answer.results, strict=True):
                    kind = result.WhichOneof("result")
                    assert kind != "error", result.error.message
                    acked[cid] = getattr(result, kind).order.order_id
        retried.append(follow.retries)

    def guarded(work: Callable[[int], None], worker: int) -> None:
        try:
            work(worker)
        except BaseException as err:  # reported below, in the test's thread
            failures.append(err)

    threads = [threading.Thread(target=guarded, args=(unary, w)) for w in range(4)]
    threads += [threading.Thread(target=guarded, args=(streaming, w)) for w in range(2)]
    for t in threads:
        t.start()
    while len(acked) < 100 and not failures:
        time.sleep(0.01)
    before = len(acked)
    disrupt()
    for t in threads:
        t.join(180)
    assert not failures, f"{failures[0]}\n{logs(pair.data_dir)}"
    assert not any(t.is_alive() for t in threads), "a client never got its orders acknowledged"
    assert before < len(acked) == CLIENTS * PER_CLIENT, (before, len(acked))
    assert len(retried) == CLIENTS and all(retried), f"every client should have met the disruption: {retried}"
    return acked, before


def assert_exactly_once(client: Client, acked: dict[str, int]) -> None:
    orders = all_orders(client)
    by_cid = {o.client_order_id: o for o in orders}
    assert len(by_cid) == len(orders), "a client order id was stored twice"
    for cid, order_id in acked.items():
        assert cid in by_cid, f"acknowledged order {cid} was lost"
        assert by_cid[cid].order_id == order_id, f"{cid} acknowledged as {order_id}, stored as another"
    assert_fills_match_deals(orders, all_deals(client))
    assert_journal_has_no_gap(client, 500)


def leading(pair: Pair) -> Client:
    """The operator's client on whichever process serves now."""
    serving = [p for p in pair.ports if status(p) == SERVING]
    assert len(serving) == 1, f"exactly one process should serve: {serving}"
    client = Client(f"127.0.0.1:{serving[0]}", "")
    client.metadata = pair.operator.metadata
    return client


def test_kill_9_under_unary_and_streaming_load_loses_and_duplicates_nothing(pair: Pair) -> None:
    took: list[float] = []

    def kill_the_leader() -> None:
        pair.processes[0].send_signal(signal.SIGKILL)
        pair.processes[0].wait(10)
        took.append(wait_status(pair.ports[1], SERVING, within=30))

    acked, before = load_across(pair, kill_the_leader)
    print(f"standby serving {took[0]:.2f} s after kill -9; {before} orders acknowledged before it")
    assert_exactly_once(leading(pair), acked)


def test_the_database_restarted_under_load_loses_and_duplicates_nothing(pair: Pair) -> None:
    """PostgreSQL stopped (fast: every session cut) and started again 2 s later, longer than
    the lease: the leader cannot commit or renew and stops without acknowledging what it
    could not store (exit 1 on the failed commit, or 3 on the lost lease, whichever comes
    first; its supervisor would start it again as a standby); the standby stands by through
    the outage and takes over once the database is back."""
    script = str(ROOT / "tests" / "tools" / "postgres.sh")

    def restart_the_database() -> None:
        subprocess.run([script, "stop"], check=True, capture_output=True)
        time.sleep(2)
        subprocess.run([script], check=True, capture_output=True, env={**os.environ})

    acked, before = load_across(pair, restart_the_database)
    assert pair.processes[0].wait(30) in (1, 3), "the leader should have stopped"
    assert status(pair.ports[1]) == SERVING
    print(f"database restarted; {before} orders acknowledged before it")
    assert_exactly_once(leading(pair), acked)
