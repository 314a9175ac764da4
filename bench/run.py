"""Run every benchmark: `make bench` (or `python -m bench.run [--quick]`).

Writes bench/results/<date>.json with the machine it ran on; BENCHMARKS.md quotes them."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    continuity,
    delivering,
    e2e,
    failover,
    fairness,
    flowmods,
    goodput,
    lab_failover,
    match_to_traffic,
    matching,
    measurement_point,
    monitoring,
    partition,
    portal,
    reclassification,
    reroute,
    scale,
    stamp_accuracy,
    stores,
    stream,
)

RESULTS = Path(__file__).resolve().parent / "results"
BENCHES = (
    "matching",
    "delivering",
    "e2e",
    "fairness",
    "flowmods",
    "match_to_traffic",
    "goodput",
    "stamp_accuracy",
    "monitoring",
    "reclassification",
    "measurement_point",
    "reroute",
    "continuity",
    "portal",
    "stream",
    "scale",
    "failover",
    "stores",
    "partition",
    "lab_failover",
)


def machine() -> dict[str, object]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--only", nargs="+", choices=BENCHES, help="run only these")
    args = parser.parse_args()
    chosen = args.only or BENCHES
    info = machine()
    print(f"machine: {info}", flush=True)
    rows: list[dict[str, object]] = []
    if "matching" in chosen:
        rows += matching.main((20_000,) if args.quick else (100_000, 1_000_000))
    if "delivering" in chosen:
        rows += delivering.main(20_000 if args.quick else 100_000, runs=1 if args.quick else 3)
    if "e2e" in chosen:
        rows += e2e.main(open_orders=10_000 if args.quick else 100_000, fixed_seconds=3 if args.quick else 10)
    if "fairness" in chosen:
        rows += fairness.main(seconds=4 if args.quick else 8)
    if "flowmods" in chosen:
        rows += flowmods.main(500 if args.quick else 2_500)
    if "match_to_traffic" in chosen:
        rows += match_to_traffic.main(deals=8 if args.quick else 24, router_deals=2 if args.quick else 10)
    if "goodput" in chosen:
        rows += goodput.main(rates=(10,) if args.quick else (1, 10, 100), repeat=1 if args.quick else 3)
    if "stamp_accuracy" in chosen:
        rows += stamp_accuracy.main()
    if "reroute" in chosen:
        rows += reroute.main(5 if args.quick else 20)
    if "continuity" in chosen:
        rows += continuity.main(5 if args.quick else 20, 5 if args.quick else 20)
    if "stream" in chosen:
        rows += stream.main(orders=20_000 if args.quick else 100_000)
    if "stores" in chosen:
        rows += stores.main(rounds=1 if args.quick else 2, orders=10_000 if args.quick else 50_000)
    if "failover" in chosen:
        rows += failover.main(kills=4 if args.quick else 10)
    if "partition" in chosen:
        rows += partition.main(commits=1000 if args.quick else 2000, seconds=5 if args.quick else 10)
    if "lab_failover" in chosen:
        rows += lab_failover.main(kills=3 if args.quick else 10)
    if "scale" in chosen:
        rows += scale.main(orders=100_000 if args.quick else 1_000_000)
    if "portal" in chosen:
        rows += portal.main(orders=2_000 if args.quick else 10_000, pages=20 if args.quick else 200)
    if "measurement_point" in chosen:
        rows += measurement_point.main()
    if "reclassification" in chosen:
        rows += reclassification.main(quick=args.quick)
    if "monitoring" in chosen:
        sessions = (250, 1000) if args.quick else (1000, 4000, 8000, 16000)
        rows += monitoring.main(sessions, seconds=3 if args.quick else 10)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    out = RESULTS / f"{stamp}.json"
    out.write_text(json.dumps({"date": stamp, "machine": info, "results": rows}, indent=2))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
