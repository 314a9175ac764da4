"""The overload backlog: refusals name the limit, carry a retry hint, change nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.api.backlog import Backlog
from marketplace.errors import ResourceExhausted


def test_refuses_beyond_the_participants_share_and_the_total() -> None:
    backlog = Backlog(per_participant=3, total=5, seconds_per_command=lambda: 0.002)
    backlog.admit("a", 3)
    with pytest.raises(ResourceExhausted) as err:
        backlog.admit("a")
    assert err.value.reason == "OVERLOADED" and "IXCHANGE_MAX_ORDERS_IN_FLIGHT" in err.value.rule
    assert err.value.retry_after_s == pytest.approx(0.006)
    backlog.admit("b", 2)
    with pytest.raises(ResourceExhausted) as err:
        backlog.admit("c")
    assert "IXCHANGE_MAX_ORDERS_QUEUED" in err.value.rule
    assert backlog.waiting() == 5 and backlog.waiting("c") == 0  # the refusals took nothing


def test_refuses_what_would_outlast_the_calls_deadline() -> None:
    backlog = Backlog(per_participant=100, total=100, seconds_per_command=lambda: 0.01)
    backlog.admit("a", 10)
    with pytest.raises(ResourceExhausted) as err:
        backlog.admit("b", 1, time_left=0.1)  # 11 commands x 10 ms > 100 ms
    assert "deadline" in err.value.rule
    backlog.admit("b", 1, time_left=0.2)


@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(1, 4), st.booleans()), max_size=60))
def test_counts_never_pass_the_limits_and_return_to_zero(steps: list[tuple[str, int, bool]]) -> None:
    backlog = Backlog(per_participant=6, total=10, seconds_per_command=lambda: 0.001)
    held: list[tuple[str, int]] = []
    for who, count, release in steps:
        if release and held:
            backlog.done(*held.pop(0))
        try:
            backlog.admit(who, count)
            held.append((who, count))
        except ResourceExhausted:
            pass
        assert backlog.waiting() <= 10 and all(backlog.waiting(p) <= 6 for p in "abc")
        assert backlog.waiting() == sum(c for _, c in held)
    for who, count in held:
        backlog.done(who, count)
    assert backlog.waiting() == 0
