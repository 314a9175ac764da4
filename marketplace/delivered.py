"""Delivered quality from probe outcomes: one window of two-way probes summarised as the
values a class scheme grades (latency_us, jitter_us, loss_ppm, availability_ppm). Pure.

- Delay is **two-way** (round trip minus the reflector's own turnaround), so it needs no
  clock synchronization between the exchange and the seller's far end; the median of the
  window's answered probes.
- Jitter is the mean absolute IPDV (RFC 5481) of that two-way delay between consecutive
  answered probes in sequence order.
- Loss is the share of probes sent and not answered (either direction), in ppm.
- Availability is the share of the window's intervals in which at least one probe was
  answered, in ppm.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from marketplace.errors import InvalidArgument

MAX_PROBES = 1_000_000  # in one window (or one verification)


@dataclass(frozen=True, slots=True)
class Probe:
    sequence: int
    sent_ns: int  # monotonic, at the sender
    delay_ns: int | None  # two-way delay; None: no answer


@dataclass(frozen=True, slots=True)
class Delivered:
    probes: int
    answered: int
    latency_us: int | None  # None: nothing answered
    jitter_us: int | None
    loss_ppm: int
    availability_ppm: int
    intervals: int = 0  # the window's intervals, and those with a probe answered
    up_intervals: int = 0

    def check(self) -> None:
        """Refuse a window no measurement can have produced (the store's bounds)."""
        if not 0 <= self.answered <= self.probes <= MAX_PROBES or not 0 <= self.up_intervals <= self.intervals:
            raise InvalidArgument("window", "needs 0 <= answered <= probes <= 10^6 and 0 <= up <= intervals")
        if self.intervals > self.probes:
            raise InvalidArgument("window.intervals", "must be at most the probes")
        for name in ("latency_us", "jitter_us"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 10**9:
                raise InvalidArgument(f"window.{name}", "must be 0..10^9")

    def values(self) -> dict[str, int]:
        """As class-scheme parameter values (what was not measured is left out)."""
        out = {"loss_ppm": self.loss_ppm, "availability_ppm": self.availability_ppm}
        if self.latency_us is not None:
            out["latency_us"] = self.latency_us
        if self.jitter_us is not None:
            out["jitter_us"] = self.jitter_us
        return out


def summarize(probes: Sequence[Probe], interval_ns: int = 1_000_000_000) -> Delivered:
    """One window of probes (all sent, answered or not) as delivered quality."""
    if not probes:
        return Delivered(0, 0, None, None, 0, 0)
    answered = sorted((p for p in probes if p.delay_ns is not None), key=lambda p: p.sequence)
    delays = [p.delay_ns for p in answered if p.delay_ns is not None]
    latency = round(statistics.median(delays) / 1000) if delays else None
    ipdv = [abs(b - a) for a, b in itertools.pairwise(delays)]
    jitter = round(statistics.fmean(ipdv) / 1000) if ipdv else (0 if delays else None)
    loss = (len(probes) - len(answered)) * 1_000_000 // len(probes)
    start = min(p.sent_ns for p in probes)
    intervals = {(p.sent_ns - start) // interval_ns for p in probes}
    up = {(p.sent_ns - start) // interval_ns for p in answered}
    availability = len(up) * 1_000_000 // len(intervals)
    return Delivered(len(probes), len(answered), latency, jitter, loss, availability, len(intervals), len(up))
