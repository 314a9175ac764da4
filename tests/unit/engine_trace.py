"""Runs command sequences through a fresh engine and prints what happened, as JSON: every
event (with the order or deal it carries), every deal, every refusal. The equivalence test
runs it once compiled and once as pure Python (IXCHANGE_PURE_PYTHON=1) and compares.

Input (stdin): a JSON list of sequences; each command is a list:
  ["offer", seller, price, circuits, values_index, tif, valid_until]
  ["request", buyer, limit, circuits, grade, tif, routing, valid_until, quoted]
  ["cancel", who, order_index]            (an order placed earlier in the sequence)
  ["replace", who, order_index, price, remaining]
  ["tick", microseconds]                  (time passes: expiries)
  ["deal", deal_index, status]            (provisioning moves a deal made earlier on)

The warm-standby test (test_warm_rows.py) runs the same commands, persisting each batch.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from typing import Any

from marketplace.changes import Changes
from marketplace.compiled import running_compiled
from marketplace.deals import DealStatus
from marketplace.engine import ExchangeEngine
from marketplace.errors import DomainError
from marketplace.events import Event
from tests.unit.factories import BRONZE, GOLD, PLATINUM, SILVER, new_engine, offer, request

VALUES = [PLATINUM, GOLD, SILVER, BRONZE, {**PLATINUM, "loss_ppm": 10**9}]  # the last is refused


def plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple | list):
        return [plain(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in sorted(obj.items())}
    if isinstance(obj, int | str | float | bool) or obj is None:
        return int(obj) if isinstance(obj, int) else obj
    return repr(obj)


def event(e: Event) -> Any:
    subject = e.order or e.deal or e.quote or e.recommendation
    return [e.sequence, e.time, int(e.kind), plain(subject)]


def run(
    sequence: list[list[Any]],
    engine: ExchangeEngine | None = None,
    now: int = 1_000_000,
    placed: list[int] | None = None,
    persist: Callable[[Changes], None] = lambda _changes: None,
) -> list[Any]:
    """The trace of `sequence` on `engine` (a new one by default) from time `now`;
    `placed` the orders cancels and replaces pick from; `persist` gets every batch."""
    engine = engine if engine is not None else new_engine()
    placed = placed if placed is not None else []
    trace: list[Any] = []
    for number, command in enumerate(sequence):
        kind = command[0]
        now += 1
        try:
            if kind == "offer":
                _, who, price, circuits, values, tif, until = command
                o = offer(
                    who,
                    price,
                    circuits,
                    VALUES[values],
                    cid=f"c{number}",
                    time_in_force=tif,
                    valid_until=now + until if until else 0,
                )
                out = engine.submit(o, now)
            elif kind == "request":
                _, who, limit, circuits, grade, tif, routing, until, quoted = command
                r = request(
                    who,
                    limit,
                    circuits,
                    grade,
                    cid=f"c{number}",
                    time_in_force=tif,
                    routing_policy=routing,
                    valid_until=now + until if until else 0,
                )
                if quoted:
                    q = engine.quote(r, now)
                    trace.append(["quote", plain(q)])
                    r = dataclasses.replace(r, quote_id=q.quote_id)
                out = engine.submit(r, now, recommend=True)
            elif kind == "cancel":
                _, who, index = command
                out = engine.cancel(who, placed[index % len(placed)] if placed else 1, now)
            elif kind == "replace":
                _, who, index, price, remaining = command
                out = engine.replace(who, placed[index % len(placed)] if placed else 1, price, remaining, now)
            elif kind == "deal":
                _, index, status = command
                deal_ids = sorted(engine.deals)
                if deal_ids:
                    deal = engine.set_deal_status(deal_ids[index % len(deal_ids)], DealStatus(status), "test", now)
                    trace.append(["deal", plain(deal)])
                out = None
            else:
                now += command[1]
                engine.advance(now)
                out = None
            if out is not None:
                if out.order is not None and kind in ("offer", "request"):
                    placed.append(out.order.order_id)
                trace.append(["outcome", plain(out.order), plain(out.deals), plain(out.recommendation)])
        except DomainError as err:
            trace.append(["refused", type(err).__name__, err.field, err.rule])
        changes = engine.drain()
        persist(changes)
        trace.append(["events", [event(e) for e in changes.events]])
    trace.append(["books", sorted(str(k) for k in engine.books), engine.fingerprint()])
    return trace


if __name__ == "__main__":
    sequences = json.load(sys.stdin)
    json.dump({"compiled": running_compiled(), "traces": [run(s) for s in sequences]}, sys.stdout)
