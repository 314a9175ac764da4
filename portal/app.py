"""The portal's web application: middleware (sessions, origin check, headers, body
limit) and refusals as pages; the pages themselves are in the pages_* modules."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from marketplace.settings import Settings
from portal import pages_auth, pages_deals, pages_market, pages_operator, pages_trade
from portal.exchange import ApiError, Exchange
from portal.live import Hub
from portal.sessions import LoginThrottle, Sessions
from portal.users import Users
from portal.web import (
    MAX_BODY,
    PUBLIC,
    SESSION_COOKIE,
    Portal,
    Refused,
    environment,
    login_redirect,
    same_origin,
    security_headers,
)

log = logging.getLogger("portal")


def create_app(settings: Settings, users: Users, https: bool) -> FastAPI:
    portal = Portal(
        settings=settings,
        users=users,
        sessions=Sessions(settings.portal_session_idle_s, settings.portal_session_max_s),
        throttle=LoginThrottle(settings.portal_login_failures, settings.portal_login_window_s, per_address=4),
        https=https,
        pages=environment(),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        # A grpc.aio channel belongs to the event loop it was made in: the server's.
        portal.exchange = Exchange(settings)
        portal.hub = Hub(portal.exchange)
        yield
        await portal.hub.close()
        await portal.exchange.close()

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.portal = portal
    app.mount("/static", StaticFiles(packages=[("portal", "static")]), name="static")
    for module in (pages_auth, pages_trade, pages_deals, pages_market, pages_operator):
        app.include_router(module.router)

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await _guarded(portal, request, call_next)
        security_headers(response, https)
        if request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "max-age=3600"
        return response

    @app.exception_handler(Refused)
    async def refused(request: Request, err: Refused) -> Response:
        return portal.render(request, "error.html", status=err.status, message=err.message)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, err: ApiError) -> Response:
        return portal.render(request, "error.html", status=err.status, message=err.message)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException) -> Response:
        message = {404: "no such page", 405: "not allowed here"}.get(err.status_code, str(err.detail))
        return portal.render(request, "error.html", status=err.status_code, message=message)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, err: RequestValidationError) -> Response:
        first = err.errors()[0] if err.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        return portal.render(request, "error.html", status=400, message=f"{where}: {first.get('msg', 'not valid')}")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception) -> Response:
        incident = secrets.token_hex(6)
        log.exception("incident %s on %s %s", incident, request.method, request.url.path)
        return portal.render(
            request, "error.html", status=500, message=f"Something went wrong on our side (incident {incident})."
        )

    return app


async def _guarded(portal: Portal, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    path = request.url.path
    if request.method not in ("GET", "HEAD", "POST"):
        return PlainTextResponse("method not allowed", status_code=405)
    if request.method == "POST":
        length = request.headers.get("content-length", "0")
        if not length.isdigit() or int(length) > MAX_BODY:
            return PlainTextResponse("request too large", status_code=413)
        if not same_origin(request):
            log.warning("refused a cross-site POST to %s from %s", path, request.headers.get("origin", "")[:80])
            return HTMLResponse(
                portal.pages.get_template("error.html").render(
                    request=request, session=None, message="This form was sent from another site: refused."
                ),
                status_code=403,
            )
    session, why = portal.sessions.get(request.cookies.get(SESSION_COOKIE, ""))
    request.state.session = session
    if session is None and not path.startswith(PUBLIC) and path != "/":
        if request.method == "GET" and path != "/events":
            response: Response = login_redirect(path, why)
        else:
            response = HTMLResponse(
                portal.pages.get_template("error.html").render(
                    request=request,
                    session=None,
                    message="Your session has ended: log in again." if why else "Log in first.",
                ),
                status_code=403,
            )
        if why:
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    return await call_next(request)
