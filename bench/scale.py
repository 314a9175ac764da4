"""Memory and restart at scale (issue 15): the server's resident memory with 10^5 and
10^6 open orders, and the time a restart takes to rebuild the books of 10^6 open orders
from the store (`ixchange serve` start to gRPC health SERVING).

The server is `ixchange serve` on embedded SQLite (bench/e2e.py's settings); the orders
are offers that never cross (one seller, 500 routes), loaded through TradeStream by two
client processes. Resident memory is read from /proc after the load settles.

`python -m bench.scale [--orders 1000000]`"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.e2e import free_port, register_seller, start_exchange, wait_healthy
from bench.stream import streams


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def serving(data_dir: Path, target: str) -> tuple[subprocess.Popen[Any], float]:
    """Start the server; the seconds until it answers SERVING."""
    began = time.perf_counter()
    server = start_exchange(data_dir, target, stdout=subprocess.PIPE)
    wait_healthy(target, timeout=600)
    return server, time.perf_counter() - began


def main(orders: int = 1_000_000) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    checkpoints = sorted({min(100_000, orders), orders})
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        target = f"127.0.0.1:{free_port()}"
        server, _ = serving(data, target)
        try:
            token = register_seller(data, target)
            loaded = 0
            for checkpoint in checkpoints:
                load = streams(target, token, checkpoint - loaded, 2, 1000, 4, f"m{checkpoint}-")
                loaded = checkpoint
                time.sleep(2)
                rows.append(
                    {"bench": "scale", "name": f"resident memory, {loaded:,} open orders", "open_orders": loaded,
                     "rss_mb": round(rss_mb(server.pid)), "load_acked_per_s": load["acked_per_s"],
                     "refused": load["errors"]}
                )  # fmt: skip
                print(rows[-1], flush=True)
        finally:
            server.terminate()
            server.wait(120)
        server, seconds = serving(data, target)
        try:
            assert server.stdout is not None
            banner = ""
            while "open orders" not in banner:
                banner = server.stdout.readline()
            found = re.search(r"open orders: (\d+)", banner)
            rows.append(
                {"bench": "scale", "name": f"restart with {loaded:,} open orders: start to SERVING",
                 "seconds": round(seconds, 1), "open_orders_rebuilt": int(found.group(1)) if found else None,
                 "rss_mb": round(rss_mb(server.pid))}
            )  # fmt: skip
            print(rows[-1], flush=True)
        finally:
            server.terminate()
            server.wait(120)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    main(parser.parse_args().orders)
