"""The pieces a partitioned deployment relies on (issue 16, item 5), measured on the test
suite's private PostgreSQL (tests/tools/postgres.sh, fsync on):

- commit round trip: one small INSERT committed, alone, and with a transaction-level
  advisory lock taken first (`pg_advisory_xact_lock`: what a partition owner's commit would
  add to prove it still owns its books);
- journal follow lag at 1,000 orders/s: an `ixchange serve` HA leader takes SubmitOffer at a
  fixed rate while a follower (store/journal_feed.py: LISTEN + reads of the event table)
  reads its events; lag = when the follower read an event - the leader's time of it.

`python -m bench.partition [--commits 2000] [--seconds 10] [--rate 1000]`"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

from bench.e2e import free_port, load, register_seller, start_exchange, wait_healthy
from bench.failover import database
from marketplace.store.journal_feed import JournalFeed, psycopg_url


def quantiles_ms(samples_us: list[float]) -> dict[str, float]:
    ordered = sorted(samples_us)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000, 3)

    return {"p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": at(1.0), "samples": len(ordered)}


def commit_costs(commits: int) -> list[dict[str, Any]]:
    """Each variant `commits` times, interleaved in blocks of 100 (the machine's speed drifts)."""
    url = psycopg_url(database())
    timings: dict[str, list[float]] = {"plain": [], "advisory": []}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_rows (id bigserial PRIMARY KEY, book int NOT NULL, body text NOT NULL)")
        for block in range(commits // 100):
            for variant in ("plain", "advisory") if block % 2 == 0 else ("advisory", "plain"):
                for i in range(100):
                    began = time.perf_counter_ns()
                    with conn.transaction():
                        if variant == "advisory":
                            conn.execute("SELECT pg_advisory_xact_lock(%s)", (7 + i % 16,))
                        conn.execute("INSERT INTO bench_rows (book, body) VALUES (%s, %s)", (i % 16, "x" * 200))
                    timings[variant].append((time.perf_counter_ns() - began) / 1000)
    plain, locked = statistics.median(timings["plain"]), statistics.median(timings["advisory"])
    return [
        {"bench": "partition", "name": "commit round trip, INSERT", **quantiles_ms(timings["plain"])},
        {"bench": "partition", "name": "commit, advisory lock + INSERT", **quantiles_ms(timings["advisory"])},
        {"bench": "partition", "name": "advisory lock's cost per commit (median difference)",
         "ms": round((locked - plain) / 1000, 3)},
    ]  # fmt: skip


def follow_lag(seconds: int, rate: int) -> dict[str, Any]:
    url = database()
    lags: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        target = f"127.0.0.1:{free_port()}"
        server = start_exchange(Path(tmp), target, database_url=url, settings={"IXCHANGE_HA": "1"})
        try:
            wait_healthy(target)
            token = register_seller(Path(tmp), target)
            feed = JournalFeed(url)
            stop = threading.Event()

            def follow() -> None:
                while not stop.is_set():
                    lags.extend(e.read_us - e.time_us for e in feed.follow(0.5))

            follower = threading.Thread(target=follow)
            follower.start()
            result = load(target, token, seconds * rate, procs=1, prefix="f", concurrency=64, rate=rate)
            time.sleep(1)
            stop.set()
            follower.join()
            feed.close()
        finally:
            server.terminate()
            server.wait(60)
    return {
        "bench": "partition",
        "name": f"journal follow lag at {rate}/s",
        "acked_per_s": result["acked_per_s"],
        "ack_p50_ms": result.get("p50_ms"),
        **quantiles_ms(lags),
    }


def main(commits: int = 2000, seconds: int = 10, rate: int = 1000) -> list[dict[str, Any]]:
    rows = [*commit_costs(commits), follow_lag(seconds, rate)]
    for row in rows:
        print(row, flush=True)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rate", type=int, default=1000)
    a = parser.parse_args()
    main(a.commits, a.seconds, a.rate)
