"""The portal's client of the exchange: one gRPC channel, every call with the session
user's participant token, and the API's refusals turned into messages for pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from ixchange.v1 import (
    classes_pb2_grpc,
    continuity_pb2_grpc,
    exchange_pb2_grpc,
    fabric_pb2_grpc,
    market_pb2_grpc,
    participants_pb2_grpc,
    quality_pb2_grpc,
)

from marketplace.api.following import channel_target
from marketplace.settings import Settings

CALL_TIMEOUT_S = 15.0
# The API's messages start with the field they are about ("price: must be ...").
_FIELD = re.compile(r"([a-z_][a-z0-9_.\[\]\"']*): ")
# API field -> the form field that holds it.
FORM_FIELDS = {"capacity_kbps": "capacity", "time_in_force": "tif", "routing_policy": "routing"}


@dataclass
class ApiError(Exception):
    """The exchange refused a call (or could not be reached)."""

    code: grpc.StatusCode
    message: str

    @property
    def field(self) -> str:
        """The request field the message names ("" when it names none). Nested names
        (`route.a_end`, `values[latency_us]`) give their last plain part's form field."""
        m = _FIELD.match(self.message)
        if not m:
            return ""
        name = m.group(1)
        for prefix in ("values.", "requirements.", "values[", "requirements["):
            if name.startswith(prefix):
                return "value." + name[len(prefix) :].rstrip("]").strip("\"'")
        return FORM_FIELDS.get(name, name.rsplit(".", 1)[-1])

    @property
    def status(self) -> int:
        """The HTTP status a page answers with."""
        return {
            grpc.StatusCode.INVALID_ARGUMENT: 400,
            grpc.StatusCode.FAILED_PRECONDITION: 409,
            grpc.StatusCode.ALREADY_EXISTS: 409,
            grpc.StatusCode.NOT_FOUND: 404,
            grpc.StatusCode.PERMISSION_DENIED: 403,
            grpc.StatusCode.UNAUTHENTICATED: 403,
            grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
            grpc.StatusCode.UNAVAILABLE: 503,
            grpc.StatusCode.DEADLINE_EXCEEDED: 504,
        }.get(self.code, 502)


def _stub(kind: Any, channel: grpc.aio.Channel) -> Any:
    """A generated stub (the generated gRPC modules carry no types)."""
    return kind(channel)


class Exchange:
    """Stubs on one channel. `call(token, stub.Method, request)` is the only way in."""

    def __init__(self, settings: Settings) -> None:
        # Several servers (IXCHANGE_SERVER="a:port,b:port"): the channel follows the leader.
        target, following = channel_target(settings.server)
        options = [("grpc.max_receive_message_length", 64 * 1024 * 1024), *following]
        if settings.ca_cert:
            creds = grpc.ssl_channel_credentials(
                Path(settings.ca_cert).read_bytes(),
                Path(settings.client_key).read_bytes() if settings.client_key else None,
                Path(settings.client_cert).read_bytes() if settings.client_cert else None,
            )
            self.channel = grpc.aio.secure_channel(target, creds, options=options)
        else:
            self.channel = grpc.aio.insecure_channel(target, options=options)
        self.target = settings.server
        self.exchange = _stub(exchange_pb2_grpc.ExchangeServiceStub, self.channel)
        self.classes = _stub(classes_pb2_grpc.ClassesServiceStub, self.channel)
        self.participants = _stub(participants_pb2_grpc.ParticipantsServiceStub, self.channel)
        self.market = _stub(market_pb2_grpc.MarketServiceStub, self.channel)
        self.fabric = _stub(fabric_pb2_grpc.FabricServiceStub, self.channel)
        self.quality = _stub(quality_pb2_grpc.QualityServiceStub, self.channel)
        self.continuity = _stub(continuity_pb2_grpc.ContinuityServiceStub, self.channel)

    async def call(self, token: str, method: Any, request: Any) -> Any:
        try:
            return await method(request, metadata=(("authorization", f"Bearer {token}"),), timeout=CALL_TIMEOUT_S)
        except grpc.aio.AioRpcError as err:
            code = err.code()
            if code == grpc.StatusCode.UNAVAILABLE:
                raise ApiError(code, f"the exchange at {self.target} is not answering; try again shortly") from None
            raise ApiError(code, err.details() or code.name) from None

    def stream(self, token: str, method: Any, request: Any) -> Any:
        return method(request, metadata=(("authorization", f"Bearer {token}"),))

    async def close(self) -> None:
        await self.channel.close(None)
