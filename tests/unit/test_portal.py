"""The web portal's pure parts: forms to requests, sessions, the login throttle, users
and templates, the API's messages to form fields, and what pages and files escape."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import grpc
import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ixchange.v1 import common_pb2

from portal.charts import fabric_picture, line_chart
from portal.exchange import ApiError
from portal.forms import parse_order, template_fields
from portal.pages_auth import _next
from portal.pages_operator import link_ends
from portal.pages_trade import _placed
from portal.sessions import LoginThrottle, Sessions
from portal.users import UserError, Users

OFFER = {
    "side": "offer",
    "service": "eline",
    "a_end": "FRA1",
    "z_end": "AMS2",
    "capacity": "10G",
    "circuits": "4",
    "price": "90000",
    "value.latency_us": "4000",
    "csrf": "x",
    "client_order_id": "portal-1",
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_offer_form_becomes_the_api_request() -> None:
    parsed = parse_order(OFFER)
    assert parsed.errors == {}
    assert parsed.offer is not None and parsed.request is None
    assert parsed.offer.capacity_kbps == 10_000_000
    assert parsed.offer.circuits == 4 and parsed.offer.price == 90000
    assert dict(parsed.offer.values) == {"latency_us": 4000}
    assert parsed.offer.client_order_id == "portal-1"


def test_a_request_form_carries_its_quote_and_options() -> None:
    form = {
        **OFFER,
        "side": "request",
        "limit_price": "95000",
        "grade": "gold",
        "quote_id": "7",
        "routing": "quality",
        "tif": "fok",
        "propose": "on",
        "service_end": "2027-01-01T00:00",
    }
    parsed = parse_order(form)
    assert parsed.errors == {}
    assert parsed.request is not None and parsed.spec is not None
    assert parsed.request.quote_id == 7 and parsed.request.limit_price == 95000
    assert parsed.request.routing_policy == common_pb2.ROUTING_POLICY_QUALITY_FIRST
    assert parsed.request.time_in_force == common_pb2.TIME_IN_FORCE_FILL_OR_KILL
    assert parsed.request.propose_class
    assert parsed.request.service_end.seconds == 1798761600
    assert parsed.spec.grade == "gold"


def test_form_errors_are_keyed_by_the_field_and_start_with_it() -> None:
    bad = {
        **OFFER,
        "a_end": "",
        "capacity": "lots",
        "circuits": "two",
        "price": "9e9",
        "value.loss_ppm": "x",
        "tif": "forever",
        "valid_until": "tomorrow",
    }
    errors = parse_order(bad).errors
    assert set(errors) == {"a_end", "capacity", "circuits", "price", "value.loss_ppm", "tif", "valid_until"}
    for field, message in errors.items():
        assert message.startswith(field + ":")


def test_a_template_keeps_the_terms_only() -> None:
    kept = template_fields({**OFFER, "quote_id": "3", "action": "submit", "value.jitter_us": " "})
    assert "csrf" not in kept and "client_order_id" not in kept and "quote_id" not in kept
    assert kept["value.latency_us"] == "4000" and "value.jitter_us" not in kept


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("price: must be at least 1", "price"),
        ("capacity_kbps: must be positive", "capacity"),
        ("route.z_end: must differ from route.a_end", "z_end"),
        ("values.latency_us: must be at most 10000000", "value.latency_us"),
        ("requirements.loss_ppm: below the minimum", "value.loss_ppm"),
        ("No field here", ""),
    ],
)
def test_api_messages_land_on_their_form_field(message: str, field: str) -> None:
    assert ApiError(grpc.StatusCode.INVALID_ARGUMENT, message).field == field


def test_sessions_end_when_idle_or_at_their_absolute_limit() -> None:
    clock = Clock()
    sessions = Sessions(idle_s=10, max_s=25, clock=clock)
    s = sessions.start("alice", "acme", False)
    clock.now += 9
    assert sessions.get(s.session_id)[0] is s
    clock.now += 9
    assert sessions.get(s.session_id)[0] is s  # use keeps it going...
    clock.now += 8
    assert sessions.get(s.session_id) == (None, "expired")  # ...up to its absolute limit
    t = sessions.start("alice", "acme", False)
    clock.now += 11
    assert sessions.get(t.session_id) == (None, "idle")
    assert sessions.get(t.session_id) == (None, "")  # gone


def test_a_live_stream_does_not_keep_a_session_alive() -> None:
    clock = Clock()
    sessions = Sessions(idle_s=10, max_s=100, clock=clock)
    s = sessions.start("alice", "acme", False)
    for _ in range(3):
        clock.now += 4
        assert sessions.alive(s.session_id) == (clock.now - 1000 <= 10)
    assert sessions.get(s.session_id)[0] is None


def test_session_ids_and_csrf_tokens_are_long_and_distinct() -> None:
    sessions = Sessions(idle_s=10, max_s=100)
    made = [sessions.start("u", "p", False) for _ in range(200)]
    assert len({s.session_id for s in made}) == 200 and len({s.csrf for s in made}) == 200
    assert min(len(s.session_id) for s in made) >= 43  # 256 bits, base64url
    assert made[0].csrf_matches(made[0].csrf) and not made[0].csrf_matches(made[1].csrf)
    assert not made[0].csrf_matches("")
    assert sessions.end_user("u") == 200 and len(sessions) == 0


def test_the_throttle_limits_names_and_addresses() -> None:
    clock = Clock()
    throttle = LoginThrottle(failures=3, window_s=60, per_address=2, clock=clock)
    for _ in range(3):
        assert throttle.wait_s("user:a", "addr:1") == 0
        throttle.failed("user:a", "addr:1")
    assert throttle.wait_s("user:a", "addr:1") == pytest.approx(60)
    assert throttle.wait_s("user:b", "addr:1") == 0  # the address allows 6
    for _ in range(3):
        throttle.failed("user:b", "addr:1")
    assert throttle.wait_s("user:c", "addr:1") > 0
    clock.now += 60
    assert throttle.wait_s("user:a", "addr:1") == 0


@given(st.lists(st.floats(min_value=0, max_value=200), max_size=30))
def test_the_throttle_refuses_exactly_when_the_window_is_full(gaps: list[float]) -> None:
    clock = Clock()
    throttle = LoginThrottle(failures=4, window_s=50, clock=clock)
    times: list[float] = []
    for gap in gaps:
        clock.now += gap
        in_window = [t for t in times if t > clock.now - 50]
        assert (throttle.wait_s("user:x") > 0) == (len(in_window) >= 4)
        if throttle.wait_s("user:x") == 0:
            throttle.failed("user:x")
            times.append(clock.now)


def test_users_are_stored_with_argon2_and_checked(tmp_path: Path) -> None:
    users = Users(tmp_path / "portal.db")
    users.add("alice", "acme", False, "correct horse battery", "ixt_token")
    raw = (tmp_path / "portal.db").read_bytes()
    assert b"correct horse battery" not in raw
    assert users.get("alice").password_hash.startswith("$argon2id$")  # type: ignore[union-attr]
    assert (tmp_path / "portal.db").stat().st_mode & 0o777 == 0o600
    assert users.authenticate("alice", "correct horse battery", "")[0] is not None
    assert users.authenticate("alice", "wrong horse battery", "") == (None, "password")
    assert users.authenticate("nobody", "correct horse battery", "") == (None, "password")
    with pytest.raises(UserError, match=r"^username: alice exists already"):
        users.add("alice", "acme", False, "another password!", "t")
    with pytest.raises(UserError, match=r"^password: must be 12"):
        users.add("bob", "acme", False, "short", "t")
    with pytest.raises(UserError, match=r"^username:"):
        users.add("Bob Smith", "acme", False, "long enough pw", "t")


def test_a_totp_user_needs_a_current_code(tmp_path: Path) -> None:
    users = Users(tmp_path / "portal.db")
    user = users.add("bob", "globex", False, "correct horse battery", "t", totp=True)
    assert users.authenticate("bob", "correct horse battery", "") == (None, "code")
    assert users.authenticate("bob", "correct horse battery", "000000")[1] in ("code", "")
    code = pyotp.TOTP(user.totp_secret).now()
    assert users.authenticate("bob", "correct horse battery", code)[0] is not None


def test_templates_belong_to_their_participant(tmp_path: Path) -> None:
    users = Users(tmp_path / "portal.db")
    saved = users.save_template("acme", "FRA-AMS", {"side": "offer"})
    assert users.template("acme", saved.template_id) is not None
    assert users.template("globex", saved.template_id) is None
    assert not users.delete_template("globex", saved.template_id)
    users.save_template("acme", "FRA-AMS", {"side": "request"})  # the same name: replaced
    assert [t.form for t in users.templates("acme")] == [{"side": "request"}]
    with pytest.raises(UserError, match=r"^save_as:"):
        users.save_template("acme", "", {})
    with pytest.raises(UserError, match=r"^save_as: the order is too large"):
        users.save_template("acme", "big", {"x": "y" * 9000})


def test_charts_escape_what_they_show() -> None:
    svg = str(line_chart({"<script>alert(1)</script>": [(0, 1), (60, 2)]}, "t <b>", "ms"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "<b>" not in svg
    assert "no data yet" in str(line_chart({}, "empty", "ms"))
    picture = str(
        fabric_picture([("s1", "switch", True), ("<r1>", "router", False)], [("l", "s1", "<r1>", 0.5, False)])
    )
    assert "<r1>" not in picture and "stroke-dasharray" in picture


def test_small_guards() -> None:
    assert link_ends("s1:p3-s3:p2") == ("s1", "s3")
    for target in ("//evil.example/x", "https://evil.example", "/\\evil", "/login"):
        assert _next(target) == "/trade"
    assert _next("/deals/3") == "/deals/3"


def test_an_error_about_a_field_the_form_does_not_show_goes_above_it() -> None:
    placed = _placed(
        {"quote_id": "quote_id: expired", "price": "price: too low", "value.mos": "value.mos: unknown"},
        {"value.latency_us"},
    )
    assert placed == {"form": "quote_id: expired value.mos: unknown", "price": "price: too low"}


class _Stream:
    """A WatchEvents call that yields some events, then ends as a server going away would."""

    def __init__(self, events: list[Any]) -> None:
        self.events = events

    def __aiter__(self) -> Any:
        return self._gen()

    async def _gen(self) -> Any:
        for event in self.events:
            await asyncio.sleep(0)
            yield event

    def cancel(self) -> None:
        pass


def test_the_hub_fans_one_stream_out_and_says_reload_when_it_ends() -> None:
    from ixchange.v1 import exchange_pb2

    from portal.live import Hub

    opened: list[str] = []

    class FakeExchange:
        exchange = type("Stubs", (), {"WatchEvents": object()})()

        def stream(self, token: str, method: Any, request: Any) -> _Stream:
            opened.append(token)
            assert request.from_now
            deal = common_pb2.Deal(deal_id=7, status=common_pb2.DEAL_STATUS_ACTIVE)
            return _Stream(
                [
                    exchange_pb2.WatchEventsResponse(sequence=1, kind=exchange_pb2.EVENT_KIND_HEARTBEAT),
                    exchange_pb2.WatchEventsResponse(
                        sequence=2, kind=exchange_pb2.EVENT_KIND_DEAL_STATUS_CHANGED, deal=deal
                    ),
                ]
            )

    async def run() -> tuple[list[Any], list[Any]]:
        hub = Hub(FakeExchange())  # type: ignore[arg-type]
        first, second = hub.subscribe("acme", "t1"), hub.subscribe("acme", "t2")
        got = [[await asyncio.wait_for(q.get(), 2) for _ in range(2)] for q in (first, second)]
        await hub.close()
        return got[0], got[1]

    first, second = asyncio.run(run())
    assert first == second
    assert json.loads(first[0]) == {
        "sequence": 2,
        "kind": "deal_status_changed",
        "deal_id": 7,
        "status": "DEAL_STATUS_ACTIVE",
    }
    assert first[1] is None  # the stream ended: reload
    assert opened[0] == "t2"  # one upstream stream, with the newest browser's token
