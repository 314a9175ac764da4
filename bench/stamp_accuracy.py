"""STAMP accuracy through a real impaired segment (issue 12): a deal from buyer-b to
seller-b, `ixchange reflector` on seller-b's host, the STAMP sender (controller/stamp.py)
on buyer-b's host, so the probes take the deal's own VLANs and flows; the seller's
segment impaired with `ixchange lab impair`. Each measurement is compared with an
independent reference on the same path (ping's round trip; the relay's own drop counter)
and with the imposed values.

Stated: delay is two-way (round trip less the reflector's turnaround); the imposed
two-way figure is twice the segment's delay plus the unimpaired path's own round trip.
Loss is round-trip: 1 - (1 - p)^2 for a loss p each way.

Measured twice: by a STAMP sender on the buyer's host (4,000 probes), and by the
exchange's own measurement point (provisioning/monitor.py: probes injected at the entry
switch, a window every 10 probes; its delay includes the controller channel both ways),
whose windows are read from its Prometheus metrics while the impairment holds.
`python -m bench.stamp_accuracy` (root; brings up the lab)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from ixchange.v1 import common_pb2

from topologies.driver import LabDriver
from topologies.lab import pair

ROOT = Path(__file__).resolve().parent.parent
BUYER, SELLER = "buyer-b", "seller-b"
CASES = ((10_000, 5_000), (25_000, 20_000))  # (delay µs each way, loss ppm each way)
PROBES, INTERVAL = 4000, 0.0025


def _relay(lab: LabDriver) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(lab.ixchange("-o", "json", "lab", "impair", SELLER).stdout)
    return state


def _drops(state: dict[str, Any]) -> int:
    return sum(int(w["dropped"]) for w in state["ways"].values())


def _ping_ms(lab: LabDriver, host: str, address: str, count: int = 200) -> float:
    out = lab.on(host, "ping", "-q", "-c", str(count), "-i", "0.01", "-W", "2", address, timeout=60).stdout
    found = re.search(r"= [\d.]+/([\d.]+)/", out)
    return float(found.group(1)) if found else float("nan")


def _stamp(lab: LabDriver, host: str, reflector: str) -> dict[str, Any]:
    run = lab.on(
        host,
        sys.executable,
        "-m",
        "controller.stamp",
        reflector,
        "--count",
        str(PROBES),
        "--interval",
        str(INTERVAL),
        timeout=PROBES * INTERVAL + 60,
    )
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-1000:])
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def _exchange_windows(lab: LabDriver, deal_id: int, seconds: float) -> list[tuple[float, float]]:
    """(two-way delay ms, loss ppm) of each distinct window the exchange reported meanwhile."""
    log = (lab.data_dir / "run" / "exchange.log").read_text()
    port = re.findall(r"metrics: http://127\.0\.0\.1:(\d+)/metrics", log)[-1]
    seen: list[tuple[float, float]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
        found = {
            name: float(m.group(1))
            for name in ("latency_us", "loss_ppm")
            if (m := re.search(rf'^ixchange_deal_delivered_{name}{{deal="{deal_id}"}} (\S+)$', body, re.M))
        }
        if len(found) == 2 and (not seen or seen[-1] != (found["latency_us"] / 1000, found["loss_ppm"])):
            seen.append((found["latency_us"] / 1000, found["loss_ppm"]))
        time.sleep(0.5)
    return seen[1:]  # the first may straddle the change of impairment


def measure(lab: LabDriver) -> list[dict[str, object]]:
    p = pair(BUYER, SELLER)
    deal_id = lab.trade(BUYER, SELLER, mbps=10)
    lab.wait_status(deal_id, common_pb2.DEAL_STATUS_ACTIVE)
    on_seller = ["mnexec", "-a", str(lab.host_pid(p.seller.host))]
    reflector = subprocess.Popen(
        [*on_seller, sys.executable, "-m", "controller.cli", "reflector", "--listen", f"{p.seller_ip}:862"],
        cwd=ROOT,
        env={**lab.env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rows: list[dict[str, object]] = []
    try:
        time.sleep(1)
        lab.ixchange("lab", "impair", SELLER, "--clear")
        base_ping = _ping_ms(lab, p.buyer.host, p.seller_ip)
        base = _stamp(lab, p.buyer.host, f"{p.seller_ip}:862")
        base_ms = base["delivered"]["latency_us"] / 1000
        for delay_us, loss in CASES:
            lab.ixchange("lab", "impair", SELLER, "--delay", f"{delay_us}us", "--loss", f"{loss}ppm")
            ping = _ping_ms(lab, p.buyer.host, p.seller_ip)
            before = _drops(_relay(lab))
            stamp = _stamp(lab, p.buyer.host, f"{p.seller_ip}:862")
            dropped = _drops(_relay(lab)) - before
            windows = _exchange_windows(lab, deal_id, 20)
            measured_ms = stamp["delivered"]["latency_us"] / 1000
            delays = [d / 1000 for d in stamp["delays_us"] if d is not None]
            imposed_ms = 2 * delay_us / 1000 + base_ms
            imposed_loss = 1 - (1 - loss / 1e6) ** 2
            lost = int(stamp["lost"])
            row: dict[str, object] = {
                "bench": "stamp_accuracy",
                "delay_ms_each_way": delay_us / 1000,
                "loss_percent_each_way": loss / 10_000,
                "probes": PROBES,
                "stamp_two_way_ms_median": round(measured_ms, 3),
                "stamp_two_way_ms_mean": round(statistics.fmean(delays), 3),
                "ping_rtt_ms_mean": round(ping, 3),
                "unimpaired_stamp_ms": round(base_ms, 3),
                "unimpaired_ping_ms": round(base_ping, 3),
                "imposed_two_way_ms": round(imposed_ms, 3),
                "stamp_lost": lost,
                "relay_dropped": dropped,
                "stamp_loss_percent": round(100 * lost / PROBES, 3),
                "imposed_round_trip_loss_percent": round(100 * imposed_loss, 3),
                "jitter_us": stamp["delivered"].get("jitter_us"),
                "exchange_point_windows": len(windows),
                "exchange_point_two_way_ms_median": round(statistics.median(w[0] for w in windows), 3)
                if windows
                else None,
                "exchange_point_loss_percent_mean": round(statistics.fmean(w[1] for w in windows) / 10_000, 3)
                if windows
                else None,
            }
            mean = statistics.fmean(delays)
            row["delay_vs_ping_ok"] = abs(mean - ping) <= max(0.1 * ping, 1.0)
            row["delay_vs_imposed_ok"] = abs(measured_ms - imposed_ms) <= max(0.2 * imposed_ms, 2.0)
            row["loss_vs_counter_ok"] = abs(lost - dropped) <= 0.1 * max(dropped, 1)
            row["loss_vs_imposed_ok"] = abs(lost / PROBES - imposed_loss) <= 0.2 * imposed_loss
            rows.append(row)
            print(
                f"stamp accuracy {delay_us / 1000:g} ms / {loss / 10_000:g} %: two-way median {measured_ms:.2f} ms "
                f"(mean {mean:.2f}) vs ping {ping:.2f} ms vs imposed {imposed_ms:.2f} ms; lost {lost} of {PROBES} "
                f"vs relay dropped {dropped} (imposed round-trip {100 * imposed_loss:.2f} %, "
                f"measured {100 * lost / PROBES:.2f} %); the exchange's own point: {len(windows)} windows, "
                f"two-way median {row['exchange_point_two_way_ms_median']} ms, "
                f"loss {row['exchange_point_loss_percent_mean']} %",
                flush=True,
            )
    finally:
        lab.ixchange("lab", "impair", SELLER, "--clear", check=False)
        reflector.send_signal(signal.SIGTERM)
        reflector.wait(timeout=10)
        lab.terminate(BUYER, deal_id)
    return rows


def main() -> list[dict[str, object]]:
    if os.geteuid() != 0:
        print("stamp accuracy benchmark skipped: the lab needs root")
        return []
    data = Path(tempfile.mkdtemp(prefix="ixbench-stamp-"))
    lab = LabDriver.up(data)
    try:
        return measure(lab)
    finally:
        lab.down()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
