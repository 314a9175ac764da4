"""What every page shares: the portal's state, sessions from cookies, CSRF checks on
posted forms, security headers, rendering, and refusals as pages (never a traceback)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from google.protobuf.timestamp_pb2 import Timestamp
from ixchange.v1 import common_pb2

from controller.cli.common import SERVICE_NAMES, fmt_kbps, fmt_time
from marketplace.settings import Settings
from portal.exchange import Exchange
from portal.live import Hub
from portal.sessions import LoginThrottle, Session, Sessions
from portal.users import Users

log = logging.getLogger("portal")
SESSION_COOKIE = "ixsession"
LOGIN_COOKIE = "ixlogin"  # the login form's CSRF token, before there is a session
MAX_BODY = 64 * 1024  # no form the portal shows comes near this
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PUBLIC = ("/login", "/static/", "/healthz", "/favicon.ico")


class Refused(Exception):
    """A request the portal answers with a page saying why (status, message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Portal:
    settings: Settings
    users: Users
    sessions: Sessions
    throttle: LoginThrottle
    https: bool
    pages: jinja2.Environment
    exchange: Exchange = field(init=False)  # made when the server's event loop starts
    hub: Hub = field(init=False)

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        session: Session | None = getattr(request.state, "session", None)
        html = self.pages.get_template(name).render(request=request, session=session, **context)
        return HTMLResponse(html, status_code=status)

    def cookie(self, response: Response, name: str, value: str, max_age: int | None = None) -> None:
        response.set_cookie(name, value, max_age=max_age, path="/", secure=self.https, httponly=True, samesite="strict")

    async def posted(self, request: Request) -> dict[str, str]:
        """A state-changing form, after its CSRF token is checked against the session's."""
        form = await read_form(request)
        session: Session | None = getattr(request.state, "session", None)
        if session is None or not session.csrf_matches(form.get("csrf", "")):
            raise Refused(
                403,
                "This form is out of date or did not come from this portal (CSRF check failed). "
                "Reload the page and try again.",
            )
        return form

    def session(self, request: Request) -> Session:
        session: Session | None = getattr(request.state, "session", None)
        if session is None:
            raise Refused(403, "log in first")
        return session

    def token(self, request: Request) -> str:
        """The participant token of the session's user: read on the server, per call."""
        session = self.session(request)
        user = self.users.get(session.username)
        if user is None or user.password_hash != session.credential:
            # Removed, or given a new password (`ixchange portal user password`), since login.
            self.sessions.end(session.session_id)
            raise Refused(403, "this user was removed or its password changed since you logged in; log in again")
        return user.token

    async def call(self, request: Request, method: Any, message: Any) -> Any:
        return await self.exchange.call(self.token(request), method, message)

    def require_operator(self, request: Request) -> Session:
        session = self.session(request)
        if not session.operator:
            raise Refused(403, "operators only")
        return session


async def read_form(request: Request) -> dict[str, str]:
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > MAX_BODY:
        raise Refused(413, f"a form must say its length and be at most {MAX_BODY // 1024} KiB")
    form = await request.form(max_files=0, max_fields=200)
    return {k: v for k, v in form.items() if isinstance(v, str)}


def same_origin(request: Request) -> bool:
    """A POST from another site is refused before its form is read: the Origin header
    (every current browser sends it on POST) must be this portal's own."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser (curl, tests); the CSRF token still has to match
    host = request.headers.get("host", "")
    return origin in (f"https://{host}", f"http://{host}")


def security_headers(response: Response, https: bool) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    # "no-referrer" would make browsers send "Origin: null" on our own forms.
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    if https:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"


def login_redirect(path: str, why: str = "") -> RedirectResponse:
    target = "/login?next=" + quote(path, safe="/")
    if why:
        target += "&why=" + why
    return RedirectResponse(target, status_code=303)


def new_login_token() -> str:
    return secrets.token_urlsafe(32)


# ----- formatting for templates ---------------------------------------------------------


def money(value: int, unit: common_pb2.PriceUnit | None = None) -> str:
    if unit is None or not unit.currency:
        return f"{value:,}"
    scaled = f"{value / 10**unit.exponent:,.{unit.exponent}f}"
    return f"{scaled} {unit.currency}" + (f"/{unit.per}" if unit.per else "")


def when(stamp: Timestamp) -> str:
    return fmt_time(stamp)


def enum(value: int, enum_type: Any, prefix: str) -> str:
    try:
        return str(enum_type.Name(value)).removeprefix(prefix).replace("_", " ").lower()
    except ValueError:
        return str(value)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("portal", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["kbps"] = fmt_kbps
    env.filters["money"] = money
    env.filters["when"] = when
    env.filters["service"] = lambda v: SERVICE_NAMES.get(v, str(v))
    env.filters["status"] = lambda v: enum(v, common_pb2.DealStatus, "DEAL_STATUS_")
    env.filters["order_status"] = lambda v: enum(v, common_pb2.OrderStatus, "ORDER_STATUS_")
    env.filters["side"] = lambda v: enum(v, common_pb2.Side, "SIDE_")
    env.filters["tif"] = lambda v: enum(v, common_pb2.TimeInForce, "TIME_IN_FORCE_")
    env.filters["tuple_pair"] = lambda v: (v, v)
    return env
