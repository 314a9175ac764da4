"""Durable acknowledged orders per second on PostgreSQL beside SQLite, in the same run, and
on PostgreSQL as a high-availability leader (fenced commits, journal notifications)
(issue 16's benchmark list): the same server, load and clients as bench/stream.py —
TradeStream (2 streams x 4 batches of 100 in flight) and unary SubmitOffer (2 x 64 in
flight) — against embedded SQLite and against the test suite's private PostgreSQL
(tests/tools/postgres.sh; a fresh database per round), rounds interleaved.

`python -m bench.stores [--rounds 2] [--orders 50000]`"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from bench.e2e import free_port, load, register_seller, start_exchange, wait_healthy
from bench.failover import database
from bench.stream import streams

STORES = ("SQLite", "PostgreSQL", "PostgreSQL, HA leader")


def one(store: str, orders: int) -> list[dict[str, Any]]:
    url = database() if store.startswith("PostgreSQL") else ""
    # The HA leader checks its lease generation in every commit and NOTIFYs its followers.
    settings = {"IXCHANGE_HA": "1"} if "HA" in store else {}
    with tempfile.TemporaryDirectory() as tmp:
        target = f"127.0.0.1:{free_port()}"
        server = start_exchange(Path(tmp), target, database_url=url, settings=settings)
        try:
            wait_healthy(target)
            token = register_seller(Path(tmp), target)
            stream = streams(target, token, orders, 2, 100, 4, "s")
            unary = load(target, token, orders // 4, procs=2, prefix="u")
        finally:
            server.terminate()
            server.wait(60)
    return [
        {"bench": "stores", "store": store, "name": f"TradeStream, {store}", **stream},
        {"bench": "stores", "store": store, "name": f"unary SubmitOffer, {store}", **unary},
    ]


def main(rounds: int = 2, orders: int = 50_000) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for _ in range(rounds):
        for store in STORES:
            for row in one(store, orders):
                rows.append(row)
                print({k: row[k] for k in ("name", "acked", "errors", "acked_per_s", "p50_ms", "p99_ms")}, flush=True)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--orders", type=int, default=50_000)
    a = parser.parse_args()
    main(a.rounds, a.orders)
