"""Durability of the engine's state: after a restart the books are rebuilt exactly, so the
same later orders give the same deals as if nothing had restarted."""

from __future__ import annotations

import random

import pytest

from marketplace.api.convert import event_msg
from marketplace.classing import Band, ClassScheme, Grade
from marketplace.engine import ExchangeEngine
from marketplace.orders import OrderInput, ServiceType
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
                    valid_until=rng.choice([0, 0, 10_000 + i * 7]),
                )
            )
        else:
            out.append(
                request(
                    rng.choice(["b1", "b2"]),
                    limit=rng.randint(90, 110),
                    circuits=rng.randint(1, 5),
                    grade=rng.choice(["platinum", "gold"]),
                    route=route,
                    cid=f"r{i}",
                )
            )
    return out


def persist(engine: ExchangeEngine, store: Store) -> None:
    changes = engine.drain()
    store.write(changes, [event_msg(e).SerializeToString() for e in changes.events])


def run(engine: ExchangeEngine, cmds: list[OrderInput], start: int, store: Store | None = None) -> list[tuple]:
    deals = []
    for i, cmd in enumerate(cmds):
        out = engine.submit(cmd, start + i * 10)
        deals += [(d.deal_id, d.offer_order_id, d.request_order_id, d.circuits, d.price) for d in out.deals]
        if i % 7 == 3:  # cancel something now and then, owner acting
            live = sorted(engine.orders)
            if live:
                victim = engine.orders[live[len(live) // 2]]
                engine.cancel(victim.participant, victim.order_id, start + i * 10 + 1)
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
    expected = run(reference, before, 0) + run(reference, after, 5_000)

    store = Store(database_url)
    seeded = new_engine(median_scheme, keep_changes=True)
    persist(seeded, store)
    first = run(seeded, before, 0, store)
    store.close()

    reopened = Store(database_url)
    restored = ExchangeEngine()
    reopened.restore(restored, 5_000)
    assert {k: [(o.order_id, o.remaining) for o in b.offers] for k, b in restored.books.items()} == {
        k: [(o.order_id, o.remaining) for o in b.offers] for k, b in seeded.books.items()
    }
    assert restored.counters == seeded.counters
    second = run(restored, after, 5_000, reopened)
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
