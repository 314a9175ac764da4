"""Goodput through a deal's committed rate in the Mininet lab: TCP, UDP at 90 % of the
rate, and UDP at 200 % (which the meter must cap), at 1, 10 and 100 Mbit/s.

Targets (issue 11): TCP >= 90 % of the rate; UDP at 90 % with < 0.1 % loss; UDP at 200 %
received <= 105 % of the rate. Needs root; brings up the lab in a scratch directory.
`python -m bench.goodput [--rates 1 10 100] [--seconds 5] [--repeat 3]`."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from ixchange.v1 import common_pb2

from topologies.driver import LabDriver
from topologies.lab import pair

BUYER, SELLER = "buyer-a", "seller-a"


def _iperf(lab: LabDriver, seconds: int, udp_mbps: float | None = None) -> dict[str, Any]:
    p = pair(BUYER, SELLER)
    lab.on(p.seller.host, "iperf3", "-s", "-1", "-D", "-B", p.seller_ip)
    time.sleep(0.3)
    udp = ["-u", "-b", f"{udp_mbps}M"] if udp_mbps else []
    run = lab.on(p.buyer.host, "iperf3", "-c", p.seller_ip, *udp, "-t", str(seconds), "-J", timeout=seconds + 30)
    if run.returncode != 0:
        raise RuntimeError(f"iperf3 failed: {run.stdout[-500:]}{run.stderr[-500:]}")
    end = json.loads(run.stdout)["end"]
    if udp_mbps:  # the receiver's view: what came through, and what was lost on the way
        received = end.get("sum_received", end["sum"])
        return {"mbps": received["bits_per_second"] / 1e6, "lost_percent": received.get("lost_percent", 0.0)}
    return {"mbps": end["sum_received"]["bits_per_second"] / 1e6, "retransmits": end["sum_sent"]["retransmits"]}


def measure(lab: LabDriver, mbps: int, seconds: int, repeat: int) -> dict[str, object]:
    deal_id = lab.trade(BUYER, SELLER, mbps=mbps)
    deal = lab.wait_status(deal_id, common_pb2.DEAL_STATUS_ACTIVE, common_pb2.DEAL_STATUS_PROVISIONING_FAILED)
    if deal.status != common_pb2.DEAL_STATUS_ACTIVE:
        raise RuntimeError(f"deal at {mbps}M: {deal.status_reason}")
    try:
        tcp = [_iperf(lab, seconds)["mbps"] for _ in range(repeat)]
        udp90 = [_iperf(lab, seconds, 0.9 * mbps) for _ in range(repeat)]
        udp200 = [_iperf(lab, seconds, 2.0 * mbps)["mbps"] for _ in range(repeat)]
    finally:
        lab.terminate(BUYER, deal_id)
    row: dict[str, object] = {
        "bench": "goodput",
        "rate_mbps": mbps,
        "seconds": seconds,
        "runs": repeat,
        "tcp_mbps_median": round(statistics.median(tcp), 2),
        "tcp_mbps_range": [round(min(tcp), 2), round(max(tcp), 2)],
        "tcp_percent_of_rate": round(100 * statistics.median(tcp) / mbps, 1),
        "udp90_loss_percent_median": round(statistics.median(u["lost_percent"] for u in udp90), 3),
        "udp90_loss_percent_max": round(max(u["lost_percent"] for u in udp90), 3),
        "udp200_mbps_median": round(statistics.median(udp200), 2),
        "udp200_percent_of_rate": round(100 * statistics.median(udp200) / mbps, 1),
        "udp200_percent_max": round(100 * max(udp200) / mbps, 1),
    }
    row["targets_met"] = (
        row["tcp_percent_of_rate"] >= 90  # type: ignore[operator]
        and row["udp90_loss_percent_max"] < 0.1  # type: ignore[operator]
        and row["udp200_percent_max"] <= 105  # type: ignore[operator]
    )
    return row


def main(rates: tuple[int, ...] = (1, 10, 100), seconds: int = 5, repeat: int = 3) -> list[dict[str, object]]:
    if os.geteuid() != 0:
        print("goodput benchmark skipped: the lab needs root")
        return []
    data = Path(tempfile.mkdtemp(prefix="ixbench-goodput-"))
    lab = LabDriver.up(data, metrics=False)
    rows = []
    try:
        for mbps in rates:
            row = measure(lab, mbps, seconds, repeat)
            print(
                f"goodput {mbps}M: TCP {row['tcp_mbps_median']} Mbit/s ({row['tcp_percent_of_rate']} %, "
                f"range {row['tcp_mbps_range']}); UDP 90 %: loss {row['udp90_loss_percent_median']} % "
                f"(max {row['udp90_loss_percent_max']}); UDP 200 %: {row['udp200_mbps_median']} Mbit/s "
                f"({row['udp200_percent_of_rate']} %, max {row['udp200_percent_max']}); "
                f"targets {'met' if row['targets_met'] else 'MISSED'}",
                flush=True,
            )
            rows.append(row)
    finally:
        lab.down()
        shutil.rmtree(data, ignore_errors=True)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    main(tuple(args.rates), args.seconds, args.repeat)
