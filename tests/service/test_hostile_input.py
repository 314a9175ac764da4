"""Requests an attacker would send, each of which stopped, broke or fingerprinted the
exchange (issue 9, item 1 and 2), against the real server on SQLite and PostgreSQL.
Every test ends by checking that the exchange still serves another participant."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from ixchange.v1 import classes_pb2, common_pb2, exchange_pb2, market_pb2, participants_pb2

from marketplace.api import paging
from tests.conftest import ServerThread
from tests.service.client import ELINE, PLATINUM, Client, agreement, error_detail

SELLER = participants_pb2.ROLE_SELLER
BUYER = participants_pb2.ROLE_BUYER
FAR = Timestamp(seconds=10**13)  # year ~318,000: overflowed the microsecond column
LEAKS = ("Traceback", "SELECT", "INSERT", "sqlite", "psycopg", "Error", "Exception", "<class")


@pytest.fixture
def operator(exchange: ServerThread) -> Client:
    return Client(exchange.target, exchange.operator_token)


def refused(call: Callable[[], object]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value.code(), err.value.details()  # type: ignore[attr-defined]


def still_serving(operator: Client, tag: str) -> None:
    """Another participant can still trade: the exchange neither stopped nor wedged."""
    bystander = operator.as_participant(f"bystander-{tag}", SELLER)
    placed = bystander.offer(f"after-{tag}", price=777)
    assert placed.order.status == common_pb2.ORDER_STATUS_OPEN
    listed = operator(operator.classes.ListClassSchemes, classes_pb2.ListClassSchemesRequest())
    assert listed.schemes


def test_far_future_times_are_refused_not_stored(operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER)
    buyer = operator.as_participant("globex", BUYER)
    for field in ("valid_until", "valid_from"):
        code, details = refused(lambda f=field: seller.offer(f"far-{f}", **{f: FAR}))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith(f"{field}:")
    code, details = refused(lambda: buyer.request("far-end", service_end=FAR))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("service_end:")
    report = market_pb2.GetMarketReportRequest(start=Timestamp(seconds=0), end=FAR)
    code, details = refused(lambda: buyer(buyer.market.GetMarketReport, report))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("end:")
    # The last second a Timestamp allows is a valid (if distant) expiry.
    last = Timestamp(seconds=253_402_300_799, nanos=999_999_000)
    assert seller.offer("far-but-valid", valid_until=last).order.valid_until == last
    still_serving(operator, "times")


def test_recommend_with_order_id_zero_is_refused(operator: Client) -> None:
    buyer = operator.as_participant("globex", BUYER)
    code, details = refused(lambda: buyer(buyer.market.Recommend, market_pb2.RecommendRequest(order_id=0)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("order_id:")
    still_serving(operator, "recommend")


def test_a_trailing_newline_never_slips_through_a_rule(operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER)
    code, details = refused(lambda: seller.offer("x" * 64 + "\n"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("client_order_id:")
    for name in ("newline\n", "tab\t", "nul\x00"):
        participant = participants_pb2.Participant(name=name, roles=[SELLER])
        request = participants_pb2.RegisterParticipantRequest(participant=participant)
        code, _ = refused(lambda r=request: operator(operator.participants.RegisterParticipant, r))
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        parameter = classes_pb2.Parameter(
            name=name, unit="u", direction=classes_pb2.DIRECTION_LOWER_IS_BETTER, score_worst=10, score_best=0
        )
        code, _ = refused(
            lambda p=parameter: operator(
                operator.classes.DefineParameter, classes_pb2.DefineParameterRequest(parameter=p)
            )
        )
        assert code == grpc.StatusCode.INVALID_ARGUMENT
    still_serving(operator, "newline")


def test_nul_characters_in_free_text_are_refused(operator: Client) -> None:
    operator.as_participant("acme", SELLER)
    operator.as_participant("globex", BUYER)
    bad_terms = agreement("AG-NUL", "globex", "acme")
    bad_terms.terms = "net 30\x00"
    code, details = refused(
        lambda: operator(
            operator.participants.RegisterAgreement, participants_pb2.RegisterAgreementRequest(agreement=bad_terms)
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("agreement.terms:")
    parameter = classes_pb2.Parameter(
        name="mos",
        unit="mos",
        direction=classes_pb2.DIRECTION_HIGHER_IS_BETTER,
        description="mean opinion score\x00",
        min_value=0,
        max_value=500,
        score_worst=100,
        score_best=450,
    )
    code, details = refused(
        lambda: operator(operator.classes.DefineParameter, classes_pb2.DefineParameterRequest(parameter=parameter))
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("parameter.description:")
    # Terms are a document: newlines and tabs are fine.
    good = agreement("AG-OK", "globex", "acme")
    good.terms = "net 30\n\tsee annex A"
    operator(operator.participants.RegisterAgreement, participants_pb2.RegisterAgreementRequest(agreement=good))
    # Found by the fuzz test on PostgreSQL (which refuses a NUL in text): a name to filter by is checked first.
    code, details = refused(
        lambda: operator(operator.participants.ListTokens, participants_pb2.ListTokensRequest(participant="\x00"))
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("participant:")
    still_serving(operator, "nul")


def test_a_median_band_beyond_the_parameter_range_stays_inside_it(exchange: ServerThread, operator: Client) -> None:
    """Full 64-bit range and a band of 100 x the median: the bound is held inside the
    parameter's range, so the scheme lists, requests match and alternates form, before
    and after a restart (the median is rebuilt from the store)."""
    huge = classes_pb2.Parameter(
        name="huge",
        unit="u",
        direction=classes_pb2.DIRECTION_HIGHER_IS_BETTER,
        min_value=-(2**63),
        max_value=2**63 - 1,
        score_worst=0,
        score_best=100,
    )
    operator(operator.classes.DefineParameter, classes_pb2.DefineParameterRequest(parameter=huge))
    band = classes_pb2.Band(parameter="huge", median=classes_pb2.MedianBound(permille=100_000, initial=1))
    scheme = classes_pb2.ClassScheme(
        name="wide",
        service_types=[common_pb2.SERVICE_TYPE_IP_TRANSIT],
        grades=[classes_pb2.Grade(name="top", bands=[band]), classes_pb2.Grade(name="rest")],
    )
    operator(operator.classes.DefineClassScheme, classes_pb2.DefineClassSchemeRequest(scheme=scheme))
    seller = operator.as_participant("acme", SELLER)
    buyer = operator.as_participant("globex", BUYER)
    transit = common_pb2.SERVICE_TYPE_IP_TRANSIT
    seller.offer("big", values={"huge": 2**62}, service_type=transit, class_scheme="wide", price=500)

    def check() -> None:
        listed = buyer(buyer.classes.ListClassSchemes, classes_pb2.ListClassSchemesRequest())
        wide = next(s for s in listed.schemes if s.name == "wide")
        assert wide.grades[0].bands[0].effective == 2**63 - 1
        for cid, grade, wants in (("r-top", "top", {}), ("r-rest", "", {"huge": 5}), ("r-cap", "rest", {})):
            reply = buyer.request(
                f"{cid}-{time.monotonic_ns()}",
                grade=grade,
                requirements=wants,
                class_scheme="wide",
                service_type=transit,
                limit=1,
            )
            assert reply.order.status == common_pb2.ORDER_STATUS_OPEN

    check()
    exchange.stop()
    restarted = ServerThread(exchange.settings).start()
    try:
        again = Client(restarted.target, restarted.operator_token)
        buyer = again.as_participant("globex2", BUYER)
        check()
        still_serving(again, "median")
    finally:
        restarted.stop()


def test_ids_beyond_int64_are_not_found_or_empty(exchange: ServerThread, operator: Client) -> None:
    buyer = operator.as_participant("globex", BUYER)
    big = 2**63
    for method, request, field in (
        (buyer.exchange.GetOrder, exchange_pb2.GetOrderRequest(order_id=big), "order_id"),
        (buyer.exchange.GetDeal, exchange_pb2.GetDealRequest(deal_id=big), "deal_id"),
        (buyer.exchange.TerminateDeal, exchange_pb2.TerminateDealRequest(deal_id=2**64 - 1), "deal_id"),
        (buyer.exchange.CancelOrder, exchange_pb2.CancelOrderRequest(order_id=big), "order_id"),
        (buyer.exchange.ApproveClass, exchange_pb2.ApproveClassRequest(order_id=big), "order_id"),
        (buyer.exchange.RejectClass, exchange_pb2.RejectClassRequest(order_id=big), "order_id"),
    ):
        code, details = refused(lambda m=method, r=request: buyer(m, r))
        assert code == grpc.StatusCode.NOT_FOUND and details.startswith(f"{field}:"), (code, details)
        assert not any(leak in details for leak in LEAKS)
    beyond = paging.encode([big])
    assert buyer(buyer.exchange.ListOrders, exchange_pb2.ListOrdersRequest(page_token=beyond)).orders == []
    assert buyer(buyer.exchange.ListDeals, exchange_pb2.ListDealsRequest(page_token=beyond)).deals == []
    stream = buyer.exchange.WatchEvents(
        exchange_pb2.WatchEventsRequest(after_sequence=big), metadata=buyer.metadata, timeout=5
    )
    code, details = refused(lambda: list(stream))
    assert code == grpc.StatusCode.OUT_OF_RANGE and "newest event" in details
    still_serving(operator, "ids")


def test_unexpected_errors_are_internal_with_a_reference_and_no_text(
    exchange: ServerThread, operator: Client, caplog: pytest.LogCaptureFixture
) -> None:
    buyer = operator.as_participant("globex", BUYER)
    store = exchange.server.store  # type: ignore[attr-defined]

    def broken(*_args: object) -> None:
        raise RuntimeError("SELECT secret FROM orders WHERE id = 1")

    store.get_order = broken
    with caplog.at_level(logging.ERROR, logger="marketplace.api.guard"), pytest.raises(grpc.RpcError) as err:
        buyer(buyer.exchange.GetOrder, exchange_pb2.GetOrderRequest(order_id=1))
    assert err.value.code() == grpc.StatusCode.INTERNAL
    details = err.value.details()
    assert "SELECT" not in details and "secret" not in details
    reference = details.rsplit(" ", 1)[-1]
    info = error_detail(err.value, error_details_pb2.RequestInfo)
    assert info is not None and info.request_id == reference
    reason = error_detail(err.value, error_details_pb2.ErrorInfo)
    assert reason is not None and reason.reason == "INTERNAL" and reason.domain == "ixchange.v1"
    assert any(reference in r.getMessage() and r.exc_info for r in caplog.records)
    still_serving(operator, "internal")


def test_refusals_quote_only_a_short_prefix_of_a_huge_value(operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER)
    for change in ({"grade": "x" * 1_000_000}, {"values": {"q" * 200_000: 1}}, {"class_scheme": "\u00e9" * 300_000}):
        with pytest.raises(grpc.RpcError) as err:
            seller.offer("huge", **change)  # type: ignore[arg-type]
        assert err.value.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND)
        assert len(err.value.details()) <= 512
        details = dict(err.value.trailing_metadata())["grpc-status-details-bin"]
        assert len(details) < 2048  # the standard error details stay small too
    still_serving(operator, "huge")


def test_invalid_argument_carries_standard_bad_request_details(operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER)
    with pytest.raises(grpc.RpcError) as err:
        seller.offer("bad", circuits=0)
    bad = error_detail(err.value, error_details_pb2.BadRequest)
    assert bad is not None and bad.field_violations[0].field == "circuits"
    info = error_detail(err.value, error_details_pb2.ErrorInfo)
    assert info is not None and (info.reason, info.metadata["field"]) == ("INVALID_FIELD", "circuits")


def test_undecodable_requests_are_refused_and_logged_once_per_interval(
    exchange: ServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    channel = grpc.insecure_channel(exchange.target)
    raw = channel.unary_unary("/ixchange.v1.ExchangeService/SubmitOffer")
    with caplog.at_level(logging.INFO):
        for _ in range(50):
            with pytest.raises(grpc.RpcError) as err:
                raw(b"\xff\xff\xff\xff", timeout=5)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "SubmitOfferRequest" in err.value.details()
    lines = [r for r in caplog.records if "undecodable" in r.getMessage() or "Traceback" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None
    assert exchange.server.api.auth.refused == 0  # type: ignore[attr-defined]  # refused before any login
    channel.close()


def test_order_snapshot_keeps_service_end(exchange: ServerThread, operator: Client) -> None:
    buyer = operator.as_participant("globex", BUYER)
    end = Timestamp(seconds=int(time.time()) + 3600)
    reply = buyer.request("ends", service_end=end)
    assert reply.order.service_end == end
    events = buyer.exchange.WatchEvents(exchange_pb2.WatchEventsRequest(), metadata=buyer.metadata, timeout=5)
    accepted = next(e for e in events if e.kind == exchange_pb2.EVENT_KIND_ORDER_ACCEPTED)
    events.cancel()
    assert accepted.order.service_end == end


def test_book_depth_keeps_the_direction_of_directed_services(operator: Client) -> None:
    seller = operator.as_participant("acme", SELLER)
    transit = common_pb2.SERVICE_TYPE_IP_TRANSIT
    seller.offer("east", service_type=transit, route=common_pb2.Route(a_end="DIR1", z_end="DIR2"))
    seller.offer("west", service_type=transit, route=common_pb2.Route(a_end="DIR2", z_end="DIR1"), price=2000)
    seller.offer("eline", route=common_pb2.Route(a_end="DIR2", z_end="DIR1"), price=3000)
    asked = exchange_pb2.GetBookRequest(route=common_pb2.Route(a_end="DIR1", z_end="DIR2"))
    books = seller(seller.exchange.GetBook, asked).books
    seen = {(b.service_type, b.route.a_end, b.route.z_end, b.offers[0].price) for b in books}
    # Transit DIR1->DIR2 only; the E-Line circuit either way round (its route is symmetric).
    assert seen == {(transit, "DIR1", "DIR2", 1000), (ELINE, "DIR1", "DIR2", 3000)}
    asked.service_type = transit
    assert [b.offers[0].price for b in seller(seller.exchange.GetBook, asked).books] == [1000]


def test_values_that_only_just_fit_are_accepted(operator: Client) -> None:
    """The limits refuse what the store cannot hold and nothing it can."""
    seller = operator.as_participant("acme", SELLER)
    placed = seller.offer("x" * 64, price=10**12, circuits=10_000, values=PLATINUM)
    assert placed.order.client_order_id == "x" * 64 and placed.order.price == 10**12
