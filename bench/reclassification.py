"""Time from impairment to reclassification (issue 12), in the lab: a gold deal from
buyer-b to seller-b, measured by the exchange's own measurement point; seller-b's segment
given 15 ms each way (two-way ~32 ms: silver), then cleared. Per run: the time from the
impairment taking effect to the window that made the deal DEGRADED (the record's own
time, the exchange's clock), and from the clearing to the window that brought it back.

Expected from the rule: a move needs `hold` (3) consecutive windows of `window` (10)
probes each, a window closes 1 s after its last probe; so about (hold x window x
interval + 1 s), less the part of a window already run: 5-7 s at the lab's 0.2 s
interval, 25-31 s at the default 1 s (measured: BENCHMARKS.md). `python -m bench.reclassification` (root)."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from ixchange.v1 import common_pb2

from topologies.driver import LabDriver

BUYER, SELLER = "buyer-b", "seller-b"


def _runs(lab: LabDriver, runs: int, interval_s: float) -> dict[str, object]:
    deal_id = lab.trade(BUYER, SELLER, grade="gold")
    lab.wait_status(deal_id, common_pb2.DEAL_STATUS_ACTIVE)
    patience = 60 * interval_s + 30
    lab.wait_quality(deal_id, lambda q: q.windows >= 3 and not q.degraded, timeout=patience)
    down, up = [], []
    try:
        for _ in range(runs):
            lab.ixchange("lab", "impair", SELLER, "--delay", "15ms")
            start = time.time()
            slow = lab.wait_quality(deal_id, lambda q: q.degraded, timeout=patience)
            down.append(slow.updated_at.ToMicroseconds() / 1e6 - start)
            lab.ixchange("lab", "impair", SELLER, "--clear")
            start = time.time()
            back = lab.wait_quality(deal_id, lambda q: not q.degraded, timeout=patience)
            up.append(back.updated_at.ToMicroseconds() / 1e6 - start)
    finally:
        lab.ixchange("lab", "impair", SELLER, "--clear", check=False)
        lab.terminate(BUYER, deal_id)
    row: dict[str, object] = {
        "bench": "reclassification",
        "probe_interval_s": interval_s,
        "runs": runs,
        "to_degraded_s_median": round(statistics.median(down), 2),
        "to_degraded_s_min": round(min(down), 2),
        "to_degraded_s_max": round(max(down), 2),
        "to_recovered_s_median": round(statistics.median(up), 2),
        "to_recovered_s_min": round(min(up), 2),
        "to_recovered_s_max": round(max(up), 2),
    }
    print(
        f"reclassification at {interval_s:g} s probes ({runs} runs): impairment -> DEGRADED median "
        f"{row['to_degraded_s_median']} s ({row['to_degraded_s_min']}-{row['to_degraded_s_max']}), "
        f"cleared -> back median {row['to_recovered_s_median']} s "
        f"({row['to_recovered_s_min']}-{row['to_recovered_s_max']})",
        flush=True,
    )
    return row


def main(quick: bool = False) -> list[dict[str, object]]:
    if os.geteuid() != 0:
        print("reclassification benchmark skipped: the lab needs root")
        return []
    rows = []
    for interval_s, runs in ((0.2, 3 if quick else 7), (1.0, 1 if quick else 3)):
        data = Path(tempfile.mkdtemp(prefix="ixbench-reclass-"))
        lab = LabDriver.up(data, settings={"IXCHANGE_PROBE_INTERVAL_S": str(interval_s)})
        try:
            rows.append(_runs(lab, runs, interval_s))
        finally:
            lab.down()
            shutil.rmtree(data, ignore_errors=True)
    return rows


if __name__ == "__main__":
    main()
