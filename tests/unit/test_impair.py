"""The impairment relay's pure parts and `ixchange lab impair`'s value parsing."""

from __future__ import annotations

import argparse
import random
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.cli.lab import duration_us, loss_ppm
from topologies.impair import (
    PACKET_AUXDATA,
    SOL_PACKET,
    TP_STATUS_VLAN_VALID,
    Impairment,
    Way,
    due_at,
    restore_vlan,
)

FRAME = bytes.fromhex("020000000001 020000000002 0800") + b"payload"


def aux(status: int, tci: int, tpid: int = 0) -> list[tuple[int, int, bytes]]:
    return [(SOL_PACKET, PACKET_AUXDATA, struct.pack("IIIHHHH", status, 0, 0, 0, 0, tci, tpid))]


def test_a_tag_stripped_by_the_kernel_is_put_back() -> None:
    tagged = restore_vlan(FRAME, aux(TP_STATUS_VLAN_VALID, 201))
    assert tagged == FRAME[:12] + bytes.fromhex("8100 00c9") + FRAME[12:]
    assert restore_vlan(FRAME, aux(0, 0)) == FRAME  # untagged as it came
    assert restore_vlan(FRAME, []) == FRAME


@given(st.lists(st.integers(0, 5_000_000), min_size=1, max_size=50), st.integers(0, 20_000), st.integers(0, 20_000))
def test_frames_of_one_direction_never_overtake_each_other(gaps: list[int], delay: int, jitter: int) -> None:
    impairment = Impairment(delay_us=max(delay, jitter), jitter_us=jitter)
    way, rng, now, dues = Way(), random.Random(1), 0, []
    for gap in gaps:
        now += gap
        due = due_at(now, impairment, way, rng)
        way.last_due = due
        dues.append(due)
        assert due >= now + (impairment.delay_us - impairment.jitter_us) * 1000
    assert dues == sorted(dues)


def test_settings_are_checked() -> None:
    imp = Impairment()
    imp.update({"delay_us": 12_000, "jitter_us": 2_000})
    assert (imp.delay_us, imp.jitter_us, imp.loss_ppm) == (12_000, 2_000, 0)
    for bad in ({"loss_ppm": 1_000_001}, {"delay_us": -1}, {"delay_us": "5"}, {"jitter_us": 20_000}):
        with pytest.raises(ValueError):
            Impairment(12_000, 0, 0).update(bad)


def test_durations_and_shares_as_typed() -> None:
    assert [duration_us(t) for t in ("12ms", "1.5ms", "500us", "0", "0.01s")] == [12_000, 1_500, 500, 0, 10_000]
    assert [loss_ppm(t) for t in ("0.5%", "2%", "5000ppm", "100%")] == [5_000, 20_000, 5_000, 1_000_000]
    for bad in ("12", "-1ms", "fast", "nanms"):
        with pytest.raises(argparse.ArgumentTypeError):
            duration_us(bad)
    for bad in ("0.5", "101%", "-1%"):
        with pytest.raises(argparse.ArgumentTypeError):
            loss_ppm(bad)
