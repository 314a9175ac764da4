"""Addresses the server listens on, checked before anything starts: a busy or bad
address is one line naming the setting and the address, not a traceback."""

from __future__ import annotations

import errno
import socket


class ListenError(Exception):
    """The server cannot listen where a setting says."""


def check_free(setting: str, address: str) -> None:
    """Raise ListenError when host:port of `setting` cannot be bound now. Port 0 (any
    free port) always can. The server binds again right after: this only finds the usual
    cause early (another process, often an earlier ixchange, holds the port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ListenError(f"{setting}: {address!r} is not host:port")
    if int(port) == 0:
        return
    host = host.strip("[]") or "0.0.0.0"
    try:
        family, kind, proto, _name, where = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)[0]
    except socket.gaierror as err:
        raise ListenError(f"{setting}: cannot resolve {host!r} ({err.strerror})") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(where)
        except OSError as err:
            why = "address already in use" if err.errno == errno.EADDRINUSE else (err.strerror or str(err))
            raise ListenError(f"{setting}: cannot listen on {address}: {why}") from None
