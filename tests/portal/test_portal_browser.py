"""The web portal driven through Debian's chromium: log in (and fail to, and be rate
limited), trade through the templates, watch the deal appear live, and the security
rules a carrier's security team checks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pyotp
import pytest
from ixchange.v1 import common_pb2, exchange_pb2
from playwright.sync_api import expect

from tests.portal.conftest import ROOT, Market, add_user, free_port, log_in, shot, start_portal

PLATINUM = {"latency_us": "4000", "jitter_us": "300", "loss_ppm": "5", "availability_ppm": "999995"}


def fill_order(page: Any, side: str, route: tuple[str, str], capacity: str, circuits: str, price: str) -> None:
    page.goto(page.url.split("/", 3)[0] + "//" + page.url.split("/", 3)[2] + f"/trade?side={side}&service=eline")
    page.fill("#f-a_end", route[0])
    page.fill("#f-z_end", route[1])
    page.fill("#f-capacity", capacity)
    page.fill("#f-circuits", circuits)
    page.fill("#f-price" if side == "offer" else "#f-limit_price", price)


def orders_of(market: Market, participant: str) -> list[Any]:
    client = market.clients[participant]
    return list(client(client.exchange.ListOrders, exchange_pb2.ListOrdersRequest(page_size=1000)).orders)


def test_login_refuses_a_wrong_password_then_rate_limits(market: Market, new_page: Any) -> None:
    page = new_page()
    for attempt in range(5):
        log_in(page, market.url, "frank", "not-the-password")
        assert "Wrong user name or password." in page.inner_text("main"), attempt
    # The sixth is refused without being checked, even with the right password.
    log_in(page, market.url, "frank")
    assert "Too many failed logins" in page.inner_text("main")
    assert page.url.startswith(market.url + "/login")
    shot(page, "login-rate-limited")


def test_totp_user_needs_the_code(market: Market, new_page: Any) -> None:
    page = new_page()
    log_in(page, market.url, "bob")
    assert "wrong or expired one-time code" in page.inner_text("main")
    log_in(page, market.url, "bob", code=pyotp.TOTP(market.totp_secret).now())
    assert page.url == market.url + "/trade"
    assert "bob · globex" in page.inner_text("header")


def test_trade_through_templates_and_see_the_deal_live(market: Market, new_page: Any) -> None:
    buyer_watch = new_page()
    log_in(buyer_watch, market.url, "dave")
    buyer_watch.goto(market.url + "/deals")
    buyer_watch.evaluate("window.notReloaded = true")
    before = buyer_watch.locator("tr[data-deal]").count()

    seller = new_page()
    log_in(seller, market.url, "alice")
    fill_order(seller, "offer", ("FRA1", "AMS2"), "10G", "4", "90000")
    for name, value in PLATINUM.items():
        seller.fill(f'[name="value.{name}"]', value)
    # The grade the exchange would give is shown while typing (Classify).
    expect(seller.locator("#grade-preview")).to_have_text("platinum")
    seller.fill("#f-save_as", "FRA-AMS 10G platinum")
    shot(seller, "order-entry-offer")
    seller.click("button:has-text('Place offer')")
    assert re.search(r"Order \d+: open", seller.inner_text(".result"))
    assert "Class platinum" in seller.inner_text(".result")
    assert "FRA-AMS 10G platinum" in seller.inner_text(".templates")

    buyer = new_page()
    log_in(buyer, market.url, "dave")
    fill_order(buyer, "request", ("FRA1", "AMS2"), "10G", "2", "95000")
    buyer.select_option("#f-grade", "platinum")
    buyer.click("button:has-text('Place request')")
    result = buyer.inner_text(".result")
    assert re.search(r"Order \d+: filled", result), result
    deal_id = re.search(r"deal (\d+)", result).group(1)  # type: ignore[union-attr]

    # The watching page shows the new deal without a reload (server-sent events).
    buyer_watch.wait_for_selector(f'tr[data-deal="{deal_id}"]', timeout=10_000)
    assert buyer_watch.evaluate("window.notReloaded") is True
    assert buyer_watch.locator("tr[data-deal]").count() == before + 1
    assert "brokered" in buyer_watch.inner_text(f'tr[data-deal="{deal_id}"]')
    shot(buyer_watch, "deals-live")

    # The seller reorders from the saved template in one click.
    count = len(orders_of(market, "acme"))
    seller.goto(market.url + "/trade")
    seller.click("button[aria-label='order FRA-AMS 10G platinum again']")
    assert re.search(r"Order \d+: open", seller.inner_text(".result"))
    assert len(orders_of(market, "acme")) == count + 1


def test_quote_then_buy_at_the_quote(market: Market, new_page: Any) -> None:
    seller = market.clients["acme"]
    seller.offer("quote-seed", price=70000, circuits=3, route=common_pb2.Route(a_end="LON1", z_end="PAR1"))
    page = new_page()
    log_in(page, market.url, "dave")
    fill_order(page, "request", ("LON1", "PAR1"), "1G", "2", "80000")
    page.select_option("#f-grade", "platinum")
    page.click("button:has-text('Get a quote')")
    text = page.inner_text("main")
    assert "Quote" in text and "platinum" in text and "2 of 2 circuits" in text
    expect(page.locator("[data-expires]")).to_contain_text("s left")
    shot(page, "quote")
    page.click("button:has-text('Buy at this quote')")
    result = page.inner_text(".result")
    assert re.search(r"Order \d+: filled", result), result


def test_errors_are_shown_next_to_their_field(market: Market, new_page: Any) -> None:
    page = new_page()
    log_in(page, market.url, "alice")
    fill_order(page, "offer", ("FRA1", "FRA1"), "lots", "1", "100")
    page.click("button:has-text('Place offer')")
    assert "capacity: use e.g. 10G" in page.inner_text("#e-capacity")
    page.fill("#f-capacity", "1G")
    page.click("button:has-text('Place offer')")
    # The exchange's own message, next to the field it names.
    assert "z_end" in page.inner_text("#e-z_end")
    assert page.get_attribute("#f-z_end", "aria-invalid") == "true"


def test_a_participant_cannot_see_another_participants_deal(market: Market, new_page: Any) -> None:
    seller, buyer = market.clients["acme"], market.clients["globex"]
    seller.offer("private-1", price=50000, circuits=1, route=common_pb2.Route(a_end="MAD1", z_end="LIS1"))
    reply = buyer.request("private-2", limit=60000, circuits=1, route=common_pb2.Route(a_end="MAD1", z_end="LIS1"))
    deal_id = reply.deals[0].deal_id
    owner = new_page()
    log_in(owner, market.url, "dave")
    owner.goto(f"{market.url}/deals/{deal_id}")
    assert f"Deal {deal_id}" in owner.inner_text("h1")
    stranger = new_page()
    log_in(stranger, market.url, "erin")
    response = stranger.goto(f"{market.url}/deals/{deal_id}")
    assert response.status in (403, 404)
    assert "MAD1" not in stranger.inner_text("main")
    response = stranger.goto(f"{market.url}/orders/{reply.order.order_id}")
    assert response.status in (403, 404)
    # Operator pages are operators' only.
    assert stranger.goto(f"{market.url}/operator").status == 403


class _Attacker(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        page = (
            f'<form id="f" method="post" action="{self.target}/trade">'
            '<input name="side" value="offer"><input name="service" value="eline">'
            '<input name="a_end" value="EVIL1"><input name="z_end" value="EVIL2"><input name="capacity" value="1G">'
            '<input name="price" value="1"><input name="action" value="submit"></form>'
            "<script>document.getElementById('f').submit()</script>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_forged_cross_site_post_is_refused(market: Market, new_page: Any) -> None:
    page = new_page()
    log_in(page, market.url, "alice")
    before = len(orders_of(market, "acme"))
    _Attacker.target = market.url
    evil = ThreadingHTTPServer(("127.0.0.1", free_port()), _Attacker)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        with page.expect_response(lambda r: r.url == market.url + "/trade") as answer:
            page.goto(f"http://127.0.0.1:{evil.server_address[1]}/")
        assert answer.value.status == 403
        assert "another site" in page.inner_text("main")
    finally:
        evil.shutdown()
    # With the session cookie but without the form's CSRF token (no Origin header: not a
    # browser form), refused too.
    session = next(c["value"] for c in page.context.cookies() if c["name"] == "ixsession")
    forged = page.context.request.post(
        market.url + "/trade",
        headers={"Cookie": f"ixsession={session}"},
        form={"side": "offer", "service": "eline", "a_end": "X1", "z_end": "X2", "capacity": "1G", "price": "1"},
    )
    assert forged.status == 403
    assert "CSRF" in forged.text()
    assert len(orders_of(market, "acme")) == before


def test_pages_have_no_inline_script_and_refusals_no_traceback(market: Market, new_page: Any) -> None:
    page = new_page()
    log_in(page, market.url, "dave")
    for path in ("/trade", "/orders", "/deals", "/market"):
        response = page.goto(market.url + path)
        assert response.status == 200, path
        headers = response.headers
        assert (
            "script-src 'self'" in headers["content-security-policy"]
            and "unsafe-inline" not in headers["content-security-policy"]
        )
        assert headers["strict-transport-security"]
        html = page.content()
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert not re.search(r"\son[a-z]+=", html), path
        shot(page, "page" + path.replace("/", "-"))
    cookie = next(c for c in page.context.cookies() if c["name"] == "ixsession")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    for path in ("/orders/not-a-number", "/deals/99999999", "/nowhere"):
        response = page.goto(market.url + path)
        assert response.status in (400, 403, 404), path
        assert "Traceback" not in page.content() and 'File "' not in page.content()


def test_operator_pages(market: Market, new_page: Any) -> None:
    password = (market.data_dir / "portal-operator.password").read_text().strip()
    page = new_page()
    log_in(page, market.url, "operator", password)
    page.goto(market.url + "/operator")
    assert "acme" in page.inner_text("main") and "alice" in page.inner_text("main")
    page.fill("#f-name", "hooli")
    page.check("input[name='role_buyer']")
    page.click("button:has-text('Register')")
    assert "Participant hooli registered" in page.inner_text("main")
    page.fill("#f-username", "gavin")
    page.fill("#f-participant", "hooli")
    page.fill("#f-password", "short")
    page.click("button:has-text('Add user')")
    assert "password: must be" in page.inner_text("#e-password")
    page.fill("#f-username", "gavin")
    page.fill("#f-participant", "hooli")
    page.fill("#f-password", "gavin-password-1")
    page.click("button:has-text('Add user')")
    assert "User gavin can now log in for hooli" in page.inner_text("main")
    shot(page, "operator-participants")
    for path in ("/operator/agreements", "/operator/classes", "/operator/fabric", "/market"):
        assert page.goto(market.url + path).status == 200, path
        shot(page, "operator" + path.replace("/", "-"))
    session = next(c["value"] for c in page.context.cookies() if c["name"] == "ixsession")
    report = page.context.request.get(market.url + "/market/report.csv", headers={"Cookie": f"ixsession={session}"})
    lines = report.text().splitlines()
    assert report.headers["content-type"].startswith("text/csv")
    assert lines[0].startswith("window_start,window_end,class_scheme,grade") and len(lines) >= 2
    gavin = new_page()
    log_in(gavin, market.url, "gavin", "gavin-password-1")
    assert "gavin · hooli" in gavin.inner_text("header")


def test_a_phone_sized_screen(market: Market, new_page: Any) -> None:
    page = new_page({"width": 390, "height": 844})
    log_in(page, market.url, "alice")
    page.goto(market.url + "/trade?side=offer")
    # Nothing wider than the screen but the tables' own scrolling boxes.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "phone-order-entry")
    page.goto(market.url + "/deals")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "phone-deals")


def test_a_session_ends_when_idle(market: Market, new_page: Any) -> None:
    short = start_portal(market.data_dir, market.exchange.target, env={"IXCHANGE_PORTAL_SESSION_IDLE_S": "2"})
    try:
        page = new_page()
        log_in(page, short.url, "alice")
        assert page.url == short.url + "/trade"
        time.sleep(3)
        page.goto(short.url + "/orders")
        assert page.url.startswith(short.url + "/login")
        assert "after a time without use" in page.inner_text("main")
        # Its cookie is no key any more: logging in again is the only way back.
        assert page.goto(short.url + "/deals").url.startswith(short.url + "/login")
    finally:
        short.stop()


def test_plain_http_only_when_told_and_only_on_loopback(market: Market, new_page: Any) -> None:
    page = new_page()
    with pytest.raises(Exception):  # noqa: B017 - the browser's own error: no HTTP here
        page.goto(market.url.replace("https://", "http://") + "/login", timeout=5000)
    refused = subprocess.run(
        [sys.executable, "-m", "controller.cli", "portal", "--insecure-http", "--listen", f"0.0.0.0:{free_port()}"],
        env={"PATH": "/usr/bin:/bin", "IXCHANGE_DATA_DIR": str(market.data_dir), "HOME": str(market.data_dir)},
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "IXCHANGE_PORTAL_INSECURE_HTTP" in refused.stderr.decode() and "loopback only" in refused.stderr.decode()
    plain = start_portal(market.data_dir, market.exchange.target, "--insecure-http")
    try:
        assert plain.url.startswith("http://127.0.0.1:")
        page = new_page()
        log_in(page, plain.url, "alice")
        assert page.url == plain.url + "/trade"
    finally:
        plain.stop()


def test_a_new_password_ends_the_sessions_opened_with_the_old_one(market: Market, new_page: Any) -> None:
    add_user(market.data_dir, market.exchange.target, "grace", "initech")
    page = new_page()
    log_in(page, market.url, "grace")
    assert page.goto(market.url + "/orders").status == 200
    subprocess.run(
        [sys.executable, "-m", "controller.cli", "portal", "user", "password", "grace"],
        input="a-brand-new-password\n",
        text=True,
        env={**os.environ, "IXCHANGE_DATA_DIR": str(market.data_dir), "IXCHANGE_SERVER": market.exchange.target},
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    response = page.goto(market.url + "/orders")
    assert response.status == 403
    assert "password changed" in page.inner_text("main")
    assert page.goto(market.url + "/deals").url.startswith(market.url + "/login")
    log_in(page, market.url, "grace", "a-brand-new-password")
    assert page.url == market.url + "/trade"


def test_a_proposed_class_is_approved_and_a_deal_terminated_in_the_browser(market: Market, new_page: Any) -> None:
    market.clients["acme"].offer(
        "approve-seed",
        price=40000,
        circuits=1,
        route=common_pb2.Route(a_end="ZRH1", z_end="MIL1"),
        values={k: int(v) for k, v in PLATINUM.items()},
    )
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the "are you sure?" of destructive buttons
    log_in(page, market.url, "dave")
    fill_order(page, "request", ("ZRH1", "MIL1"), "1G", "1", "45000")
    for name, value in PLATINUM.items():
        page.fill(f'[name="value.{name}"]', value)
    page.check("input[name='propose']")
    page.click("button:has-text('Place request')")
    assert re.search(r"Order (\d+): pending approval", page.inner_text(".result"))
    page.click(".result a:has-text('Order')")
    page.click("button:has-text('Approve class platinum')")
    assert "filled" in page.inner_text("h1")
    deal_id = next(
        d.deal_id
        for d in market.clients["globex"](
            market.clients["globex"].exchange.ListDeals, exchange_pb2.ListDealsRequest(page_size=1000)
        ).deals
        if "ZRH1" in (d.route.a_end, d.route.z_end)
    )
    page.goto(f"{market.url}/deals/{deal_id}")
    page.fill("#reason", "no longer needed")
    page.click("button:has-text('Terminate')")
    assert "terminat" in page.inner_text("h1")
    assert "no longer needed" in page.inner_text("main")
