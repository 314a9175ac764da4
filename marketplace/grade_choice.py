"""Which grade a new order gets, who chose it and why: the seller's or buyer's own choice
(checked), or the server's from the values (claims 39-42, 54). Pure: the engine passes the
compiled scheme, the class medians and a way to build the full explanation."""

from __future__ import annotations

from collections.abc import Callable

from marketplace import fills, limits
from marketplace.classing import (
    Classification,
    ClassScheme,
    CompiledScheme,
    MedianTracker,
    check_chosen_grade,
    grade_of,
)
from marketplace.errors import InvalidArgument
from marketplace.orders import ClassAssignment, OrderInput, Side


def choose_grade(
    o: OrderInput,
    scheme: ClassScheme,
    compiled: CompiledScheme,
    values: dict[str, int],
    values_field: str,
    medians: MedianTracker,
    classify: Callable[[], Classification],
) -> tuple[str, ClassAssignment, str, int]:
    """The order's grade, who chose it, a one-line reason and the quality score. The
    full per-band explanation is built only to word a refusal (and by the Classify
    dry run)."""
    where = f"{scheme.name} v{scheme.version}"
    if o.propose_class:
        if o.grade:
            raise InvalidArgument("grade", "leave it empty to have the server propose the class")
        if not o.values:
            raise InvalidArgument("requirements", "give per-parameter requirements to class a proposal from")
    if o.grade:
        if scheme.grade(o.grade) is None:
            raise InvalidArgument(
                "grade",
                f"no grade {limits.shown(o.grade)} in {scheme.name} (grades: {', '.join(scheme.grade_names)})",
            )
        if o.side is Side.REQUEST:
            # A buyer's requirements only narrow which offers of the grade it accepts.
            extra = f"; requirements {fills.requirements(o.values)}" if o.values else ""
            return o.grade, ClassAssignment.BUYER, f"{o.grade} in {where} chosen by the buyer{extra}", 0
        best, score = grade_of(compiled, values, medians)
        if best != o.grade:  # grades need not nest: only the full check can tell
            check_chosen_grade(classify(), o.grade, values_field)
        return o.grade, ClassAssignment.SELLER, f"{o.grade} in {where} chosen by the seller; score {score}", score
    if o.side is Side.REQUEST and not o.values:
        raise InvalidArgument("grade", "give a grade or per-parameter requirements")
    grade, score = grade_of(compiled, values, medians)
    if not grade:
        lowest = classify().verdicts[-1]
        raise InvalidArgument(
            values_field, f"qualifies for no grade of {scheme.name}: {lowest.grade} needs {lowest.first_failure()}"
        )
    how = "proposed by the server for the buyer's approval" if o.propose_class else "from the values"
    return grade, ClassAssignment.SERVER, f"{grade} in {where} {how}; score {score}", score
