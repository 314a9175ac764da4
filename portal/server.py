"""Running the portal: checks before anything opens, the certificate, the first operator
user, and uvicorn over HTTPS (or plain HTTP on loopback, only when told)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from marketplace.api.following import channel_target
from marketplace.api.server import is_loopback, private_dir
from marketplace.errors import InvalidArgument
from marketplace.settings import Settings
from portal import accounts
from portal.app import create_app
from portal.exchange import ApiError, Exchange
from portal.tls import fingerprint, self_signed
from portal.users import Users

log = logging.getLogger("portal")


class PortalError(Exception):
    """The portal cannot start as configured; the message names the setting."""


@dataclass
class Plan:
    host: str
    port: int
    https: bool
    cert: Path | None = None
    key: Path | None = None
    made_cert: bool = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.https else 'http'}://{host}:{self.port}/"


def plan(settings: Settings) -> Plan:
    host, _, port = settings.portal_listen.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise PortalError("IXCHANGE_PORTAL_LISTEN: must be host:port, e.g. 127.0.0.1:8443")
    if settings.portal_insecure_http:
        if not is_loopback(host):
            raise PortalError(
                f"IXCHANGE_PORTAL_INSECURE_HTTP: plain HTTP is served on loopback only, not on {host}; "
                "drop the flag to serve HTTPS"
            )
        return Plan(host, int(port), https=False)
    if settings.portal_cert:
        cert, key = Path(settings.portal_cert), Path(settings.portal_key)
        for name, path in (("IXCHANGE_PORTAL_CERT", cert), ("IXCHANGE_PORTAL_KEY", key)):
            if not path.is_file():
                raise PortalError(f"{name}: {path} is not a readable file")
        return Plan(host, int(port), https=True, cert=cert, key=key)
    cert, key, made = self_signed(settings.data_dir, host)
    return Plan(host, int(port), https=True, cert=cert, key=key, made_cert=made)


def users_of(settings: Settings) -> Users:
    private_dir(settings.data_dir)  # the portal's users hold API tokens
    return Users(settings.data_dir / "portal.db")


async def bootstrap_operator(settings: Settings, users: Users) -> Path | None:
    """With no operator user yet and the operator's credential at hand, a portal user `operator`
    with a random password written to a file only its owner can read (the path returned)."""
    if any(u.operator for u in users.all()) or not settings.operator_token_file.exists():
        return None
    token = settings.token or settings.operator_token_file.read_text().strip()
    password = secrets.token_urlsafe(15)
    exchange = Exchange(settings)
    try:
        for attempt in range(20):  # `make run` starts the exchange and the portal together
            try:
                await accounts.create_user(exchange, token, users, "operator", "operator", password, totp=False)
                break
            except ApiError as err:
                if err.status != 503 or attempt == 19:
                    raise
                await asyncio.sleep(0.5)
    finally:
        await exchange.close()
    path = settings.data_dir / "portal-operator.password"
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(password + "\n")
    return path


def serve(settings: Settings, say: Callable[[str], None]) -> None:
    """Runs until SIGINT/SIGTERM. Raises PortalError before opening anything it cannot."""
    where = plan(settings)
    try:
        channel_target(settings.server)  # several servers: names resolved, families alike
    except InvalidArgument as err:
        raise PortalError(str(err)) from None
    users = users_of(settings)
    try:
        made = asyncio.run(bootstrap_operator(settings, users))
    except ApiError as err:
        raise PortalError(f"IXCHANGE_SERVER: the exchange refused the first operator user: {err.message}") from None
    app = create_app(settings, users, https=where.https)
    config = uvicorn.Config(
        app,
        host=where.host,
        port=where.port,
        ssl_certfile=str(where.cert) if where.cert else None,
        ssl_keyfile=str(where.key) if where.key else None,
        log_level="warning",
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    if where.made_cert and where.cert:
        say(
            f"portal: made a self-signed certificate {where.cert} (SHA-256 {fingerprint(where.cert)}); "
            "browsers will ask you to accept it — or set IXCHANGE_PORTAL_CERT and IXCHANGE_PORTAL_KEY"
        )
    if not where.https:
        say("portal: plain HTTP on loopback (--insecure-http): for development only")
    if made:
        say(f"portal: log in as [bold]operator[/] with the password in {made} (mode 0600)")
    say(f"portal: [bold]{where.url}[/] (exchange {settings.server}); Ctrl-C stops")
    try:
        server.run()
    finally:
        users.close()
