"""The client side of high availability: one channel to whichever of several exchange
servers leads (IXCHANGE_SERVER="host:port,host:port"; the CLI and the portal use it).

Nothing home-made: with more than one server the channel gets every server's address and
gRPC's own round_robin policy with client-side health checking, which sends calls only to
a backend whose health (the Watch stream) says SERVING — and only the leader says so; a
standby says NOT_SERVING. When the leader is lost, calls answer UNAVAILABLE until a
standby takes over and reports SERVING, then go there on their own.

Names are resolved once, when the channel is made (gRPC's static address lists take IP
literals only). With TLS every certificate is checked against the first server's name (or
address), so give every server a certificate that carries it (or a name they share)."""

from __future__ import annotations

import ipaddress
import json
import socket
from typing import Any

from marketplace.errors import InvalidArgument

FOLLOW_THE_LEADER = json.dumps({"loadBalancingConfig": [{"round_robin": {}}], "healthCheckConfig": {"serviceName": ""}})
MAX_SERVERS = 16


def split_servers(text: str) -> list[tuple[str, int]]:
    """'host:port,[v6]:port' -> [(host, port), ...], checked."""
    servers = []
    for item in (part.strip() for part in text.split(",")):
        host, sep, port = item.rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise InvalidArgument("IXCHANGE_SERVER", f"{item[:64]!r}: each server is host:port")
        servers.append((host, int(port)))
    if len(servers) > MAX_SERVERS:
        raise InvalidArgument("IXCHANGE_SERVER", f"at most {MAX_SERVERS} servers")
    return servers


def channel_target(text: str) -> tuple[str, list[tuple[str, Any]]]:
    """The target and channel options for IXCHANGE_SERVER: one server as it is; several as
    one static address list that follows the leader."""
    servers = split_servers(text)
    if len(servers) == 1:
        return text.strip(), []
    addresses = [_address(host, port) for host, port in servers]
    families = {ipaddress.ip_address(a).version for a, _ in addresses}
    if len(families) > 1:
        raise InvalidArgument("IXCHANGE_SERVER", "the servers must all be IPv4 or all IPv6")
    if families == {4}:
        target = "ipv4:" + ",".join(f"{a}:{p}" for a, p in addresses)
    else:
        target = "ipv6:" + ",".join(f"[{a}]:{p}" for a, p in addresses)
    # TLS checks every server against the first one's name or address (an address list has
    # no host name of its own to check against).
    options: list[tuple[str, Any]] = [
        ("grpc.service_config", FOLLOW_THE_LEADER),
        ("grpc.ssl_target_name_override", servers[0][0]),
    ]
    return target, options


def _address(host: str, port: int) -> tuple[str, int]:
    if _is_ip(host):
        return host, port
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as err:
        raise InvalidArgument("IXCHANGE_SERVER", f"{host[:64]!r} does not resolve: {err.strerror}") from None
    return str(info[0][4][0]), port


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
