"""Bearer-token authentication and role checks for every RPC."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from marketplace.errors import PermissionDenied
from marketplace.participants import Participant, Role, token_hash
from marketplace.store import Store


class Unauthenticated(Exception):
    """No token, or a token the exchange does not know."""


class Authenticator:
    """Resolves `authorization: Bearer <token>` metadata to a participant. Tokens cannot
    be changed once issued, so resolved ones are cached in memory (the store keeps only
    their hashes)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[str, Participant] = {}

    async def participant(self, context: grpc.aio.ServicerContext[Any, Any]) -> Participant:
        header = ""
        for key, value in context.invocation_metadata() or ():
            if key == "authorization":
                header = value if isinstance(value, str) else value.decode()
                break
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("authorization: send metadata 'authorization: Bearer <token>'")
        found = self._cache.get(token)
        if found is None:
            found = await asyncio.to_thread(self.store.participant_for_token, token_hash(token.strip()))
            if found is None:
                raise Unauthenticated("authorization: unknown token")
            self._cache[token] = found
        return found

    async def require(self, context: grpc.aio.ServicerContext[Any, Any], role: Role) -> Participant:
        """The caller, who must hold `role` (operators may act in every role)."""
        who = await self.participant(context)
        if not who.has(role) and not who.is_operator:
            raise PermissionDenied("authorization", f"{who.name} lacks the {role.name} role")
        return who
