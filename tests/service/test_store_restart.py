"""Durability of the engine's state: after a restart the books are rebuilt exactly, so the
same later orders give the same deals as if nothing had restarted."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.api.convert import event_msg
from marketplace.classing import Band, ClassScheme, Grade
from marketplace.deals import Deal
from marketplace.engine import ExchangeEngine
from marketplace.orders import OrderInput, OrderStatus, ServiceType, Side, TimeInForce
from marketplace.store import Store
from tests.unit.factories import GOLD, PLATINUM, new_engine, offer, request


def commands(seed: int, n: int) -> list[OrderInput]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        route = rng.choice([("FRA", "AMS"), ("LON", "PAR")])
        if rng.random() < 0.5:
            values = dict(rng.choice([PLATINUM, GOLD]))
            values["latency_us"] = rng.randrange(1_000, values["latency_us"] + 1, 500)
            out.append(
                offer(
                    rng.choice(["s1", "s2", "s3"]),
                    price=rng.randint(90, 110),
                    circuits=rng.randint(1, 4),
                    values=values,
                    route=route,
                    cid=f"o{i}",
                    valid_until=rng.choice([0, 0, 0, i * 10 + 45, i * 10 + 300]),
                    time_in_force=rng.choice([0, 0, 0, int(TimeInForce.ALL_OR_NONE)]),
                )
            )
        else:
            propose = rng.random() < 0.1
            out.append(
                request(
                    rng.choice(["b1", "b2"]),
                    limit=rng.randint(90, 110),
                    circuits=rng.randint(1, 5),
                    grade="" if propose else rng.choice(["platinum", "gold"]),
                    requirements=dict(PLATINUM) if propose else None,
                    route=route,
                    cid=f"r{i}",
                    propose_class=propose,
                    time_in_force=rng.choice([0, 0, 0, 3, 4, 5]),
                    routing_policy=rng.choice([0, 1, 2]),
                )
            )
    return out


def _deal(d: Deal) -> tuple[int, int, int, int, int]:
    return (d.deal_id, d.offer_order_id, d.request_order_id, d.circuits, d.price)


def buyer_moves(engine: ExchangeEngine, i: int) -> list[Deal]:
    """Pre-trade moves at command i: approve the oldest proposal, enter at a fresh quote,
    re-bid the oldest unmatched request."""
    t = i * 10
    deals: list[Deal] = []
    # Oldest by order id: the engine's dict of live orders is in a different order after a
    # restore (rebuilt in time priority), so "first in the dict" would differ.
    if i % 5 == 2:
        pending = [o for o in engine.orders.values() if o.status is OrderStatus.PENDING_APPROVAL]
        if pending:
            first = min(pending, key=lambda o: o.order_id)
            deals += engine.approve_class(first.participant, first.order_id, t + 2).deals
    if i % 9 == 4:
        quote = engine.quote(request("b1", circuits=2, grade="gold"), t + 3)
        if quote.fills:
            at_quote = request("b1", circuits=0, limit=0, grade="", quote_id=quote.quote_id, cid=f"q{i}")
            deals += engine.submit(at_quote, t + 4).deals
    if i % 13 == 6:
        unmatched = [
            o
            for o in engine.orders.values()
            if o.side is Side.REQUEST and o.remaining == o.circuits and o.status is OrderStatus.OPEN
        ]
        if unmatched:
            old = min(unmatched, key=lambda o: o.order_id)
            rebid = request(
                old.participant,
                limit=110,
                circuits=old.circuits,
                grade=old.grade,
                route=old.route,
                cid=f"rb{i}",
                rebid_of=old.order_id,
            )
            deals += engine.submit(rebid, t + 5).deals
    return deals


def persist(engine: ExchangeEngine, store: Store) -> None:
    changes = engine.drain()
    store.write(changes, [event_msg(e).SerializeToString() for e in changes.events])


def run(engine: ExchangeEngine, cmds: list[OrderInput], first: int, store: Store | None = None) -> list[tuple]:
    """Submit cmds[i] as command number first + i at time 10 x that number (so a flow split
    in two and run in two calls is the same flow), cancelling an order now and then."""
    deals = []
    for i, cmd in enumerate(cmds, start=first):
        out = engine.submit(cmd, i * 10)
        deals += [_deal(d) for d in out.deals]
        if i % 7 == 3:  # the owner cancels one of the open orders
            live = sorted(engine.orders)
            if live:
                victim = engine.orders[live[len(live) // 2]]
                engine.cancel(victim.participant, victim.order_id, i * 10 + 1)
        deals += [_deal(d) for d in buyer_moves(engine, i)]
        if store is not None:
            persist(engine, store)
    return deals


@pytest.mark.parametrize("seed", [1, 2])
def test_restart_rebuilds_books_exactly(database_url: str, seed: int) -> None:
    before, after = commands(seed, 150)[:90], commands(seed, 150)[90:]
    median_scheme = ClassScheme(
        "transit",
        0,
        (ServiceType.IP_TRANSIT,),
        (Grade("fast", (Band("latency_us", median_permille=1000, initial=20_000),)), Grade("any", ())),
        {},
    )

    reference = new_engine(median_scheme)
    expected = run(reference, before + after, 0)

    store = Store(database_url)
    seeded = new_engine(median_scheme, keep_changes=True)
    seeded.set_neighbours("FRA", ["MUC", "AMS"])
    persist(seeded, store)
    first = run(seeded, before, 0, store)
    store.close()

    reopened = Store(database_url)
    restored = ExchangeEngine()
    reopened.restore(restored, 900)
    assert {k: [(o.order_id, o.remaining) for o in b.offers] for k, b in restored.books.items()} == {
        k: [(o.order_id, o.remaining) for o in b.offers] for k, b in seeded.books.items()
    }
    assert restored.counters == seeded.counters
    assert restored.neighbours == seeded.neighbours
    assert {q: (x.fills, x.expires_at) for q, x in restored.quotes.items()} == {
        q: (x.fills, x.expires_at) for q, x in seeded.quotes.items()
    }
    assert restored._quote_used == seeded._quote_used
    pending = {o.order_id: o.approve_by for o in seeded.orders.values() if o.status is OrderStatus.PENDING_APPROVAL}
    assert pending == {
        o.order_id: o.approve_by for o in restored.orders.values() if o.status is OrderStatus.PENDING_APPROVAL
    }
    second = run(restored, after, 90, reopened)
    assert first + second == expected
    # Retried client ids are still recognised after the restart.
    assert restored.submit(before[0], 99_999).duplicate
    reopened.close()


def test_median_history_survives_restart(database_url: str) -> None:
    scheme = ClassScheme(
        "transit",
        0,
        (ServiceType.IP_TRANSIT,),
        (Grade("fast", (Band("latency_us", median_permille=1000, initial=50_000),)), Grade("any", ())),
        {},
    )
    store = Store(database_url)
    engine = new_engine(scheme, keep_changes=True)
    for i, latency in enumerate((10_000, 12_000, 30_000)):
        engine.submit(offer(values={"latency_us": latency}, service=ServiceType.IP_TRANSIT, cid=f"m{i}"), i + 1)
    persist(engine, store)
    restored = ExchangeEngine()
    Store(database_url).restore(restored, 10)
    transit = restored.schemes["transit"]
    assert restored.effective_bounds(transit) == engine.effective_bounds(engine.schemes["transit"])
    store.close()


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 119))
def test_any_restart_point_gives_the_same_deals(seed: int, cut: int) -> None:
    """Property: wherever the exchange restarts, the later orders trade as if it had not."""
    flow = commands(seed, 120)
    expected = run(new_engine(), flow, 0)  # the same commands at the same times, never restarted
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'x.db'}"
        store = Store(url)
        engine = new_engine(keep_changes=True)
        persist(engine, store)
        first = run(engine, flow[:cut], 0, store)
        store.close()
        reopened = Store(url)
        restored = ExchangeEngine()
        reopened.restore(restored, cut * 10)
        second = run(restored, flow[cut:], cut, reopened)
        reopened.close()
    assert first + second == expected
