"""Router-type nodes through NAPALM: a registry of drivers by NAPALM driver name, the
credentials they log in with, and one change = the NAPALM merge lifecycle:

    open -> load_merge_candidate -> compare_config -> commit_config(revert_in)
         -> check the deal's interfaces are up -> confirm_commit -> close

with rollback on any failure after the commit (discard before it). Commit-confirm is used
where the driver supports it, so a node that loses us mid-change reverts by itself; and a
commit still unconfirmed when the next change begins (its exchange died in between, and a
standby took over) is rolled back first, the change then made whole from the stored intent.

Blocking (NAPALM and netmiko are synchronous): the provisioner calls these from a worker
thread, one change per node at a time.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marketplace.errors import InvalidArgument
from provisioning.intent import RouterService
from provisioning.inventory import Node
from provisioning.render import End, render

log = logging.getLogger(__name__)

# NAPALM driver name -> the template platform its configuration is rendered for.
PLATFORM_OF = {"junos": "junos", "eos": "eos", "iosxr": "iosxr", "iosxr_netconf": "iosxr", "ixlinux": "ixlinux"}
CONFIRM_WITHIN_S = 120  # commit-confirm window: the node reverts if we vanish mid-change


class RouterError(Exception):
    """A router-type node refused or failed a change (it has been rolled back)."""


@dataclass(frozen=True, slots=True)
class Login:
    username: str
    password: str = ""
    optional_args: tuple[tuple[str, Any], ...] = ()


class Credentials:
    """Credentials by reference, from a TOML file only its owner may read:

        [lab-router]
        username = "root"
        key_file = "/var/lib/ixchange/lab/id_ed25519"   # or password = "..."
        port = 22

    The store and the topology keep the reference only."""

    def __init__(self, path: Path | None) -> None:
        self._logins: dict[str, Login] = {}
        if path is None:
            return
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise InvalidArgument("IXCHANGE_CREDENTIALS_FILE", f"{path} must not be readable by group or others")
        for ref, entry in tomllib.loads(path.read_text()).items():
            if not isinstance(entry, dict) or not isinstance(entry.get("username"), str):
                raise InvalidArgument(f"credentials.{ref}.username", "is required")
            extra = tuple(sorted((k, v) for k, v in entry.items() if k not in ("username", "password")))
            self._logins[ref] = Login(entry["username"], str(entry.get("password", "")), extra)

    def login(self, ref: str) -> Login:
        login = self._logins.get(ref)
        if login is None:
            raise RouterError(f"no credentials {ref!r} in IXCHANGE_CREDENTIALS_FILE")
        return login


def _napalm_driver(name: str) -> Callable[..., Any]:
    if name == "ixlinux":
        from provisioning.linux_napalm import IxLinuxDriver

        return IxLinuxDriver
    from napalm import get_network_driver

    return get_network_driver(name)  # type: ignore[no-any-return]


class RouterDrivers:
    """Applies RouterServices to router-type nodes, one change at a time per node. The
    session to a node stays open between changes (an SSH login costs half a second) and is
    dropped after any failure."""

    def __init__(self, credentials: Credentials, driver_for: Callable[[str], Callable[..., Any]] = _napalm_driver):
        self.credentials = credentials
        self.driver_for = driver_for
        self._node_locks: dict[str, threading.Lock] = {}
        self._sessions: dict[str, Any] = {}
        self._guard = threading.Lock()

    def open_sessions(self) -> set[str]:
        """Nodes with a session open now."""
        with self._guard:
            return set(self._sessions)

    def close(self) -> None:
        """Log out of every node (the exchange is stopping)."""
        with self._guard:
            sessions, self._sessions = self._sessions, {}
        for device in sessions.values():
            _quietly(device.close)

    def keep_ready(self, nodes: list[Node]) -> list[str]:
        """Log in to each node now (or check its open session still answers) so a deal never
        waits for an SSH login (about a second). Returns the nodes that could not be
        reached; their next change tries again."""
        unreachable = []
        for node in nodes:
            with self._lock(node.name):
                try:
                    self._session(node)
                except RouterError as err:
                    log.warning("router session: %s", err)
                    unreachable.append(node.name)
        return unreachable

    def apply(self, node: Node, service: RouterService) -> str:
        """Provision `service`; returns the diff the node reported."""
        return self._change(node, render(service, _platform(node)), service, check=True)

    def remove(self, node: Node, service: RouterService) -> str:
        return self._change(node, render(service, _platform(node), remove=True), service, check=False)

    def _lock(self, node: str) -> threading.Lock:
        with self._guard:
            return self._node_locks.setdefault(node, threading.Lock())

    def _change(self, node: Node, config: str, service: RouterService, check: bool) -> str:
        with self._lock(node.name):
            device = self._session(node)
            committed = False
            try:
                _roll_back_unconfirmed(device, node)
                device.load_merge_candidate(config=config)
                diff: str = device.compare_config()
                if not diff:
                    device.discard_config()
                    return ""
                confirming = _commit(device)
                committed = True
                if check:
                    _check_up(device, node, service)
                if confirming:
                    device.confirm_commit()
                return diff
            except Exception as err:
                _undo(device, committed)
                self._drop(node.name)
                raise RouterError(f"node {node.name}: {err}") from err

    def _session(self, node: Node) -> Any:
        """The open session to `node`, or a new one (its lock held)."""
        device = self._sessions.get(node.name)
        if device is not None:
            try:
                if device.is_alive().get("is_alive"):
                    return device
            except Exception:  # a dead session says so by failing
                pass
            self._drop(node.name)
        login = self.credentials.login(node.credentials)
        device = self.driver_for(node.driver)(
            node.host, login.username, login.password, optional_args=dict(login.optional_args)
        )
        try:
            device.open()
        except Exception as err:
            raise RouterError(f"node {node.name}: cannot connect to {node.host}: {err}") from err
        with self._guard:
            self._sessions[node.name] = device
        return device

    def _drop(self, node: str) -> None:
        with self._guard:
            device = self._sessions.pop(node, None)
        if device is not None:
            _quietly(device.close)


def _quietly(action: Callable[[], Any]) -> None:
    try:
        action()
    except Exception as err:
        log.debug("ignored while closing a router session: %s", err)


def _platform(node: Node) -> str:
    platform = PLATFORM_OF.get(node.driver)
    if platform is None:
        raise RouterError(f"node {node.name}: no templates for NAPALM driver {node.driver!r}")
    return platform


def _commit(device: Any) -> bool:
    """Commit with a confirm window where the driver has one; True when it must be confirmed."""
    try:
        device.commit_config(revert_in=CONFIRM_WITHIN_S)
        return True
    except NotImplementedError:
        device.commit_config()
        return False


def _roll_back_unconfirmed(device: Any, node: Node) -> None:
    """A commit still waiting for confirmation when a change begins was made by an exchange
    that died between its commit and its confirm (this process confirms, or rolls back,
    each of its own before the next, under the node's lock; only the leader changes
    nodes). Roll it back now: the change that follows is made whole again from the stored
    intent, rather than left for the node's timer to undo minutes later, under a live
    deal."""
    try:
        pending = device.has_pending_commit()
    except NotImplementedError:  # no commit-confirm on this platform: nothing can be pending
        return
    if pending:
        log.warning("node %s: rolling back a commit a previous leader left unconfirmed", node.name)
        device.rollback()


def _check_up(device: Any, node: Node, service: RouterService, within_s: float = 3.0) -> None:
    """The deal's interfaces exist and come up within a few seconds of the commit: the two
    sides (VLAN subinterfaces or untagged ports on Linux; the ports elsewhere) up, and on
    Linux the bridge enabled (its own operational state follows the ports with up to a
    second of kernel link-watch delay, and does not gate forwarding)."""
    must_be_up = [service.buyer_side_port, service.seller_side_port]
    must_be_enabled: list[str] = []
    if node.driver == "ixlinux":
        buyer_end = End(service.buyer_side_port, service.buyer_side_vlan)
        seller_end = End(service.seller_side_port, service.seller_side_vlan)
        must_be_up = [buyer_end.device, seller_end.device]
        must_be_enabled = [f"ixd{service.deal_id}"]
    deadline = time.monotonic() + within_s
    while True:
        interfaces = device.get_interfaces()
        down = [name for name in must_be_up if not interfaces.get(name, {}).get("is_up")]
        down += [name for name in must_be_enabled if not interfaces.get(name, {}).get("is_enabled")]
        if not down:
            return
        if time.monotonic() > deadline:
            raise RouterError(f"interfaces not up after the commit: {', '.join(down)}")
        time.sleep(0.05)


def _undo(device: Any, committed: bool) -> None:
    try:
        if committed:
            device.rollback()
        else:
            device.discard_config()
    except Exception as err:  # the original failure is the one to report
        log.error("rollback failed: %s", err)


def credentials_from_env() -> Credentials:
    path = os.environ.get("IXCHANGE_CREDENTIALS_FILE")
    return Credentials(Path(path) if path else None)
