"""The lab with high availability (issue 16): `ixchange lab up --ha` runs two exchange
processes on one PostgreSQL database (IXCHANGE_DATABASE_URL, an empty one): the first
leads, the second stands by. Every lab switch is pointed at both controllers when it is
created (Open vSwitch flushes a bridge's flows when it gains its first controller or loses
its last, ../shared/LAB_NOTES.md), so losing either process never empties a switch.

The standby listens one port above the lab's exchange, for gRPC and OpenFlow alike
(IXCHANGE_LAB_LISTEN + 1, IXCHANGE_OPENFLOW_LISTEN + 1)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from typing import Any

from marketplace.settings import Settings

STANDBY = "exchange-standby"  # its pid and log files in the lab's run/ directory
SWITCH_COUNT = 3  # s1, s2 and s3 have controllers; the customer-edge bridges do not


def check(settings: Settings) -> None:
    """HA needs PostgreSQL: refused with what to set, before anything starts."""
    from controller.lab import LabError

    if not settings.database_url.startswith("postgresql"):
        raise LabError(
            "`lab up --ha` runs two exchanges on one PostgreSQL database: set IXCHANGE_DATABASE_URL to an "
            "empty one (postgresql+psycopg://user@host/db); SQLite serves one process only"
        )


def _next_port(address: str) -> str:
    host, _, port = address.rpartition(":")
    return f"{host}:{int(port) + 1}"


def standby_settings(settings: Settings) -> Settings:
    """The standby's own addresses: one port above the leader's (metrics: any free port)."""
    return replace(
        settings,
        lab_listen=_next_port(settings.lab_listen),
        openflow_listen=_next_port(settings.openflow_listen),
        metrics_listen="127.0.0.1:0",  # any free port: its log says which
    )


def controller_targets(settings: Settings) -> list[str]:
    """Every controller the lab's switches are given at creation: host:port each."""
    from controller.lab import controller_address

    if not settings.ha:
        return [controller_address(settings)]
    return [controller_address(settings), controller_address(standby_settings(settings))]


def controller_roles() -> dict[str, list[tuple[bool, str]]]:
    """Open vSwitch's view (`ovs-vsctl list controller`): per target, each bridge's
    connection (connected, role: master, slave or other)."""
    shown = subprocess.run(
        ["ovs-vsctl", "--format=json", "--columns=target,is_connected,role", "list", "controller"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    roles: dict[str, list[tuple[bool, str]]] = {}
    for target, connected, role in json.loads(shown)["data"]:
        roles.setdefault(target, []).append((connected is True, role if isinstance(role, str) else ""))
    return roles


def all_in_role(target: str, role: str) -> bool:
    """Every lab switch is connected to the controller at `target` in `role`."""
    rows = controller_roles().get(f"tcp:{target}", [])
    return len(rows) == SWITCH_COUNT and all(connected and got == role for connected, got in rows)


def standing_by(address: str) -> bool:
    """The standby answers, NOT_SERVING."""
    return _health(address) == 2  # HealthCheckResponse.NOT_SERVING


def _health(address: str) -> Any:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        try:
            return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=0.5).status
        except grpc.RpcError:
            return None
