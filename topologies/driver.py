"""Drive a running lab from Python: trade over gRPC as the lab's participants, run commands
on its hosts, follow deals. Used by the lab tests and the match-to-traffic benchmark."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from ixchange.v1 import (
    common_pb2,
    continuity_pb2,
    continuity_pb2_grpc,
    exchange_pb2,
    exchange_pb2_grpc,
    quality_pb2,
    quality_pb2_grpc,
)

ROOT = Path(__file__).resolve().parents[1]
# Asserted quality of every lab offer: good enough for the platinum grade.
QUALITY = {"latency_us": 4000, "jitter_us": 300, "loss_ppm": 5, "availability_ppm": 999995}


@dataclass
class LabDriver:
    """A lab brought up with `env` (its IXCHANGE_* settings) and data in `data_dir`."""

    env: dict[str, str]
    data_dir: Path
    server: str
    channel: grpc.Channel | None = None

    @classmethod
    def up(
        cls, data_dir: Path, metrics: bool = True, settings: dict[str, str] | None = None, ha: bool = False
    ) -> LabDriver:
        """`ixchange lab up` with its own lab dir and free loopback ports, so it clashes
        with nothing else running (but only one lab runs per machine: Mininet names).
        `ha`: `lab up --ha`, a leader and a standby (settings must name a PostgreSQL
        database); each takes two ports in a row."""
        server = f"127.0.0.1:{_free_port(pair=ha)}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("IXCHANGE_")}
        env.update(
            IXCHANGE_LAB_DIR=str(data_dir),
            IXCHANGE_LAB_LISTEN=server,
            IXCHANGE_DATA_DIR=str(data_dir),  # CLI calls made here talk to the lab
            IXCHANGE_SERVER=server,
            IXCHANGE_OPENFLOW_LISTEN=f"127.0.0.1:{_free_port(pair=ha)}",
            IXCHANGE_METRICS_LISTEN="127.0.0.1:0" if metrics else "",
            IXCHANGE_TRAFFIC_POLL_S="1",  # deal traffic counters while a test waits
            IXCHANGE_PROBE_INTERVAL_S="0.2",  # a window of delivered quality every 2 s
            IXCHANGE_QUALITY_HORIZON_WINDOWS="5",  # loss rolled over 10 s: recovery within a test's patience
            PYTHONPATH=str(ROOT),
        )
        env.update(settings or {})  # IXCHANGE_* of the caller's choosing
        lab = cls(env, data_dir, server)
        started = lab.ixchange("lab", "up", *(["--ha"] if ha else []), check=False)
        if started.returncode != 0:
            raise RuntimeError(f"ixchange lab up failed:\n{started.stdout}{started.stderr}")
        for seller in ("seller-a", "seller-b"):  # trade at once; the verification test turns it on
            lab.waive(seller, True)
        return lab

    def waive(self, seller: str, waived: bool) -> list[int]:
        """Waive (or require again) verification before listing for a seller."""
        _, auth = self.stub(None)
        assert self.channel is not None
        stub = quality_pb2_grpc.QualityServiceStub(self.channel)
        request = quality_pb2.SetVerificationWaiverRequest(participant=seller, waived=waived)
        return list(stub.SetVerificationWaiver(request, metadata=auth).listed_order_ids)

    def down(self) -> None:
        self.ixchange("lab", "down", check=False)
        if self.channel is not None:
            self.channel.close()

    def ixchange(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "controller.cli", *args],
            env={**self.env, "COLUMNS": "200"},  # tables unwrapped, for reading
            text=True,
            capture_output=True,
            check=check,
        )

    def on(self, host: str, *command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["mnexec", "-a", str(self.host_pid(host)), *command], text=True, capture_output=True, timeout=timeout
        )

    def reaches(self, host: str, address: str, within_s: float = 3) -> bool:
        """A ping answered within a few seconds. Pings again after an error, as a person
        would: an address resolution that began before a deal came up fails after it and
        ends that ping at once with "Destination Host Unreachable"."""
        deadline = time.monotonic() + within_s
        while (left := deadline - time.monotonic()) > 0.05:
            wait = str(max(1, round(left)))
            if self.on(host, "ping", "-c", "1", "-i", "0.2", "-w", wait, address).returncode == 0:
                return True
            time.sleep(0.1)
        return False

    def end_all_deals(self) -> None:
        """Terminate every deal still holding (or being given) a path, as the operator."""
        stub, auth = self.stub(None)
        live = (common_pb2.DEAL_STATUS_BROKERED, common_pb2.DEAL_STATUS_PROVISIONING, common_pb2.DEAL_STATUS_ACTIVE)
        for deal in stub.ListDeals(exchange_pb2.ListDealsRequest(), metadata=auth).deals:
            if deal.status in live:
                stub.TerminateDeal(exchange_pb2.TerminateDealRequest(deal_id=deal.deal_id), metadata=auth)
        for deal in stub.ListDeals(exchange_pb2.ListDealsRequest(), metadata=auth).deals:
            if deal.status not in (common_pb2.DEAL_STATUS_TERMINATED, common_pb2.DEAL_STATUS_PROVISIONING_FAILED):
                self.wait_status(
                    deal.deal_id, common_pb2.DEAL_STATUS_TERMINATED, common_pb2.DEAL_STATUS_PROVISIONING_FAILED
                )

    def cancel_open_orders(self) -> None:
        """Cancel every order still open (as the operator): a void deal gives its orders
        their circuits back, and a test's leftovers would trade with the next test's."""
        stub, auth = self.stub(None)
        for order in stub.ListOrders(
            exchange_pb2.ListOrdersRequest(open_only=True, page_size=1000), metadata=auth
        ).orders:
            stub.CancelOrder(exchange_pb2.CancelOrderRequest(order_id=order.order_id), metadata=auth)

    def stub(self, name: str | None) -> Any:
        """The exchange stub and the call metadata of participant `name` (None: the operator)."""
        token_file = self.data_dir / "credentials" / f"{name}.token" if name else self.data_dir / "operator.token"
        token = token_file.read_text().strip()
        if self.channel is None:
            self.channel = grpc.insecure_channel(self.server)
        return exchange_pb2_grpc.ExchangeServiceStub(self.channel), (("authorization", f"Bearer {token}"),)

    def trade(
        self,
        buyer: str,
        seller: str,
        mbps: int = 10,
        service_end: float = 0,
        grade: str = "platinum",
        z_end: str = "",
    ) -> int:
        """Offer and request that match, in `grade`, on LAB1 to `z_end` (default: the
        seller's own name); returns the deal id. `service_end`: Unix time."""
        z_end = z_end or seller.upper()
        route = common_pb2.Route(a_end="LAB1", z_end=z_end)
        self.offer(seller, mbps, grade, z_end)
        stub, auth = self.stub(buyer)
        reply = stub.SubmitRequest(
            exchange_pb2.SubmitRequestRequest(
                client_order_id=uuid.uuid4().hex,
                service_type=common_pb2.SERVICE_TYPE_ETHERNET_ELINE,
                route=route,
                capacity_kbps=mbps * 1000,
                circuits=1,
                limit_price=100,
                grade=grade,
                service_end=Timestamp(seconds=int(service_end)) if service_end else None,
            ),
            metadata=auth,
        )
        if len(reply.deals) != 1:
            raise RuntimeError(f"expected one deal, got {reply}")
        return int(reply.deals[0].deal_id)

    def offer(self, seller: str, mbps: int = 10, grade: str = "platinum", z_end: str = "", price: int = 100) -> int:
        """One circuit offered by `seller` on LAB1 to `z_end`; returns the order id."""
        stub, auth = self.stub(seller)
        reply = stub.SubmitOffer(
            exchange_pb2.SubmitOfferRequest(
                client_order_id=uuid.uuid4().hex,
                service_type=common_pb2.SERVICE_TYPE_ETHERNET_ELINE,
                route=common_pb2.Route(a_end="LAB1", z_end=z_end or seller.upper()),
                capacity_kbps=mbps * 1000,
                circuits=1,
                values=QUALITY,
                price=price,
                grade=grade,
            ),
            metadata=auth,
        )
        return int(reply.order.order_id)

    def swap(self, deal_id: int, who: str | None = None) -> Any:
        """SwapSeller as `who` (None: the operator); the new deal."""
        _, auth = self.stub(who)
        assert self.channel is not None
        stub = continuity_pb2_grpc.ContinuityServiceStub(self.channel)
        return stub.SwapSeller(continuity_pb2.SwapSellerRequest(deal_id=deal_id), metadata=auth).deal

    def protect(self, deal_id: int, protected: bool = True, who: str | None = None) -> Any:
        """ProtectDeal as `who` (None: the operator); the deal."""
        _, auth = self.stub(who)
        assert self.channel is not None
        stub = continuity_pb2_grpc.ContinuityServiceStub(self.channel)
        request = continuity_pb2.ProtectDealRequest(deal_id=deal_id, protected=protected)
        return stub.ProtectDeal(request, metadata=auth).deal

    def change(self, deal_id: int, who: str, capacity_kbps: int = 0) -> Any:
        """ChangeDeal as `who`: the reply (deal, applied, waiting_for)."""
        _, auth = self.stub(who)
        assert self.channel is not None
        stub = continuity_pb2_grpc.ContinuityServiceStub(self.channel)
        request = continuity_pb2.ChangeDealRequest(deal_id=deal_id, capacity_kbps=capacity_kbps)
        return stub.ChangeDeal(request, metadata=auth)

    def drain(self, link: str, drained: bool = True) -> Any:
        _, auth = self.stub(None)
        assert self.channel is not None
        stub = continuity_pb2_grpc.ContinuityServiceStub(self.channel)
        return stub.DrainLink(continuity_pb2.DrainLinkRequest(link=link, drained=drained), metadata=auth)

    def udp_lost(self, sender: str, receiver: str, address: str, count: int, during: Callable[[], None]) -> Any:
        """Sequence-numbered UDP from `sender` to `address` (on `receiver`), `count`
        datagrams 1 ms apart; `during` runs 1 s after the start. The receiver's count."""
        command = [sys.executable, "-m", "topologies.udpseq"]
        far = subprocess.Popen(
            ["mnexec", "-a", str(self.host_pid(receiver)), *command, "receive", "--port", "9000", "--idle", "2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert far.stderr is not None
        far.stderr.readline()  # "ready"
        near = subprocess.Popen(
            [
                "mnexec",
                "-a",
                str(self.host_pid(sender)),
                *command,
                "send",
                "--to",
                f"{address}:9000",
                "--count",
                str(count),
                "--interval",
                "0.001",
            ],
            cwd=ROOT,
        )
        try:
            time.sleep(1)
            during()
            near.wait(timeout=count / 1000 + 30)
            out, _ = far.communicate(timeout=30)
        finally:
            for process in (near, far):
                if process.poll() is None:
                    process.kill()
        return json.loads(out)

    def deal(self, deal_id: int) -> Any:
        """The deal as the operator sees it."""
        stub, auth = self.stub(None)
        return stub.GetDeal(exchange_pb2.GetDealRequest(deal_id=deal_id), metadata=auth).deal

    def quality(self, deal_id: int) -> Any:
        """The deal's delivered quality and measured windows, as the operator sees them."""
        _, auth = self.stub(None)
        assert self.channel is not None
        stub = quality_pb2_grpc.QualityServiceStub(self.channel)
        return stub.GetQuality(quality_pb2.GetQualityRequest(deal_id=deal_id, page_size=1000), metadata=auth)

    def penalties(self, deal_id: int) -> list[Any]:
        _, auth = self.stub(None)
        assert self.channel is not None
        stub = quality_pb2_grpc.QualityServiceStub(self.channel)
        reply = stub.ListPenalties(quality_pb2.ListPenaltiesRequest(deal_id=deal_id), metadata=auth)
        return list(reply.penalties)

    def wait_quality(self, deal_id: int, until: Any, timeout: float = 30) -> Any:
        """The deal's current quality record once `until(record)` holds."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.quality(deal_id).current
            if current and until(current[0]):
                return current[0]
            if time.monotonic() > deadline:
                raise TimeoutError(f"deal {deal_id}: quality never got there: {current}")
            time.sleep(0.2)

    def wait_status(self, deal_id: int, *statuses: int, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            deal = self.deal(deal_id)
            if deal.status in statuses:
                return deal
            if time.monotonic() > deadline:
                raise TimeoutError(f"deal {deal_id} is {deal.status} ({deal.status_reason})")
            time.sleep(0.05)

    def terminate(self, buyer: str, deal_id: int) -> None:
        stub, auth = self.stub(buyer)
        stub.TerminateDeal(exchange_pb2.TerminateDealRequest(deal_id=deal_id, reason="test"), metadata=auth)
        self.wait_status(deal_id, common_pb2.DEAL_STATUS_TERMINATED)

    def host_pid(self, host: str) -> int:
        return int(json.loads((self.data_dir / "run" / "lab.json").read_text())["hosts"][host])

    def exchange_pid(self, standby: bool = False) -> int:
        return int((self.data_dir / "run" / ("exchange-standby.pid" if standby else "exchange.pid")).read_text())

    def follow(self, server: str) -> None:
        """Call another exchange from now on (the new leader after a failover)."""
        if self.channel is not None:
            self.channel.close()
        self.server, self.channel = server, None


def _free_port(pair: bool = False) -> int:
    """A free loopback port; with `pair`, one whose next port is free too."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if not pair or port >= 65535:
            return port
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue
