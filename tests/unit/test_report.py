"""The market report aggregates deals by class, route and circuit size over a window."""

from __future__ import annotations

from datetime import date

import pytest

from marketplace.errors import InvalidArgument
from marketplace.report import day_window, market_report
from tests.unit.factories import GOLD, G, new_engine, offer, request


def test_report_rows_aggregate_volume_and_prices() -> None:
    engine = new_engine()
    engine.submit(offer("s1", circuits=2, price=900), 1)
    engine.submit(offer("s2", circuits=1, price=1001), 2)
    engine.submit(offer("s3", values=GOLD, price=500), 3)
    engine.submit(request(circuits=3, limit=1100), 10)
    engine.submit(request(grade="gold", limit=600), 11)
    engine.submit(offer("s1", price=100, capacity=10 * G), 12)
    engine.submit(request(limit=100, capacity=10 * G), 500)  # outside the window
    deals = list(engine.drain().new_deals.values())
    rows = market_report(deals, 0, 100)
    assert [(r.grade, r.capacity_kbps, r.deals, r.circuits) for r in rows] == [("gold", G, 1, 1), ("platinum", G, 2, 3)]
    platinum = rows[1]
    assert (platinum.min_price, platinum.max_price, platinum.total_value) == (900, 1001, 2801)
    assert platinum.vwap == 934  # 2801 / 3 = 933.67, rounded half up
    assert platinum.volume_kbps == 3 * G and platinum.median_quality is None


def test_report_window_is_checked() -> None:
    with pytest.raises(InvalidArgument) as err:
        market_report([], 10, 10)
    assert err.value.field == "end"
    with pytest.raises(InvalidArgument):
        market_report([], 0, 400 * 86_400 * 1_000_000)


def test_day_window_is_one_utc_day() -> None:
    start, end = day_window(date(2026, 11, 24))
    assert start == 1_795_478_400 * 1_000_000 and end - start == 86_400 * 1_000_000
