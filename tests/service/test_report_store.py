"""The store aggregates the market report in SQL; it must agree exactly with the
reference aggregation in Python (marketplace.report.market_report), on SQLite and on
PostgreSQL, including totals beyond 2^63 (which SQLite's sum() would refuse)."""

from __future__ import annotations

import random

from marketplace.api.convert import event_msg
from marketplace.report import market_report
from marketplace.store import Store
from tests.unit.factories import GOLD, new_engine, offer, request


def test_sql_report_equals_the_reference(database_url: str) -> None:
    rng = random.Random(9)
    engine = new_engine()
    store = Store(database_url)
    deals = []
    for t in range(1, 1400):
        seller, buyer = f"s{rng.randrange(4)}", f"b{rng.randrange(4)}"
        route = rng.choice([("FRA", "AMS"), ("FRA", "LON")])
        values = GOLD if rng.random() < 0.3 else None
        # From t = 400 on, 1,000 deals of the largest price and size in one row: 10^19.
        big = t >= 400
        if big:
            route, values = ("FRA", "AMS"), None
        price, circuits = (10**12, 10_000) if big else (rng.randint(100, 200), rng.randint(1, 4))
        engine.submit(offer(seller, price=price, circuits=circuits, values=values, route=route), t * 10)
        grade = "gold" if values else "platinum"
        out = engine.submit(request(buyer, limit=price, circuits=circuits, grade=grade, route=route), t * 10 + 1)
        deals += out.deals
        changes = engine.drain()
        store.write(changes, [event_msg(e).SerializeToString() for e in changes.events])
    try:
        for start, end in ((0, 14_000), (1000, 2000), (2500, 2501), (3990, 12_000)):
            expected = market_report(deals, start, end)
            got = store.report_rows(start, end)
            assert [vars_of(r) for r in got] == [vars_of(r) for r in expected]
        assert max(r.total_value for r in store.report_rows(0, 14_000)) > 2**63
    finally:
        store.close()


def vars_of(row: object) -> dict[str, object]:
    return {name: getattr(row, name) for name in row.__dataclass_fields__}  # type: ignore[attr-defined]


def test_a_void_deal_is_not_in_the_report(database_url: str) -> None:
    """Nothing is charged for a deal the network could not deliver (issue 11)."""
    from marketplace.deals import Agreement, DealStatus, Interconnect, Party

    engine = new_engine()
    store = Store(database_url)
    ends = (Interconnect(Party.BUYER, "sw1", "1", 100, 199), Interconnect(Party.SELLER, "sw2", "2", 100, 199))
    engine.register_agreement(Agreement(0, "AG-1", "b1", "s1", ends, 10**9, "", 0), 1)
    delivered, void = [], []
    for t, bucket in ((10, delivered), (20, void)):
        engine.submit(offer("s1", price=150), t)
        (deal,) = engine.submit(request("b1", limit=150), t + 1).deals
        engine.set_deal_status(deal.deal_id, DealStatus.PROVISIONING, "", t + 2)
        bucket.append(deal.deal_id)
    engine.set_deal_status(void[0], DealStatus.PROVISIONING_FAILED, "probe failed; void", 30)
    changes = engine.drain()
    store.write(changes, [event_msg(e).SerializeToString() for e in changes.events])
    try:
        (row,) = store.report_rows(0, 100)
        assert row.deals == 1 and row.circuits == 1
    finally:
        store.close()
