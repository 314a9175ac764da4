"""`ixchange lab up|down|status|exec`: the Mininet lab of topologies/lab.toml with the
exchange as its controller, on one machine with root.

`up` starts (whatever is not running yet) Open vSwitch, the Mininet network and
`ixchange serve --topology topologies/lab.toml` in the background, then registers the lab's
participants (tokens saved for `--as NAME`) and one agreement per buyer/seller pair.
`down` stops them. State, logs and the router's SSH keys live in <data dir>/lab.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import grpc
from ixchange.v1 import participants_pb2
from rich.console import Console
from rich.table import Table

from marketplace.settings import Settings
from topologies.lab import PAIRS, PARTICIPANTS, TOPOLOGY, clean_leftovers

console = Console()
OVS_CTL = "/usr/share/openvswitch/scripts/ovs-ctl"
ROLE_OF = {"seller": participants_pb2.ROLE_SELLER, "buyer": participants_pb2.ROLE_BUYER}


class LabError(Exception):
    """The lab cannot start here; the message says what to do."""


def lab_dir(settings: Settings) -> Path:
    return settings.data_dir / "lab"


def preflight() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (Mininet makes network namespaces): run `sudo ixchange lab up`")
    missing = [
        package
        for tool, package in (
            ("ovs-vsctl", "openvswitch-switch"),
            ("mnexec", "mininet"),
            ("/usr/sbin/sshd", "openssh-server"),
            ("ssh-keygen", "openssh-client"),
            ("ethtool", "ethtool"),
        )
        if shutil.which(tool) is None
    ]
    try:
        import mininet  # noqa: F401
    except ImportError:
        missing.append("mininet")
    if missing:
        raise LabError(f"missing: {', '.join(sorted(set(missing)))}; install with apt-get install {' '.join(missing)}")


def ensure_ovs() -> None:
    """Start Open vSwitch when it is installed but not running (there is no systemd)."""
    if _ok(["ovs-vsctl", "--timeout=2", "show"]):
        return
    if not Path(OVS_CTL).exists():
        raise LabError("Open vSwitch is missing: apt-get install openvswitch-switch")
    subprocess.run([OVS_CTL, "start"], capture_output=True)  # warns about ulimit; judged below
    if not _ok(["ovs-vsctl", "--timeout=5", "show"]):
        raise LabError(f"Open vSwitch did not start: try `{OVS_CTL} start` and read its output")


def _ok(cmd: list[str]) -> bool:
    return subprocess.run(cmd, capture_output=True).returncode == 0


def _alive(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None


def _spawn(cmd: list[str], log: Path, pidfile: Path, env: dict[str, str] | None = None) -> int:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env=env
        )
    pidfile.write_text(f"{proc.pid}\n")
    return proc.pid


def _wait(what: str, ready: Any, timeout: float, log: Path, pidfile: Path) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if _alive(pidfile) is None:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise LabError(f"{what} stopped while starting; the end of {log}:\n{tail}")
        if time.monotonic() > deadline:
            raise LabError(f"{what} not ready after {timeout:.0f} s; see {log}")
        time.sleep(0.1)


def up(settings: Settings, with_exchange: bool = True) -> dict[str, Any]:
    preflight()
    ensure_ovs()
    state = lab_dir(settings)
    state.mkdir(parents=True, exist_ok=True)
    net_pid, net_log = state / "mininet.pid", state / "mininet.log"
    if _alive(net_pid) is None:
        other = subprocess.run(["pgrep", "-f", "topologies.lab run"], capture_output=True, text=True).stdout.split()
        if other:
            raise LabError(
                f"another lab is running (process {other[0]}); its names are machine-wide: "
                "stop it with `ixchange lab down` and the same IXCHANGE_DATA_DIR first"
            )
        clean_leftovers(state)  # of a lab that died
        (state / "lab.json").unlink(missing_ok=True)
        with console.status("building the Mininet network (3 switches, router r1, 5 participants)..."):
            _spawn(
                [
                    sys.executable,
                    "-m",
                    "topologies.lab",
                    "run",
                    "--state",
                    str(state),
                    "--controller",
                    _controller(settings),
                ],
                net_log,
                net_pid,
            )
            _wait("the Mininet network", (state / "lab.json").exists, 90, net_log, net_pid)
    info: dict[str, Any] = json.loads((state / "lab.json").read_text())
    if with_exchange:
        start_exchange(settings)
        seed(settings)
    return info


def _controller(settings: Settings) -> str:
    host, _, port = settings.openflow_listen.rpartition(":")
    return f"{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"


def start_exchange(settings: Settings) -> None:
    """`ixchange serve --topology topologies/lab.toml` in the background, if not running."""
    state = lab_dir(settings)
    pidfile, log = state / "exchange.pid", state / "exchange.log"
    if _alive(pidfile) is not None:
        return
    env = {**os.environ, "IXCHANGE_CREDENTIALS_FILE": str(state / "credentials.toml")}
    env["IXCHANGE_DATA_DIR"] = str(settings.data_dir)
    env["IXCHANGE_LISTEN"] = settings.server
    env["IXCHANGE_OPENFLOW_LISTEN"] = settings.openflow_listen
    cmd = [sys.executable, "-m", "controller.cli", "serve", "--topology", str(TOPOLOGY)]
    with console.status("starting the exchange and its OpenFlow controller..."):
        _spawn(cmd, log, pidfile, env)
        _wait("the exchange", lambda: _serving(settings.server), 60, log, pidfile)


def _serving(address: str) -> bool:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=0.5)
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def seed(settings: Settings) -> None:
    """The lab's participants (tokens saved for --as) and one agreement per pair; safe to repeat."""
    from controller.cli_common import Client, save_token

    client = Client(settings, None)
    for name in PARTICIPANTS:
        role = ROLE_OF[name.split("-")[0]]
        participant = participants_pb2.Participant(name=name, roles=[role], display_name=f"lab {name}")
        client.call(
            client.participants.RegisterParticipant,
            participants_pb2.RegisterParticipantRequest(participant=participant),
        )
        if not (settings.credentials_dir / f"{name}.token").exists():
            reply = client.call(client.participants.IssueToken, participants_pb2.IssueTokenRequest(participant=name))
            save_token(settings, name, reply.token)
    for pair in PAIRS:
        ends = []
        for party, text in zip(
            (participants_pb2.PARTY_BUYER, participants_pb2.PARTY_SELLER), pair.interconnects(), strict=False
        ):
            node, port, vlans = text.split(":")
            low, high = vlans.split("-")
            ends.append(
                participants_pb2.Interconnect(party=party, node=node, port=port, vlan_min=int(low), vlan_max=int(high))
            )
        agreement = participants_pb2.Agreement(
            reference=pair.reference,
            buyer=pair.buyer.name,
            seller=pair.seller.name,
            interconnects=ends,
            max_rate_kbps=1_000_000,
            terms="ixchange lab",
        )
        client.call(
            client.participants.RegisterAgreement, participants_pb2.RegisterAgreementRequest(agreement=agreement)
        )


def down(settings: Settings) -> list[str]:
    """Stop the exchange and the network; returns what was stopped."""
    state = lab_dir(settings)
    stopped = []
    for name, pidfile in (("exchange", state / "exchange.pid"), ("Mininet network", state / "mininet.pid")):
        pid = _alive(pidfile)
        if pid is None:
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while _alive(pidfile) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pidfile) is not None:
            os.kill(pid, signal.SIGKILL)
        pidfile.unlink(missing_ok=True)
        stopped.append(name)
    if shutil.which("ovs-vsctl"):
        clean_leftovers(state)  # whatever a killed lab left
    return stopped


def host_pid(settings: Settings, host: str) -> int:
    path = lab_dir(settings) / "lab.json"
    if not path.exists():
        raise LabError("the lab is not up: run `ixchange lab up`")
    hosts: dict[str, int] = json.loads(path.read_text())["hosts"]
    if host not in hosts:
        raise LabError(f"no lab host {host!r} (hosts: {', '.join(sorted(hosts))})")
    return hosts[host]


def run_on(settings: Settings, host: str, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command inside a lab host's namespaces."""
    return subprocess.run(["mnexec", "-a", str(host_pid(settings, host)), *command], text=True, **kwargs)


def pairs_table() -> Table:
    table = Table(title="Lab pairs: each has an agreement; hosts are addressed on the deal's VLANs")
    for col in ("buyer", "host", "VLAN", "address", "seller", "host", "VLAN", "address", "path via"):
        table.add_column(col)
    for p in PAIRS:
        via = "s3 > s1 > r1 (Linux router)" if p.seller.switch == "r1" else f"s3 > {p.seller.switch}"
        table.add_row(
            p.buyer.name,
            p.buyer.host,
            str(p.buyer_vlan),
            p.buyer_ip,
            p.seller.name,
            p.seller.host,
            str(p.seller_vlan or "untagged"),
            p.seller_ip,
            via,
        )
    return table
