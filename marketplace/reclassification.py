"""Reclassification of offers and live services by the quality they deliver (claims 45-48,
56, 58). Pure: the measurement edge feeds it one window of delivered values at a time.

The rule, per subject (an offer under verification or for sale, or a live deal):

- **Threshold (46).** The subject keeps its class while its delivered values stay within
  the class's bands loosened by `threshold_permille` of each bound's distance from the
  parameter's best value (at least the parameter's floor). Beyond that it moves down, to
  the best lower class whose bands, loosened the same way, hold the values, or out of
  every class.
- **Hysteresis (47).** It moves up only when its values sit inside a better class's bands
  tightened by `hysteresis_permille` (at least the floor), never above `ceiling` (an
  offer: the class its seller asserted; a deal: the class bought). Between the loosened
  and the tightened edge nothing moves, so values oscillating around a band edge do not
  flap the class; and a move happens only after `hold` consecutive windows indicate the
  same class.
- **Class median (48).** Bands that follow the class median are resolved by the caller
  against the median of the values the class *delivers* (not what sellers assert), so the
  bounds in `Limit` move with the typical delivered quality of the class.

A grade's minimum weighted score counts as one more limit ("score", higher is better).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from marketplace.classing import MAX_SCORE, ClassScheme, MedianTracker, effective_bound, weighted_score
from marketplace.parameters import Direction, Parameter

SCORE = "score"  # the pseudo-parameter a grade's minimum weighted score is checked as


@dataclass(frozen=True, slots=True)
class Policy:
    threshold_permille: int = 100  # a move down needs values 10 % of a bound beyond it
    hysteresis_permille: int = 100  # a move up needs values 10 % of a bound inside it
    hold: int = 3  # consecutive windows that must indicate the same move
    # Per parameter, the least slack either way (a bound of 0 ppm loss has no 10 %).
    floors: tuple[tuple[str, int], ...] = (
        ("latency_us", 500),
        ("jitter_us", 200),
        ("loss_ppm", 200),
        ("availability_ppm", 100),
        (SCORE, 20),
    )

    def floor(self, parameter: str) -> int:
        return next((f for p, f in self.floors if p == parameter), 0)

    def at_resolution(self, probes: int, intervals: int) -> Policy:
        """This policy with the loss and availability floors raised to what `probes` probes
        over `intervals` intervals can resolve: one lost probe, one silent interval. A
        difference the measurement cannot tell from zero never moves a class."""
        least = {"loss_ppm": 1_000_000 // max(probes, 1), "availability_ppm": 1_000_000 // max(intervals, 1)}
        floors = tuple((p, max(f, least.get(p, 0))) for p, f in self.floors)
        return Policy(self.threshold_permille, self.hysteresis_permille, self.hold, floors)


@dataclass(frozen=True, slots=True)
class Limit:
    """One band of one class, resolved to the bound in force. Slack is a share of the
    distance from the bound to the parameter's best value (10 % of 10 ms latency is 1 ms;
    10 % of 99.9 % availability is 0.01 %, a tenth of its unavailability)."""

    parameter: str
    bound: int
    lower_is_better: bool
    best: int = 0  # the parameter's best value (0 for latency, 10^6 ppm for availability)


def fits(limits: Sequence[Limit], values: Mapping[str, int], slack_permille: int, policy: Policy) -> bool:
    """Whether `values` meet every limit moved by `slack_permille` of its distance from the
    best value (positive: loosened, negative: tightened; at least the parameter's floor
    either way). A value not measured meets nothing."""
    return not misses(limits, values, slack_permille, policy)


def misses(limits: Sequence[Limit], values: Mapping[str, int], slack_permille: int, policy: Policy) -> list[Limit]:
    """The limits `values` do not meet, moved as in `fits`."""
    missed = []
    for limit in limits:
        value = values.get(limit.parameter)
        if value is None:
            missed.append(limit)
            continue
        distance = abs(limit.bound - limit.best)
        allowance = max(distance * abs(slack_permille) // 1000, policy.floor(limit.parameter))
        if slack_permille < 0:  # tightened, never past the best value: a class stays reachable
            allowance = -min(allowance, distance)
        if value > limit.bound + allowance if limit.lower_is_better else value < limit.bound - allowance:
            missed.append(limit)
    return missed


def indicated(
    grades: Sequence[Sequence[Limit]], current: int, values: Mapping[str, int], policy: Policy, ceiling: int = 0
) -> int:
    """The class (index into `grades`, best first; len(grades): no class) that one window
    of `values` indicates for a subject now in class `current`."""
    unclassed = len(grades)
    if current < unclassed and not fits(grades[current], values, policy.threshold_permille, policy):
        # Down: the best lower class that holds the values with the threshold's slack.
        lower = range(max(current + 1, ceiling), unclassed)
        return next((i for i in lower if fits(grades[i], values, policy.threshold_permille, policy)), unclassed)
    # Up (or, unclassed, into a class): the best class above the current one, not above
    # the ceiling, that holds the values with the hysteresis margin to spare.
    for i in range(ceiling, min(current, unclassed)):
        if fits(grades[i], values, -policy.hysteresis_permille, policy):
            return i
    return current


@dataclass(frozen=True, slots=True)
class Standing:
    """A subject's class and the move its recent windows point at."""

    grade: int
    pending: int  # the class the last `count` windows indicated (== grade: none pending)
    count: int = 0


def step(
    standing: Standing,
    grades: Sequence[Sequence[Limit]],
    values: Mapping[str, int],
    policy: Policy,
    ceiling: int = 0,
) -> Standing:
    """One window of delivered values: the subject's standing after it. A move happens on
    the `policy.hold`-th consecutive window indicating the same class."""
    target = indicated(grades, standing.grade, values, policy, ceiling)
    if target == standing.grade:
        return Standing(standing.grade, standing.grade)
    count = standing.count + 1 if target == standing.pending else 1
    if count >= policy.hold:
        return Standing(target, target)
    return Standing(standing.grade, target, count)


def limits_of(
    scheme: ClassScheme, params: Mapping[str, Parameter], delivered_medians: MedianTracker
) -> list[list[Limit]]:
    """Each grade's limits, best first, with median-relative bands resolved against the
    medians of delivered values."""
    out = []
    for grade in scheme.grades:
        limits = []
        for band in grade.bands:
            param = params[band.parameter]
            lower = param.direction is Direction.LOWER_IS_BETTER
            bound = effective_bound(band, scheme.name, grade.name, delivered_medians, param)
            limits.append(Limit(band.parameter, bound, lower, param.min_value if lower else param.max_value))
        if grade.min_score:
            limits.append(Limit(SCORE, grade.min_score, False, MAX_SCORE))
        out.append(limits)
    return out


def with_score(values: Mapping[str, int], scheme: ClassScheme, params: Mapping[str, Parameter]) -> dict[str, int]:
    """The values plus their weighted score under `scheme` (for grades with a minimum)."""
    return {**values, SCORE: weighted_score(dict(values), scheme.weights, dict(params))}


def described(missed: Sequence[Limit], values: Mapping[str, int]) -> str:
    """The limits missed, each with the value measured: "latency_us=12000 (needs <= 5000)"."""
    parts = []
    for limit in missed:
        value = values.get(limit.parameter)
        shown = "not measured" if value is None else str(value)
        sign = "<=" if limit.lower_is_better else ">="
        parts.append(f"{limit.parameter}={shown} (needs {sign} {limit.bound})")
    return ", ".join(parts) or "values at the edge of its bands"
