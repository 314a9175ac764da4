"""Log in, log out, and the front door."""

from __future__ import annotations

import asyncio
import hmac

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from portal.web import LOGIN_COOKIE, SESSION_COOKIE, Portal, Refused, new_login_token, read_form

router = APIRouter()
WHY = {
    "idle": "Your session ended after a time without use: log in again.",
    "expired": "Your session reached its time limit: log in again.",
}


def _portal(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


def _next(target: str) -> str:
    """Only a path on this portal (never //host or a scheme: no open redirect)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target and target != "/login":
        return target
    return "/trade"


@router.get("/")
async def front(request: Request) -> Response:
    return RedirectResponse("/trade" if request.state.session else "/login", status_code=303)


@router.get("/healthz")
async def healthz() -> Response:
    return PlainTextResponse("ok")


@router.get("/login")
async def login_page(request: Request, next: str = "/trade", why: str = "") -> Response:
    return _login_form(_portal(request), request, next, notice=WHY.get(why, ""))


def _login_form(
    portal: Portal,
    request: Request,
    next: str,
    status: int = 200,
    notice: str = "",
    errors: dict[str, str] | None = None,
    username: str = "",
) -> Response:
    token = new_login_token()
    response = portal.render(
        request,
        "login.html",
        status=status,
        next=_next(next),
        csrf=token,
        notice=notice,
        errors=errors or {},
        username=username,
    )
    portal.cookie(response, LOGIN_COOKIE, token, max_age=3600)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    portal = _portal(request)
    form = await read_form(request)
    sent, kept = form.get("csrf", ""), request.cookies.get(LOGIN_COOKIE, "")
    if not kept or not hmac.compare_digest(sent.encode(), kept.encode()):
        raise Refused(403, "This login form is out of date or did not come from this portal. Reload and try again.")
    username = form.get("username", "").strip()[:64]
    address = request.client.host if request.client else "?"
    keys = (f"user:{username}", f"addr:{address}")
    wait = portal.throttle.wait_s(*keys)
    if wait > 0:
        return _login_form(
            portal,
            request,
            form.get("next", ""),
            status=429,
            username=username,
            errors={"username": f"Too many failed logins: try again in {int(wait) + 1} s."},
        )
    # argon2 takes tens of milliseconds of CPU: off the event loop.
    user, wrong = await asyncio.to_thread(
        portal.users.authenticate, username, form.get("password", ""), form.get("code", "")
    )
    if user is None:
        portal.throttle.failed(*keys)
        message = "code: wrong or expired one-time code" if wrong == "code" else "Wrong user name or password."
        return _login_form(
            portal,
            request,
            form.get("next", ""),
            status=401,
            username=username,
            errors={"code" if wrong == "code" else "password": message},
        )
    portal.throttle.succeeded(keys[0])
    session = portal.sessions.start(user.username, user.participant, user.operator, user.password_hash)
    response = RedirectResponse(_next(form.get("next", "")), status_code=303)
    portal.cookie(response, SESSION_COOKIE, session.session_id)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    portal = _portal(request)
    await portal.posted(request)
    portal.sessions.end(request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
