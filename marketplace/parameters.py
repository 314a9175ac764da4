"""Quality parameters: what can be measured about a service, in integer units."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from marketplace import limits
from marketplace.errors import InvalidArgument


class Direction(IntEnum):
    """Whether a larger value is better (availability) or worse (latency)."""

    HIGHER_IS_BETTER = 1
    LOWER_IS_BETTER = 2


@dataclass(frozen=True, slots=True)
class Parameter:
    """A quality parameter. Values are integers in `unit`; the score range maps a value
    onto 0..1000 for weighted grading."""

    name: str
    unit: str
    direction: Direction
    description: str
    min_value: int
    max_value: int
    score_worst: int
    score_best: int

    def better_or_equal(self, value: int, bound: int) -> bool:
        """True when `value` is at least as good as `bound`."""
        if self.direction is Direction.LOWER_IS_BETTER:
            return value <= bound
        return value >= bound

    def score(self, value: int) -> int:
        """0 at score_worst or beyond, 1000 at score_best or beyond, linear between."""
        span = self.score_best - self.score_worst
        raw = (value - self.score_worst) * 1000 // span
        return max(0, min(1000, raw))

    def comparison(self) -> str:
        """The operator a bound on this parameter uses."""
        return "<=" if self.direction is Direction.LOWER_IS_BETTER else ">="

    def check_value(self, field: str, value: int) -> None:
        """Raise InvalidArgument naming `field` when value is outside the accepted range."""
        if not self.min_value <= value <= self.max_value:
            raise InvalidArgument(
                field, f"{limits.shown(value)} is outside the range {self.min_value}..{self.max_value} {self.unit}"
            )

    def clamp(self, value: int) -> int:
        """A bound computed from the market (a multiple of a median) held inside the
        parameter's range: beyond the range it means the same, and stays storable."""
        return limits.clamp(value, self.min_value, self.max_value)


def check_values(parameters: dict[str, Parameter], values: dict[str, int], field_name: str) -> None:
    """Every value must name a defined parameter and lie in its range."""
    for name, value in values.items():
        param = parameters.get(name)
        if param is None:
            raise InvalidArgument(
                limits.field_key(field_name, name),
                f"unknown parameter {limits.shown(name)} (known: {', '.join(sorted(parameters))})",
            )
        if not param.min_value <= value <= param.max_value:  # the message is built only for a refusal
            param.check_value(f"{field_name}.{name}", value)


def validate_parameter(p: Parameter) -> None:
    """Reject a parameter definition that cannot work."""
    limits.PARAMETER_NAME.check("parameter.name", p.name)
    limits.PARAMETER_UNIT.check("parameter.unit", p.unit)
    limits.DESCRIPTION.check("parameter.description", p.description)
    for name in ("min_value", "max_value", "score_worst", "score_best"):
        limits.check_int(f"parameter.{name}", getattr(p, name), -limits.INT64_MAX - 1, limits.INT64_MAX)
    if p.direction not in (Direction.HIGHER_IS_BETTER, Direction.LOWER_IS_BETTER):
        raise InvalidArgument("parameter.direction", "must be HIGHER_IS_BETTER or LOWER_IS_BETTER")
    if p.min_value > p.max_value:
        raise InvalidArgument("parameter.min_value", "must not exceed max_value")
    if p.score_worst == p.score_best:
        raise InvalidArgument("parameter.score_best", "must differ from score_worst")
    better_is_higher = p.score_best > p.score_worst
    if better_is_higher != (p.direction is Direction.HIGHER_IS_BETTER):
        raise InvalidArgument("parameter.score_best", "must lie on the better side of score_worst")


def _p(
    name: str, unit: str, direction: Direction, description: str, lo: int, hi: int, worst: int, best: int
) -> Parameter:
    return Parameter(name, unit, direction, description, lo, hi, worst, best)


LOWER = Direction.LOWER_IS_BETTER
HIGHER = Direction.HIGHER_IS_BETTER

# Built-in parameters. Integer units keep money-grade exactness: ppm for ratios,
# microseconds for delay. Score ranges are typical carrier SLA spans.
DEFAULT_PARAMETERS: tuple[Parameter, ...] = (
    _p("capacity_kbps", "kbps", HIGHER, "Capacity per circuit", 1, 1_000_000_000, 1_000, 100_000_000),
    _p("latency_us", "us", LOWER, "One-way latency", 0, 10_000_000, 150_000, 1_000),
    _p("jitter_us", "us", LOWER, "Packet delay variation", 0, 10_000_000, 30_000, 100),
    _p("loss_ppm", "ppm", LOWER, "Packet loss, parts per million", 0, 1_000_000, 10_000, 0),
    _p("availability_ppm", "ppm", HIGHER, "Availability, parts per million", 0, 1_000_000, 990_000, 999_990),
    _p("asr_ppm", "ppm", HIGHER, "Voice answer-seizure ratio", 0, 1_000_000, 300_000, 700_000),
    _p("acd_s", "s", HIGHER, "Voice average call duration", 0, 86_400, 30, 300),
    _p("pdd_ms", "ms", LOWER, "Voice post-dial delay", 0, 120_000, 8_000, 1_000),
)
