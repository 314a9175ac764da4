"""Issue 13 (in part) in the lab: an unprotected deal is routed around a fabric link that
goes down (taken down and up, never deleted: the userspace datapath loses a recreated
veth), within a second, keeping its hand-offs; the old path's flows are gone."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from typing import Any

import pytest
from ixchange.v1 import common_pb2

from provisioning.intent import deal_cookie
from topologies.driver import LabDriver as Lab
from topologies.lab import BFD_SESSIONS, SWITCHES, pair

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (Mininet, Open vSwitch)")
S1_S3 = "s3-eth2"  # s3's end of the s1-s3 link (s3 port 2 to s1 port 3)


def flows_with(cookie: int) -> list[str]:
    found = []
    for bridge in SWITCHES:
        out = subprocess.run(
            ["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", bridge, f"cookie={cookie:#x}/-1"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        found += [f"{bridge}: {line}" for line in out.splitlines() if "cookie=" in line]
    return found


def test_a_deal_is_routed_around_a_fabric_link_that_goes_down(lab: Lab) -> None:
    p = pair("buyer-a", "seller-a")
    ring_live()
    deal_id = lab.trade("buyer-a", "seller-a")
    deal = lab.wait_status(deal_id, common_pb2.DEAL_STATUS_ACTIVE)
    assert "path s3 > s1" in deal.status_reason, deal.status_reason
    assert lab.reaches("ba", p.seller_ip)
    result: dict[str, str] = {}

    def ping() -> None:  # 10 ms apart for 6 s, through the failure
        result["out"] = lab.on("ba", "ping", "-q", "-i", "0.01", "-c", "600", "-W", "1", p.seller_ip, timeout=30).stdout

    pinger = threading.Thread(target=ping)
    pinger.start()
    try:
        time.sleep(2)
        subprocess.run(["ip", "link", "set", S1_S3, "down"], check=True)
        pinger.join(30)
        sent, received = map(int, re.search(r"(\d+) packets transmitted, (\d+) received", result["out"]).groups())
        lost = sent - received
        assert lost <= 100, f"{lost} of {sent} pings lost (10 ms apart): more than 1 s without traffic"
        moved = lab.deal(deal_id)
        assert "re-routed around" in moved.status_reason and "path s3 > s2 > s1" in moved.status_reason, moved
        assert moved.status == common_pb2.DEAL_STATUS_ACTIVE
        assert not flows_with(deal_cookie(deal_id)), "the old path's flows are still there"
        assert flows_with(deal_cookie(deal_id, 1)), "the new path has no flows"
        assert lab.reaches("ba", p.seller_ip)
    finally:
        subprocess.run(["ip", "link", "set", S1_S3, "up"], check=False)
    lab.terminate("buyer-a", deal_id)
    assert not flows_with(deal_cookie(deal_id, 1))  # ending the deal removes every generation


def test_a_deal_without_another_path_says_so_and_passes_again_when_its_link_returns(lab: Lab) -> None:
    p = pair("buyer-a", "seller-a")
    ring_live()
    deal_id = lab.trade("buyer-a", "seller-a")
    assert "path s3 > s1" in lab.wait_status(deal_id, common_pb2.DEAL_STATUS_ACTIVE).status_reason
    try:
        logged = log_size(lab)
        subprocess.run(["ip", "link", "set", "s3-eth3", "down"], check=True)  # s3-s2: not on its path
        wait_logged(lab, "link s2:p3-s3:p3 is down", logged)  # known before the next one goes
        subprocess.run(["ip", "link", "set", S1_S3, "down"], check=True)  # s3-s1: its path, and no way round
        stuck = wait_reason(lab, deal_id, "no other path")
        assert "link s1:p3-s3:p2 is down" in stuck.status_reason, stuck.status_reason
        assert not lab.reaches("ba", p.seller_ip, within_s=1)
        subprocess.run(["ip", "link", "set", S1_S3, "up"], check=True)
        back = wait_reason(lab, deal_id, "is up again")
        assert back.status == common_pb2.DEAL_STATUS_ACTIVE
        assert lab.reaches("ba", p.seller_ip), "the deal's own path did not carry traffic again"
    finally:
        for intf in (S1_S3, "s3-eth3"):
            subprocess.run(["ip", "link", "set", intf, "up"], check=False)
    lab.terminate("buyer-a", deal_id)


def wait_reason(lab: Lab, deal_id: int, text: str, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while text not in (deal := lab.deal(deal_id)).status_reason:
        assert time.monotonic() < deadline, deal.status_reason
        time.sleep(0.1)
    return deal


def test_a_failure_that_keeps_carrier_is_seen_by_bfd_and_routed_around(lab: Lab) -> None:
    p = pair("buyer-a", "seller-a")
    ring_live()
    deal_id = lab.trade("buyer-a", "seller-a")
    assert "path s3 > s1" in lab.wait_status(deal_id, common_pb2.DEAL_STATUS_ACTIVE).status_reason
    bfd = subprocess.run(["ovs-appctl", "bfd/show", S1_S3], capture_output=True, text=True, check=True).stdout
    assert "Local Session State: up" in bfd, bfd
    try:
        # BFD's verdict forced to "not forwarding" (as after 3 missed messages); the carrier stays up.
        subprocess.run(["ovs-appctl", "bfd/set-forwarding", S1_S3, "false"], check=True, capture_output=True)
        moved = wait_reason(lab, deal_id, "re-routed around s1:p3-s3:p2")
        assert "path s3 > s2 > s1" in moved.status_reason, moved.status_reason
        assert lab.reaches("ba", p.seller_ip)
    finally:
        subprocess.run(["ovs-appctl", "bfd/set-forwarding", S1_S3, "normal"], check=False, capture_output=True)
    lab.terminate("buyer-a", deal_id)


def ring_live(timeout: float = 20) -> None:
    """Every fabric link back up with its BFD session (after a test took one down), and a
    moment for the switches' port status to reach the exchange."""
    deadline = time.monotonic() + timeout
    while True:
        shown = subprocess.run(["ovs-appctl", "bfd/show"], capture_output=True, text=True).stdout
        states = re.findall(r"Local Session State: (\w+)", shown)
        if len(states) == BFD_SESSIONS and set(states) == {"up"}:
            break
        assert time.monotonic() < deadline, shown
        time.sleep(0.2)
    time.sleep(0.5)


def log_size(lab: Lab) -> int:
    return (lab.data_dir / "run" / "exchange.log").stat().st_size


def wait_logged(lab: Lab, text: str, since: int, timeout: float = 10) -> None:
    """The exchange's log says `text` after byte `since`."""
    log = lab.data_dir / "run" / "exchange.log"
    deadline = time.monotonic() + timeout
    while text.encode() not in log.read_bytes()[since:]:
        assert time.monotonic() < deadline, f"the exchange never logged {text!r}"
        time.sleep(0.05)
