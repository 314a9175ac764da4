"""Domain errors. Each names the field it is about and the rule that failed, so the
gRPC edge can map it to a status code with a message a client can act on."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a request the exchange refuses, with the field and the rule."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}" if field else rule)
        self.field = field
        self.rule = rule


class InvalidArgument(DomainError):
    """A malformed or out-of-range value."""


class NotFound(DomainError):
    """The named thing does not exist (or is not visible to the caller)."""


class AlreadyExists(DomainError):
    """A conflicting thing exists already."""


class FailedPrecondition(DomainError):
    """The request is well-formed but the state does not allow it now."""


class PermissionDenied(DomainError):
    """The caller may not do this."""


class ResourceExhausted(DomainError):
    """A quota is used up (open orders, streams, calls per second). `retry_after_s` is
    set when waiting helps (a rate limit), 0 when the caller must free something first."""

    def __init__(self, field: str, rule: str, retry_after_s: float = 0.0) -> None:
        super().__init__(field, rule)
        self.retry_after_s = retry_after_s
