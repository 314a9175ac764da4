"""Small builders for engine tests: a ready engine and concise orders."""

from __future__ import annotations

from marketplace.classing import DEFAULT_SCHEMES, ClassScheme
from marketplace.delivered import Delivered
from marketplace.engine import ExchangeEngine
from marketplace.orders import OrderInput, ServiceType, Side
from marketplace.parameters import DEFAULT_PARAMETERS

PLATINUM = {"latency_us": 4_000, "jitter_us": 500, "loss_ppm": 5, "availability_ppm": 999_995}
GOLD = {"latency_us": 15_000, "jitter_us": 2_000, "loss_ppm": 50, "availability_ppm": 999_950}
SILVER = {"latency_us": 40_000, "jitter_us": 8_000, "loss_ppm": 500, "availability_ppm": 999_500}
BRONZE = {"latency_us": 100_000, "loss_ppm": 5_000, "availability_ppm": 995_000}
G = 1_000_000  # kbit/s in a gigabit


def new_engine(*schemes: ClassScheme, keep_changes: bool = False, **options: int) -> ExchangeEngine:
    """An engine with the built-in parameters and schemes (plus `schemes`), as a new
    server seeds it. keep_changes leaves the seeding undrained, for a store to persist;
    options go to ExchangeEngine (time-to-lives, quotas)."""
    engine = ExchangeEngine(**options)
    for p in DEFAULT_PARAMETERS:
        engine.define_parameter(p)
    for s in (*DEFAULT_SCHEMES, *schemes):
        engine.define_scheme(s, 0)
    if not keep_changes:
        engine.drain()
    return engine


_counter = [0]


def offer(
    seller: str = "s1",
    price: int = 1000,
    circuits: int = 1,
    values: dict[str, int] | None = None,
    route: tuple[str, str] = ("FRA", "AMS"),
    capacity: int = G,
    grade: str = "",
    cid: str = "",
    service: ServiceType = ServiceType.ETHERNET_ELINE,
    **kw: int,
) -> OrderInput:
    _counter[0] += 1
    return OrderInput(
        seller,
        cid or f"o{_counter[0]}",
        Side.OFFER,
        service,
        route[0],
        route[1],
        capacity,
        circuits,
        dict(PLATINUM if values is None else values),
        price,
        grade,
        **kw,
    )  # type: ignore[arg-type]


def request(
    buyer: str = "b1",
    limit: int = 1000,
    circuits: int = 1,
    grade: str = "platinum",
    requirements: dict[str, int] | None = None,
    route: tuple[str, str] = ("FRA", "AMS"),
    capacity: int = G,
    cid: str = "",
    service: ServiceType = ServiceType.ETHERNET_ELINE,
    **kw: int,
) -> OrderInput:
    _counter[0] += 1
    return OrderInput(
        buyer,
        cid or f"r{_counter[0]}",
        Side.REQUEST,
        service,
        route[0],
        route[1],
        capacity,
        circuits,
        dict(requirements or {}),
        limit,
        grade,
        **kw,
    )  # type: ignore[arg-type]


def measured(latency_us: int = 2_000, lost: int = 0, probes: int = 10, jitter_us: int = 100) -> Delivered:
    """Delivered quality as the measurement point reports it: `lost` of `probes` unanswered."""
    answered = probes - lost
    return Delivered(
        probes,
        answered,
        latency_us if answered else None,
        jitter_us if answered else None,
        lost * 1_000_000 // probes,
        answered * 1_000_000 // probes,
        probes,
        answered,
    )
