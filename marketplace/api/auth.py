"""Bearer-token authentication, certificate binding and role checks for every RPC.

The exchange keeps every token in force in memory (by hash, with its participant and
expiry) and reloads them from the store every `refresh_s` seconds, so:
- no call ever waits for the database to be authenticated, and a flood of made-up
  tokens costs no lookup at all (a token not the shape the exchange issues is refused
  before it is even hashed);
- the memory held is bounded by the tokens table, which only operators grow: padded
  or made-up tokens never add an entry;
- a token revoked through this server stops working at once, and one revoked or
  deleted in the store by any other means within `refresh_s`;
- an address that keeps sending tokens that fail is answered more slowly (a tarpit):
  beyond `failures` per second, each failed call waits `tarpit_s` before its answer. A
  valid token from the same address is never slowed (it is recognised in memory)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NoReturn

import grpc

from marketplace.api.guard import Refusal
from marketplace.api.quotas import RateLimiter
from marketplace.errors import PermissionDenied
from marketplace.participants import TOKEN_SHAPE, Participant, Role, token_hash
from marketplace.store import Store

log = logging.getLogger(__name__)
MAX_HELD = 10_000  # failed calls held in the tarpit at once; beyond, answered at once


class Unauthenticated(Refusal):
    """No token, or one the exchange does not accept."""

    def __init__(self, message: str) -> None:
        super().__init__(grpc.StatusCode.UNAUTHENTICATED, message)


class Authenticator:
    """Resolves `authorization: Bearer <token>` metadata to a participant and charges
    the call to that participant's rate limit."""

    def __init__(
        self,
        store: Store,
        calls: RateLimiter,
        failures: RateLimiter,
        refresh_s: float = 0.5,
        tarpit_s: float = 1.0,
        wall_clock: Callable[[], int] = lambda: time.time_ns() // 1000,
    ) -> None:
        self.store = store
        self.calls = calls
        self.failures = failures
        self.tarpit_s = tarpit_s
        self.held = 0  # failed calls waiting in the tarpit now
        self.refresh_s = refresh_s
        self.wall_clock = wall_clock
        self._tokens: dict[str, tuple[Participant, int]] = {}  # token hash -> (participant, expires_at)
        # The reloads have a thread of their own: a flood of reads cannot delay them.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ixchange-auth")
        self.refused = 0  # calls refused for their token, since start
        # Issued and revoked here while a reload was reading the store: applied again on
        # top of what it read, which may predate them.
        self._learned: list[tuple[float, str, tuple[Participant, int]]] = []
        self._revoked: list[tuple[float, str]] = []

    async def participant(self, context: grpc.aio.ServicerContext[Any, Any], cost: float = 1.0) -> Participant:
        """The caller. Raises Unauthenticated, or ResourceExhausted over its rate."""
        token = _bearer(context)
        if not token:
            await self._refuse(context, "authorization: send metadata 'authorization: Bearer <token>'")
        if not TOKEN_SHAPE.fullmatch(token):
            await self._refuse(context, "authorization: not a token this exchange issues")
        found = self._tokens.get(token_hash(token))
        if found is None:
            await self._refuse(context, "authorization: unknown or revoked token")
        who, expires_at = found
        if expires_at and expires_at <= self.wall_clock():
            await self._refuse(context, "authorization: the token has expired")
        if who.cert_subject:
            _check_certificate(context, who)
        await self.calls.admit(who.name, cost)
        return who

    async def require(self, context: grpc.aio.ServicerContext[Any, Any], role: Role, cost: float = 1.0) -> Participant:
        """The caller, who must hold `role` (operators may act in every role)."""
        who = await self.participant(context, cost)
        if not who.has(role) and not who.is_operator:
            raise PermissionDenied("authorization", f"{who.name} lacks the {role.name} role")
        return who

    async def _refuse(self, context: grpc.aio.ServicerContext[Any, Any], message: str) -> NoReturn:
        """Refuse; slowly, for an address over its share of failures. A client that keeps
        a few calls in flight then makes a few calls a second, and waiting costs the
        exchange no work (the number held at once is bounded)."""
        self.refused += 1
        address = _address(context.peer())
        if not self.failures.allows(address) and self.held < MAX_HELD:
            self.held += 1
            try:
                await asyncio.sleep(self.tarpit_s)
            finally:
                self.held -= 1
        self.failures.charge(address, 1.0)
        raise Unauthenticated(message)

    def charge(self, who: Participant, units: float) -> None:
        """Bill work done after the call was admitted (rows read, events replayed)."""
        self.calls.charge(who.name, units)

    def learn(self, hash_: str, participant: Participant, expires_at: int) -> None:
        """A token this server just issued works at once."""
        self._tokens[hash_] = (participant, expires_at)
        self._learned.append((time.monotonic(), hash_, (participant, expires_at)))

    def forget_prefix(self, prefix: str) -> None:
        """Tokens this server just revoked stop working at once."""
        _drop(self._tokens, prefix)
        self._revoked.append((time.monotonic(), prefix))

    async def reload(self) -> None:
        """Take the tokens in force, and their participants, from the store."""
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        tokens = await loop.run_in_executor(self._pool, self.store.tokens_in_force)
        self._learned = [x for x in self._learned if x[0] >= started]
        self._revoked = [x for x in self._revoked if x[0] >= started]
        for _, hash_, entry in self._learned:
            tokens[hash_] = entry
        for _, prefix in self._revoked:
            _drop(tokens, prefix)
        self._tokens = tokens

    async def reload_forever(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            try:
                await self.reload()
            except Exception:
                # Keep serving from what was loaded last; the next round tries again.
                log.warning("could not reload tokens from the store", exc_info=True)

    def close(self) -> None:
        self._pool.shutdown(wait=False)


def _drop(tokens: dict[str, Any], prefix: str) -> None:
    for h in [h for h in tokens if h.startswith(prefix)]:
        del tokens[h]


def _bearer(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            header = value if isinstance(value, str) else value.decode(errors="replace")
            scheme, _, token = header.strip().partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""


def _address(peer: str) -> str:
    """'ipv4:127.0.0.1:5000' -> 'ipv4:127.0.0.1': failures count per address, not per
    connection (a client opens as many connections as it likes)."""
    head, _, tail = peer.rpartition(":")
    return head if head and tail.isdigit() else peer


def _check_certificate(context: grpc.aio.ServicerContext[Any, Any], who: Participant) -> None:
    """A participant bound to a certificate subject calls with that certificate only:
    a common name, or the whole subject when the binding has an '='."""
    auth = context.auth_context() or {}
    names = {v.decode(errors="replace") for v in auth.get("x509_common_name", [])}
    subjects = {v.decode(errors="replace") for v in auth.get("x509_subject", [])}
    wanted = who.cert_subject
    if (wanted in subjects) if "=" in wanted else (wanted in names):
        return
    shown = ", ".join(sorted(subjects or names)) or "none"
    raise PermissionDenied(
        "authorization", f"{who.name} calls with a client certificate of subject {wanted} only (got {shown[:120]})"
    )
