"""The edge every call passes: undecodable requests, refusals and unexpected errors.

Each servicer method is wrapped once, at registration, so no handler can forget it:
- request bytes that do not decode answer INVALID_ARGUMENT (counted, logged once per
  interval; before this, grpc logged a traceback per call and answered UNKNOWN);
- a domain refusal answers its status code with a message of bounded length and the
  standard google.rpc error details (BadRequest, PreconditionFailure, QuotaFailure with
  RetryInfo, ResourceInfo), which grpc clients in every language can decode;
- anything unexpected answers INTERNAL with an opaque reference that the server log
  carries with the traceback, never the exception text (which can hold SQL);
- responses are serialized inside the wrapper, so a value the wire cannot carry is an
  internal error with a reference, not grpc's UNKNOWN with the exception text.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status

from marketplace import limits
from marketplace.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
)

log = logging.getLogger(__name__)

STATUS_FOR: dict[type[DomainError], grpc.StatusCode] = {
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
}


class Refusal(Exception):
    """A status the edge answers as it is (authentication, availability, ranges);
    `reason` defaults to the status code's name."""

    def __init__(self, code: grpc.StatusCode, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or code.name


class Undecodable:
    """Stands in for a request whose bytes are not the message the method takes."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name


class Occasional:
    """Logs an event the first time and then at most once per `interval` seconds, with
    how many happened in between: one client cannot fill the log."""

    def __init__(self, logger: logging.Logger, what: str, interval: float = 60.0) -> None:
        self.logger = logger
        self.what = what
        self.interval = interval
        self.count = 0  # since the last line
        self.total = 0
        self._last = -interval

    def __call__(self, detail: str) -> None:
        self.count += 1
        self.total += 1
        now = time.monotonic()
        if now - self._last >= self.interval:
            self.logger.warning("%s: %d in the last %.0f s (latest: %s)", self.what, self.count, self.interval, detail)
            self.count = 0
            self._last = now


def bounded(message: str) -> str:
    if len(message) <= limits.MAX_MESSAGE_CHARS:
        return message
    return message[: limits.MAX_MESSAGE_CHARS - 3] + "..."


# google.rpc.ErrorInfo.domain of every error the exchange answers.
ERROR_DOMAIN = "ixchange.v1"


def _proto_status(code: grpc.StatusCode, message: str, *details: Any) -> Any:
    """A google.rpc.Status."""
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=message)
    for detail in details:
        status.details.add().Pack(detail)
    return status


def _status(code: grpc.StatusCode, message: str, *details: Any) -> grpc.Status:
    return rpc_status.to_status(_proto_status(code, message, *details))


def error_info(reason: str, field: str = "") -> Any:
    """The stable, machine-readable reason (README "Errors"), with the field it is about."""
    return error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata={"field": field} if field else {})


def domain_status(err: DomainError) -> grpc.Status:
    return rpc_status.to_status(domain_proto_status(err))


def domain_proto_status(err: DomainError) -> Any:
    """The status, bounded message and standard error details for a domain refusal:
    ErrorInfo first, then the detail of the kind (BadRequest, PreconditionFailure...)."""
    code = STATUS_FOR[type(err)]
    message = bounded(str(err))
    field, rule = bounded(err.field), bounded(err.rule)
    info = error_info(err.reason, field)
    if isinstance(err, InvalidArgument):
        return _proto_status(
            code, message, info, error_details_pb2.BadRequest(field_violations=[{"field": field, "description": rule}])
        )
    if isinstance(err, FailedPrecondition):
        violation = {"type": "STATE", "subject": field, "description": rule}
        return _proto_status(code, message, info, error_details_pb2.PreconditionFailure(violations=[violation]))
    if isinstance(err, ResourceExhausted):
        details: list[Any] = [
            info,
            error_details_pb2.QuotaFailure(violations=[{"subject": field, "description": rule}]),
        ]
        if err.retry_after_s > 0:
            delay = duration_pb2.Duration()
            delay.FromNanoseconds(int(err.retry_after_s * 1e9))
            details.append(error_details_pb2.RetryInfo(retry_delay=delay))
        return _proto_status(code, message, *details)
    if isinstance(err, NotFound | AlreadyExists):
        return _proto_status(code, message, info, error_details_pb2.ResourceInfo(resource_name=field, description=rule))
    return _proto_status(code, message, info)


class Guard:
    """Wraps the handlers of every service registered through it."""

    def __init__(self) -> None:
        self.undecodable = Occasional(log, "refused undecodable requests")
        self.internal_errors = 0

    def register(self, server: grpc.aio.Server, add_to_server: Callable[[Any, Any], None], servicer: Any) -> None:
        """Register `servicer` the way its generated `add_..._to_server` would, with
        every method handler wrapped."""
        add_to_server(servicer, _Collector(server, self))

    def status_of(self, method: str, err: BaseException) -> Any:
        """The google.rpc.Status a call that raised `err` answers with (also each refused
        command of a TradeStream batch)."""
        if isinstance(err, DomainError):
            return domain_proto_status(err)
        if isinstance(err, Refusal):
            return _proto_status(err.code, bounded(err.message), error_info(err.reason))
        self.internal_errors += 1
        reference = uuid.uuid4().hex[:16]
        log.error("internal error %s in %s", reference, method, exc_info=err)
        return _proto_status(
            grpc.StatusCode.INTERNAL,
            f"internal error; the exchange's log has it under reference {reference}",
            error_info("INTERNAL"),
            error_details_pb2.RequestInfo(request_id=reference),
        )

    async def _abort(self, context: grpc.aio.ServicerContext[Any, Any], method: str, err: BaseException) -> None:
        status = rpc_status.to_status(self.status_of(method, err))
        await context.abort(status.code, status.details, status.trailing_metadata)

    async def _refuse_undecodable(self, context: grpc.aio.ServicerContext[Any, Any], request: Undecodable) -> None:
        self.undecodable(f"{request.type_name} from {context.peer()}")
        err = InvalidArgument(
            "request", f"the bytes received are not a valid {request.type_name} message", reason="UNDECODABLE_REQUEST"
        )
        await self._abort(context, request.type_name, err)

    def wrap(self, method: str, handler: Any) -> Any:
        """`handler` is grpc's method handler (a named tuple at run time)."""
        decode = _safe_decoder(handler.request_deserializer)
        encode = handler.response_serializer
        if handler.request_streaming:
            if handler.stream_stream is None:
                raise TypeError(f"{method}: client-streaming methods with one reply are not wrapped yet")
            return handler._replace(
                stream_stream=self._wrap_bidi(method, handler.stream_stream, encode),
                request_deserializer=decode,
                response_serializer=_passthrough,
            )
        if handler.unary_unary is not None:
            behaviour = handler.unary_unary

            async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
                if isinstance(request, Undecodable):
                    await self._refuse_undecodable(context, request)
                try:
                    return _encode(encode, await behaviour(request, context))
                except grpc.aio.AbortError:
                    raise
                except Exception as err:
                    await self._abort(context, method, err)

            return handler._replace(unary_unary=unary, request_deserializer=decode, response_serializer=_passthrough)
        stream_behaviour = handler.unary_stream

        async def stream(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            if isinstance(request, Undecodable):
                await self._refuse_undecodable(context, request)
            try:
                async for item in stream_behaviour(request, context):
                    yield _encode(encode, item)
            except grpc.aio.AbortError:
                raise
            except Exception as err:
                await self._abort(context, method, err)

        return handler._replace(unary_stream=stream, request_deserializer=decode, response_serializer=_passthrough)

    def _wrap_bidi(self, method: str, behaviour: Any, encode: Any) -> Any:
        async def bidi(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            try:
                async for item in behaviour(_checked_requests(self, context, requests), context):
                    yield _encode(encode, item)
            except grpc.aio.AbortError:
                raise
            except Exception as err:
                await self._abort(context, method, err)

        return bidi


def _checked_requests(
    guard: Guard, context: grpc.aio.ServicerContext[Any, Any], requests: AsyncIterator[Any]
) -> AsyncIterator[Any]:
    """A stream's requests; one that does not decode ends the stream INVALID_ARGUMENT."""

    async def checked() -> AsyncIterator[Any]:
        async for request in requests:
            if isinstance(request, Undecodable):
                await guard._refuse_undecodable(context, request)
            yield request

    return checked()


def _safe_decoder(decode: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    type_name = getattr(getattr(decode, "__self__", None), "DESCRIPTOR", None)
    name = type_name.full_name if type_name is not None else "request"

    def safe(data: bytes) -> Any:
        try:
            return decode(data)
        except Exception:
            return Undecodable(name)

    return safe


def _encode(encode: Callable[[Any], bytes] | None, response: Any) -> Any:
    """Serialize here, inside the error handling. Bytes pass as they are: event payloads
    are stored serialized and sent without parsing them again."""
    if isinstance(response, bytes) or encode is None:
        return response
    return encode(response)


def _passthrough(data: Any) -> Any:
    return data


class _Collector:
    """What the generated `add_..._to_server` functions call, wrapping each handler
    before it reaches the real server."""

    def __init__(self, server: grpc.aio.Server, guard: Guard) -> None:
        self._server = server
        self._guard = guard

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        """The generated code registers the same handlers twice (generic and by method);
        the wrapped ones are registered once, in add_registered_method_handlers."""

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Any]) -> None:
        wrapped = {name: self._guard.wrap(f"/{service}/{name}", h) for name, h in handlers.items()}
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, wrapped),))
        self._server.add_registered_method_handlers(service, wrapped)  # type: ignore[attr-defined]
