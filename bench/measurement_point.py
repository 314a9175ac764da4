"""The measurement point's own cost per probe (issue 12), in the lab: the exchange process
injects each probe into its deal's path (an OpenFlow packet-out), takes the answer back
(a packet-in through os-ken), keeps the windows and records each one through the
sequencer (reclassification, a stored sample). Five deals (every lab pair but one:
seller-r's untagged router port carries one deal at a time) are measured at a fast probe
interval; the exchange process's CPU time over a quiet stretch is compared with the same
deals probed once every 10 s (the process's cost without probes). The
difference per probe gives how many deals one process watches at one probe a second
before the probes take half a core. `python -m bench.measurement_point` (root)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from ixchange.v1 import common_pb2

from topologies.driver import LabDriver
from topologies.lab import PAIRS

SECONDS = 20.0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run(interval_s: float) -> tuple[float, float, int]:
    """(CPU share of one core, probes per second sent, deals) with every lab pair measured."""
    data = Path(tempfile.mkdtemp(prefix="ixbench-point-"))
    lab = LabDriver.up(data, settings={"IXCHANGE_PROBE_INTERVAL_S": str(interval_s), "IXCHANGE_VERIFY_OFFERS": "0"})
    try:
        # seller-r hands off on an untagged router port: one deal there at a time.
        pairs = [p for p in PAIRS if (p.buyer.name, p.seller.name) != ("buyer-b", "seller-r")]
        deals = [lab.trade(p.buyer.name, p.seller.name, mbps=1) for p in pairs]
        for deal_id in deals:
            lab.wait_status(deal_id, common_pb2.DEAL_STATUS_ACTIVE)
        time.sleep(3)  # ARP resolved, windows flowing
        pid = lab.exchange_pid()
        before_windows = sum(lab.quality(d).current[0].windows for d in deals if lab.quality(d).current)
        cpu0, wall0 = _cpu_s(pid), time.monotonic()
        time.sleep(SECONDS)
        cpu1, wall1 = _cpu_s(pid), time.monotonic()
        after_windows = sum(lab.quality(d).current[0].windows for d in deals if lab.quality(d).current)
        probes_per_s = (after_windows - before_windows) * 10 / (wall1 - wall0)
        return (cpu1 - cpu0) / (wall1 - wall0), probes_per_s, len(deals)
    finally:
        lab.down()
        shutil.rmtree(data, ignore_errors=True)


def main() -> list[dict[str, object]]:
    if os.geteuid() != 0:
        print("measurement point benchmark skipped: the lab needs root")
        return []
    idle_cpu, idle_rate, deals = _run(10.0)
    busy_cpu, busy_rate, _ = _run(0.01)
    per_probe_us = (busy_cpu - idle_cpu) / max(busy_rate - idle_rate, 1e-9) * 1e6
    deals_at_half_core = int(0.5 / (per_probe_us / 1e6)) if per_probe_us > 0 else 0
    row: dict[str, object] = {
        "bench": "measurement_point",
        "deals": deals,
        "idle_cpu_share": round(idle_cpu, 4),
        "idle_probes_per_s": round(idle_rate, 1),
        "busy_cpu_share": round(busy_cpu, 4),
        "busy_probes_per_s": round(busy_rate, 1),
        "per_probe_us": round(per_probe_us, 1),
        "deals_at_one_probe_per_s_for_half_a_core": deals_at_half_core,
    }
    print(
        f"measurement point: {deals} deals; {idle_rate:.1f} probes/s: {100 * idle_cpu:.1f} % of a core, "
        f"{busy_rate:.0f} probes/s: {100 * busy_cpu:.1f} %; {per_probe_us:.0f} µs a probe (packet-out, packet-in, "
        f"windows, their records) -> about {deals_at_half_core} deals at one probe a second in half a core",
        flush=True,
    )
    return [row]


if __name__ == "__main__":
    main()
