"""Participants (sellers, buyers, operators; carriers or not) and their credentials."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from enum import IntEnum

from marketplace.errors import InvalidArgument

PARTICIPANT_NAME_RULE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


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

    def has(self, role: Role) -> bool:
        return role in self.roles

    @property
    def is_operator(self) -> bool:
        return Role.OPERATOR in self.roles


def validate_participant(p: Participant) -> None:
    """Names are identifiers used in events and agreements; keep them plain."""
    if not PARTICIPANT_NAME_RULE.match(p.name):
        raise InvalidArgument("participant.name", "must be 1-40 characters of a-z 0-9 - _ starting with a letter")
    if not p.roles:
        raise InvalidArgument("participant.roles", "must hold at least one of SELLER, BUYER, OPERATOR")
    if len(p.display_name) > 200:
        raise InvalidArgument("participant.display_name", "must be at most 200 characters")


def new_token() -> str:
    """A bearer token: 256 random bits, URL-safe."""
    return "ixc_" + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Only the hash is stored, so a leaked database does not leak credentials."""
    return hashlib.sha256(token.encode()).hexdigest()
