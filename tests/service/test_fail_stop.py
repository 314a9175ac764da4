"""When the store refuses a batch the server answers UNAVAILABLE and stops, instead of
acknowledging what is not durable or running on with memory ahead of the store."""

from __future__ import annotations

import time

import grpc
import pytest

from tests.conftest import ServerThread
from tests.service.client import Client


def test_store_failure_stops_the_server_without_acknowledging(exchange: ServerThread) -> None:
    operator = Client(exchange.target, exchange.operator_token)
    seller = operator.as_participant("acme", 1)
    server = exchange.server
    store = server.sequencer.store  # type: ignore[attr-defined]

    def broken_write(*_args: object) -> None:
        raise OSError("disk full")

    store.write = broken_write
    with pytest.raises(grpc.RpcError) as err:
        seller.offer("o-1")
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    deadline = time.monotonic() + 10
    while not server.stopped.is_set() and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.05)
    assert server.stopped.is_set()  # type: ignore[attr-defined]


def test_a_command_that_fails_before_changing_anything_does_not_stop_the_exchange(exchange: ServerThread) -> None:
    """A bug met while a command still only checks its input answers that caller INTERNAL
    (with a reference, no exception text) and the exchange serves everyone else; a
    failure after the command changed the engine still stops it (memory may be ahead)."""
    from ixchange.v1 import market_pb2

    operator = Client(exchange.target, exchange.operator_token)
    buyer = operator.as_participant("globex", 2)
    seller = operator.as_participant("acme", 1)
    engine = exchange.server.sequencer.engine  # type: ignore[attr-defined]

    def broken(*_args: object, **_kw: object) -> None:
        raise KeyError("a bug in a check")

    engine.recommend = broken
    with pytest.raises(grpc.RpcError) as err:
        buyer(buyer.market.Recommend, market_pb2.RecommendRequest(order_id=1))
    assert err.value.code() == grpc.StatusCode.INTERNAL and "reference" in err.value.details()
    assert "KeyError" not in err.value.details()
    assert seller.offer("still-serving").order.order_id
    assert not exchange.server.stopped.is_set()  # type: ignore[attr-defined]

    real_submit = engine.submit

    def half_done(order: object, now: int, recommend: bool = False) -> object:
        real_submit(order, now, recommend)  # changes the engine...
        raise KeyError("...then fails")

    engine.submit = half_done
    with pytest.raises(grpc.RpcError) as err:
        seller.offer("half")
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    server = exchange.server
    deadline = time.monotonic() + 10
    while not server.stopped.is_set() and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.05)
    assert server.stopped.is_set()  # type: ignore[attr-defined]
