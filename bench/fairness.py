"""Fair share under attack (issue 9): a well-behaved participant's acknowledged order
rate and p99 while another participant runs each attack, as a ratio to its own rate and
p99 with nobody attacking. Targets: rate ratio >= 0.7, p99 <= 3x.

Everything runs on this machine: the server (default limits, embedded SQLite), the
well-behaved participant's load generator and the attacker, each in its own process.
The well-behaved participant sends immediate-or-cancel orders at a steady rate (about a
third of what the server acknowledges flat out here), so it never runs into its own
quotas; the attackers start from a store seeded beforehand (with the limits lifted):
5,000 resting offers on 5,000 routes, 2,000 deals, 9,000 all-or-none offers that fit
nobody at the best price, and the honest supply the buyer's requests trade against.

`python -m bench.fairness [--seconds 8] [--rate 400] [--tree DIR]`; --tree runs the
server from another checkout (e.g. the commit before the fix) to compare."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
from ixchange.v1 import common_pb2, exchange_pb2, exchange_pb2_grpc, participants_pb2, participants_pb2_grpc

from bench.attacks import KINDS, aon_offer, offer_msg
from bench.e2e import free_port, load, rss_mb, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
# Who attacks with what: each attack is another participant's, as in the issue.
ATTACKER = {
    "streams": "mallory",
    "tokens": "mallory",
    "reads": "mallory",
    "books": "mallory",
    "replay": "eve",
    "reports": "eve",
    "aon": "trudy",
}
PEOPLE = {
    "bystander": [participants_pb2.ROLE_SELLER],
    "bob": [participants_pb2.ROLE_BUYER],  # the well-behaved buyer of the all-or-none test
    "mallory": [participants_pb2.ROLE_SELLER],
    "eve": [participants_pb2.ROLE_SELLER],
    "frank": [participants_pb2.ROLE_BUYER],
    "trudy": [participants_pb2.ROLE_SELLER],
    "honest": [participants_pb2.ROLE_SELLER],
}


def serve(tree: Path, data: str, target: str, limits_off: bool) -> subprocess.Popen[bytes]:
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": f"{tree}:{tree / 'proto'}"}
    for key in ("IXCHANGE_RATE_LIMIT", "IXCHANGE_MAX_OPEN_ORDERS"):
        env.pop(key, None)
    # A checkout from before the limits existed refuses settings it does not know.
    knows_limits = "rate_limit" in (tree / "marketplace" / "settings.py").read_text()
    if limits_off and knows_limits:
        env.update({"IXCHANGE_RATE_LIMIT": "0", "IXCHANGE_MAX_OPEN_ORDERS": "10000000"})
    cmd = [sys.executable, "-m", "controller.cli", "--data-dir", data, "serve", "--listen", target]
    server = subprocess.Popen(
        [*cmd, "--metrics-listen", "", "--no-controller"],
        cwd=tree,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    wait_healthy(target)
    return server


def register(target: str, operator: str) -> dict[str, str]:
    md = (("authorization", f"Bearer {operator}"),)
    stub = participants_pb2_grpc.ParticipantsServiceStub(grpc.insecure_channel(target))
    tokens = {}
    for name, roles in PEOPLE.items():
        stub.RegisterParticipant(
            participants_pb2.RegisterParticipantRequest(
                participant=participants_pb2.Participant(name=name, roles=roles)
            ),
            metadata=md,
        )
        tokens[name] = stub.IssueToken(participants_pb2.IssueTokenRequest(participant=name), metadata=md).token
    return tokens


async def seed(target: str, tokens: dict[str, str], rate: float, seconds: float, repeat: int) -> None:
    """The state the attacks work on (placed with the limits lifted)."""
    async with grpc.aio.insecure_channel(target) as channel:
        stub = exchange_pb2_grpc.ExchangeServiceStub(channel)

        def md(name: str) -> tuple[tuple[str, str], ...]:
            return (("authorization", f"Bearer {tokens[name]}"),)

        async def offer(name: str, cid: str, route: tuple[str, str], price: int) -> None:
            await stub.SubmitOffer(offer_msg(cid, route, price), metadata=md(name), timeout=60)

        async def request(name: str, cid: str, route: tuple[str, str], price: int) -> None:
            await stub.SubmitRequest(
                exchange_pb2.SubmitRequestRequest(
                    client_order_id=cid,
                    service_type=common_pb2.SERVICE_TYPE_ETHERNET_ELINE,
                    route=common_pb2.Route(a_end=route[0], z_end=route[1]),
                    capacity_kbps=1_000_000,
                    circuits=1,
                    grade="platinum",
                    limit_price=price,
                ),
                metadata=md(name),
                timeout=60,
            )

        async def batch(calls: list[Any], width: int = 64) -> None:
            for at in range(0, len(calls), width):
                await asyncio.gather(*calls[at : at + width])

        # mallory: 5,000 resting offers, one book each.
        await batch([offer("mallory", f"m{i}", (f"M{i:05d}", "ZZZ"), 500) for i in range(5000)])
        # eve sells 2,000 deals to frank: a journal to replay and a market to report on.
        route = ("EVE", "FRK")
        await batch([offer("eve", f"e{i}", route, 100 + i % 50) for i in range(2000)])
        await batch([request("frank", f"f{i}", route, 200) for i in range(2000)])
        # Honest supply for bob's 1-circuit requests: every run alone and attacked, and some.
        supply = int(rate * seconds * (2 * repeat + 0.5))
        await batch([offer("honest", f"h{i}", ("FRA", "AMS"), 100) for i in range(supply)])


async def seed_all_or_none(target: str, tokens: dict[str, str]) -> None:
    """trudy: 9,000 all-or-none offers of 10 circuits at the best price of FRA:AMS, ahead
    of the honest supply (placed after the participants' own runs alone)."""
    async with grpc.aio.insecure_channel(target) as channel:
        stub = exchange_pb2_grpc.ExchangeServiceStub(channel)
        md = (("authorization", f"Bearer {tokens['trudy']}"),)
        offers = [aon_offer(f"t{i}") for i in range(9000)]
        for at in range(0, len(offers), 64):
            await asyncio.gather(*(stub.SubmitOffer(o, metadata=md, timeout=60) for o in offers[at : at + 64]))


def attack(kind: str, target: str, token: str, seconds: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.attacks", kind, "--target", target, "--token", token, "--seconds", str(seconds)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def measure(target: str, token: str, rate: float, seconds: float, prefix: str, buy: bool) -> dict[str, Any]:
    extra = ["--ioc", *(["--buy"] if buy else [])]
    return load(target, token, int(rate * seconds), procs=1, prefix=prefix, concurrency=256, rate=rate, extra=extra)


def main(
    seconds: float = 8.0, rate: float = 400.0, tree: Path = ROOT, repeat: int = 3, kinds: tuple[str, ...] = KINDS
) -> list[dict[str, Any]]:
    """Each scenario `repeat` times; ratios against the median of the runs alone, and
    the medians reported with their spread (this machine's speed varies by run)."""
    with tempfile.TemporaryDirectory() as data:
        target = f"127.0.0.1:{free_port()}"
        with running(tree, data, target, limits_off=True):
            operator = (Path(data) / "operator.token").read_text().strip()
            tokens = register(target, operator)
            began = time.monotonic()
            asyncio.run(seed(target, tokens, rate, seconds, repeat))
            print(f"seeded in {time.monotonic() - began:.0f} s", flush=True)
        runs: dict[str, list[dict[str, Any]]] = {}
        with running(tree, data, target, limits_off=False):
            for n in range(repeat):
                for buy in (False, True):
                    name = f"{'buyer' if buy else 'seller'} alone"
                    who = tokens["bob" if buy else "bystander"]
                    runs.setdefault(name, []).append(measure(target, who, rate, seconds, f"alone{n}-{buy}", buy))
        with running(tree, data, target, limits_off=True):
            asyncio.run(seed_all_or_none(target, tokens))
        answers: dict[str, list[dict[str, int]]] = {}
        with running(tree, data, target, limits_off=False) as server:
            for n in range(repeat):
                for kind in kinds:
                    before = rss_mb(server.pid)
                    attacker = attack(kind, target, tokens[ATTACKER[kind]], seconds + 3)
                    time.sleep(1.5)  # let the attack take hold
                    buy = kind == "aon"
                    who = tokens["bob" if buy else "bystander"]
                    result = measure(target, who, rate, seconds, f"under{n}-{kind}", buy)
                    result["rss_during_mb"] = rss_mb(server.pid)
                    answers.setdefault(kind, []).append(json.loads(attacker.communicate(timeout=120)[0] or "{}"))
                    time.sleep(2)  # the attacker has gone: is what it made the server hold released?
                    result["rss_growth_after_mb"] = round(rss_mb(server.pid) - before, 1)
                    runs.setdefault(kind, []).append(result)
                    print(kind, n, result, flush=True)
    return summarise(runs, answers, rate, kinds)


def summarise(
    runs: dict[str, list[dict[str, Any]]], answers: dict[str, list[dict[str, int]]], rate: float, kinds: tuple[str, ...]
) -> list[dict[str, Any]]:
    rows = []
    alone = {buy: runs[f"{'buyer' if buy else 'seller'} alone"] for buy in (False, True)}
    for buy, results in alone.items():
        rows.append(
            {"bench": "fairness", "name": f"{'buyer' if buy else 'seller'} alone at {rate:g}/s", **spread(results)}
        )
    for kind in kinds:
        buy = kind == "aon"
        base = spread(alone[buy])
        mine = spread(runs[kind])
        rows.append(
            {
                "bench": "fairness",
                "name": f"{'buyer' if buy else 'seller'} while {ATTACKER[kind]} runs '{kind}'",
                "attack": kind,
                **mine,
                "rate_ratio": round(mine["acked_per_s"] / base["acked_per_s"], 2),
                "rate_ratio_range": [round(r["acked_per_s"] / base["acked_per_s"], 2) for r in runs[kind]],
                "p99_ratio": round(mine["p99_ms"] / base["p99_ms"], 2),
                "p99_ratio_range": [round(r["p99_ms"] / base["p99_ms"], 2) for r in runs[kind]],
                "attacker_answers": answers[kind],
            }
        )
    for row in rows:
        print(row, flush=True)
    return rows


def spread(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Median acknowledged rate and p99 over runs, with each run's value."""
    return {
        "acked_per_s": statistics.median(r["acked_per_s"] for r in results),
        "acked_per_s_runs": [r["acked_per_s"] for r in results],
        "p99_ms": statistics.median(r["p99_ms"] for r in results),
        "p99_ms_runs": [r["p99_ms"] for r in results],
        "p50_ms": statistics.median(r["p50_ms"] for r in results),
        "errors": sum(r["errors"] for r in results),
        **(
            {
                "rss_during_mb": max(r["rss_during_mb"] for r in results),
                "rss_growth_after_mb": [r["rss_growth_after_mb"] for r in results],
            }
            if "rss_during_mb" in results[0]
            else {}
        ),
    }


@contextlib.contextmanager
def running(tree: Path, data: str, target: str, limits_off: bool) -> Iterator[subprocess.Popen[bytes]]:
    server = serve(tree, data, target, limits_off)
    try:
        yield server
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--rate", type=float, default=400.0)
    p.add_argument("--tree", type=Path, default=ROOT, help="run the server from this checkout")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--only", nargs="+", choices=KINDS, default=list(KINDS))
    args = p.parse_args()
    print(json.dumps(main(args.seconds, args.rate, args.tree, args.repeat, tuple(args.only)), indent=1))
