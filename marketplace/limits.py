"""What the store and the wire can hold, in one table that validation reads.

Every value a participant or an operator sends is checked here before anything changes:
text against its column's length and alphabet, numbers against the column and wire
types. The store's column lengths are taken from these rules (store/tables.py), and a
unit test walks every column to check that each one has a rule, so a new column cannot
arrive without one."""

from __future__ import annotations

import re
from dataclasses import dataclass

from marketplace.errors import InvalidArgument

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
# The last microsecond google.protobuf.Timestamp allows (9999-12-31T23:59:59.999999Z);
# in microseconds it fits a BIGINT column with room to spare.
MAX_TIME_US = 253_402_300_799_999_999
MAX_TIME_S = MAX_TIME_US // 1_000_000
MAX_ID = INT64_MAX  # ids are BIGINT columns; the wire carries uint64
SHOWN_CHARS = 32  # how much of a refused value a message quotes
MAX_MESSAGE_CHARS = 512  # a refusal message never carries more than this


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """A refused value as a message may quote it: escaped, and only a short prefix."""
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}... ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}..."


def field_key(field: str, key: str) -> str:
    """`values.latency_us`: a map field's name with its key, unless the key is too long or
    odd to repeat (then only the field; the message quotes a prefix of the key)."""
    return f"{field}.{key}" if len(key) <= SHOWN_CHARS and key.isprintable() else field


@dataclass(frozen=True, slots=True)
class TextRule:
    """A text value: at most `max_len` characters (the column's length), the whole value
    matching `pattern` when there is one, otherwise printable (`multiline`: also tab and
    newline). Never a NUL or another control character: PostgreSQL cannot store NUL."""

    max_len: int
    describe: str
    pattern: re.Pattern[str] | None = None
    min_len: int = 1
    multiline: bool = False

    def check(self, field: str, value: str) -> str:
        if self.min_len <= len(value) <= self.max_len and self.allows(value):
            return value
        raise InvalidArgument(field, f"must be {self.describe}; got {shown(value)}")

    def allows(self, value: str) -> bool:
        if self.pattern is not None:
            return self.pattern.fullmatch(value) is not None
        if self.multiline:
            return value.replace("\n", "").replace("\t", "").replace("\r", "").isprintable()
        return value.isprintable()


def _rule(regex: str) -> re.Pattern[str]:
    # fullmatch, never `$`: `$` also matches before a trailing newline.
    return re.compile(regex)


PARTICIPANT_NAME = TextRule(
    40, "1-40 characters of a-z 0-9 - _ starting with a letter", _rule(r"[a-z][a-z0-9_-]{0,39}")
)
PARAMETER_NAME = TextRule(40, "1-40 characters of a-z 0-9 _ starting with a letter", _rule(r"[a-z][a-z0-9_]{0,39}"))
PARAMETER_UNIT = TextRule(16, "1-16 printable characters")
DESCRIPTION = TextRule(1024, "at most 1024 printable characters", min_len=0)
SCHEME_NAME = TextRule(40, "1-40 characters of a-z 0-9 - starting with a letter", _rule(r"[a-z][a-z0-9-]{0,39}"))
GRADE_NAME = TextRule(24, "1-24 characters of a-z 0-9 - starting with a letter", _rule(r"[a-z][a-z0-9-]{0,23}"))
POP = TextRule(64, "a point-of-presence code of 1-64 characters A-Z 0-9 . _ -", _rule(r"[A-Z0-9][A-Z0-9._-]{0,63}"))
CLIENT_ORDER_ID_PATTERN = _rule(r"[\x21-\x7e]{1,64}")  # read on every order
CLIENT_ORDER_ID = TextRule(64, "1-64 printable ASCII characters without spaces", CLIENT_ORDER_ID_PATTERN)
AGREEMENT_REFERENCE = TextRule(64, "1-64 printable characters")
NODE_NAME = TextRule(64, "1-64 characters of A-Z a-z 0-9 . _ : / -", _rule(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}"))
LINK_NAME = TextRule(200, "a fabric link, NODE:PORT-NODE:PORT", _rule(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}"))
DISPLAY_NAME = TextRule(200, "at most 200 printable characters", min_len=0)
TERMS = TextRule(4096, "at most 4096 printable characters (tabs and newlines allowed)", min_len=0, multiline=True)
REASON = TextRule(256, "at most 256 printable characters", min_len=0)
CERT_SUBJECT = TextRule(256, "at most 256 printable characters", min_len=0)
TOKEN_LABEL = TextRule(64, "at most 64 printable characters", min_len=0)

# Collections that land in one row or one message.
MAX_PARAMETERS = 64  # defined parameters; also bounds an order's values and a scheme's weights
MAX_GRADES = 32  # grades in one class scheme
MAX_INTERCONNECTS = 16  # interconnects in one agreement
MAX_NEIGHBOURS = 64  # nearby points of presence of one


def check_int(field: str, value: int, low: int, high: int, unit: str = "") -> int:
    """An integer inside [low, high]; the message names the range and quotes the value."""
    if low <= value <= high:
        return value
    suffix = f" {unit}" if unit else ""
    raise InvalidArgument(field, f"{shown(value)} is outside {low}..{high}{suffix}")


def fits_id(value: int) -> bool:
    """An id the store can hold (the wire allows up to 2^64 - 1)."""
    return 0 < value <= MAX_ID


def clamp(value: int, low: int, high: int) -> int:
    return low if value < low else high if value > high else value
