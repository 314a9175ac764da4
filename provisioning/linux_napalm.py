"""A NAPALM driver for Linux interconnection nodes, over SSH with netmiko's `linux` device.

The configuration language is the iproute2/tc command list the `ixlinux` templates render
(VLAN subinterfaces in a bridge, HTB for the committed rate). NAPALM's merge lifecycle maps
onto it like this:

- load_merge_candidate: keep the command list;
- compare_config: the commands that would run, one `+ ` line each ("" when none);
- commit_config: run them in order in one shell on the node; the first failing command
  undoes the ones before it, so a commit is all or nothing. The undo of the commit is kept
  *on the node*, in a directory of its own (optional argument `state_dir`, default
  /run/ixchange-napalm/<host>), so `rollback` works from any later session;
  `revert_in=N` schedules that undo in N seconds unless `confirm_commit` comes first;
- rollback: run the last commit's undo.

Only commands whose undo is known are accepted, so every commit can be rolled back.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from typing import Any

from napalm.base import NetworkDriver
from napalm.base.exceptions import CommitError, ConnectionException, MergeConfigException
from netmiko import ConnectHandler

# On the node: where each node's undo and pending revert live (per node, so nodes that
# share a filesystem, as the lab's router shares the host's, never share them).
STATE_ROOT = "/run/ixchange-napalm"
BEGIN_MARK = "__ixbeg"
RC_MARK = "__ixrc="
FAIL_MARK = "__ixfail="
OUT_MARK = "__ixout"  # what the commands print comes after this


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
        self.optional_args = optional_args or {}
        self.timeout = int(self.optional_args.get("timeout", timeout))  # seconds, per connect and command
        state_dir = str(self.optional_args.get("state_dir") or f"{STATE_ROOT}/{hostname}")
        if not re.fullmatch(r"/[A-Za-z0-9._/-]+", state_dir):  # it goes into shell lines unquoted
            raise ValueError(f"state_dir {state_dir[:64]!r}: an absolute path of A-Z a-z 0-9 . _ / - only")
        self.state_dir = state_dir
        self.undo_file = f"{state_dir}/undo.sh"
        self.pending_file = f"{state_dir}/revert.pid"
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
        """Run one shell command; its exit status and output. The output is what lies
        between two markers the shell prints (written split in the command, so its echo
        never contains them): no prompt, no echo, nothing left over from before."""
        begin = f"printf '%s\\n' {BEGIN_MARK[:4]}''{BEGIN_MARK[4:]}"
        end = f"printf '{RC_MARK[:4]}''{RC_MARK[4:]}%s\\n' $?"
        out: str = self.device.send_command(
            f"{begin}; {command}; {end}",
            expect_string=rf"{RC_MARK}\d+",
            cmd_verify=False,  # a long command line wraps in the terminal; the markers suffice
            strip_prompt=False,
            strip_command=False,
            read_timeout=self.timeout,
        )
        text, _, rc = out.rpartition(BEGIN_MARK)[2].rpartition(RC_MARK)
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
        """Run the candidate in one shell on the node: stop at the first failing command,
        undo the ones before it, and report it; on success keep the undo and, with
        `revert_in`, schedule it. One round trip when all goes well."""
        commands, self._candidate = self._candidate, []
        undo = _undo_script(commands)
        pending, undo_file = self.pending_file, self.undo_file
        lines = [
            f"echo {OUT_MARK}",
            f"if test -s {pending} && kill -0 $(cat {pending}) 2>/dev/null; then echo {FAIL_MARK}pending; exit 1; fi",
            f"mkdir -p {self.state_dir}",
        ]
        lines += [f"{command} || {{ echo {FAIL_MARK}{i}; exit 1; }}" for i, command in enumerate(commands)]
        lines.append(f"echo {_b64(undo)} | base64 -d > {undo_file}")
        if revert_in:
            revert = f"sleep {int(revert_in)}; sh {undo_file} && rm -f {undo_file}"
            lines.append(f"nohup sh -c '{revert}' >/dev/null 2>&1 & echo $! > {pending}")
        _rc, out = self._run(f"echo {_b64(lines)} | base64 -d | sh 2>&1")
        failed = out.rpartition(FAIL_MARK)[2].split()[0] if FAIL_MARK in out else None
        if failed == "pending":
            raise CommitError(f"{self.hostname}: a commit is waiting for confirmation")
        if failed is not None:
            done = commands[: int(failed)]
            detail = out.partition(FAIL_MARK)[0].rpartition(OUT_MARK)[2].strip()
            if done:
                self._run(f"echo {_b64(_undo_script(done))} | base64 -d | sh 2>&1")  # all or nothing
            raise CommitError(f"{self.hostname}: `{commands[int(failed)]}` failed: {detail}")

    def has_pending_commit(self) -> bool:
        rc, _ = self._run(f"test -s {self.pending_file} && kill -0 $(cat {self.pending_file}) 2>/dev/null")
        return rc == 0

    def confirm_commit(self, message: str = "") -> None:
        pending = self.pending_file
        rc, _ = self._run(f"test -s {pending} && kill $(cat {pending}) 2>/dev/null && rm -f {pending}")
        if rc != 0:
            raise CommitError(f"{self.hostname}: no commit is waiting for confirmation")

    def rollback(self) -> None:
        pending = self.pending_file
        self._run(f"test -s {pending} && kill $(cat {pending}) 2>/dev/null; rm -f {pending}")
        rc, _ = self._run(f"test -f {self.undo_file}")
        if rc != 0:
            raise CommitError(f"{self.hostname}: nothing to roll back")
        self._check(f"sh {self.undo_file} && rm -f {self.undo_file}")

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


def _b64(lines: list[str]) -> str:
    """Shell lines as one base64 word: nothing in them needs quoting on the way."""
    return base64.b64encode(("\n".join(lines) + "\n").encode()).decode()


def _undo_script(done: list[str]) -> list[str]:
    """The undo of the commands in `done`, last first."""
    script = []
    for command in reversed(done):
        undo = undo_of(command)
        if undo:
            script.append(undo)
    return script
