"""Benchmark (a): the matching engine alone against a bare price-time book.

Both get the same random order flow over several classes and routes. The engine classes
every order, validates it, keeps the books, brokers deals and records events; the floor is
a plain sortedcontainers price-time book per class with none of that. One core, one thread.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sortedcontainers import SortedList

from marketplace.api.server import tune_gc
from marketplace.classing import DEFAULT_SCHEMES
from marketplace.engine import ExchangeEngine
from marketplace.orders import OrderInput, ServiceType, Side
from marketplace.parameters import DEFAULT_PARAMETERS

ROOT = Path(__file__).resolve().parents[1]
GRADE_VALUES = [
    {"latency_us": 4_000, "jitter_us": 500, "loss_ppm": 5, "availability_ppm": 999_995},
    {"latency_us": 15_000, "jitter_us": 2_000, "loss_ppm": 50, "availability_ppm": 999_950},
    {"latency_us": 40_000, "jitter_us": 8_000, "loss_ppm": 500, "availability_ppm": 999_500},
    {"latency_us": 100_000, "loss_ppm": 5_000, "availability_ppm": 995_000},
]
GRADES = ["platinum", "gold", "silver", "bronze"]
POPS = ["FRA", "AMS", "LON", "PAR", "NYC", "SIN"]


# The pre-trade mix: time in force of requests (offers: 10 % all-or-none) and their routing.
PRETRADE_TIF = [0] * 14 + [3, 3, 4, 4, 5, 5]  # 10 % IOC, 10 % FOK, 10 % AON
PRETRADE_ROUTING = [1, 1, 1, 2]  # a quarter quality-first


def order_flow(n: int, seed: int = 7, pretrade: bool = False) -> list[OrderInput]:
    """Offers classed by the server from their values, requests naming a grade; prices
    around a mid so roughly half the orders trade. `pretrade` mixes in the time-in-force
    and routing rules."""
    rng = random.Random(seed)
    extra = random.Random(seed + 1)
    routes = [(a, z) for a in POPS for z in POPS if a < z][:8]
    out = []
    for i in range(n):
        g = rng.randrange(4)
        a, z = routes[rng.randrange(len(routes))]
        if rng.random() < 0.5:
            out.append(
                OrderInput(
                    f"s{rng.randrange(20)}",
                    f"o{i}",
                    Side.OFFER,
                    ServiceType.ETHERNET_ELINE,
                    a,
                    z,
                    1_000_000,
                    rng.randint(1, 5),
                    GRADE_VALUES[g],
                    1000 + rng.randint(-50, 60),
                    time_in_force=5 if pretrade and extra.random() < 0.1 else 0,
                )
            )
        else:
            out.append(
                OrderInput(
                    f"b{rng.randrange(20)}",
                    f"r{i}",
                    Side.REQUEST,
                    ServiceType.ETHERNET_ELINE,
                    a,
                    z,
                    1_000_000,
                    rng.randint(1, 5),
                    {},
                    1000 + rng.randint(-60, 50),
                    GRADES[g],
                    time_in_force=extra.choice(PRETRADE_TIF) if pretrade else 0,
                    routing_policy=extra.choice(PRETRADE_ROUTING) if pretrade else 0,
                )
            )
    return out


@dataclass
class Result:
    name: str
    orders: int
    seconds: float
    p50_us: float
    p99_us: float
    deals: int

    @property
    def rate(self) -> float:
        return self.orders / self.seconds


def percentile(sorted_ns: list[int], q: float) -> float:
    return sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))] / 1000


def run_engine(flow: list[OrderInput]) -> Result:
    engine = ExchangeEngine()
    for p in DEFAULT_PARAMETERS:
        engine.define_parameter(p)
    for s in DEFAULT_SCHEMES:
        engine.define_scheme(s, 0)
    engine.drain()
    lat = []
    deals = 0
    clock = time.perf_counter_ns
    start = clock()
    for i, o in enumerate(flow):
        t0 = clock()
        deals += len(engine.submit(o, i).deals)
        lat.append(clock() - t0)
        if i % 1024 == 1023:
            engine.drain()  # what the sequencer does once per batch
    total = clock() - start
    lat.sort()
    return Result("ixchange engine", len(flow), total / 1e9, percentile(lat, 0.5), percentile(lat, 0.99), deals)


def run_floor(flow: list[OrderInput]) -> Result:
    """A bare price-time book: SortedList per (grade, route) and side; no classing,
    validation, events or brokering. Offers use a precomputed grade."""
    books: dict[tuple[str, str, str], tuple[SortedList, SortedList]] = {}
    prepared = []
    for o in flow:
        grade = GRADES[GRADE_VALUES.index(o.values)] if o.side is Side.OFFER else o.grade
        prepared.append(((grade, o.a_end, o.z_end), o.side is Side.OFFER, o.price, o.circuits))
    lat = []
    deals = 0
    clock = time.perf_counter_ns
    gc.collect()
    start = clock()
    for seq, (key, is_offer, price, qty) in enumerate(prepared):
        t0 = clock()
        book = books.get(key)
        if book is None:
            book = books[key] = (SortedList(), SortedList())
        asks, bids = book
        opposite = bids if is_offer else asks
        while qty and opposite:
            best = opposite[0]
            best_price = -best[0] if is_offer else best[0]
            if (best_price < price) if is_offer else (best_price > price):
                break
            fill = min(qty, best[2][0])
            qty -= fill
            best[2][0] -= fill
            deals += 1
            if best[2][0] == 0:
                del opposite[0]
        if qty:
            (asks if is_offer else bids).add((price if is_offer else -price, seq, [qty]))
        lat.append(clock() - t0)
    total = clock() - start
    lat.sort()
    return Result(
        "bare price-time book (floor)", len(flow), total / 1e9, percentile(lat, 0.5), percentile(lat, 0.99), deals
    )


def one_run(kind: str, n: int, pure: bool = False) -> Result:
    """One run in a fresh process: `kind` is engine, pretrade or floor; `pure` runs the
    engine's pure-Python source instead of its compiled build (marketplace/compiled.py)."""
    env = {**os.environ, "IXCHANGE_PURE_PYTHON": "1" if pure else "0"}
    out = subprocess.run(
        [sys.executable, "-m", "bench.matching", "--one", kind, str(n)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return Result(**json.loads(out))


VARIANTS = (
    ("ixchange engine, compiled core", "engine", False),
    ("ixchange engine, pure Python", "engine", True),
    ("ixchange engine, pre-trade mix (IOC/FOK/AON, quality-first), compiled", "pretrade", False),
    ("ixchange engine, pre-trade mix, pure Python", "pretrade", True),
    ("bare price-time book (floor)", "floor", False),
)


def main(sizes: tuple[int, ...] = (100_000, 1_000_000), runs: int = 3) -> list[dict[str, object]]:
    """Each size: `runs` rounds, each running every variant once in a fresh process with
    the server's collector settings (interleaved, so a slow spell of this shared machine
    hits them all); the median of each with its spread, and each engine beside the floor
    of the same round."""
    rows: list[dict[str, object]] = []
    for n in sizes:
        results: dict[str, list[Result]] = {name: [] for name, _, _ in VARIANTS}
        for _ in range(runs):
            for name, kind, pure in VARIANTS:
                results[name].append(one_run(kind, n, pure))
        floors = [r.rate for r in results["bare price-time book (floor)"]]
        for name, _, _ in VARIANTS:
            rates = sorted(r.rate for r in results[name])
            ratios = sorted(r.rate / f for r, f in zip(results[name], floors, strict=True))
            mid = sorted(results[name], key=lambda r: r.rate)[len(rates) // 2]
            rows.append(
                {"bench": "matching", "orders": n, "runs": runs, "name": name,
                 "orders_per_s": round(statistics.median(rates)), "min": round(rates[0]), "max": round(rates[-1]),
                 "ratio_to_floor": round(statistics.median(ratios), 3),
                 "p50_us": round(mid.p50_us, 2), "p99_us": round(mid.p99_us, 2), "deals": mid.deals}
            )  # fmt: skip
            print(rows[-1], flush=True)
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        kind, count = sys.argv[2], int(sys.argv[3])
        tune_gc()
        flow = order_flow(count, pretrade=kind == "pretrade")
        result = run_floor(flow) if kind == "floor" else run_engine(flow)
        print(json.dumps(dataclasses.asdict(result)))
    else:
        main((100_000,))
