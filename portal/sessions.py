"""Browser sessions and the login throttle, in memory.

A session id is 256 random bits, sent only as an HttpOnly, SameSite=Strict cookie (Secure
over HTTPS); the server keeps who it is and that user's CSRF token. A session ends after
`idle_s` without a request or `max_s` after login, whichever comes first, and at logout.
Sessions do not survive a restart of the portal: everyone logs in again, which is the
safe side. The number held is bounded: at the bound, the least recently used goes."""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_SESSIONS = 10_000


@dataclass(slots=True)
class Session:
    session_id: str
    username: str
    participant: str
    operator: bool
    csrf: str
    created: float
    seen: float
    credential: str = ""  # the user's password hash when logging in: a new password ends the session

    def csrf_matches(self, sent: str) -> bool:
        return hmac.compare_digest(self.csrf.encode(), sent.encode("utf-8", "replace"))


@dataclass
class Sessions:
    idle_s: float
    max_s: float
    clock: Callable[[], float] = time.monotonic
    _held: OrderedDict[str, Session] = field(default_factory=OrderedDict)

    def start(self, username: str, participant: str, operator: bool, credential: str = "") -> Session:
        now = self.clock()
        session = Session(
            secrets.token_urlsafe(32), username, participant, operator, secrets.token_urlsafe(32), now, now, credential
        )
        self._held[session.session_id] = session
        while len(self._held) > MAX_SESSIONS:
            self._held.popitem(last=False)
        return session

    def get(self, session_id: str) -> tuple[Session | None, str]:
        """The live session and "" — or None and why not ("", "idle" or "expired")."""
        session = self._held.get(session_id) if session_id else None
        if session is None:
            return None, ""
        now = self.clock()
        if now - session.created > self.max_s:
            del self._held[session_id]
            return None, "expired"
        if now - session.seen > self.idle_s:
            del self._held[session_id]
            return None, "idle"
        session.seen = now
        self._held.move_to_end(session_id)
        return session, ""

    def alive(self, session_id: str) -> bool:
        """Whether the session is still in force, without counting as use (a live event
        stream must not keep an unattended session open)."""
        session = self._held.get(session_id)
        now = self.clock()
        return session is not None and now - session.created <= self.max_s and now - session.seen <= self.idle_s

    def end(self, session_id: str) -> None:
        self._held.pop(session_id, None)

    def end_user(self, username: str) -> int:
        """Ends every session of a user (removed, or password changed)."""
        ids = [sid for sid, s in self._held.items() if s.username == username]
        for sid in ids:
            del self._held[sid]
        return len(ids)

    def __len__(self) -> int:
        return len(self._held)


@dataclass
class LoginThrottle:
    """At most `failures` failed logins per user name, and `per_address` times as many per
    client address (an office behind one NAT address mistypes too), in a sliding window
    of `window_s`; beyond that every login for the name or from the address is refused
    unchecked (no password hashed) until the oldest failure leaves the window. Keys are
    "user:NAME" and "addr:ADDRESS"."""

    failures: int
    window_s: float
    per_address: int = 4
    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, deque[float]] = field(default_factory=dict)

    def _limit(self, key: str) -> int:
        return self.failures * (self.per_address if key.startswith("addr:") else 1)

    def wait_s(self, *keys: str) -> float:
        """Seconds until a login for these keys will be checked again; 0 when it is now."""
        now = self.clock()
        wait = 0.0
        for key in keys:
            times = self._trimmed(key, now)
            if len(times) >= self._limit(key):
                wait = max(wait, times[0] + self.window_s - now)
        return wait

    def failed(self, *keys: str) -> None:
        now = self.clock()
        for key in keys:
            self._trimmed(key, now).append(now)
        if len(self._seen) > 100_000:  # a spray of names: forget the quiet ones
            for key in [k for k, t in self._seen.items() if not t or t[-1] < now - self.window_s]:
                del self._seen[key]

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._seen.pop(key, None)

    def _trimmed(self, key: str, now: float) -> deque[float]:
        times = self._seen.setdefault(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times
