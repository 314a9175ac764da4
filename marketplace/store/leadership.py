"""High availability: which of several `ixchange serve` processes sharing one PostgreSQL
database is the leader (issue 16; this is its lease and fencing).

The lease is one row of `leadership`. Taking it — when it is free or has lapsed — draws a
new generation from the sequence `leader_generation`; the holder renews it well inside
its lifetime, and a renewal fails once the lease has lapsed or another holds it. Every
commit of the leader locks the row FOR SHARE and checks its generation in the same
transaction (Store.write): a taker's FOR UPDATE waits for the commits in flight, and every
commit after the takeover sees the new generation and is refused. So a leader that was
paused (SIGSTOP), cut off from the database or slow can never commit after another took
over. Times are the database's own clock, so the machines' clocks do not matter."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Engine

from marketplace.errors import InvalidArgument

NOW_US = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)"


class Fenced(RuntimeError):
    """This process's generation is no longer the leader's: it must not commit."""

    def __init__(self, mine: int, current: int | None) -> None:
        super().__init__(f"fenced: this leader's generation is {mine}, the lease's is {current}")
        self.mine = mine
        self.current = current


@dataclass(frozen=True)
class Lease:
    holder: str
    generation: int
    live: bool  # not lapsed, by the database's clock


class Leadership:
    """The lease as seen by one process, `holder` (a name that says which process)."""

    def __init__(self, engine: Engine, holder: str, lease_s: float) -> None:
        if engine.dialect.name != "postgresql":
            raise InvalidArgument(
                "IXCHANGE_HA",
                "high availability needs PostgreSQL (IXCHANGE_DATABASE_URL); SQLite serves one process only",
            )
        if not 0.1 <= lease_s <= 600:
            raise InvalidArgument("IXCHANGE_HA_LEASE_S", "must be 0.1..600 seconds")
        self.engine = engine
        self.holder = holder
        self.lease_us = int(lease_s * 1_000_000)

    def current(self) -> Lease | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                text(f"SELECT holder, generation, expires_at > {NOW_US} AS live FROM leadership WHERE id = 1")
            ).first()
        return Lease(row.holder, row.generation, row.live) if row is not None and row.generation else None

    def try_take(self) -> int | None:
        """Take the lease if it is free or lapsed: the new generation, or None (another
        holds it)."""
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO leadership (id, holder, generation, expires_at) VALUES (1, '', 0, 0) "
                    "ON CONFLICT (id) DO NOTHING"
                )
            )
            row = conn.execute(
                text(f"SELECT holder, expires_at > {NOW_US} AS live FROM leadership WHERE id = 1 FOR UPDATE")
            ).one()
            if row.live:
                return None  # held, by another or by an earlier life of this holder: wait
            generation = int(conn.execute(text("SELECT nextval('leader_generation')")).scalar_one())
            conn.execute(
                text(f"UPDATE leadership SET holder = :h, generation = :g, expires_at = {NOW_US} + :ttl WHERE id = 1"),
                {"h": self.holder, "g": generation, "ttl": self.lease_us},
            )
            return generation

    def renew(self, generation: int) -> bool:
        """Extend the lease; False once it lapsed or another took it (then step down)."""
        with self.engine.begin() as conn:
            done = conn.execute(
                text(
                    f"UPDATE leadership SET expires_at = {NOW_US} + :ttl "
                    f"WHERE id = 1 AND generation = :g AND expires_at > {NOW_US}"
                ),
                {"g": generation, "ttl": self.lease_us},
            )
            return done.rowcount == 1

    def release(self, generation: int) -> None:
        """Give the lease up at once (a clean shutdown): a standby need not wait it out."""
        with self.engine.begin() as conn:
            conn.execute(
                text("UPDATE leadership SET expires_at = 0 WHERE id = 1 AND generation = :g"), {"g": generation}
            )
