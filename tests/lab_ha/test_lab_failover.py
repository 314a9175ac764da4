"""High availability in the Mininet lab (issue 16, item 4): `ixchange lab up --ha` runs a
leader and a standby exchange on one PostgreSQL database, every switch pointed at both
controllers. kill -9 of the leader while a deal carries pings every 10 ms: not one ping is
lost, every switch's MASTER role moves to the new leader (as Open vSwitch reports it), a
drift made while no exchange led is reconciled, and a deal placed right after the failover
goes ACTIVE. Its own package: only one lab runs at a time, and this one is not the shared
lab of tests/lab (that one runs on SQLite with one exchange)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from ixchange.v1 import common_pb2, fabric_pb2, fabric_pb2_grpc

from controller.lab_ha import all_in_role, controller_roles
from tests.conftest import fresh_postgres_database
from tests.lab.test_lab import STRAY_DEAL, drift, flows_of
from topologies.driver import LabDriver as Lab
from topologies.lab import pair

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (Mininet, Open vSwitch)"),
    pytest.mark.slow,
]
LEASE_S = 1.5


@pytest.fixture(scope="module")
def ha_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with fresh_postgres_database() as url:
        settings = {"IXCHANGE_DATABASE_URL": url, "IXCHANGE_HA_LEASE_S": str(LEASE_S)}
        running = Lab.up(tmp_path_factory.mktemp("lab-ha"), settings=settings, ha=True)
        try:
            yield running
        finally:
            running.down()


def fabric(lab: Lab) -> Any:
    _, auth = lab.stub(None)
    stub = fabric_pb2_grpc.FabricServiceStub(lab.channel)
    return stub.GetFabric(fabric_pb2.GetFabricRequest(), metadata=auth, timeout=5)


def scrape_new_leader(log: str) -> str:
    """The new leader's Prometheus page (its port is in its log)."""
    found = re.findall(r"metrics: http://127\.0\.0\.1:(\d+)/metrics", log)
    assert found, log[-2000:]
    return str(urllib.request.urlopen(f"http://127.0.0.1:{found[-1]}/metrics").read().decode())


def next_port(address: str) -> str:
    host, _, port = address.rpartition(":")
    return f"{host}:{int(port) + 1}"


def test_kill_9_of_the_leader_loses_no_ping_moves_mastership_and_reconciles_drift(ha_lab: Lab) -> None:
    lab = ha_lab
    leader_of = lab.env["IXCHANGE_OPENFLOW_LISTEN"]
    standby_of = next_port(leader_of)
    assert all_in_role(leader_of, "master") and all_in_role(standby_of, "slave"), controller_roles()
    carried = pair("buyer-a", "seller-a")
    deal_a = lab.trade("buyer-a", "seller-a")
    deal_b = lab.trade("buyer-b", "seller-b")
    for deal_id in (deal_a, deal_b):
        deal = lab.wait_status(deal_id, common_pb2.DEAL_STATUS_ACTIVE, common_pb2.DEAL_STATUS_PROVISIONING_FAILED)
        assert deal.status == common_pb2.DEAL_STATUS_ACTIVE, deal.status_reason
    assert lab.reaches("ba", carried.seller_ip)
    # Pings every 10 ms for 12 s across the failover.
    ping = subprocess.Popen(
        ["mnexec", "-a", str(lab.host_pid("ba")), "ping", "-n", "-q", "-i", "0.01", "-c", "1200", "-W", "1",
         carried.seller_ip],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    time.sleep(1)
    killed = time.monotonic()
    os.kill(lab.exchange_pid(), signal.SIGKILL)
    drift(deal_b)  # while no exchange leads
    new_leader = next_port(lab.server)
    deadline = killed + 30
    while not all_in_role(standby_of, "master"):
        assert time.monotonic() < deadline, controller_roles()
        time.sleep(0.05)
    mastership_moved_s = time.monotonic() - killed
    lab.follow(new_leader)
    while flows_of(deal_b, "s3") == [] or flows_of(STRAY_DEAL, "s1"):
        assert time.monotonic() < deadline, "the drift was not reconciled"
        time.sleep(0.1)
    assert len(flows_of(deal_b, "s3")) == 2
    # The new master sees the fabric's links by LLDP (what it sent as a slave was refused).
    while sum(link.seen for link in fabric(lab).links if not link.untagged) < 3:  # s1-s2, s1-s3, s2-s3
        assert time.monotonic() < deadline, fabric(lab)
        time.sleep(0.2)
    # A deal placed right after the failover is switched on by the new leader.
    deal_c = lab.trade("buyer-b", "seller-a")
    deal = lab.wait_status(deal_c, common_pb2.DEAL_STATUS_ACTIVE, common_pb2.DEAL_STATUS_PROVISIONING_FAILED)
    assert deal.status == common_pb2.DEAL_STATUS_ACTIVE, deal.status_reason
    out, _ = ping.communicate(timeout=60)
    sent, received = (int(n) for n in re.search(r"(\d+) packets transmitted, (\d+) received", out).groups())  # type: ignore[union-attr]
    assert sent >= 1000 and received == sent, out
    assert lab.reaches("bb", pair("buyer-b", "seller-b").seller_ip)
    log = (lab.data_dir / "run" / "exchange-standby.log").read_text()
    assert "leader, generation" in log, log[-3000:]
    assert re.search(r"^ixchange_switches_mastered 3\.0$", scrape_new_leader(log), re.M)
    print(f"OpenFlow MASTER moved {mastership_moved_s:.2f} s after kill -9; {sent} pings, {sent - received} lost")
