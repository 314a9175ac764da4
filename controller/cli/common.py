"""What every `ixchange` command shares: console and output (tables or JSON), argument
parsing helpers, formats, credentials and the gRPC client."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import rich.table
from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from ixchange.v1 import (
    classes_pb2_grpc,
    common_pb2,
    continuity_pb2_grpc,
    exchange_pb2_grpc,
    fabric_pb2_grpc,
    market_pb2_grpc,
    participants_pb2,
    participants_pb2_grpc,
    quality_pb2_grpc,
)
from rich.console import Console

from marketplace import limits
from marketplace.api.following import channel_target
from marketplace.errors import InvalidArgument
from marketplace.settings import Settings


def _width() -> int | None:
    """A terminal's own width; piped or logged, wide enough that no table is cut (Rich
    would otherwise assume 80 columns). COLUMNS, when set, wins either way."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return None
    return 1000


console = Console(width=_width())
err_console = Console(stderr=True)


class Table(rich.table.Table):
    """A Rich table whose cells never end in "…": a cell too wide for the terminal wraps
    onto more lines instead, so ids, states and names are always whole."""

    def add_column(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("overflow", "fold")
        super().add_column(*args, **kwargs)


# ----- output: tables for people, JSON for scripts ---------------------------------------

OUTPUTS = ("table", "json")


class Output:
    """How this invocation prints data (`-o/--output`)."""

    json = False


def as_dict(message: Message) -> dict[str, Any]:
    """A reply in the proto3 JSON mapping with the proto's own field names: stable, every
    field present (defaults included), enums by name, 64-bit integers as strings."""
    result: dict[str, Any] = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return result


def emit(reply: Message | list[Message] | dict[str, Any], show: Callable[[], None]) -> None:
    """`show()` the reply as tables, or print it as one JSON document with `-o json`."""
    if not Output.json:
        show()
        return
    if isinstance(reply, Message):
        document: Any = as_dict(reply)
    elif isinstance(reply, list):
        document = [as_dict(m) for m in reply]
    else:
        document = reply
    print(json.dumps(document, indent=2, sort_keys=False))


def say(text: str) -> None:
    """A line for people (hints, confirmations): on stdout as a table would be, on stderr
    with `-o json` so that stdout stays one JSON document. Never wrapped mid-command."""
    (err_console if Output.json else console).print(text, soft_wrap=True)


SERVICES = {
    "eline": common_pb2.SERVICE_TYPE_ETHERNET_ELINE,
    "transit": common_pb2.SERVICE_TYPE_IP_TRANSIT,
    "voice": common_pb2.SERVICE_TYPE_VOICE_TERMINATION,
}
SERVICE_NAMES = {v: k for k, v in SERVICES.items()}
ROLES = {
    "seller": participants_pb2.ROLE_SELLER,
    "buyer": participants_pb2.ROLE_BUYER,
    "operator": participants_pb2.ROLE_OPERATOR,
}
UNITS = {"k": 1, "m": 1_000, "g": 1_000_000, "t": 1_000_000_000}
TIME_IN_FORCE = {
    "gtc": common_pb2.TIME_IN_FORCE_GOOD_TILL_CANCELLED,
    "gtd": common_pb2.TIME_IN_FORCE_GOOD_TILL_DATE,
    "ioc": common_pb2.TIME_IN_FORCE_IMMEDIATE_OR_CANCEL,
    "fok": common_pb2.TIME_IN_FORCE_FILL_OR_KILL,
    "aon": common_pb2.TIME_IN_FORCE_ALL_OR_NONE,
}
ROUTING = {
    "cheapest": common_pb2.ROUTING_POLICY_CHEAPEST_FIRST,
    "quality": common_pb2.ROUTING_POLICY_QUALITY_FIRST,
}


class CliError(Exception):
    """A usage problem the user can fix; printed without a traceback."""


# ----- argument parsing helpers ---------------------------------------------------------


def capacity(text: str) -> int:
    """'10G', '100M', '512k' or plain kbit/s -> kbit/s."""
    m = re.fullmatch(r"(\d+)\s*([kKmMgGtT]?)(?:bps|b)?", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"capacity {text!r}: use e.g. 1G, 100M, 512k or kbit/s")
    return int(m.group(1)) * UNITS.get(m.group(2).lower(), 1)


def key_value(text: str) -> tuple[str, int]:
    name, sep, value = text.partition("=")
    if not sep or not re.fullmatch(r"-?\d+", value.strip()):
        raise argparse.ArgumentTypeError(f"{text!r}: use parameter=integer, e.g. latency_us=4000")
    return name.strip(), int(value)


def route(text: str) -> tuple[str, str]:
    a, sep, z = text.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"route {text!r}: use A-END:Z-END, e.g. FRA1:AMS2")
    return a, z


def when(text: str) -> Timestamp:
    """'+2h', '+30m', '+7d' or an ISO 8601 time."""
    m = re.fullmatch(r"\+(\d+)([smhd])", text.strip())
    if m:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        moment = datetime.now(UTC) + timedelta(**{unit: int(m.group(1))})
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"time {text!r}: use +2h, +7d or ISO 8601") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def interconnect(party: int) -> Any:
    def parse(text: str) -> participants_pb2.Interconnect:
        m = re.fullmatch(r"([^:]+):([^:]+):(\d+)(?:-(\d+))?", text)
        if not m:
            raise argparse.ArgumentTypeError(f"{text!r}: use NODE:PORT:VLAN or NODE:PORT:VLAN_MIN-VLAN_MAX")
        lo = int(m.group(3))
        return participants_pb2.Interconnect(
            party=party, node=m.group(1), port=m.group(2), vlan_min=lo, vlan_max=int(m.group(4) or lo)
        )

    return parse


def fmt_kbps(kbps: int) -> str:
    for unit, scale in (("T", 10**9), ("G", 10**6), ("M", 10**3)):
        if kbps >= scale and kbps % scale == 0:
            return f"{kbps // scale}{unit}"
    return f"{kbps}k"


def fmt_time(stamp: Timestamp) -> str:
    if not stamp.seconds and not stamp.nanos:
        return ""
    return stamp.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S")


def enum_name(enum: Any, value: int, prefix: str) -> str:
    return str(enum.Name(value)).removeprefix(prefix)


# ----- credentials and channel ----------------------------------------------------------


def token_for(settings: Settings, as_name: str | None) -> str:
    """The token to send: --as NAME's saved credential, IXCHANGE_TOKEN, or the operator's."""
    if as_name:
        # The name becomes a file name: only a participant name, never a path.
        if not limits.PARTICIPANT_NAME.allows(as_name):
            raise CliError(f"--as {limits.shown(as_name)}: not a participant name ({limits.PARTICIPANT_NAME.describe})")
        path = settings.credentials_dir / f"{as_name}.token"
        if not path.exists():
            raise CliError(
                f"no saved credential for {as_name} at {path}; "
                f"register it with `ixchange participants add {as_name} ...`"
            )
        return path.read_text().strip()
    if settings.token:
        return settings.token
    path = settings.operator_token_file
    if path.exists():
        return path.read_text().strip()
    raise CliError(
        f"no credential: set IXCHANGE_TOKEN, pass --as NAME, or start `ixchange serve` once "
        f"(it writes the operator credential to {path})"
    )


def save_token(settings: Settings, name: str, token: str) -> Path:
    if not limits.PARTICIPANT_NAME.allows(name):
        raise CliError(f"{limits.shown(name)}: not a participant name")
    settings.credentials_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = settings.credentials_dir / f"{name}.token"
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(token + "\n")
    return path


class Client:
    """Stubs and credentials for one CLI invocation."""

    def __init__(self, settings: Settings, as_name: str | None) -> None:
        self.settings = settings
        try:  # several servers: the channel follows the leader (marketplace/api/following.py)
            target, options = channel_target(settings.server)
        except InvalidArgument as err:
            raise CliError(str(err)) from None
        if settings.ca_cert:
            creds = grpc.ssl_channel_credentials(
                Path(settings.ca_cert).read_bytes(),
                Path(settings.client_key).read_bytes() if settings.client_key else None,
                Path(settings.client_cert).read_bytes() if settings.client_cert else None,
            )
            self.channel = grpc.secure_channel(target, creds, options=options)
        else:
            self.channel = grpc.insecure_channel(target, options=options)
        self.metadata = (("authorization", f"Bearer {token_for(settings, as_name)}"),)
        self.exchange = exchange_pb2_grpc.ExchangeServiceStub(self.channel)
        self.classes = classes_pb2_grpc.ClassesServiceStub(self.channel)
        self.participants = participants_pb2_grpc.ParticipantsServiceStub(self.channel)
        self.market = market_pb2_grpc.MarketServiceStub(self.channel)
        self.fabric = fabric_pb2_grpc.FabricServiceStub(self.channel)
        self.quality = quality_pb2_grpc.QualityServiceStub(self.channel)
        self.continuity = continuity_pb2_grpc.ContinuityServiceStub(self.channel)

    def call(self, method: Any, request: Any) -> Any:
        return method(request, metadata=self.metadata, timeout=30)
