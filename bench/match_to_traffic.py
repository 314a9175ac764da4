"""Match-to-traffic in the Mininet lab: from the moment a request's reply says a deal was
struck to the first ping that crosses the new path, and to the deal showing ACTIVE.
Deals go one after another over the OpenFlow pairs (terminated before the next), then a
few through the Linux router node. Needs root; brings the lab up in a scratch data dir."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from ixchange.v1 import common_pb2

from topologies.driver import LabDriver
from topologies.lab import pair

OPENFLOW_PAIRS = (("buyer-a", "seller-a"), ("buyer-a", "seller-b"), ("buyer-b", "seller-a"), ("buyer-b", "seller-b"))


def _interface(lab: LabDriver, host: str, address: str) -> tuple[str, str]:
    """(interface, MAC) of the host's interface holding `address`."""
    for link in json.loads(lab.on(host, "ip", "-j", "addr").stdout):
        if any(a.get("local") == address for a in link.get("addr_info", [])):
            return link["ifname"], link["address"]
    raise RuntimeError(f"{host} has no address {address}")


def _static_neighbours(lab: LabDriver, buyer: str, seller: str) -> None:
    """Permanent ARP entries both ways: the measurement is then the fabric's, not Linux's
    neighbour retry timer (a failed ARP is retried only after a second)."""
    p = pair(buyer, seller)
    b_if, b_mac = _interface(lab, p.buyer.host, p.buyer_ip)
    s_if, s_mac = _interface(lab, p.seller.host, p.seller_ip)
    lab.on(p.buyer.host, "ip", "neigh", "replace", p.seller_ip, "lladdr", s_mac, "dev", b_if, "nud", "permanent")
    lab.on(p.seller.host, "ip", "neigh", "replace", p.buyer_ip, "lladdr", b_mac, "dev", s_if, "nud", "permanent")


def _one(lab: LabDriver, buyer: str, seller: str) -> tuple[float, float]:
    """(match -> first ping across, match -> ACTIVE) in seconds for one deal."""
    p = pair(buyer, seller)
    _static_neighbours(lab, buyer, seller)
    # A tight ping loop on the buyer's host, started before the trade, exits on the first
    # reply from the seller's address (resolution: the 50 ms reply wait of each try).
    loop = f"while ! ping -c 1 -W 0.05 {p.seller_ip} >/dev/null 2>&1; do :; done"
    pinger = subprocess.Popen(["mnexec", "-a", str(lab.host_pid(p.buyer.host)), "sh", "-c", loop])
    time.sleep(0.2)
    deal_id = lab.trade(buyer, seller)
    matched = time.perf_counter()
    traffic_at: float | None = None
    active_at: float | None = None
    while traffic_at is None or active_at is None:
        now = time.perf_counter()
        if traffic_at is None and pinger.poll() is not None:
            traffic_at = now
        if active_at is None and lab.deal(deal_id).status == common_pb2.DEAL_STATUS_ACTIVE:
            active_at = now
        if now - matched > 30:
            pinger.kill()
            raise RuntimeError(f"deal {deal_id} carried no traffic within 30 s: {lab.deal(deal_id).status_reason}")
        time.sleep(0.01)
    lab.terminate(buyer, deal_id)
    return traffic_at - matched, active_at - matched


def _summary(name: str, samples: list[float]) -> dict[str, object]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "bench": name,
        "deals": len(samples),
        "p50_ms": round(statistics.median(samples) * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
        "max_ms": round(max(samples) * 1000, 1),
    }


def main(deals: int = 24, router_deals: int = 5) -> list[dict[str, object]]:
    if os.geteuid() != 0:
        print("match-to-traffic benchmark skipped: the lab needs root")
        return []
    data = Path(tempfile.mkdtemp(prefix="ixbench-lab-"))
    lab = LabDriver.up(data, metrics=False)
    rows = []
    try:
        traffic, active = [], []
        for i in range(deals):
            t, a = _one(lab, *OPENFLOW_PAIRS[i % len(OPENFLOW_PAIRS)])
            traffic.append(t)
            active.append(a)
        via_router = [_one(lab, "buyer-a" if i % 2 else "buyer-b", "seller-r")[0] for i in range(router_deals)]
        rows = [
            _summary("match_to_traffic_openflow", traffic),
            _summary("match_to_active_openflow", active),
            _summary("match_to_traffic_via_linux_router", via_router),
        ]
        for row in rows:
            print(
                f"{row['bench']}: p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, max {row['max_ms']} ms "
                f"over {row['deals']} deals",
                flush=True,
            )
    finally:
        lab.down()
        shutil.rmtree(data, ignore_errors=True)
    return rows


if __name__ == "__main__":
    main()
