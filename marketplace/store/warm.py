"""A standby's warm copy of the rows a takeover rebuilds the engine from (high availability).

Rebuilding the books was, at 10^6 open orders, mostly reading and decoding rows (about
15 of 18 s): every live order, every open deal and every order's client id. A standby
keeps those decoded in memory while it stands by — loaded once, then kept current by
reading only the order and deal rows whose revision (the leader's commit count, stamped
on every row a commit writes: migration 0009) is past the highest it has seen — and the
takeover hands them to `Store.restore` after a last catch-up, so only the engine's own
build remains.

Why it is exact: the leader commits one batch at a time (one commit thread), so the rows
of revision r are visible no later than those of r + 1; a read of "revision > seen" that
starts after `seen` was read from the table sees every row changed since, in its latest
state. Applying a row sets its entry to that state (or drops it once final), so a row read
twice (a commit between the two reads) converges. The last catch-up runs after this process
took the lease, when the old leader can no longer commit (its commits check the
generation: store/leadership.py), so nothing is missed. tests/unit/test_warm_rows.py holds
the warm and the cold rebuild equal over random command sequences."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from operator import attrgetter

from sqlalchemy import Connection, Engine, func, select

from marketplace.deals import FINAL, Deal
from marketplace.orders import LIVE_STATUSES, Order
from marketplace.store import mapping
from marketplace.store import tables as t

_LIVE = frozenset(int(s) for s in LIVE_STATUSES)
_FINAL = frozenset(int(s) for s in FINAL)
_by_priority = attrgetter("priority")
_by_id = attrgetter("deal_id")
LOAD_CHUNK = 10_000  # rows per fetch of the first load


class WarmRows:
    """Live orders, open deals and client ids as the store holds them, kept current by
    `follow` (a standby's journal thread) and handed over once by `take`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.orders: dict[int, Order] = {}  # live ones, by id
        self.deals: dict[int, Deal] = {}  # not final, by id
        self.client_ids: dict[tuple[str, str], int] = {}
        self.order_revision = -1  # the highest revision read; -1: not loaded yet
        self.deal_revision = -1
        self.rows_applied = 0
        self.taken = False
        self._lock = threading.Lock()  # follow (the journal thread) against take (the takeover)

    @property
    def loaded(self) -> bool:
        return self.order_revision >= 0

    def follow(self) -> int:
        """Read what changed since the last call (everything, the first time); the rows read."""
        with self._lock:
            if self.taken:
                return 0
            with self.engine.connect() as conn:
                return self._catch_up(conn)

    def take(self, conn: Connection) -> tuple[list[Order], list[Deal], Iterable[tuple[str, str, int]]]:
        """The last catch-up (the whole load, if none ran yet) on the caller's connection,
        after the lease was taken; then the live orders in priority order, the open deals in
        id order and the client ids, as a restore reads them from the tables. Nothing is
        followed after this."""
        with self._lock:
            self._catch_up(conn)
            self.taken = True
        orders, deals, client_ids = self.orders, self.deals, self.client_ids
        self.orders, self.deals, self.client_ids = {}, {}, {}  # the engine owns them now
        live = sorted(orders.values(), key=_by_priority)
        open_deals = sorted(deals.values(), key=_by_id)
        return live, open_deals, ((p, c, oid) for (p, c), oid in client_ids.items())

    def _catch_up(self, conn: Connection) -> int:
        # The top revision is read before the rows: whatever commits between the two reads
        # is read again next time (revision > top), never skipped.
        order_top = conn.scalar(select(func.coalesce(func.max(t.orders.c.revision), 0))) or 0
        deal_top = conn.scalar(select(func.coalesce(func.max(t.deals.c.revision), 0))) or 0
        try:
            read = self._orders(conn) + self._deals(conn)
        except BaseException:
            if not self.loaded:  # a load cut short: start it again from nothing
                self.orders, self.deals, self.client_ids = {}, {}, {}
            raise  # a catch-up cut short is read again: its revisions were not recorded
        self.order_revision, self.deal_revision = order_top, deal_top
        self.rows_applied += read
        return read

    def _orders(self, conn: Connection) -> int:
        orders, client_ids = self.orders, self.client_ids
        if not self.loaded:
            # In chunks (a server-side cursor on PostgreSQL): 10^6 rows fetched at once
            # held the driver's copy of them all beside the orders (2.1 GB resident).
            live = select(*mapping.ORDER_ROW).where(t.orders.c.status.in_(sorted(_LIVE)))
            for row in conn.execute(live.execution_options(yield_per=LOAD_CHUNK)):
                order = mapping.order(row)
                orders[order.order_id] = order
            every = select(t.orders.c.participant, t.orders.c.client_order_id, t.orders.c.id)
            ids = conn.execute(every.execution_options(yield_per=LOAD_CHUNK))
            client_ids.update(((mapping.shared(p), c), oid) for p, c, oid in ids)
            return len(client_ids)
        read = 0
        for row in conn.execute(select(*mapping.ORDER_ROW).where(t.orders.c.revision > self.order_revision)):
            order = mapping.order(row)
            client_ids[(order.participant, order.client_order_id)] = order.order_id
            if int(order.status) in _LIVE:
                orders[order.order_id] = order
            else:
                orders.pop(order.order_id, None)
            read += 1
        return read

    def _deals(self, conn: Connection) -> int:
        if not self.loaded:
            q = select(t.deals).where(t.deals.c.status.not_in(sorted(_FINAL)))
        else:
            q = select(t.deals).where(t.deals.c.revision > self.deal_revision)
        read = 0
        for row in conn.execute(q):
            deal = mapping.deal(row)
            if int(deal.status) in _FINAL:
                self.deals.pop(deal.deal_id, None)
            else:
                self.deals[deal.deal_id] = deal
            read += 1
        return read

    def describe(self) -> str:
        if not self.loaded:
            return "loading the live orders"
        return f"{len(self.orders)} live orders and {len(self.deals)} open deals held warm"
