"""`ixchange portal`: the web portal, a client of the exchange's gRPC API; and
`ixchange portal user add|list|remove|password` for the operator to manage its users."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import secrets
import sys
from typing import Any

from controller.cli.common import CliError, Table, console, emit, err_console, say, token_for
from marketplace.settings import Settings


def add_parsers(sub: Any) -> None:
    portal = sub.add_parser("portal", help="run the web portal (HTTPS) against the exchange at --server")
    portal.add_argument("--listen", dest="portal_listen", help="host:port (IXCHANGE_PORTAL_LISTEN, 127.0.0.1:8443)")
    portal.add_argument(
        "--cert", dest="portal_cert", help="PEM certificate (IXCHANGE_PORTAL_CERT); default self-signed"
    )
    portal.add_argument("--key", dest="portal_key", help="PEM private key (IXCHANGE_PORTAL_KEY)")
    portal.add_argument(
        "--insecure-http",
        dest="portal_insecure_http",
        action="store_true",
        default=None,
        help="plain HTTP instead of HTTPS, on a loopback address only (IXCHANGE_PORTAL_INSECURE_HTTP)",
    )
    portal.set_defaults(run_local=cmd_portal)
    users = portal.add_subparsers(dest="portal_command")
    user = users.add_parser("user", help="operators: portal users (a user acts for one participant)")
    actions = user.add_subparsers(dest="user_command", required=True)
    add = actions.add_parser("add", help="a new user; prints a generated password unless --password-stdin")
    add.add_argument("username")
    add.add_argument("--participant", required=True, help="the participant the user acts for")
    add.add_argument("--totp", action="store_true", help="require a one-time code (prints the secret once)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(run_local=cmd_user_add)
    actions.add_parser("list", help="the portal's users").set_defaults(run_local=cmd_user_list)
    remove = actions.add_parser("remove", help="remove a user and revoke its token")
    remove.add_argument("username")
    remove.set_defaults(run_local=cmd_user_remove)
    password = actions.add_parser("password", help="set a user's password (from standard input, or prompted)")
    password.add_argument("username")
    password.set_defaults(run_local=cmd_user_password)


def _with_flags(args: argparse.Namespace, settings: Settings) -> Settings:
    from dataclasses import replace

    changes = {
        k: getattr(args, k)
        for k in ("portal_listen", "portal_cert", "portal_key", "portal_insecure_http")
        if getattr(args, k, None) is not None
    }
    return replace(settings, **changes).validated()


def cmd_portal(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    from portal.server import PortalError, serve

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        serve(_with_flags(args, settings), lambda text: console.print(text, soft_wrap=True))
    except PortalError as err:
        err_console.print(f"[red]cannot start[/]: {err}", soft_wrap=True)
        return 2
    except OSError as err:
        err_console.print(f"[red]cannot start[/]: IXCHANGE_PORTAL_LISTEN: {err.strerror}", soft_wrap=True)
        return 2
    return 0


def _read_password(prompt: bool) -> str:
    if not prompt or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise CliError("password: the two did not match")
    return first


def cmd_user_add(args: argparse.Namespace, settings: Settings) -> int:
    from portal import accounts
    from portal.exchange import ApiError, Exchange
    from portal.server import users_of
    from portal.users import UserError

    password = _read_password(prompt=True) if args.password_stdin else secrets.token_urlsafe(15)
    users = users_of(settings)

    async def add() -> Any:
        exchange = Exchange(settings)
        try:
            return await accounts.create_user(
                exchange, token_for(settings, None), users, args.username, args.participant, password, args.totp
            )
        finally:
            await exchange.close()

    try:
        user = asyncio.run(add())
    except (UserError, ApiError) as err:
        raise CliError(str(err) if isinstance(err, UserError) else err.message) from None
    finally:
        users.close()
    shown = {"username": user.username, "participant": user.participant, "operator": user.operator}
    if not args.password_stdin:
        shown["password"] = password
    if user.has_totp:
        import pyotp

        shown["totp_secret"] = user.totp_secret
        shown["totp_uri"] = pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name="ixchange")
    emit(shown, lambda: _show_new_user(shown))
    return 0


def _show_new_user(shown: dict[str, Any]) -> None:
    say(f"user [bold]{shown['username']}[/] acts for {shown['participant']}")
    if "password" in shown:
        say(f"password (shown once): [bold]{shown['password']}[/]")
    if "totp_secret" in shown:
        say(f"authenticator secret (shown once): {shown['totp_secret']}\n  {shown['totp_uri']}")


def cmd_user_list(args: argparse.Namespace, settings: Settings) -> int:
    from portal.server import users_of

    users = users_of(settings)
    try:
        rows = [
            {"username": u.username, "participant": u.participant, "operator": u.operator, "totp": u.has_totp}
            for u in users.all()
        ]
    finally:
        users.close()

    def show() -> None:
        table = Table(title="Portal users")
        for column in ("user", "participant", "operator", "TOTP"):
            table.add_column(column)
        for r in rows:
            table.add_row(
                str(r["username"]), str(r["participant"]), "yes" if r["operator"] else "", "yes" if r["totp"] else ""
            )
        console.print(table)

    emit({"users": rows}, show)
    return 0


def cmd_user_remove(args: argparse.Namespace, settings: Settings) -> int:
    from portal import accounts
    from portal.exchange import ApiError, Exchange
    from portal.server import users_of

    users = users_of(settings)

    async def remove() -> Any:
        exchange = Exchange(settings)
        try:
            return await accounts.remove_user(exchange, token_for(settings, None), users, args.username)
        finally:
            await exchange.close()

    try:
        if asyncio.run(remove()) is None:
            raise CliError(f"username: no portal user {args.username[:40]}")
    except ApiError as err:
        raise CliError(err.message) from None
    finally:
        users.close()
    say(f"removed {args.username}; its token is revoked (a running portal ends its sessions at their next request)")
    return 0


def cmd_user_password(args: argparse.Namespace, settings: Settings) -> int:
    from portal.server import users_of
    from portal.users import UserError

    users = users_of(settings)
    try:
        if users.get(args.username) is None:
            raise CliError(f"username: no portal user {args.username[:40]}")
        users.set_password(args.username, _read_password(prompt=True))
    except UserError as err:
        raise CliError(str(err)) from None
    finally:
        users.close()
    say(f"password of {args.username} set")
    return 0
