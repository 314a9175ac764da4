"""Classing: bands, weights, median-following boundaries, scheme validation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.classing import (
    Band,
    ClassScheme,
    Grade,
    MedianTracker,
    classify,
    compile_scheme,
    grade_of,
    validate_scheme,
)
from marketplace.errors import InvalidArgument
from marketplace.orders import ServiceType
from marketplace.parameters import DEFAULT_PARAMETERS, Direction, Parameter, validate_parameter
from tests.unit.factories import BRONZE, GOLD, PLATINUM, SILVER, new_engine

PARAMS = {p.name: p for p in DEFAULT_PARAMETERS}


@pytest.mark.parametrize(
    ("values", "grade"),
    [(PLATINUM, "platinum"), (GOLD, "gold"), (SILVER, "silver"), (BRONZE, "bronze")],
)
def test_default_scheme_grades_values(values: dict[str, int], grade: str) -> None:
    engine = new_engine()
    result = engine.classify(engine.schemes["circuits"], values)
    assert result.grade == grade
    assert grade in result.reason()


def test_values_below_every_grade_get_no_grade_and_say_why() -> None:
    engine = new_engine()
    result = engine.classify(engine.schemes["circuits"], {**BRONZE, "loss_ppm": 20_000})
    assert result.grade == ""
    assert "loss_ppm 20000 not <= 10000" in result.reason()


def test_missing_value_fails_the_band_that_needs_it() -> None:
    engine = new_engine()
    values = dict(PLATINUM)
    del values["jitter_us"]
    result = engine.classify(engine.schemes["circuits"], values)
    assert result.grade == "bronze"  # only bronze has no jitter band
    assert "jitter_us not given" in result.verdicts[0].first_failure()


def test_weighted_score_gates_a_grade() -> None:
    # Bands alone would pass, but weights make latency count: score below min_score.
    scheme = ClassScheme(
        "w",
        1,
        (ServiceType.IP_TRANSIT,),
        (Grade("top", (Band("loss_ppm", fixed=100),), min_score=900), Grade("rest", ())),
        {"latency_us": 9, "loss_ppm": 1},
    )
    slow = classify(scheme, {"latency_us": 140_000, "loss_ppm": 0}, PARAMS, MedianTracker())
    fast = classify(scheme, {"latency_us": 1_000, "loss_ppm": 0}, PARAMS, MedianTracker())
    assert (slow.grade, fast.grade) == ("rest", "top")
    assert slow.score < 900 <= fast.score


def test_parameter_score_is_clamped_and_direction_aware() -> None:
    latency = PARAMS["latency_us"]
    availability = PARAMS["availability_ppm"]
    assert latency.score(1_000) == 1000 and latency.score(500) == 1000
    assert latency.score(150_000) == 0 and latency.score(400_000) == 0
    assert availability.score(999_990) == 1000 and availability.score(900_000) == 0


def test_median_bound_starts_at_initial_and_follows_the_class_median() -> None:
    scheme = ClassScheme(
        "med",
        1,
        (ServiceType.IP_TRANSIT,),
        (Grade("a", (Band("latency_us", median_permille=1100, initial=10_000),)), Grade("b", ())),
        {},
    )
    medians = MedianTracker()
    assert classify(scheme, {"latency_us": 10_000}, PARAMS, medians).grade == "a"
    for v in (2_000, 2_000, 3_000):
        medians.add("med", "a", {"latency_us": v}, {"latency_us"})
    # median 2000 -> bound 2200: what qualified before no longer does.
    assert classify(scheme, {"latency_us": 10_000}, PARAMS, medians).grade == "b"
    result = classify(scheme, {"latency_us": 2_100}, PARAMS, medians)
    assert result.grade == "a"
    assert result.verdicts[0].checks[0].bound == 2_200


def test_median_window_forgets_old_values() -> None:
    medians = MedianTracker()
    for _ in range(1001):
        medians.add("s", "g", {"p": 100}, {"p"})
    for _ in range(1001):
        medians.add("s", "g", {"p": 900}, {"p"})
    assert medians.median("s", "g", "p") == 900


def test_engine_medians_move_as_offers_arrive() -> None:
    from tests.unit.factories import offer

    engine = new_engine()
    scheme = ClassScheme(
        "transit-med",
        0,
        (ServiceType.IP_TRANSIT,),
        (Grade("fast", (Band("latency_us", median_permille=1000, initial=50_000),)), Grade("any", ())),
        {},
    )
    stored = engine.define_scheme(scheme, 1)
    assert stored.version == 1
    first = engine.submit(offer(values={"latency_us": 30_000}, service=ServiceType.IP_TRANSIT), 2)
    assert first.order is not None and first.order.grade == "fast"
    assert engine.effective_bounds(stored)[("fast", "latency_us")] == 30_000
    second = engine.submit(offer(values={"latency_us": 40_000}, service=ServiceType.IP_TRANSIT), 3)
    assert second.order is not None and second.order.grade == "any"


@pytest.mark.parametrize(
    ("grades", "field"),
    [
        ((), "scheme.grades"),
        ((Grade("Bad Name", ()),), "scheme.grades[0].name"),
        ((Grade("a", ()), Grade("a", ())), "scheme.grades[1].name"),
        ((Grade("a", (Band("nope", fixed=1),)),), "scheme.grades[0].bands[0].parameter"),
        ((Grade("a", (Band("loss_ppm"),)),), "scheme.grades[0].bands[0].bound"),
        ((Grade("a", (Band("loss_ppm", fixed=-1),)),), "scheme.grades[0].bands[0].fixed"),
        ((Grade("a", (), min_score=1001),), "scheme.grades[0].min_score"),
    ],
)
def test_invalid_schemes_name_the_field(grades: tuple[Grade, ...], field: str) -> None:
    scheme = ClassScheme("x", 0, (ServiceType.IP_TRANSIT,), grades, {})
    with pytest.raises(InvalidArgument) as err:
        validate_scheme(scheme, PARAMS)
    assert err.value.field == field


def test_parameter_definition_rules() -> None:
    good = Parameter("mos_x100", "mos", Direction.HIGHER_IS_BETTER, "MOS x100", 100, 500, 300, 440)
    validate_parameter(good)
    with pytest.raises(InvalidArgument, match=r"parameter.score_best"):
        validate_parameter(Parameter("mos_x100", "mos", Direction.LOWER_IS_BETTER, "", 100, 500, 300, 440))
    with pytest.raises(InvalidArgument, match=r"parameter.name"):
        validate_parameter(Parameter("MOS", "mos", Direction.HIGHER_IS_BETTER, "", 100, 500, 300, 440))


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "latency_us": st.integers(0, 200_000),
            "jitter_us": st.integers(0, 40_000),
            "loss_ppm": st.integers(0, 20_000),
            "availability_ppm": st.integers(980_000, 1_000_000),
        },
    ),
    st.lists(st.integers(1_000, 60_000), max_size=5),
)
def test_fast_grade_agrees_with_the_explained_classification(values: dict[str, int], history: list[int]) -> None:
    scheme = ClassScheme(
        "mixed",
        1,
        (ServiceType.IP_TRANSIT,),
        (
            Grade("a", (Band("latency_us", median_permille=900, initial=5_000), Band("loss_ppm", fixed=10)), 700),
            Grade("b", (Band("availability_ppm", fixed=999_000),), 300),
            Grade("c", ()),
        ),
        {"latency_us": 2, "loss_ppm": 1, "availability_ppm": 1},
    )
    medians = MedianTracker()
    for latency in history:
        medians.add("mixed", "a", {"latency_us": latency}, {"latency_us"})
    explained = classify(scheme, values, PARAMS, medians)
    assert grade_of(compile_scheme(scheme, PARAMS), values, medians) == (explained.grade, explained.score)


def test_redefining_the_same_scheme_makes_no_new_version() -> None:
    engine = new_engine()
    current = engine.schemes["circuits"]
    again = engine.define_scheme(
        ClassScheme("circuits", 0, current.service_types, current.grades, dict(current.weights)), 5
    )
    assert again.version == 1 and not engine.drain()


VALUE_RANGES = {
    "latency_us": st.integers(0, 200_000),
    "jitter_us": st.integers(0, 40_000),
    "loss_ppm": st.integers(0, 20_000),
    "availability_ppm": st.integers(980_000, 1_000_000),
}


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries(VALUE_RANGES), st.sampled_from(sorted(VALUE_RANGES)), st.integers(1, 50_000))
def test_default_grades_are_monotone(values: dict[str, int], improved: str, step: int) -> None:
    """In the shipped scheme a better value never earns a worse grade."""
    engine = new_engine()
    scheme = engine.schemes["circuits"]
    better = dict(values)
    param = PARAMS[improved]
    better[improved] = (
        max(param.min_value, values[improved] - step)
        if param.direction is Direction.LOWER_IS_BETTER
        else min(param.max_value, values[improved] + step)
    )
    rank = {g: i for i, g in enumerate(scheme.grade_names)} | {"": len(scheme.grades)}
    assert rank[engine.classify(scheme, better).grade] <= rank[engine.classify(scheme, values).grade]
