"""What one participant may hold at once: live orders and live price quotes.

Kept by the engine as orders and quotes come and go (the order counts in place, on its
hot path), so a check costs a dictionary lookup. 0 means no limit."""

from __future__ import annotations

from collections import deque

from marketplace.errors import ResourceExhausted
from marketplace.quotes import iso

SECOND = 1_000_000


class Holdings:
    def __init__(self, max_open_orders: int = 0, max_live_quotes: int = 0) -> None:
        self.max_open_orders = max_open_orders
        self.max_live_quotes = max_live_quotes
        self.open_orders: dict[str, int] = {}  # live orders per participant
        self._quote_expiries: dict[str, deque[int]] = {}  # per participant, oldest first

    # ----- orders -----

    def check_order(self, participant: str, adding: int) -> None:
        have = self.open_orders.get(participant, 0)
        if self.max_open_orders and have + adding > self.max_open_orders:
            raise ResourceExhausted(
                "open_orders",
                f"{participant} has {have} live orders, the most allowed (IXCHANGE_MAX_OPEN_ORDERS is "
                f"{self.max_open_orders}); cancel some or let them fill first",
                reason="OPEN_ORDERS_LIMIT",
            )

    def order_added(self, participant: str) -> None:
        """(The engine counts in place on its hot path; this is for the restore.)"""
        self.open_orders[participant] = self.open_orders.get(participant, 0) + 1

    # ----- quotes -----

    def check_quote(self, participant: str, now: int) -> None:
        """A quote is a promise kept for its lifetime: a participant holds only so many."""
        if not self.max_live_quotes:
            return
        live = self._quote_expiries.get(participant)
        while live and live[0] <= now:
            live.popleft()
        if live and len(live) >= self.max_live_quotes:
            wait = (live[0] - now) / SECOND
            raise ResourceExhausted(
                "quotes",
                f"{participant} holds {len(live)} quotes still valid, the most allowed (IXCHANGE_MAX_LIVE_QUOTES); "
                f"enter at one, or the oldest lapses at {iso(live[0])}",
                retry_after_s=wait,
                reason="LIVE_QUOTES_LIMIT",
            )

    def quote_added(self, participant: str, expires_at: int) -> None:
        if self.max_live_quotes:
            self._quote_expiries.setdefault(participant, deque()).append(expires_at)
