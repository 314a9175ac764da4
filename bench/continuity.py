"""Service continuity in the lab (issue 13): seller swaps and protected-deal failover,
counted with sequence-numbered UDP at 1 ms spacing (topologies/udpseq.py).

- swap: buyer-a's gold deal to the far end moved between seller-a and seller-b and back,
  `--swaps` times; per swap the datagrams lost and the swap time the exchange reports
  (decision to old path removed).
- failover: buyer-a's protected deal to seller-a; the link its primary path leaves s3 by
  is taken down (loss of carrier) `--failures` times, and as many times every frame on it
  is dropped both ways with the carrier up (`topologies/cut.py`: only BFD can tell); per
  failure the datagrams lost (~ms of outage).

`python -m bench.continuity [--swaps 20] [--failures 20]` (root)."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ixchange.v1 import common_pb2

from tests.lab.test_lab_continuity import ring_live
from topologies.driver import LabDriver
from topologies.lab import FAR_END, far_end_via, pair

ACTIVE = common_pb2.DEAL_STATUS_ACTIVE
LINK, PEER = "s3-eth2", "s1-eth3"  # both ends of s1-s3: the protected deal's primary leaves s3 by it
CUT = [sys.executable, "-m", "topologies.cut"]
DATAGRAMS = 3000


def _pct(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _swaps(lab: LabDriver, swaps: int) -> dict[str, object]:
    ring_live()
    deal_id = lab.trade("buyer-a", "seller-a", grade="gold", z_end="FAR")
    lab.wait_status(deal_id, ACTIVE)
    lab.on("ba", *far_end_via(pair("buyer-a", "seller-a")))
    lost, took = [], []
    seller = "seller-b"
    for _ in range(swaps):
        lab.offer(seller, grade="gold", z_end="FAR")
        moved: dict[str, int] = {}
        count = lab.udp_lost(
            "ba", "fe", FAR_END, DATAGRAMS, lambda d=deal_id, m=moved: m.update(new=lab.swap(d).deal_id)
        )
        new = lab.wait_status(moved["new"], ACTIVE)
        found = re.search(r"took over deal \d+ in (\d+) ms", new.status_reason)
        lost.append(int(count["missing"]))
        took.append(int(found.group(1)) if found else -1)
        deal_id, seller = new.deal_id, ("seller-a" if seller == "seller-b" else "seller-b")
    return {
        "bench": "swap",
        "swaps": swaps,
        "lost_at_1ms_p50": statistics.median(lost),
        "lost_at_1ms_max": max(lost),
        "lost_total": sum(lost),
        "swap_ms_p50": statistics.median(took),
        "swap_ms_p95": _pct(took, 0.95),
        "swap_ms_max": max(took),
    }


def _fail(lab: LabDriver, how: str) -> int:
    address = pair("buyer-a", "seller-a").seller_ip
    if how == "carrier":
        down, up = ["ip", "link", "set", LINK, "down"], ["ip", "link", "set", LINK, "up"]
    else:  # every frame dropped both ways, carrier up: only BFD can tell
        down, up = [*CUT, "cut", LINK, PEER], [*CUT, "mend", LINK, PEER]
    try:
        count = lab.udp_lost(
            "ba", "sa", address, DATAGRAMS, lambda: subprocess.run(down, check=True, capture_output=True)
        )
    finally:
        subprocess.run(up, check=False, capture_output=True)
    ring_live()
    time.sleep(1)
    return int(count["missing"])


def _failovers(lab: LabDriver, failures: int) -> list[dict[str, object]]:
    ring_live()
    deal_id = lab.trade("buyer-a", "seller-a")
    lab.wait_status(deal_id, ACTIVE)
    lab.protect(deal_id)
    rows: list[dict[str, object]] = []
    for how in ("carrier", "bfd"):
        lost = [_fail(lab, how) for _ in range(failures)]
        rows.append(
            {
                "bench": f"failover_{how}",
                "failures": failures,
                "lost_at_1ms_p50": statistics.median(lost),
                "lost_at_1ms_p95": _pct(lost, 0.95),
                "lost_at_1ms_max": max(lost),
                "lost_each": lost,
            }
        )
    lab.terminate("buyer-a", deal_id)
    return rows


def main(swaps: int = 20, failures: int = 20) -> list[dict[str, Any]]:
    if os.geteuid() != 0:
        print("continuity benchmark skipped: the lab needs root")
        return []
    data = Path(tempfile.mkdtemp(prefix="ixbench-continuity-"))
    lab = LabDriver.up(data)
    rows: list[dict[str, Any]] = []
    try:
        if swaps:
            rows.append(_swaps(lab, swaps))
            lab.end_all_deals()
            lab.cancel_open_orders()
        if failures:
            rows += _failovers(lab, failures)
    finally:
        subprocess.run(["ip", "link", "set", LINK, "up"], check=False)
        subprocess.run([*CUT, "mend", LINK, PEER], check=False, capture_output=True)
        lab.down()
        shutil.rmtree(data, ignore_errors=True)
    for row in rows:
        if row["bench"] == "swap":
            print(
                f"seller swap, {swaps} swaps: datagrams lost at 1 ms p50 {row['lost_at_1ms_p50']}, max "
                f"{row['lost_at_1ms_max']} (total {row['lost_total']}); decision to old path removed p50 "
                f"{row['swap_ms_p50']} ms, p95 {row['swap_ms_p95']} ms, max {row['swap_ms_max']} ms",
                flush=True,
            )
        else:
            print(
                f"{row['bench']}, {failures} failures of a protected deal's primary link: datagrams lost at 1 ms "
                f"p50 {row['lost_at_1ms_p50']}, p95 {row['lost_at_1ms_p95']}, max {row['lost_at_1ms_max']} "
                f"(~ms of outage); each: {row['lost_each']}",
                flush=True,
            )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swaps", type=int, default=20)
    parser.add_argument("--failures", type=int, default=20)
    args = parser.parse_args()
    main(args.swaps, args.failures)
