"""The small pieces the matcher is built from: whether an offer meets a request, and the
greedy plan of fills a request would take from a walk of the book."""

from __future__ import annotations

from collections.abc import Iterable

from marketplace.orders import MAX_CIRCUITS, Order, TimeInForce
from marketplace.parameters import Parameter

ALL_OR_NONE = TimeInForce.ALL_OR_NONE


def meets(offer: Order, request: Order, params: dict[str, Parameter]) -> bool:
    """An offer meets a request when its asserted values satisfy every requirement."""
    for name, required in request.values.items():
        value = offer.values.get(name)
        if value is None:
            if name == "capacity_kbps":
                value = offer.capacity_kbps
            else:
                return False
        if not params[name].better_or_equal(value, required):
            return False
    return True


class Want:
    """What a plan still wants; read by the walk so it skips all-or-none orders too big."""

    __slots__ = ("left",)

    def __init__(self, left: int) -> None:
        self.left = left

    def get(self) -> int:
        return self.left


def everything() -> int:
    return MAX_CIRCUITS


def take(candidates: Iterable[Order], want: Want) -> list[tuple[Order, int]]:
    """Greedy fills in the candidates' order; all-or-none orders only whole."""
    plan = []
    for resting in candidates:
        if not want.left:
            break
        if resting.time_in_force is ALL_OR_NONE and resting.remaining > want.left:
            continue
        take = min(want.left, resting.remaining)
        plan.append((resting, take))
        want.left -= take
    return plan


def score(order: Order) -> int:
    return order.score


def requirements(values: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(values.items()))
