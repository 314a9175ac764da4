"""ExchangeService.TradeStream through the real server, on SQLite and PostgreSQL: batches
with mixed results answer as the unary calls do, in order; client order ids stay
idempotent across streams and unary calls; a batch over the rate is refused whole with
RESOURCE_EXHAUSTED, never dropped."""

from __future__ import annotations

import json
import queue
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2  # type: ignore[import-untyped]
from ixchange.v1 import common_pb2, exchange_pb2, participants_pb2

from tests.conftest import ServerThread
from tests.service.client import ELINE, PLATINUM, Client, G, agreement

SELLER, BUYER = participants_pb2.ROLE_SELLER, participants_pb2.ROLE_BUYER
ROUTE = common_pb2.Route(a_end="FRA", z_end="AMS")


def offer(cid: str, price: int = 1000, circuits: int = 1) -> exchange_pb2.TradeCommand:
    return exchange_pb2.TradeCommand(
        submit_offer=exchange_pb2.SubmitOfferRequest(
            client_order_id=cid,
            service_type=ELINE,
            route=ROUTE,
            capacity_kbps=G,
            circuits=circuits,
            values=PLATINUM,
            price=price,
        )
    )


def request(cid: str, limit: int = 1000) -> exchange_pb2.TradeCommand:
    return exchange_pb2.TradeCommand(
        submit_request=exchange_pb2.SubmitRequestRequest(
            client_order_id=cid,
            service_type=ELINE,
            route=ROUTE,
            capacity_kbps=G,
            circuits=1,
            grade="platinum",
            limit_price=limit,
        )
    )


def cancel(order_id: int) -> exchange_pb2.TradeCommand:
    return exchange_pb2.TradeCommand(cancel_order=exchange_pb2.CancelOrderRequest(order_id=order_id))


class Stream:
    """One TradeStream: send batches, read their answers."""

    def __init__(self, client: Client) -> None:
        self._out: queue.Queue[exchange_pb2.TradeStreamRequest | None] = queue.Queue()
        self._replies = client.exchange.TradeStream(iter(self._out.get, None), metadata=client.metadata, timeout=30)
        self._next = 0

    def send(self, *commands: exchange_pb2.TradeCommand) -> exchange_pb2.TradeStreamResponse:
        self._next += 1
        self._out.put(exchange_pb2.TradeStreamRequest(batch_id=self._next, commands=list(commands)))
        reply = next(self._replies)
        assert reply.batch_id == self._next
        assert len(reply.results) == max(1, len(commands))
        return reply

    def close(self) -> None:
        self._out.put(None)
        for _ in self._replies:
            pass


@pytest.fixture
def parties(exchange: ServerThread) -> Iterator[tuple[Client, Client, Client]]:
    operator = Client(exchange.target, exchange.operator_token)
    seller = operator.as_participant("acme", SELLER)
    buyer = operator.as_participant("globex", BUYER)
    operator(
        operator.participants.RegisterAgreement,
        participants_pb2.RegisterAgreementRequest(agreement=agreement("AG-1", "globex", "acme")),
    )
    yield operator, seller, buyer


def unary_refusal(call: Callable[[], Any]) -> tuple[int, str]:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value.code().value[0], err.value.details()  # type: ignore[attr-defined]


def test_a_batch_answers_each_command_as_its_unary_call_would(parties: tuple[Client, Client, Client]) -> None:
    _, seller, buyer = parties
    sells = Stream(seller)
    placed = sells.send(offer("s1", price=900, circuits=2), offer("s2", price=0), cancel(999_999), offer("s3"))
    first, bad_price, unknown, third = placed.results
    assert (
        first.WhichOneof("result") == "submit_offer" and first.submit_offer.order.status == common_pb2.ORDER_STATUS_OPEN
    )
    assert third.submit_offer.order.order_id == first.submit_offer.order.order_id + 1
    # The refusals carry the unary call's code, message and error details.
    code, message = unary_refusal(lambda: seller.offer("u2", price=0))
    assert (bad_price.error.code, bad_price.error.message) == (code, message)
    assert bad_price.error.code == code_pb2.INVALID_ARGUMENT and bad_price.error.message.startswith("price:")
    assert any(d.Is(error_details_pb2.BadRequest.DESCRIPTOR) for d in bad_price.error.details)
    code, message = unary_refusal(
        lambda: seller(seller.exchange.CancelOrder, exchange_pb2.CancelOrderRequest(order_id=999_999))
    )
    assert (unknown.error.code, unknown.error.message) == (code, message)

    buys = Stream(buyer)
    bought = buys.send(request("b1", limit=900), offer("not-a-seller"))
    deal = bought.results[0].submit_request.deals[0]
    assert deal.price == 900 and deal.seller == "acme" and deal.buyer == "globex"
    assert bought.results[1].error.code == code_pb2.PERMISSION_DENIED
    assert bought.results[1].error.message == "authorization: globex lacks the SELLER role"
    # Applied in the batch's order: an order placed and cancelled in one batch.
    later = sells.send(offer("s4", price=5000))
    order_id = later.results[0].submit_offer.order.order_id
    both = sells.send(offer("s5", price=5001), cancel(order_id + 1))
    assert both.results[1].cancel_order.order.status == common_pb2.ORDER_STATUS_CANCELLED
    sells.close()
    buys.close()


def test_client_order_ids_hold_across_streams_and_unary_calls(parties: tuple[Client, Client, Client]) -> None:
    _, seller, _ = parties
    stream = Stream(seller)
    first = stream.send(offer("again", price=1200)).results[0].submit_offer
    stream.close()
    reconnected = Stream(seller)  # the client lost its stream and sends the batch again
    retried = reconnected.send(offer("again", price=1200)).results[0].submit_offer
    reconnected.close()
    assert retried.duplicate and retried.order.order_id == first.order.order_id
    unary = seller.offer("again", price=1200)
    assert unary.duplicate and unary.order.order_id == first.order.order_id
    changed = Stream(seller)
    reused = changed.send(offer("again", price=1300)).results[0]
    changed.close()
    assert reused.error.code == code_pb2.ALREADY_EXISTS and "price" in reused.error.message


def test_empty_batches_and_unset_commands_are_refused_by_field(parties: tuple[Client, Client, Client]) -> None:
    _, seller, _ = parties
    stream = Stream(seller)
    empty = stream.send().results[0].error
    assert empty.code == code_pb2.INVALID_ARGUMENT and empty.message.startswith("commands:")
    unset = stream.send(exchange_pb2.TradeCommand(), offer("ok")).results
    assert unset[0].error.message.startswith("command:") and unset[1].submit_offer.order.order_id
    stream.close()


def test_a_stream_without_a_valid_token_is_refused(exchange: ServerThread) -> None:
    client = Client(exchange.target, "ixt_" + "0" * 40)
    stream = client.exchange.TradeStream(iter([exchange_pb2.TradeStreamRequest(batch_id=1)]), metadata=client.metadata)
    with pytest.raises(grpc.RpcError) as err:
        next(stream)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]


def test_a_batch_over_the_rate_is_refused_whole_and_nothing_of_it_applied(
    make_exchange: Callable[..., ServerThread],
) -> None:
    server = make_exchange(rate_limit=20.0, rate_burst=20.0)
    operator = Client(server.target, server.operator_token)
    seller = operator.as_participant("acme", SELLER)
    stream = Stream(seller)
    big = stream.send(*[offer(f"a{i}", price=1000 + i) for i in range(200)])  # 20 admitted, 180 billed
    assert all(r.WhichOneof("result") == "submit_offer" for r in big.results)
    refused = stream.send(*[offer(f"b{i}") for i in range(5)])  # 9 s of debt: beyond the 1 s wait
    for result in refused.results:
        assert result.error.code == code_pb2.RESOURCE_EXHAUSTED
        assert any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in result.error.details)
    stream.close()
    orders = operator(operator.exchange.ListOrders, exchange_pb2.ListOrdersRequest(page_size=1000)).orders
    assert len(orders) == 200 and not any(o.client_order_id.startswith("b") for o in orders)


def test_a_batch_beyond_the_participants_backlog_is_refused_as_overloaded(
    make_exchange: Callable[..., ServerThread],
) -> None:
    server = make_exchange(max_orders_in_flight=50)
    operator = Client(server.target, server.operator_token)
    seller = operator.as_participant("acme", SELLER)
    stream = Stream(seller)
    refused = stream.send(*[offer(f"b{i}") for i in range(51)])
    for result in refused.results:
        assert result.error.code == code_pb2.RESOURCE_EXHAUSTED
        assert "IXCHANGE_MAX_ORDERS_IN_FLIGHT" in result.error.message
        assert any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in result.error.details)
    fits = stream.send(*[offer(f"a{i}") for i in range(50)])
    assert all(r.WhichOneof("result") == "submit_offer" for r in fits.results)
    stream.close()
    orders = operator(operator.exchange.ListOrders, exchange_pb2.ListOrdersRequest(page_size=1000)).orders
    assert len(orders) == 50 and not any(o.client_order_id.startswith("b") for o in orders)


def test_the_cli_sends_a_file_of_commands_in_batches(
    parties: tuple[Client, Client, Client],
    exchange: ServerThread,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from google.protobuf import json_format

    from controller.cli import main

    _, seller, _ = parties
    monkeypatch.setenv("IXCHANGE_TOKEN", seller.metadata[0][1].removeprefix("Bearer "))
    lines = [json_format.MessageToJson(offer(f"f{i}", price=2000 + i), indent=None) for i in range(5)]
    lines.append(json_format.MessageToJson(offer("bad", price=0), indent=None))
    path = tmp_path / "orders.jsonl"
    path.write_text("\n".join(lines) + "\n")
    code = main(
        ["--server", exchange.target, "--data-dir", str(tmp_path), "-o", "json", "batch", str(path), "--size", "2"]
    )
    results = json.loads(capsys.readouterr().out)["results"]
    assert code == 1  # one refused
    assert [("submit_offer" in r) for r in results] == [True] * 5 + [False]
    assert results[5]["error"]["message"].startswith("price:")
    orders = seller(seller.exchange.ListOrders, exchange_pb2.ListOrdersRequest(page_size=100)).orders
    assert sorted(o.client_order_id for o in orders) == [f"f{i}" for i in range(5)]
