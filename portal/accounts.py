"""Creating and removing portal users (the CLI and the operator pages both use this).

A user acts as its participant through a token of its own, issued by the exchange when
the user is created (labelled `portal:<user>`) and revoked when the user is removed, so
the exchange's token list shows who has portal access and the operator can cut one off."""

from __future__ import annotations

import grpc
from ixchange.v1 import participants_pb2

from portal.exchange import ApiError, Exchange
from portal.users import User, UserError, Users, check_password, check_username


async def participant_roles(exchange: Exchange, operator_token: str, name: str) -> list[int] | None:
    page = ""
    while True:
        reply = await exchange.call(
            operator_token,
            exchange.participants.ListParticipants,
            participants_pb2.ListParticipantsRequest(page_size=1000, page_token=page),
        )
        for p in reply.participants:
            if p.name == name:
                return list(p.roles)
        page = reply.next_page_token
        if not page:
            return None


async def create_user(
    exchange: Exchange, operator_token: str, users: Users, username: str, participant: str, password: str, totp: bool
) -> User:
    """Raises UserError (a bad name or password, a name taken) or ApiError (the exchange
    refused: no such participant, not an operator's token)."""
    check_username(username)
    check_password(password)
    if users.get(username) is not None:
        raise UserError(f"username: {username} exists already")
    roles = await participant_roles(exchange, operator_token, participant)
    if roles is None:
        raise ApiError(grpc.StatusCode.NOT_FOUND, f"participant: no participant named {participant}")
    issued = await exchange.call(
        operator_token,
        exchange.participants.IssueToken,
        participants_pb2.IssueTokenRequest(participant=participant, label=f"portal:{username}"),
    )
    try:
        return users.add(username, participant, participants_pb2.ROLE_OPERATOR in roles, password, issued.token, totp)
    except Exception:
        await revoke(exchange, operator_token, issued.token)
        raise


async def revoke(exchange: Exchange, operator_token: str, token: str) -> None:
    await exchange.call(
        operator_token, exchange.participants.RevokeToken, participants_pb2.RevokeTokenRequest(token=token)
    )


async def remove_user(exchange: Exchange, operator_token: str, users: Users, username: str) -> User | None:
    user = users.get(username)
    if user is None:
        return None
    try:
        await revoke(exchange, operator_token, user.token)
    except ApiError as err:
        if err.status != 404:
            raise
    users.remove(username)
    return user
