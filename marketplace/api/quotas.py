"""Fair share: token buckets per participant (and per peer address for failed logins).

Every call costs one unit up front; calls that return or scan many rows pay for them
after (`charge`), which may run the bucket into debt so that the next calls wait. A unit
is roughly the server work of one acknowledged order. Buckets are created on first use;
the least recently used are forgotten beyond `max_keys`."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from marketplace.errors import ResourceExhausted


@dataclass(slots=True)
class Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """`rate` units per second with bursts of `burst`, per key. rate 0 turns it off."""

    def __init__(
        self,
        rate: float,
        burst: float,
        what: str,
        setting: str,
        max_keys: int = 100_000,
        max_wait: float = 1.0,
        max_waiting: int = 64,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.what = what  # "calls", "failed logins"
        self.setting = setting  # the setting to raise, for the message
        self.max_keys = max_keys
        self.clock = clock
        self.max_wait = max_wait
        self.max_waiting = max_waiting
        self.refused = 0
        self.delayed = 0
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()
        self._waiting: dict[str, int] = {}

    def _bucket(self, key: str) -> Bucket:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(self.burst, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
        return bucket

    async def admit(self, key: str, units: float = 1.0) -> None:
        """Spend `units`: at once when the bucket holds them; else reserve them and wait
        until they have accrued, if that is at most `max_wait` and fewer than
        `max_waiting` of this key's calls wait already; else refuse, saying when a call
        would be admitted. Waiting, not refusing, is what keeps a client that sends too
        fast from costing the exchange a refusal per call."""
        if not self.rate:
            return
        bucket = self._bucket(key)
        if bucket.tokens >= units:
            bucket.tokens -= units
            return
        wait = (units - bucket.tokens) / self.rate
        waiting = self._waiting.get(key, 0)
        if wait > self.max_wait or waiting >= self.max_waiting:
            self.refused += 1
            raise ResourceExhausted(
                "rate",
                f"{key} is over its share of {self.rate:g} {self.what} per second ({self.setting}); "
                f"retry in {wait:.2f} s",
                retry_after_s=wait,
                reason="RATE_LIMITED",
            )
        bucket.tokens -= units  # reserved: the next caller waits behind this one
        self._waiting[key] = waiting + 1
        self.delayed += 1
        try:
            await asyncio.sleep(wait)
        finally:
            left = self._waiting[key] - 1
            if left:
                self._waiting[key] = left
            else:
                del self._waiting[key]

    def charge(self, key: str, units: float) -> None:
        """Pay for work already done; the debt delays the next calls."""
        if self.rate and units > 0:
            bucket = self._bucket(key)
            bucket.tokens = max(bucket.tokens - units, -self.burst)

    async def wait(self, key: str) -> None:
        """Until `key` is out of debt: long replays go at the pace the limit allows."""
        while self.rate:
            owed = -self._bucket(key).tokens
            if owed <= 0:
                return
            await asyncio.sleep(owed / self.rate)

    def allows(self, key: str) -> bool:
        """True when `key` has a unit to spend (without spending it)."""
        return not self.rate or self._bucket(key).tokens >= 1.0


# What reads cost beyond their first unit, in units (one unit: the server work of one
# acknowledged order, ~0.75 ms here). Measured on the project's machine (BENCHMARKS.md,
# issue 9): a stored order or deal read and sent ~0.10, a book listed with its levels
# ~0.03, a deal aggregated into a market report ~0.007. An event sent costs ~0.10 of
# CPU, but events go out as many small writes that delay everyone else's calls more than
# their CPU says: charged at 0.10, streams and replays still pushed another
# participant's p99 past 3x; at 0.20 they do not.
ROW_COST = 1 / 10
EVENT_COST = 1 / 5
BOOK_COST = 1 / 30
REPORT_DEAL_COST = 1 / 150
