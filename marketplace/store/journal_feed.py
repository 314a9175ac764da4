"""Following the leader's journal from another process (high availability, PostgreSQL).

The leader NOTIFYs `ixchange_journal` with its batch's last event sequence in every commit
that journals events (PostgreSQL delivers a notification when, and only if, its
transaction commits, in commit order). A follower LISTENs, and on each notification — or
after a second without one, in case one was missed while it reconnected — reads the
events past its position from the event table, in order.

Standbys follow it to know how far behind the leader they are (their refusals and logs say
so) and, at each notification, to bring their warm rows up to date (store/warm.py: the
order and deal rows themselves, read by revision, since an event does not carry every
field an order on a book needs); bench/partition.py measures the lag at 1,000 orders/s."""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg

CHANNEL = "ixchange_journal"
READ_AT_MOST = 10_000  # events per read: a follower far behind catches up in steps


@dataclass(frozen=True, slots=True)
class Followed:
    """One event as a follower read it: its sequence, the leader's time of it and when it
    was read (µs since the epoch, this host's clock)."""

    sequence: int
    time_us: int
    read_us: int


def psycopg_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


class JournalFeed:
    """A follower's connection: LISTEN plus ordered reads of `events` past `position`."""

    def __init__(self, database_url: str, position: int | None = None) -> None:
        self.conn = psycopg.connect(psycopg_url(database_url), autocommit=True)
        self.conn.execute(f"LISTEN {CHANNEL}")
        if position is None:
            position = self.conn.execute("SELECT coalesce(max(sequence), 0) FROM events").fetchone()[0]  # type: ignore[index]
        self.position: int = int(position)
        self.lag_us = 0  # of the last event read

    def follow(self, wait_s: float = 1.0) -> list[Followed]:
        """Wait up to `wait_s` for a commit, then read what is new (maybe nothing)."""
        for _ in self.conn.notifies(timeout=wait_s, stop_after=1):
            break
        rows = self.conn.execute(
            "SELECT sequence, time FROM events WHERE sequence > %s ORDER BY sequence LIMIT %s",
            (self.position, READ_AT_MOST),
        ).fetchall()
        now = time.time_ns() // 1000
        read = [Followed(int(seq), int(at), now) for seq, at in rows]
        if read:
            self.position = read[-1].sequence
            self.lag_us = now - read[-1].time_us
        return read

    def close(self) -> None:
        self.conn.close()
