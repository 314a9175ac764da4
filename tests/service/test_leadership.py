"""The leader's lease and fencing on PostgreSQL (issue 16, item 1): one holder at a time, a
new generation with every takeover, renewals that fail once the lease lapsed, and a
leader whose generation is stale can commit nothing."""

from __future__ import annotations

import time

import pytest

from marketplace.api.convert import event_msg
from marketplace.changes import Changes
from marketplace.errors import InvalidArgument
from marketplace.store import Store
from marketplace.store.leadership import Fenced, Leadership
from tests.unit.factories import new_engine, offer


def journal(changes: Changes) -> tuple[Changes, list[bytes]]:
    return changes, [event_msg(e).SerializeToString() for e in changes.events]


def postgres_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("high availability runs on PostgreSQL only")


def test_high_availability_is_refused_on_sqlite(tmp_path: object) -> None:
    store = Store(f"sqlite:///{tmp_path}/ixchange.db")
    with pytest.raises(InvalidArgument) as err:
        Leadership(store.engine, "a", 2.0)
    assert "PostgreSQL" in err.value.rule
    store.close()


def test_one_holder_at_a_time_and_a_new_generation_with_each_takeover(database_url: str) -> None:
    postgres_only(database_url)
    store = Store(database_url)
    a, b = Leadership(store.engine, "a", 0.3), Leadership(store.engine, "b", 0.3)
    first = a.try_take()
    assert first is not None
    assert b.try_take() is None  # held
    assert a.renew(first)
    lease = a.current()
    assert lease is not None and (lease.holder, lease.generation, lease.live) == ("a", first, True)
    time.sleep(0.4)  # a stops renewing: its lease lapses
    assert not a.renew(first)  # too late: a must step down even though nobody took over yet
    second = b.try_take()
    assert second is not None and second > first
    assert not a.renew(first) and a.try_take() is None
    b.release(second)
    third = a.try_take()  # released: no need to wait it out
    assert third is not None and third > second
    store.close()


def test_a_stale_leader_commits_nothing(database_url: str) -> None:
    postgres_only(database_url)
    old, new = Store(database_url), Store(database_url)
    a, b = Leadership(old.engine, "a", 0.2), Leadership(new.engine, "b", 0.2)
    old.generation = a.try_take()
    engine = new_engine()
    engine.submit(offer("s1", cid="before"), 1)
    old.write(*journal(engine.drain()))  # the leader commits while it holds the lease
    time.sleep(0.3)  # paused past its lease (SIGSTOP, a partition, a slow disk)
    new.generation = b.try_take()
    assert new.generation is not None
    engine.submit(offer("s1", cid="after"), 2)
    changes = engine.drain()
    with pytest.raises(Fenced):
        old.write(*journal(changes))
    assert [o.client_order_id for o in new.list_orders(None, False, 0, 10)] == ["before"]
    new.write(Changes(), [])  # the new leader commits
    old.close()
    new.close()
