"""Class schemes: grades defined by bands on a chosen subset of parameters and by a
weighted score, with boundaries that may follow the class median.

A scheme lists grades best first. A set of values gets the first grade whose every
band it meets and whose minimum weighted score it reaches.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from sortedcontainers import SortedList

from marketplace import limits
from marketplace.errors import InvalidArgument
from marketplace.orders import ServiceType
from marketplace.parameters import Direction, Parameter

MEDIAN_WINDOW = 1001  # offers per grade and parameter the median is taken over
MAX_SCORE = 1000


@dataclass(frozen=True, slots=True)
class Band:
    """A limit on one parameter: a fixed value, or permille/1000 of the class median
    (`initial` until the class has a median)."""

    parameter: str
    fixed: int | None = None
    median_permille: int | None = None
    initial: int = 0

    @property
    def follows_median(self) -> bool:
        return self.median_permille is not None


@dataclass(frozen=True, slots=True)
class Grade:
    """One class of a scheme."""

    name: str
    bands: tuple[Band, ...]
    min_score: int = 0


@dataclass(frozen=True, slots=True)
class ClassScheme:
    """A versioned set of grades for some service types."""

    name: str
    version: int
    service_types: tuple[ServiceType, ...]
    grades: tuple[Grade, ...]
    weights: dict[str, int]
    created_at: int = 0

    def grade(self, name: str) -> Grade | None:
        for g in self.grades:
            if g.name == name:
                return g
        return None

    @property
    def grade_names(self) -> list[str]:
        return [g.name for g in self.grades]


@dataclass(frozen=True, slots=True)
class BandCheck:
    """One band applied to one value."""

    parameter: str
    value: int | None
    bound: int
    passed: bool
    rule: str


@dataclass(frozen=True, slots=True)
class GradeVerdict:
    """Whether a set of values qualifies for one grade, and why."""

    grade: str
    qualifies: bool
    score: int
    min_score: int
    checks: tuple[BandCheck, ...]

    def first_failure(self) -> str:
        for c in self.checks:
            if not c.passed:
                return c.rule
        return f"score {self.score} < minimum {self.min_score}"


@dataclass(frozen=True, slots=True)
class Classification:
    """The outcome of classing a set of values under one scheme version."""

    scheme: str
    version: int
    grade: str  # empty: no grade qualifies
    score: int
    verdicts: tuple[GradeVerdict, ...]

    def reason(self) -> str:
        """One line a participant can read: why this grade."""
        if not self.grade:
            lowest = self.verdicts[-1]
            return f"no grade of {self.scheme} v{self.version}: {lowest.grade} needs {lowest.first_failure()}"
        chosen = next(v for v in self.verdicts if v.grade == self.grade)
        rules = ", ".join(c.rule for c in chosen.checks) or "no bands"
        return f"{self.grade} in {self.scheme} v{self.version}: {rules}; score {chosen.score}"


@dataclass(slots=True)
class _Window:
    """The last MEDIAN_WINDOW values, kept sorted for an O(log n) median."""

    arrival: deque[int] = field(default_factory=deque)  # oldest first, to evict
    ranked: SortedList = field(default_factory=SortedList)  # the same values, sorted

    def add(self, value: int) -> None:
        self.arrival.append(value)
        self.ranked.add(value)
        if len(self.arrival) > MEDIAN_WINDOW:
            self.ranked.remove(self.arrival.popleft())

    def median(self) -> int | None:
        n = len(self.ranked)
        if n == 0:
            return None
        if n % 2:
            return int(self.ranked[n // 2])
        return (int(self.ranked[n // 2 - 1]) + int(self.ranked[n // 2])) // 2


class MedianTracker:
    """Running median of each parameter over the recent offers of each grade of a scheme.

    Keyed by scheme name (not version) so a new version starts from the market as it is.
    Fed in order of acceptance, so a restart that feeds the stored offers in order id
    order reaches the same medians."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, str, str], _Window] = {}

    def add(self, scheme: str, grade: str, values: dict[str, int], parameters: set[str]) -> None:
        """Record an offer's values for the parameters that follow a median."""
        for name in parameters:
            value = values.get(name)
            if value is not None:
                key = (scheme, grade, name)
                window = self._windows.get(key)
                if window is None:
                    window = self._windows[key] = _Window()
                window.add(value)

    def median(self, scheme: str, grade: str, parameter: str) -> int | None:
        window = self._windows.get((scheme, grade, parameter))
        return window.median() if window else None


def effective_bound(band: Band, scheme: str, grade: str, medians: MedianTracker, param: Parameter) -> int:
    """The boundary in force now for a band, inside the parameter's range (a multiple of
    the median can leave it, and then means the range's end)."""
    if band.fixed is not None:
        return band.fixed
    median = medians.median(scheme, grade, band.parameter)
    if median is None or band.median_permille is None:
        return band.initial
    return param.clamp(median * band.median_permille // 1000)


def median_parameters(scheme: ClassScheme) -> set[str]:
    """Parameters whose bands follow the median somewhere in the scheme."""
    return {b.parameter for g in scheme.grades for b in g.bands if b.follows_median}


def weighted_score(values: dict[str, int], weights: dict[str, int], params: dict[str, Parameter]) -> int:
    """Weighted mean of per-parameter scores, 0..1000. A weighted parameter without a
    value scores 0: a party that does not state a value gets no credit for it."""
    total = sum(weights.values())
    if total == 0:
        return 0
    acc = 0
    for name, weight in weights.items():
        value = values.get(name)
        if value is not None and weight:
            acc += weight * params[name].score(value)
    return acc // total


def classify(
    scheme: ClassScheme,
    values: dict[str, int],
    params: dict[str, Parameter],
    medians: MedianTracker,
) -> Classification:
    """Class a set of values: the first grade (best first) that they qualify for."""
    score = weighted_score(values, scheme.weights, params)
    verdicts = []
    chosen = ""
    for grade in scheme.grades:
        checks = []
        for band in grade.bands:
            param = params[band.parameter]
            bound = effective_bound(band, scheme.name, grade.name, medians, param)
            value = values.get(band.parameter)
            op = param.comparison()
            if value is None:
                checks.append(
                    BandCheck(band.parameter, None, bound, False, f"{band.parameter} not given ({op} {bound})")
                )
                continue
            passed = param.better_or_equal(value, bound)
            mark = op if passed else f"not {op}"
            checks.append(BandCheck(band.parameter, value, bound, passed, f"{band.parameter} {value} {mark} {bound}"))
        qualifies = all(c.passed for c in checks) and score >= grade.min_score
        verdicts.append(GradeVerdict(grade.name, qualifies, score, grade.min_score, tuple(checks)))
        if qualifies and not chosen:
            chosen = grade.name
    return Classification(scheme.name, scheme.version, chosen, score, tuple(verdicts))


@dataclass(frozen=True, slots=True)
class CompiledScheme:
    """A scheme flattened for the hot path: plain tuples, directions resolved."""

    scheme: ClassScheme
    weights: tuple[tuple[str, int, int, int], ...]  # (parameter, weight, score_worst, span)
    total_weight: int
    grades: tuple[tuple[str, int, tuple[tuple[str, bool, int | None, Band, Parameter], ...]], ...]
    # Answers of grade_of by value set, when every band is fixed (no market medians): a
    # market repeats a few value sets, so most orders are classed by one lookup.
    memo: dict[tuple[tuple[str, int], ...], tuple[str, int]] | None = None


MEMO_SIZE = 4096  # value sets remembered per scheme; forgotten all at once when full


def compile_scheme(scheme: ClassScheme, params: dict[str, Parameter]) -> CompiledScheme:
    weights = tuple(
        (name, w, params[name].score_worst, params[name].score_best - params[name].score_worst)
        for name, w in sorted(scheme.weights.items())
        if w
    )
    grades = tuple(
        (
            g.name,
            g.min_score,
            tuple(
                (
                    b.parameter,
                    params[b.parameter].direction is Direction.LOWER_IS_BETTER,
                    b.fixed,
                    b,
                    params[b.parameter],
                )
                for b in g.bands
            ),
        )
        for g in scheme.grades
    )
    fixed = all(b.fixed is not None for g in scheme.grades for b in g.bands)
    return CompiledScheme(scheme, weights, sum(w for _, w, _, _ in weights), grades, {} if fixed else None)


def grade_of(compiled: CompiledScheme, values: dict[str, int], medians: MedianTracker) -> tuple[str, int]:
    """The grade `classify` would give, and the score, without building the explanation:
    the hot path of every order. Must agree with `classify` (a property test checks)."""
    memo = compiled.memo
    if memo is None:
        return _grade_of(compiled, values, medians)
    key = tuple(values.items())
    found = memo.get(key)
    if found is None:
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        found = memo[key] = _grade_of(compiled, values, medians)
    return found


def _grade_of(compiled: CompiledScheme, values: dict[str, int], medians: MedianTracker) -> tuple[str, int]:
    score = 0
    if compiled.total_weight:
        acc = 0
        for name, weight, worst, span in compiled.weights:
            value = values.get(name)
            if value is not None:
                acc += weight * max(0, min(1000, (value - worst) * 1000 // span))
        score = acc // compiled.total_weight
    scheme_name = compiled.scheme.name
    for grade, min_score, bands in compiled.grades:
        if score < min_score:
            continue
        for parameter, lower_is_better, fixed, band, param in bands:
            value = values.get(parameter)
            if value is None:
                break
            bound = fixed if fixed is not None else effective_bound(band, scheme_name, grade, medians, param)
            if (value > bound) if lower_is_better else (value < bound):
                break
        else:
            return grade, score
    return "", score


def check_chosen_grade(result: Classification, grade: str, field_name: str) -> None:
    """A party-chosen grade must be supported by the party's own values; the error names
    the parameter that fails."""
    verdict = next(v for v in result.verdicts if v.grade == grade)
    if verdict.qualifies:
        return
    for check in verdict.checks:
        if not check.passed:
            raise InvalidArgument(f"{field_name}.{check.parameter}", f"{check.rule} required by grade {grade}")
    raise InvalidArgument(
        field_name, f"weighted score {verdict.score} is below {verdict.min_score} required by grade {grade}"
    )


def validate_scheme(scheme: ClassScheme, params: dict[str, Parameter]) -> None:
    """Reject a scheme definition that cannot class anything sensibly."""
    limits.SCHEME_NAME.check("scheme.name", scheme.name)
    if not scheme.service_types:
        raise InvalidArgument("scheme.service_types", "must name at least one service type")
    if not 1 <= len(scheme.grades) <= limits.MAX_GRADES:
        raise InvalidArgument("scheme.grades", f"must define 1..{limits.MAX_GRADES} grades")
    seen: set[str] = set()
    for i, grade in enumerate(scheme.grades):
        where = f"scheme.grades[{i}]"
        limits.GRADE_NAME.check(f"{where}.name", grade.name)
        if grade.name in seen:
            raise InvalidArgument(f"{where}.name", f"grade {grade.name} is defined twice")
        seen.add(grade.name)
        if not 0 <= grade.min_score <= MAX_SCORE:
            raise InvalidArgument(f"{where}.min_score", f"must be 0..{MAX_SCORE}")
        band_params: set[str] = set()
        for j, band in enumerate(grade.bands):
            bwhere = f"{where}.bands[{j}]"
            param = params.get(band.parameter)
            if param is None:
                raise InvalidArgument(f"{bwhere}.parameter", f"unknown parameter {limits.shown(band.parameter)}")
            if band.parameter in band_params:
                raise InvalidArgument(f"{bwhere}.parameter", f"{band.parameter} has two bands in one grade")
            band_params.add(band.parameter)
            if (band.fixed is None) == (band.median_permille is None):
                raise InvalidArgument(f"{bwhere}.bound", "must be either fixed or median")
            if band.fixed is not None:
                param.check_value(f"{bwhere}.fixed", band.fixed)
            elif band.median_permille is not None:
                if not 1 <= band.median_permille <= 100_000:
                    raise InvalidArgument(f"{bwhere}.median.permille", "must be 1..100000")
                param.check_value(f"{bwhere}.median.initial", band.initial)
    for name, weight in scheme.weights.items():
        if name not in params:
            raise InvalidArgument("scheme.weights", f"unknown parameter {limits.shown(name)}")
        if not 0 <= weight <= 1000:
            raise InvalidArgument(f"scheme.weights[{name}]", "must be 0..1000")


def _fixed(parameter: str, bound: int) -> Band:
    return Band(parameter, fixed=bound)


# Shipped so the exchange trades out of the box; documented in README.md.
DEFAULT_SCHEMES: tuple[ClassScheme, ...] = (
    ClassScheme(
        name="circuits",
        version=1,
        service_types=(ServiceType.ETHERNET_ELINE, ServiceType.IP_TRANSIT),
        grades=(
            Grade(
                "platinum",
                (
                    _fixed("latency_us", 5_000),
                    _fixed("jitter_us", 1_000),
                    _fixed("loss_ppm", 10),
                    _fixed("availability_ppm", 999_990),
                ),
                800,
            ),
            Grade(
                "gold",
                (
                    _fixed("latency_us", 20_000),
                    _fixed("jitter_us", 5_000),
                    _fixed("loss_ppm", 100),
                    _fixed("availability_ppm", 999_900),
                ),
                600,
            ),
            Grade(
                "silver",
                (
                    _fixed("latency_us", 50_000),
                    _fixed("jitter_us", 10_000),
                    _fixed("loss_ppm", 1_000),
                    _fixed("availability_ppm", 999_000),
                ),
            ),
            Grade(
                "bronze",
                (_fixed("latency_us", 150_000), _fixed("loss_ppm", 10_000), _fixed("availability_ppm", 990_000)),
            ),
        ),
        weights={"latency_us": 3, "jitter_us": 1, "loss_ppm": 3, "availability_ppm": 3},
    ),
    ClassScheme(
        name="voice",
        version=1,
        service_types=(ServiceType.VOICE_TERMINATION,),
        grades=(
            Grade("premium", (_fixed("asr_ppm", 550_000), _fixed("acd_s", 180), _fixed("pdd_ms", 2_500))),
            Grade("standard", (_fixed("asr_ppm", 450_000), _fixed("acd_s", 120), _fixed("pdd_ms", 4_000))),
            Grade("economy", (_fixed("asr_ppm", 300_000), _fixed("pdd_ms", 8_000))),
        ),
        weights={"asr_ppm": 2, "acd_s": 1, "pdd_ms": 1},
    ),
)
