"""The matching benchmark with the deliverability check on: the same order flow as
bench/matching.py, the engine asking a fabric planner before every match (a ring of 3
switches, every participant on its own port, an agreement for every buyer/seller pair)
with 1,000 deals holding the fabric at any time (the oldest released as new ones are
struck, as if they ended). Target (issue 11): within 20 % of the rate without the check.

"Without the check" is the same engine with the same agreements, no planner attached
(deals are brokered under their agreement either way; only the check differs). Runs
alternate, the ratio is taken per pair of neighbouring runs, and the median reported:
this machine's speed wanders by a third between runs."""

from __future__ import annotations

import statistics
import time
from collections import deque

from bench.matching import Result, order_flow, percentile
from marketplace.classing import DEFAULT_SCHEMES
from marketplace.deals import Agreement, Interconnect, Party
from marketplace.engine import ExchangeEngine
from marketplace.orders import OrderInput
from marketplace.parameters import DEFAULT_PARAMETERS
from provisioning.fabric_state import FabricState
from provisioning.inventory import load_inventory
from provisioning.planner import FabricPlanner

PARTICIPANTS = 20  # the flow's s0..s19 and b0..b19
ACTIVE_DEALS = 1_000
HUGE = "1000T"  # capacity is not what is measured: every port and link has room


def topology() -> str:
    """sw1 and sw2 carry the sellers, sw3 the buyers, in a ring."""
    nodes, attachments = [], []
    for name, dpid, who in (("sw1", 1, "s"), ("sw2", 2, "s"), ("sw3", 3, "b")):
        ports = [f'{{ name = "f{k}", number = {k}, capacity = "{HUGE}" }}' for k in (1, 2)]
        for i in range(PARTICIPANTS):
            if who == "b" or i % 2 == dpid - 1:
                ports.append(f'{{ name = "p{i}", number = {10 + i}, capacity = "{HUGE}" }}')
                attachments.append(
                    f'[[attachments]]\nparticipant = "{who}{i}"\nnode = "{name}"\nport = "p{i}"\nvlans = "1-4094"\n'
                )
        nodes.append(
            f'[[nodes]]\nname = "{name}"\nkind = "openflow"\ndatapath_id = {dpid}\nports = [{", ".join(ports)}]\n'
        )
    links = [
        f'[[links]]\na = "{a}"\nz = "{z}"\n'
        for a, z in (("sw1:f1", "sw2:f1"), ("sw2:f2", "sw3:f1"), ("sw3:f2", "sw1:f2"))
    ]
    return "\n".join([*nodes, *links, *attachments])


def run_delivering(flow: list[OrderInput], check: bool = True) -> Result:
    inventory = load_inventory(topology())
    planner = FabricPlanner(inventory, FabricState(), frozenset)
    engine = ExchangeEngine()
    for p in DEFAULT_PARAMETERS:
        engine.define_parameter(p)
    for s in DEFAULT_SCHEMES:
        engine.define_scheme(s, 0)
    for b in range(PARTICIPANTS):
        for s in range(PARTICIPANTS):
            node = "sw1" if s % 2 == 0 else "sw2"
            ends = (
                Interconnect(Party.BUYER, "sw3", f"p{b}", 1, 4094),
                Interconnect(Party.SELLER, node, f"p{s}", 1, 4094),
            )
            engine.register_agreement(Agreement(0, f"AG-b{b}-s{s}", f"b{b}", f"s{s}", ends, 10**12, "", 0), 0)
    engine.deliverability = planner if check else None
    engine.drain()
    held: deque[int] = deque()
    lat = []
    deals = 0
    clock = time.perf_counter_ns
    start = clock()
    for i, o in enumerate(flow):
        t0 = clock()
        struck = engine.submit(o, i).deals
        lat.append(clock() - t0)
        deals += len(struck)
        for d in struck:  # deals end as new ones come: 1,000 hold the fabric at any time
            held.append(d.deal_id)
            if len(held) > ACTIVE_DEALS:
                planner.release(held.popleft())
        if i % 1024 == 1023:
            engine.drain()
    total = clock() - start
    lat.sort()
    name = "engine, deliverability check " + ("on" if check else "off")
    return Result(name, len(flow), total / 1e9, percentile(lat, 0.5), percentile(lat, 0.99), deals)


def main(n: int = 100_000, runs: int = 3) -> list[dict[str, object]]:
    from bench.matching import run_engine
    from marketplace.api.server import tune_gc

    tune_gc()
    flow = order_flow(n)
    bare, plain, checked = [], [], []
    for _ in range(runs):  # alternating, so that each pair saw the machine alike
        bare.append(run_engine(flow))
        plain.append(run_delivering(flow, check=False))
        checked.append(run_delivering(flow))
    ratios = sorted(c.rate / p.rate for c, p in zip(checked, plain, strict=True))
    ratio = statistics.median(ratios)
    mid = statistics.median
    checked_mid = sorted(checked, key=lambda r: r.rate)[runs // 2]
    print(
        f"n={n}, {runs} alternating runs: engine without agreements {mid(r.rate for r in bare):,.0f}/s; "
        f"with agreements, check off {mid(r.rate for r in plain):,.0f}/s; check on {checked_mid.rate:,.0f}/s "
        f"(p50 {checked_mid.p50_us:.1f}us, p99 {checked_mid.p99_us:.1f}us); ratio on/off median {ratio:.2f} "
        f"(range {ratios[0]:.2f}-{ratios[-1]:.2f}; target >= 0.80: {'met' if ratio >= 0.8 else 'MISSED'}); "
        f"deals {plain[0].deals} vs {checked[0].deals}",
        flush=True,
    )
    return [
        {
            "bench": "delivering",
            "orders": n,
            "runs": runs,
            "bare_engine_per_s": round(mid(r.rate for r in bare)),
            "check_off_per_s": round(mid(r.rate for r in plain)),
            "check_on_per_s": round(checked_mid.rate),
            "check_on_p50_us": round(checked_mid.p50_us, 2),
            "check_on_p99_us": round(checked_mid.p99_us, 2),
            "ratio": round(ratio, 3),
            "ratio_min": round(ratios[0], 3),
            "ratio_max": round(ratios[-1], 3),
            "deals_check_off": plain[0].deals,
            "deals_check_on": checked[0].deals,
        }
    ]


if __name__ == "__main__":
    main()
