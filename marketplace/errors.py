"""Domain errors. Each names the field it is about and the rule that failed, so the
gRPC edge can map it to a status code with a message a client can act on."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a request the exchange refuses, with the field and the rule. `reason`
    is a stable code for programs (README "Errors"); each class has a default."""

    default_reason = "REFUSED"

    def __init__(self, field: str, rule: str, reason: str = "") -> None:
        super().__init__(f"{field}: {rule}" if field else rule)
        self.field = field
        self.rule = rule
        self.reason = reason or self.default_reason


class InvalidArgument(DomainError):
    """A malformed or out-of-range value."""

    default_reason = "INVALID_FIELD"


class NotFound(DomainError):
    """The named thing does not exist (or is not visible to the caller)."""

    default_reason = "NOT_FOUND"


class AlreadyExists(DomainError):
    """A conflicting thing exists already."""

    default_reason = "ALREADY_EXISTS"


class FailedPrecondition(DomainError):
    """The request is well-formed but the state does not allow it now."""

    default_reason = "FAILED_PRECONDITION"


class PermissionDenied(DomainError):
    """The caller may not do this."""

    default_reason = "PERMISSION_DENIED"


class ResourceExhausted(DomainError):
    """A quota is used up (open orders, streams, calls per second). `retry_after_s` is
    set when waiting helps (a rate limit), 0 when the caller must free something first."""

    default_reason = "QUOTA_EXCEEDED"

    def __init__(self, field: str, rule: str, retry_after_s: float = 0.0, reason: str = "") -> None:
        super().__init__(field, rule, reason)
        self.retry_after_s = retry_after_s
