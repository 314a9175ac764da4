"""The Mininet lab of topologies/lab.toml with the exchange as its controller, on one
machine with root (`ixchange lab ...`, controller/cli/lab.py).

`up` starts Open vSwitch, a fresh Mininet network and `ixchange serve --topology
topologies/lab.toml` in the background, waits until every switch is connected, then
registers the lab's participants (tokens saved for `--as NAME`) and one agreement per
buyer/seller pair. `down` stops them. The lab has its own data directory (IXCHANGE_LAB_DIR:
database, credentials; run/ holds the network's state, logs and the router's SSH keys)
and its own address (IXCHANGE_LAB_LISTEN), so it never touches what `make run` keeps.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
from ixchange.v1 import participants_pb2, quality_pb2
from rich.console import Console
from rich.table import Table

from controller import lab_ha, packages
from marketplace.settings import Settings
from topologies.impair import ask
from topologies.lab import (
    BFD_SESSIONS,
    FAR_END,
    FAR_NET,
    PAIRS,
    PARTICIPANTS,
    TOPOLOGY,
    clean_leftovers,
    impair_control,
    swap_partners,
)

console = Console()
OVS_CTL = "/usr/share/openvswitch/scripts/ovs-ctl"
ROLE_OF = {"seller": participants_pb2.ROLE_SELLER, "buyer": participants_pb2.ROLE_BUYER}


class LabError(Exception):
    """The lab cannot start here; the message says what to do."""


# Where the lab's exchange serves Prometheus metrics unless IXCHANGE_METRICS_LISTEN says.
LAB_METRICS = "127.0.0.1:9465"
SWITCHES_TIMEOUT_S = 30.0


def lab_dir(settings: Settings) -> Path:
    """The network's state, logs, SSH keys and router credentials."""
    return settings.lab_dir / "run"


def lab_settings(settings: Settings) -> Settings:
    """The settings of the lab's exchange and of a CLI talking to it (its own SQLite
    database, or with high availability the PostgreSQL database both exchanges share)."""
    return replace(
        settings,
        data_dir=settings.lab_dir,
        database_url=settings.database_url if settings.ha else "",
        listen=settings.lab_listen,
        server=settings.lab_listen,
        token="",
    )


def client_env(settings: Settings) -> dict[str, str]:
    """What `ixchange lab env` exports: the CLI then calls the lab's exchange."""
    return {"IXCHANGE_DATA_DIR": str(settings.lab_dir), "IXCHANGE_SERVER": settings.lab_listen}


def running(settings: Settings) -> dict[str, Any]:
    state = lab_dir(settings)
    return {
        "processes": {
            "Mininet network": _alive(state / "mininet.pid"),
            "exchange": _alive(state / "exchange.pid"),
            **({"standby exchange": standby} if (standby := _alive(state / PIDFILES["standby exchange"])) else {}),
        },
        "server": settings.lab_listen,
        "data_dir": str(settings.lab_dir),
    }


def preflight() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (Mininet makes network namespaces): run `sudo ixchange lab up`")
    absent = packages.missing(packages.debian_packages("lab"))
    if absent:
        raise LabError(
            f"missing Debian packages: {', '.join(absent)}; install them with "
            f"`apt-get install {' '.join(absent)}` (or `make lab`, which does)"
        )
    try:
        import mininet  # noqa: F401
    except ImportError:
        raise LabError(
            "Mininet is installed but Python cannot import it: run ixchange from the virtualenv "
            "`make` creates (it sees the system's packages)"
        ) from None


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
    """A fresh lab: refused while any part of one is running."""
    preflight()
    state = lab_dir(settings)
    net_pid = _alive(state / "mininet.pid")
    exchange_pid = _alive(state / "exchange.pid")
    if net_pid or exchange_pid:
        what = f"network pid {net_pid}" if net_pid else f"exchange pid {exchange_pid}"
        raise LabError(
            f"the lab is already up ({what}, data in {settings.lab_dir}): `ixchange lab down` first, "
            "or `ixchange lab restart-exchange` to restart only its exchange"
        )
    other = subprocess.run(["pgrep", "-f", "topologies.lab run"], capture_output=True, text=True).stdout.split()
    if other:
        raise LabError(
            f"another lab is running (process {other[0]}); its names are machine-wide: "
            "stop it with `ixchange lab down` and the IXCHANGE_LAB_DIR it was started with"
        )
    if settings.ha:
        lab_ha.check(settings)
    ensure_ovs()
    state.mkdir(parents=True, exist_ok=True)
    clean_leftovers(state)  # of a lab that died
    _forget_previous_lab(settings)
    with console.status("building the Mininet network (3 switches, router r1, 5 participants)..."):
        log, pidfile = state / "mininet.log", state / "mininet.pid"
        _spawn(
            [
                sys.executable,
                "-m",
                "topologies.lab",
                "run",
                "--state",
                str(state),
                *(arg for target in lab_ha.controller_targets(settings) for arg in ("--controller", target)),
            ],
            log,
            pidfile,
        )
        _wait("the Mininet network", (state / "lab.json").exists, 90, log, pidfile)
    info: dict[str, Any] = json.loads((state / "lab.json").read_text())
    if with_exchange:
        start_exchange(settings)
        seed(settings)
        if settings.ha:
            start_exchange(settings, standby=True)
    return info


def _forget_previous_lab(settings: Settings) -> None:
    """Each lab starts empty (deal 1 is the first deal): the previous lab's network is gone,
    so its deals, orders and tokens mean nothing. Its logs are kept until overwritten."""
    data = settings.lab_dir
    for name in ("ixchange.db", "ixchange.db-wal", "ixchange.db-shm", "operator.token"):
        (data / name).unlink(missing_ok=True)
    shutil.rmtree(data / "credentials", ignore_errors=True)
    (lab_dir(settings) / "lab.json").unlink(missing_ok=True)


def restart_exchange(settings: Settings) -> None:
    """Stop the lab's exchange (if running) and start it again over the same data: the
    switches reconnect and are reconciled; the network and the deals stay."""
    state = lab_dir(settings)
    if _alive(state / "mininet.pid") is None:
        raise LabError("the lab network is not up: `ixchange lab up` starts it")
    _stop(state / "exchange.pid")
    start_exchange(settings)


def controller_address(settings: Settings) -> str:
    host, _, port = settings.openflow_listen.rpartition(":")
    return f"{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"


def start_exchange(settings: Settings, standby: bool = False) -> None:
    """`ixchange serve --topology topologies/lab.toml` in the background over the lab's data,
    returning once it serves and every lab switch is connected and reconciled; with
    `standby` (high availability), once it stands by and every switch has it as slave."""
    state = lab_dir(settings)
    name = lab_ha.STANDBY if standby else "exchange"
    pidfile, log = state / f"{name}.pid", state / f"{name}.log"
    if standby:
        settings = lab_ha.standby_settings(settings)
    lab = lab_settings(settings)
    env = {**os.environ, "IXCHANGE_CREDENTIALS_FILE": str(state / "credentials.toml")}
    env.pop("IXCHANGE_TOKEN", None)
    env.pop("IXCHANGE_DATABASE_URL", None)
    if settings.ha:
        env.update(IXCHANGE_HA="1", IXCHANGE_DATABASE_URL=settings.database_url)
    env.update(IXCHANGE_DATA_DIR=str(lab.data_dir), IXCHANGE_LISTEN=lab.listen, IXCHANGE_SERVER=lab.server)
    env["IXCHANGE_OPENFLOW_LISTEN"] = settings.openflow_listen
    if standby:
        env["IXCHANGE_METRICS_LISTEN"] = settings.metrics_listen
    env.setdefault("IXCHANGE_METRICS_LISTEN", LAB_METRICS)
    env["IXCHANGE_MEASUREMENT"] = str(write_measurement_terms(state))
    env.setdefault("IXCHANGE_PROBE_INTERVAL_S", "0.2")  # a window of delivered quality every 2 s
    env.setdefault("IXCHANGE_VERIFICATION_S", "10")  # offers listed 10 s after entry, measured
    cmd = [sys.executable, "-m", "controller.cli", "serve", "--topology", str(TOPOLOGY)]
    if standby:
        target = controller_address(settings)
        with console.status("starting the standby exchange; every switch takes it as slave..."):
            _spawn(cmd, log, pidfile, env)
            _wait("the standby exchange", lambda: lab_ha.standing_by(lab.server), 60, log, pidfile)
            _wait("the standby's switches", lambda: lab_ha.all_in_role(target, "slave"), 30, log, pidfile)
        return
    with console.status("starting the exchange and its OpenFlow controller..."):
        _spawn(cmd, log, pidfile, env)
        _wait("the exchange", lambda: _serving(lab.server), 60, log, pidfile)
    with console.status("waiting for the switches to connect to the controller..."):
        _wait("the lab switches", lambda: _switches_connected(lab), SWITCHES_TIMEOUT_S, log, pidfile)
    with console.status("waiting for BFD on the fabric links..."):
        _wait("BFD on the fabric links", _bfd_up, SWITCHES_TIMEOUT_S, log, pidfile)


def write_measurement_terms(state: Path) -> Path:
    """Each lab agreement's measurement terms: the seller host's reflector (every seller
    host runs `ixchange reflector` on port 862) at the pair's seller address, and .254 of
    the pair's subnet for the exchange's measurement point."""
    path = state / "measurement.toml"
    path.write_text(
        "".join(
            f'[[measurement]]\nagreement = "{p.reference}"\nreflector = "{p.seller_ip}:862"\n'
            f'source = "{p.seller_ip.rsplit(".", 1)[0]}.254"\n\n'
            for p in PAIRS
        )
    )
    return path


def _bfd_up() -> bool:
    """Every BFD session of the lab's ring is up (until then its links count as down)."""
    shown = subprocess.run(["ovs-appctl", "bfd/show"], capture_output=True, text=True).stdout
    states = [line.split(":", 1)[1].strip() for line in shown.splitlines() if "Local Session State" in line]
    return len(states) == BFD_SESSIONS and all(state == "up" for state in states)


def _switches_connected(lab: Settings) -> bool:
    """Every OpenFlow node of the lab connected (as the exchange's GetFabric says)."""
    from ixchange.v1 import fabric_pb2, fabric_pb2_grpc

    token = lab.operator_token_file.read_text().strip()
    with grpc.insecure_channel(lab.server) as channel:
        try:
            fabric = fabric_pb2_grpc.FabricServiceStub(channel).GetFabric(
                fabric_pb2.GetFabricRequest(), metadata=(("authorization", f"Bearer {token}"),), timeout=2
            )
        except grpc.RpcError:
            return False
    switches = [n for n in fabric.nodes if n.kind == "openflow"]
    return bool(switches) and all(n.connected for n in switches)


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
    from controller.cli.common import Client, save_token

    lab = lab_settings(settings)
    client = Client(lab, None)
    for name in PARTICIPANTS:
        role = ROLE_OF[name.split("-")[0]]
        participant = participants_pb2.Participant(name=name, roles=[role], display_name=f"lab {name}")
        client.call(
            client.participants.RegisterParticipant,
            participants_pb2.RegisterParticipantRequest(participant=participant),
        )
        if not (lab.credentials_dir / f"{name}.token").exists():
            reply = client.call(client.participants.IssueToken, participants_pb2.IssueTokenRequest(participant=name))
            save_token(lab, name, reply.token)
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
        for partner in swap_partners(pair):  # its deals may take over those pairs' hand-offs (seller swaps)
            node, port, vlans = partner.buyer_end().split(":")
            low, _, high = vlans.partition("-")
            ends.append(
                participants_pb2.Interconnect(
                    party=participants_pb2.PARTY_BUYER, node=node, port=port, vlan_min=int(low), vlan_max=int(high)
                )
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
    # seller-r hands off at the Linux router: no OpenFlow port to measure it from.
    waiver = quality_pb2.SetVerificationWaiverRequest(participant="seller-r", waived=True)
    client.call(client.quality.SetVerificationWaiver, waiver)


def down(settings: Settings) -> list[str]:
    """Stop the exchange and the network; returns what was stopped."""
    state = lab_dir(settings)
    stopped = [name for name, pidfile in PIDFILES.items() if _stop(state / pidfile)]
    if shutil.which("ovs-vsctl"):
        clean_leftovers(state)  # whatever a killed lab left
    return stopped


PIDFILES = {
    "exchange": "exchange.pid",
    "standby exchange": f"{lab_ha.STANDBY}.pid",
    "Mininet network": "mininet.pid",
}


def _stop(pidfile: Path) -> bool:
    """SIGTERM the process of `pidfile`, SIGKILL after 30 s; False when it was not running."""
    pid = _alive(pidfile)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while _alive(pidfile) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pidfile) is not None:
        os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)
    return True


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


SELLERS = tuple(p.name for p in PARTICIPANTS.values() if any(q.seller is p for q in PAIRS))


def impair(settings: Settings, seller: str, changes: dict[str, int]) -> dict[str, Any]:
    """Set (or, with no changes, read) the impairment of a seller's network segment; its
    settings and per-direction counters as the relay reports them."""
    if seller not in SELLERS:
        raise LabError(f"no lab seller {seller[:40]!r} (sellers: {', '.join(SELLERS)})")
    control = impair_control(lab_dir(settings), seller)
    if not control.exists():
        raise LabError("the lab is not up: run `ixchange lab up`")
    try:
        reply = ask(control, dict(changes))
    except OSError as err:
        raise LabError(f"the impairment relay for {seller} does not answer: {err}") from None
    if not reply.get("ok"):
        raise LabError(f"refused: {reply.get('error')}")
    return reply


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
    table.caption = (
        f"The far end {FAR_END} (host fe) is reached through any seller: on the buyer's host, "
        f"ip route replace {FAR_NET} via <the seller's address of the deal's pair>"
    )
    return table
