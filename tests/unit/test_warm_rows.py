"""A standby's warm rows (store/warm.py) rebuild the same engine as the store's own rows.

Random command sequences (offers, requests, fills, cancels, replaces, expiries, deal status
changes) run on a leader engine whose every batch is committed to a store; the warm rows
start following at a random point (the first follow loads everything) and follow again at
random points after. Then one engine is restored from the store alone and one from the
warm rows (after their last catch-up): their state is equal, and so is what they do next
with the same further commands."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from marketplace.changes import Changes
from marketplace.deals import DealStatus
from marketplace.engine import ExchangeEngine
from marketplace.store import Store
from marketplace.store.warm import WarmRows
from tests.unit.engine_trace import plain, run
from tests.unit.factories import new_engine
from tests.unit.test_compiled_equivalence import command

SEQUENCES = 24
MOVES = [DealStatus.PROVISIONING, DealStatus.ACTIVE, DealStatus.TERMINATED, DealStatus.BROKERED]
LATER = 1_000_000 + 10**8  # past any sequence's clock: both rebuilds are restored at this time


def commands(rng: random.Random, count: int) -> list[list[Any]]:
    out: list[list[Any]] = []
    for _ in range(count):
        if rng.random() < 0.2:  # provisioning moves a deal on (or tries to: refused moves are fine)
            status = rng.choice(MOVES)
            out.append(["deal", rng.randrange(50), int(status)])
        else:
            out.append(command(rng, len(out)))
    return out


def state(engine: ExchangeEngine) -> Any:
    books = {
        str(key): [[o.order_id for o in book.offers], [o.order_id for o in book.requests]]
        for key, book in sorted(engine.books.items(), key=lambda kv: str(kv[0]))
    }
    return {
        "orders": plain(engine.orders),
        "deals": plain(engine.deals),
        "client_ids": sorted(engine.client_ids.items()),
        "counters": plain(engine.counters),
        "books": books,
        "expiries": sorted(engine._expiries),
        "scheduled": sorted(engine._scheduled),
        "deal_ends": sorted(engine._deal_ends),
        "agreement_use": sorted(engine._agreement_use.items()),
        "fingerprint": engine.fingerprint(),
    }


def traded_store(tmp_path: Path) -> tuple[Store, ExchangeEngine, Callable[[Changes], None]]:
    """A store and a leader engine seeded as a new server is, and the hook that commits a batch."""
    store = Store(f"sqlite:///{tmp_path}/exchange.db")

    def persist(changes: Changes) -> None:
        store.write(changes, [b""] * len(changes.events))

    leader = new_engine(keep_changes=True)
    persist(leader.drain())
    return store, leader, persist


def rebuilt_alike(store: Store, warm: WarmRows) -> tuple[ExchangeEngine, ExchangeEngine]:
    """The engine rebuilt from the store alone and the one from the warm rows, checked equal."""
    cold, warmed = ExchangeEngine(), ExchangeEngine()
    store.restore(cold, LATER)
    store.restore(warmed, LATER, warm)
    assert state(warmed) == state(cold)
    return cold, warmed


@pytest.mark.parametrize("seed", range(SEQUENCES))
def test_warm_rows_rebuild_what_the_store_rebuilds(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    store, leader, persist = traded_store(tmp_path)
    warm = WarmRows(store.engine)
    flow = commands(rng, rng.randint(20, 160))
    start = rng.randrange(len(flow))  # the standby starts (and loads) after this batch
    batches = iter(range(len(flow)))

    def persist_and_follow(changes: Changes) -> None:
        persist(changes)
        number = next(batches)
        if number == start or (number > start and rng.random() < 0.3):
            warm.follow()

    run(flow, leader, persist=persist_and_follow)  # one batch per command, the clock moving on
    assert warm.loaded

    cold, warmed = rebuilt_alike(store, warm)
    assert warm.taken and warm.follow() == 0 and not warm.orders  # handed over, nothing kept
    later = commands(rng, 40)
    ids = sorted(cold.orders)
    assert run(later, warmed, now=LATER, placed=list(ids)) == run(later, cold, now=LATER, placed=list(ids))
    store.close()


def test_a_takeover_before_the_first_follow_loads_everything_then(tmp_path: Path) -> None:
    store, leader, persist = traded_store(tmp_path)
    run(commands(random.Random(9), 80), leader, persist=persist)
    cold, _ = rebuilt_alike(store, WarmRows(store.engine))
    assert cold.orders
    store.close()


def test_a_load_cut_short_starts_again_from_nothing(tmp_path: Path) -> None:
    """A first follow that fails half-way (the database went away) leaves nothing behind
    that the next load would not overwrite: orders filled or cancelled meanwhile must not
    linger."""
    store, leader, persist = traded_store(tmp_path)
    rng = random.Random(5)
    placed: list[int] = []
    run(commands(rng, 60), leader, placed=placed, persist=persist)
    warm = WarmRows(store.engine)
    real = warm._deals

    def fail(_conn: Any) -> int:
        raise ConnectionError("the database went away")

    warm._deals = fail  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        warm.follow()
    assert not warm.loaded and not warm.orders and not warm.client_ids
    warm._deals = real  # type: ignore[method-assign]
    ended = set(leader.orders)
    run([["cancel", "s1", i] for i in range(len(placed))] + commands(rng, 40), leader, now=2_000_000,
        placed=placed, persist=persist)  # fmt: skip
    assert ended - set(leader.orders), "nothing ended between the two loads"
    warm.follow()
    rebuilt_alike(store, warm)
    store.close()
