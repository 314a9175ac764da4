"""A NAPALM driver for Linux interconnection nodes, over SSH with netmiko's `linux` device.

The configuration language is the iproute2/tc command list the `ixlinux` templates render
(VLAN subinterfaces in a bridge, HTB for the committed rate). NAPALM's merge lifecycle maps
onto it like this:

- load_merge_candidate: keep the command list;
- compare_config: the commands that would run, one `+ ` line each ("" when none);
- commit_config: run them in order; the first failing command undoes the ones before it,
  so a commit is all or nothing. The undo of the commit is kept *on the node*
  (/run/ixchange-napalm/undo.sh) so `rollback` works from any later session;
  `revert_in=N` schedules that undo in N seconds unless `confirm_commit` comes first;
- rollback: run the last commit's undo.

Only commands whose undo is known are accepted, so every commit can be rolled back.
"""

from __future__ import annotations

import base64
import json
import shlex
from typing import Any

from napalm.base import NetworkDriver
from napalm.base.exceptions import CommitError, ConnectionException, MergeConfigException
from netmiko import ConnectHandler

STATE_DIR = "/run/ixchange-napalm"
UNDO = f"{STATE_DIR}/undo.sh"
PENDING = f"{STATE_DIR}/revert.pid"
RC_MARK = "__ixrc="


def undo_of(command: str) -> str | None:
    """The command that reverses `command`; "" for one with nothing to reverse; None
    when the driver does not know how (it is refused)."""
    words = shlex.split(command)
    match words:
        case ["ip", "link", "add", "link", _, "name", name, *_]:
            return f"ip link del {shlex.quote(name)}"
        case ["ip", "link", "add", name, *_]:
            return f"ip link del {shlex.quote(name)}"
        case ["ip", "link", "set", dev, "master", _]:
            return f"ip link set {shlex.quote(dev)} nomaster"
        case ["ip", "link", "set", _, "up" | "down"]:
            return ""
        case ["tc", "qdisc", "replace" | "add", "dev", dev, "root", *_]:
            return f"tc qdisc del dev {shlex.quote(dev)} root"
        case ["tc", "class", "replace" | "add", *_]:
            return ""  # goes with its qdisc
        case ["ip", "link", "del", _] | ["tc", "qdisc", "del", "dev", _, "root"]:
            return ""  # removals: rolling one back means provisioning the deal again
    return None


class IxLinuxDriver(NetworkDriver):
    """NAPALM driver name `ixlinux`."""

    platform = "ixlinux"

    def __init__(
        self,
        hostname: str,
        username: str,
        password: str,
        timeout: int = 30,
        optional_args: dict[str, Any] | None = None,
    ) -> None:
        self.hostname = hostname
        self.username = username
        self.password = password
        self.timeout = timeout
        self.optional_args = optional_args or {}
        self.device: Any = None
        self._candidate: list[str] = []

    # ----- session --------------------------------------------------------------------

    def open(self) -> None:
        key_file = self.optional_args.get("key_file")
        try:
            self.device = ConnectHandler(
                device_type="linux",
                host=self.hostname,
                port=int(self.optional_args.get("port", 22)),
                username=self.username,
                password=self.password or None,
                key_file=key_file,
                use_keys=bool(key_file),
                allow_agent=False,
                conn_timeout=self.timeout,
                auth_timeout=self.timeout,
                ssh_strict=False,
                system_host_keys=False,
                alt_host_keys=False,
            )
        except Exception as err:
            raise ConnectionException(f"{self.hostname}: {err}") from err

    def close(self) -> None:
        if self.device is not None:
            self.device.disconnect()
            self.device = None

    def is_alive(self) -> dict[str, bool]:
        return {"is_alive": self.device is not None and bool(self.device.is_alive())}

    def _run(self, command: str) -> tuple[int, str]:
        """Run one shell command; its exit status and output."""
        out: str = self.device.send_command(f"{command}; echo {RC_MARK}$?", read_timeout=self.timeout)
        text, _, rc = out.rpartition(RC_MARK)
        try:
            return int(rc.strip().split()[0]), text.strip()
        except (ValueError, IndexError):
            return 255, out.strip()

    def _check(self, command: str) -> str:
        rc, out = self._run(command)
        if rc != 0:
            raise CommitError(f"{self.hostname}: `{command}` failed ({rc}): {out}")
        return out

    # ----- configuration --------------------------------------------------------------

    def load_merge_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        if filename is not None:
            with open(filename) as f:
                config = f.read()
        lines = [line.strip() for line in (config or "").splitlines()]
        commands = [line for line in lines if line and not line.startswith("#")]
        for command in commands:
            if undo_of(command) is None:
                raise MergeConfigException(f"{self.hostname}: not a command this driver can undo: {command!r}")
        self._candidate = commands

    def load_replace_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        raise NotImplementedError("ixlinux nodes take merge candidates only")

    def compare_config(self) -> str:
        return "\n".join(f"+ {c}" for c in self._candidate)

    def discard_config(self) -> None:
        self._candidate = []

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        if self.has_pending_commit():
            raise CommitError(f"{self.hostname}: a commit is waiting for confirmation")
        done: list[str] = []
        try:
            for command in self._candidate:
                self._check(command)
                done.append(command)
        except CommitError:
            self._run_all(_undo_script(done))  # all or nothing
            raise
        finally:
            self._candidate = []
        self._store_undo(_undo_script(done))
        if revert_in:
            self._check(
                f"nohup sh -c 'sleep {int(revert_in)}; sh {UNDO} && rm -f {UNDO}' >/dev/null 2>&1 & echo $! > {PENDING}"
            )

    def has_pending_commit(self) -> bool:
        rc, _ = self._run(f"test -s {PENDING} && kill -0 $(cat {PENDING}) 2>/dev/null")
        return rc == 0

    def confirm_commit(self, message: str = "") -> None:
        if not self.has_pending_commit():
            raise CommitError(f"{self.hostname}: no commit is waiting for confirmation")
        self._check(f"kill $(cat {PENDING}) && rm -f {PENDING}")

    def rollback(self) -> None:
        self._run(f"test -s {PENDING} && kill $(cat {PENDING}) 2>/dev/null; rm -f {PENDING}")
        rc, _ = self._run(f"test -f {UNDO}")
        if rc != 0:
            raise CommitError(f"{self.hostname}: nothing to roll back")
        self._check(f"sh {UNDO} && rm -f {UNDO}")

    def _store_undo(self, script: list[str]) -> None:
        blob = base64.b64encode(("\n".join(script) + "\n").encode()).decode()
        self._check(f"mkdir -p {STATE_DIR} && echo {blob} | base64 -d > {UNDO}")

    def _run_all(self, commands: list[str]) -> None:
        for command in commands:
            self._run(command)  # best effort: undo what can be undone

    # ----- getters --------------------------------------------------------------------

    def get_facts(self) -> dict[str, Any]:
        hostname = self._check("hostname")
        kernel = self._check("uname -r")
        uptime = float(self._check("cut -d' ' -f1 /proc/uptime") or 0)
        return {
            "hostname": hostname,
            "fqdn": hostname,
            "vendor": "Linux",
            "model": "ixlinux",
            "os_version": kernel,
            "serial_number": "",
            "uptime": uptime,
            "interface_list": sorted(self.get_interfaces()),
        }

    def get_interfaces(self) -> dict[str, dict[str, Any]]:
        links = json.loads(self._check("ip -j link show") or "[]")
        return {
            link["ifname"]: {
                "is_up": link.get("operstate") in ("UP", "UNKNOWN") and "LOWER_UP" in link.get("flags", []),
                "is_enabled": "UP" in link.get("flags", []),
                "description": "",
                "last_flapped": -1.0,
                "speed": -1.0,
                "mtu": int(link.get("mtu", 0)),
                "mac_address": link.get("address", ""),
            }
            for link in links
        }


def _undo_script(done: list[str]) -> list[str]:
    """The undo of the commands in `done`, last first."""
    script = []
    for command in reversed(done):
        undo = undo_of(command)
        if undo:
            script.append(undo)
    return script
