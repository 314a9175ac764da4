"""The market report: what traded, by class, route and circuit size, over a window.

One row per (class scheme, grade, service, route, circuit capacity): prices are per
circuit, so circuits of different sizes are not averaged together. The median delivered
quality is the median of the row's measured deals' latest delivered scores (0-1000 under
their class scheme); empty when none of them was measured.

Participants see anonymised market data: a row only when it aggregates at least
`min_deals` deals with at least two sellers and two buyers, over whole UTC hours, so
no window can be narrowed onto one deal and no row describes one counterparty's trades.
Operators see every row and any window."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from marketplace.deals import Deal, DealStatus
from marketplace.errors import InvalidArgument
from marketplace.limits import MAX_TIME_US
from marketplace.orders import Route, ServiceType

MAX_WINDOW = 366 * 86_400 * 1_000_000  # a year of microseconds
HOUR = 3600 * 1_000_000


@dataclass(slots=True)
class MarketRow:
    class_scheme: str
    grade: str
    service_type: ServiceType
    route: Route
    capacity_kbps: int
    deals: int = 0
    circuits: int = 0
    total_value: int = 0  # sum of price x circuits, minor units
    min_price: int = 0
    max_price: int = 0
    median_quality: int | None = None  # median delivered score of its measured deals
    sellers: int = 0  # distinct sellers and buyers in the row
    buyers: int = 0

    @property
    def volume_kbps(self) -> int:
        return self.circuits * self.capacity_kbps

    @property
    def vwap(self) -> int:
        """Volume-weighted average price per circuit, rounded half up to a minor unit."""
        return (2 * self.total_value + self.circuits) // (2 * self.circuits) if self.circuits else 0

    def add(self, deal: Deal) -> None:
        self.min_price = deal.price if not self.deals else min(self.min_price, deal.price)
        self.max_price = max(self.max_price, deal.price)
        self.deals += 1
        self.circuits += deal.circuits
        self.total_value += deal.price * deal.circuits


def check_window(start: int, end: int) -> None:
    if start < 0:
        raise InvalidArgument("start", "must not be before 1970")
    if end <= start:
        raise InvalidArgument("end", "must be after start")
    if end - start > MAX_WINDOW:
        raise InvalidArgument("end", "a report window is at most 366 days")


def market_report(deals: Iterable[Deal], start: int, end: int) -> list[MarketRow]:
    """Aggregate the deals struck in [start, end) and not void (PROVISIONING_FAILED), rows
    sorted by service, route, class and capacity. (The store aggregates the same way in SQL; this is the reference its
    tests compare with.)"""
    check_window(start, end)
    rows: dict[tuple[str, str, ServiceType, Route, int], MarketRow] = {}
    parties: dict[tuple[str, str, ServiceType, Route, int], tuple[set[str], set[str]]] = {}
    for d in deals:
        if not start <= d.created_at < end or d.status is DealStatus.PROVISIONING_FAILED:
            continue  # outside the window, or void: nothing was delivered, nothing is charged
        key = (d.class_scheme, d.grade, d.service_type, d.route, d.capacity_kbps)
        row = rows.get(key)
        if row is None:
            row = rows[key] = MarketRow(*key)
            parties[key] = (set(), set())
        row.add(d)
        parties[key][0].add(d.seller)
        parties[key][1].add(d.buyer)
    for key, (sellers, buyers) in parties.items():
        rows[key].sellers, rows[key].buyers = len(sellers), len(buyers)
    return sorted_rows(rows.values())


def sorted_rows(rows: Iterable[MarketRow]) -> list[MarketRow]:
    return sorted(rows, key=lambda r: (r.service_type, r.route, r.class_scheme, r.grade, r.capacity_kbps))


def publishable(rows: Iterable[MarketRow], min_deals: int) -> list[MarketRow]:
    """The rows a participant may see: enough deals and more than one seller and buyer."""
    return [r for r in rows if r.deals >= min_deals and r.sellers >= 2 and r.buyers >= 2]


def whole_hours(start: int, end: int) -> tuple[int, int]:
    """A participant's window widened to whole UTC hours (the report says which)."""
    return start - start % HOUR, min(end + (-end) % HOUR, MAX_TIME_US)


def day_window(day: date) -> tuple[int, int]:
    """One UTC calendar day as [start, end) in microseconds."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    end = start + timedelta(days=1)
    return int(start.timestamp()) * 1_000_000, int(end.timestamp()) * 1_000_000


CSV_COLUMNS = (
    "window_start",
    "window_end",
    "class_scheme",
    "grade",
    "service_type",
    "a_end",
    "z_end",
    "capacity_kbps",
    "deals",
    "circuits",
    "volume_kbps",
    "vwap",
    "min_price",
    "max_price",
    "total_value",
    "median_quality",
)
