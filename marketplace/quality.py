"""Delivered quality as the exchange records it (issue 12): per live deal its delivered
class next to the purchased one, each measured window as a sample of the deal's time
series, and the SLA credits assessed when a seller's service falls below what was bought
(claim 59). Records only and the pure penalty rule; the engine keeps them current
(marketplace.assurance).

Conventions, written down in README.md:
- `latency_us` is **two-way** delay (round trip less the reflector's turnaround), the
  value a class band's latency bound is compared with; jitter is mean |IPDV| of it.
- Latency and jitter are the last window's; loss and availability are rolled over the
  last `horizon` windows, the only way a probe a second can resolve small loss.
- SLA credit: a share of the deal's monthly charge (price x circuits, per circuit-month)
  tiered by how many classes below the purchased one the service fell (default 10, 20,
  30, 40, 50 %; no class at all counts as one below the lowest). Per deal and calendar
  month (UTC) the credit is that of the worst tier reached, each deeper fall topping it
  up, never above 100 % of the month's charge. An agreement sets its own tiers with
  `sla_credit_percent=5,10,25` in its terms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

DEFAULT_CREDIT_TIERS = (10, 20, 30, 40, 50)
_TIERS = re.compile(r"sla_credit_percent\s*=\s*([0-9]+(?:\s*,\s*[0-9]+)*)")


@dataclass(frozen=True, slots=True)
class QualityRecord:
    """A live deal's delivered quality now, beside what it bought."""

    deal_id: int
    offer_order_id: int
    seller: str
    buyer: str
    class_scheme: str
    scheme_version: int
    grade: str  # bought
    delivered_grade: str  # "": no class of the scheme holds the values
    degraded: bool  # delivering below the bought class
    reason: str
    latency_us: int | None  # last window; None: nothing answered
    jitter_us: int | None
    loss_ppm: int  # over the horizon
    availability_ppm: int
    probes: int  # the horizon's probes and answers
    answered: int
    windows: int  # measured since the deal went live
    updated_at: int
    score: int = 0  # the values' weighted score under the deal's scheme, 0..1000

    def state(self) -> tuple[()]:
        return ()

    def snapshot(self, state: tuple[()] | None = None) -> QualityRecord:
        return self  # immutable: a change is a new record


@dataclass(frozen=True, slots=True)
class QualitySample:
    """One measured window of one deal: its own values and the class in force after it."""

    deal_id: int
    offer_order_id: int
    seller: str
    buyer: str
    at: int
    latency_us: int | None
    jitter_us: int | None
    loss_ppm: int
    availability_ppm: int
    probes: int
    answered: int
    delivered_grade: str
    at_class: bool  # delivering at least the bought class


@dataclass(frozen=True, slots=True)
class Penalty:
    """One SLA credit the seller owes the buyer of a deal."""

    penalty_id: int
    deal_id: int
    seller: str
    buyer: str
    at: int
    grade: str  # bought
    delivered_grade: str  # "" : none
    classes_below: int
    percent: int  # the tier reached this month
    amount: int  # credited by this entry, minor currency units
    reason: str

    def state(self) -> tuple[()]:
        return ()

    def snapshot(self, state: tuple[()] | None = None) -> Penalty:
        return self


def credit_tiers(terms: str) -> tuple[int, ...]:
    """The agreement's tiers (`sla_credit_percent=5,10,25` in its terms) or the default."""
    found = _TIERS.search(terms)
    if found is None:
        return DEFAULT_CREDIT_TIERS
    return tuple(min(int(p), 100) for p in found.group(1).split(","))


def credit_percent(classes_below: int, tiers: tuple[int, ...]) -> int:
    """The share of the monthly charge owed for a fall of `classes_below` classes."""
    if classes_below <= 0 or not tiers:
        return 0
    return min(tiers[min(classes_below, len(tiers)) - 1], 100)


def credit_due(monthly_charge: int, percent: int, credited_percent: int) -> tuple[int, int]:
    """(new percent for the month, amount to credit now) when the tier reached is
    `percent` and `credited_percent` was already credited this month: only the top-up."""
    month_percent = min(max(percent, credited_percent), 100)
    top_up = month_percent - credited_percent
    return month_percent, monthly_charge * top_up // 100


def month_of(micros: int) -> int:
    """The calendar month (UTC) of a time, as yyyymm."""
    moment = datetime.fromtimestamp(micros / 1_000_000, UTC)
    return moment.year * 100 + moment.month
