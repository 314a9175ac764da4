"""One pagination style for every list: `page_size` (0 = the default) and an opaque
`page_token` taken from the previous reply's `next_page_token` (empty = no more)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from marketplace.errors import InvalidArgument

T = TypeVar("T")
MAX_TOKEN = 1024


def page_size(requested: int, field: str = "page_size", default: int = 100, most: int = 1000) -> int:
    if requested == 0:
        return default
    if requested > most:
        raise InvalidArgument(field, f"must be 0..{most}")
    return requested


def encode(position: Sequence[Any]) -> str:
    """A token for "after this position" (a sort key: an id, a name, a book key)."""
    return base64.urlsafe_b64encode(json.dumps(list(position)).encode()).decode()


def decode(token: str, kinds: Sequence[type]) -> tuple[Any, ...] | None:
    """The position a token stands for, each part checked against `kinds`; None for ""."""
    if not token:
        return None
    try:
        if len(token) > MAX_TOKEN:
            raise ValueError("too long")
        parts = json.loads(base64.urlsafe_b64decode(token.encode()))
        if not isinstance(parts, list) or len(parts) != len(kinds):
            raise ValueError("wrong shape")
        if not all(type(p) is kind for p, kind in zip(parts, kinds, strict=True)):
            raise ValueError("wrong kinds")
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise InvalidArgument("page_token", "not a next_page_token from an earlier page of this list") from None
    return tuple(parts)


def after_id(token: str) -> int:
    """The id a token of an id-ordered list continues after (0: from the start)."""
    position = decode(token, (int,))
    return 0 if position is None else max(0, int(position[0]))


def page_of(items: Sequence[T], key: Callable[[T], Any], token: str, size: int, kind: type) -> tuple[list[T], str]:
    """A page of `items` (already sorted by `key`) after the token's position, and the
    token for the next page ("" when this is the last)."""
    position = decode(token, (kind,))
    rest = [i for i in items if position is None or key(i) > position[0]]
    page = rest[:size]
    return page, encode([key(page[-1])]) if len(rest) > size else ""


def id_page(found: Sequence[T], size: int, id_of: Callable[[T], int]) -> tuple[Sequence[T], str]:
    """A page from `found` (up to size + 1 rows read after the token's id): the first
    `size` rows, and the token for the next page ("" when there was no row more)."""
    if len(found) <= size:
        return found, ""
    return found[:size], encode([id_of(found[size - 1])])
