"""Re-route time of an unprotected deal (issue 13, in part), in the lab: a deal buyer-a ->
seller-a, pinged from buyer-a's host every 1 ms; the fabric link the deal uses is taken
down (the veth at s3, never deleted), the deal is routed around it, the link comes back;
then the link of the new path, and so on. Per failure: pings lost (x 1 ms: the outage),
and the controller's own time from the port-status event to the new path installed (in
the deal's reason). `python -m bench.reroute [--failures 20]` (root)."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from ixchange.v1 import common_pb2

from topologies.driver import LabDriver
from topologies.lab import pair

# s3's end of the link each path leaves by: s3 > s1 over s3 port 2, s3 > s2 > s1 over port 3.
LINK_OF_PATH = {"path s3 > s1": "s3-eth2", "path s3 > s2 > s1": "s3-eth3"}


def _fail_once(lab: LabDriver, deal_id: int, address: str) -> tuple[int, int, int]:
    """(pings lost, pings sent, controller ms) for one failure of the deal's current link."""
    before = lab.deal(deal_id).status_reason
    link = next(
        intf
        for path, intf in LINK_OF_PATH.items()
        if f"{path};" in before or before.endswith(path) or f"{path}," in before
    )
    out: dict[str, str] = {}

    def ping() -> None:
        out["text"] = lab.on("ba", "ping", "-q", "-i", "0.001", "-c", "3000", "-W", "1", address, timeout=60).stdout

    pinger = threading.Thread(target=ping)
    pinger.start()
    time.sleep(1)
    subprocess.run(["ip", "link", "set", link, "down"], check=True)
    pinger.join(60)
    deadline = time.monotonic() + 10
    while (after := lab.deal(deal_id).status_reason) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    subprocess.run(["ip", "link", "set", link, "up"], check=True)
    time.sleep(2)  # the port comes back up before the next failure
    sent, received = map(int, re.search(r"(\d+) packets transmitted, (\d+) received", out["text"]).groups())
    took = re.search(r"new path in (\d+) ms", after)
    return sent - received, sent, int(took.group(1)) if took else -1


def main(failures: int = 20) -> list[dict[str, object]]:
    if os.geteuid() != 0:
        print("re-route benchmark skipped: the lab needs root")
        return []
    data = Path(tempfile.mkdtemp(prefix="ixbench-reroute-"))
    lab = LabDriver.up(data)
    try:
        p = pair("buyer-a", "seller-a")
        deal_id = lab.trade("buyer-a", "seller-a")
        lab.wait_status(deal_id, common_pb2.DEAL_STATUS_ACTIVE)
        runs = [_fail_once(lab, deal_id, p.seller_ip) for _ in range(failures)]
    finally:
        for intf in LINK_OF_PATH.values():
            subprocess.run(["ip", "link", "set", intf, "up"], check=False)
        lab.down()
        shutil.rmtree(data, ignore_errors=True)
    lost = sorted(r[0] for r in runs)
    controller = sorted(r[2] for r in runs)
    row: dict[str, object] = {
        "bench": "reroute",
        "failures": failures,
        "lost_at_1ms_p50": statistics.median(lost),
        "lost_at_1ms_p95": lost[min(len(lost) - 1, round(0.95 * (len(lost) - 1)))],
        "lost_at_1ms_max": lost[-1],
        "controller_ms_p50": statistics.median(controller),
        "controller_ms_max": controller[-1],
        "pings_sent_each": runs[0][1],
    }
    print(
        f"re-route of an unprotected deal, {failures} link failures: pings lost at 1 ms spacing p50 "
        f"{row['lost_at_1ms_p50']}, p95 {row['lost_at_1ms_p95']}, max {row['lost_at_1ms_max']} "
        f"(~ms of outage); port status to new path installed: p50 {row['controller_ms_p50']} ms, "
        f"max {row['controller_ms_max']} ms",
        flush=True,
    )
    return [row]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failures", type=int, default=20)
    main(parser.parse_args().failures)
