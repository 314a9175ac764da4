"""Participants (sellers, buyers, operators; carriers or not) and their credentials."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from enum import IntEnum

from marketplace import limits
from marketplace.errors import InvalidArgument


class Role(IntEnum):
    """Values match ixchange.v1.Role."""

    SELLER = 1
    BUYER = 2
    OPERATOR = 3


@dataclass(frozen=True, slots=True)
class Participant:
    """A party that may call the exchange."""

    name: str
    roles: frozenset[Role]
    carrier: bool
    display_name: str
    created_at: int = 0
    # With mutual TLS: this participant's calls must present a client certificate of
    # this subject (a common name, or a full subject "CN=...,O=..."); empty: any.
    cert_subject: str = ""

    def has(self, role: Role) -> bool:
        return role in self.roles

    @property
    def is_operator(self) -> bool:
        return Role.OPERATOR in self.roles


def validate_participant(p: Participant) -> None:
    """Names are identifiers used in events and agreements; keep them plain."""
    limits.PARTICIPANT_NAME.check("participant.name", p.name)
    if not p.roles:
        raise InvalidArgument("participant.roles", "must hold at least one of SELLER, BUYER, OPERATOR")
    limits.DISPLAY_NAME.check("participant.display_name", p.display_name)
    limits.CERT_SUBJECT.check("participant.cert_subject", p.cert_subject)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What the exchange keeps of an issued token (never the token itself)."""

    token_id: str  # the first hex digits of its hash: names it in lists and revocations
    participant: str
    label: str
    created_at: int
    expires_at: int  # 0: never
    revoked_at: int  # 0: not revoked


TOKEN_ID_LENGTH = 12
TOKEN_SHAPE = re.compile(r"ixc_[A-Za-z0-9_-]{43}")  # what new_token makes


def token_id(token_hash: str) -> str:
    return token_hash[:TOKEN_ID_LENGTH]


def new_token() -> str:
    """A bearer token: 256 random bits, URL-safe."""
    return "ixc_" + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Only the hash is stored, so a leaked database does not leak credentials."""
    return hashlib.sha256(token.encode()).hexdigest()
