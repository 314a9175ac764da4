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
