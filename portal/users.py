"""Portal users and their saved order templates, in a small SQLite file of the portal's own.

A user belongs to one participant and acts with that participant's API token, issued by
the operator when the user is created. The token is kept here, on the server, and never
leaves it: the browser holds only a session id. Passwords are hashed with argon2id (a
memory-hard function: each guess costs 64 MiB and tens of milliseconds); a TOTP secret is
optional (RFC 6238, 30 s steps, one step of clock skew either way)."""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from marketplace import limits

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    participant TEXT NOT NULL,
    operator INTEGER NOT NULL,
    password_hash TEXT NOT NULL,
    totp_secret TEXT NOT NULL DEFAULT '',
    token TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS templates (
    template_id INTEGER PRIMARY KEY AUTOINCREMENT,
    participant TEXT NOT NULL,
    name TEXT NOT NULL,
    form TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (participant, name)
);
"""
MIN_PASSWORD = 12
MAX_PASSWORD = 256  # argon2 takes any length; a bound keeps a login from hashing megabytes
MAX_TEMPLATES = 100  # per participant
MAX_TEMPLATE_BYTES = 8192
_HASHER = PasswordHasher()  # argon2id, RFC 9106's second recommended profile (64 MiB, t=3)
# Verified against when the user name is unknown, so that a login costs the same either way.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class UserError(ValueError):
    """A value the portal's store cannot take; the message starts with the field."""


@dataclass(frozen=True, slots=True)
class User:
    username: str
    participant: str
    operator: bool
    password_hash: str
    totp_secret: str
    token: str
    created_at: int

    @property
    def has_totp(self) -> bool:
        return bool(self.totp_secret)


@dataclass(frozen=True, slots=True)
class Template:
    template_id: int
    participant: str
    name: str
    form: dict[str, str]
    created_at: int


def _user(row: tuple[Any, ...]) -> User:
    username, participant, operator, password_hash, totp_secret, token, created_at = row
    return User(username, participant, bool(operator), password_hash, totp_secret, token, created_at)


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UserError(f"password: must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")


def check_username(username: str) -> None:
    # The same rule as participant names: it shows in pages and logs.
    if not limits.PARTICIPANT_NAME.allows(username):
        raise UserError(f"username: {limits.shown(username)} is not allowed ({limits.PARTICIPANT_NAME.describe})")


class Users:
    """The portal's users and templates. Safe to call from several threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)  # it holds API tokens
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._lock = threading.Lock()
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(f"{path}: made by a newer ixchange (schema {version} > {SCHEMA_VERSION})")
            self._db.executescript(SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    def _rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # ----- users --------------------------------------------------------------------

    def add(
        self, username: str, participant: str, operator: bool, password: str, token: str, totp: bool = False
    ) -> User:
        check_username(username)
        check_password(password)
        secret = pyotp.random_base32() if totp else ""
        now = int(time.time())
        try:
            with self._lock:
                self._db.execute(
                    "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (username, participant, int(operator), _HASHER.hash(password), secret, token, now),
                )
        except sqlite3.IntegrityError:
            raise UserError(f"username: {username} exists already") from None
        return User(username, participant, operator, "", secret, token, now)

    def get(self, username: str) -> User | None:
        rows = self._rows("SELECT * FROM users WHERE username = ?", username)
        return _user(rows[0]) if rows else None

    def all(self) -> list[User]:
        return [_user(r) for r in self._rows("SELECT * FROM users ORDER BY username")]

    def remove(self, username: str) -> User | None:
        user = self.get(username)
        if user is not None:
            self._rows("DELETE FROM users WHERE username = ?", username)
        return user

    def set_password(self, username: str, password: str) -> None:
        check_password(password)
        self._rows("UPDATE users SET password_hash = ? WHERE username = ?", _HASHER.hash(password), username)

    def authenticate(self, username: str, password: str, code: str) -> tuple[User | None, str]:
        """The user when the password (and the TOTP code, where the user has one) is right;
        else None and which field was wrong. The hash is checked even for an unknown name."""
        user = self.get(username) if len(username) <= 64 else None
        password = password[:MAX_PASSWORD]
        try:
            _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None, "password"
        if user is None:
            return None, "password"
        if user.has_totp and not pyotp.TOTP(user.totp_secret).verify(code.strip(), valid_window=1):
            return None, "code"
        return user, ""

    # ----- templates ----------------------------------------------------------------

    def save_template(self, participant: str, name: str, form: dict[str, str]) -> Template:
        name = name.strip()
        if not 1 <= len(name) <= 64 or not name.isprintable():
            raise UserError("save_as: a template name is 1 to 64 printable characters")
        body = json.dumps(form, sort_keys=True)
        if len(body) > MAX_TEMPLATE_BYTES:
            raise UserError(f"save_as: the order is too large to save (over {MAX_TEMPLATE_BYTES} bytes)")
        (count,) = self._rows("SELECT count(*) FROM templates WHERE participant = ?", participant)[0]
        if count >= MAX_TEMPLATES:
            raise UserError(f"save_as: {participant} has {MAX_TEMPLATES} templates, the most kept; delete one")
        now = int(time.time())
        with self._lock:
            self._db.execute(
                "INSERT INTO templates (participant, name, form, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (participant, name) DO UPDATE SET form = excluded.form, created_at = excluded.created_at",
                (participant, name, body, now),
            )
        found = [t for t in self.templates(participant) if t.name == name]
        return found[0]

    def templates(self, participant: str) -> list[Template]:
        rows = self._rows(
            "SELECT template_id, participant, name, form, created_at FROM templates "
            "WHERE participant = ? ORDER BY name",
            participant,
        )
        return [Template(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    def template(self, participant: str, template_id: int) -> Template | None:
        """A template of this participant's; another participant's is not found."""
        return next((t for t in self.templates(participant) if t.template_id == template_id), None)

    def delete_template(self, participant: str, template_id: int) -> bool:
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM templates WHERE participant = ? AND template_id = ?", (participant, template_id)
            )
        return cur.rowcount > 0
