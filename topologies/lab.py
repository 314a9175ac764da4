"""The ixchange lab: the fabric of topologies/lab.toml in Mininet, with Open vSwitch in the
userspace datapath (these kernels have no openvswitch module) and ixchange as the remote
OpenFlow controller; a Linux router node (r1) running its own sshd, reached over a
management veth by the ixlinux NAPALM driver; participant hosts with a VLAN subinterface
and an address for every buyer/seller pair, so a deal's traffic can be tried at once; each
seller's segment through an impairment relay (`ixchange lab impair`).

`python -m topologies.lab run --state DIR --controller HOST:PORT [--controller ...]` builds
the network (every switch created pointing at every controller given: high availability's
leader and standby), writes DIR/lab.json when it is ready and keeps it up until SIGTERM. `ixchange lab up`
starts it in the background (with the exchange); `ixchange lab down` stops both.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOPOLOGY = Path(__file__).resolve().parent / "lab.toml"
SWITCHES = ("s1", "s2", "s3")
MGMT_ROOT, MGMT_ROUTER = "10.99.0.1", "10.99.0.2"  # the veth between the host and r1
# The far end: one "internet" host (fe) that every seller's network reaches over an uplink
# of its own, so a buyer can be carried to the same destination by two or more sellers.
FAR_END, FAR_NET = "10.100.0.1", "10.100.0.0/24"
BFD_MS = 30  # BFD interval on the fabric links; a failure is declared after 3 missed
BFD_SESSIONS = 6  # both ends of the three ring links
ROUTER_CREDENTIALS = "lab-router"


@dataclass(frozen=True, slots=True)
class Participant:
    name: str
    host: str  # Mininet host
    switch: str  # where its host plugs in (node name in lab.toml)
    port: int


SELLERS = (
    Participant("seller-a", "sa", "s1", 1),
    Participant("seller-b", "sb", "s2", 1),
    Participant("seller-r", "sr", "r1", 1),  # behind the Linux router node
)
BUYERS = (Participant("buyer-a", "ba", "s3", 1), Participant("buyer-b", "bb", "s3", 4))
PARTICIPANTS = {p.name: p for p in (*SELLERS, *BUYERS)}


@dataclass(frozen=True, slots=True)
class Pair:
    """One buyer/seller pair: its agreement's VLANs and the addresses its hosts use."""

    index: int
    buyer: Participant
    seller: Participant

    @property
    def buyer_vlan(self) -> int:
        return 100 + self.index

    @property
    def seller_vlan(self) -> int:
        """0: seller-r's port on the router is untagged."""
        return 0 if self.seller.switch == "r1" else 200 + self.index

    @property
    def buyer_ip(self) -> str:
        return f"10.0.{self.index}.1"

    @property
    def seller_ip(self) -> str:
        return f"10.0.{self.index}.2"

    @property
    def reference(self) -> str:
        return f"lab-{self.buyer.name}-{self.seller.name}"

    def interconnects(self) -> tuple[str, str]:
        """The agreement's hand-offs, NODE:PORT:VLAN-VLAN, buyer's then seller's."""
        if self.seller.switch == "r1":
            seller_end = "r1:r1-eth1:1-4094"  # an untagged port: the range is not used
        else:
            seller_end = f"{self.seller.switch}:p{self.seller.port}:{self.seller_vlan}-{self.seller_vlan}"
        return self.buyer_end(), seller_end

    def buyer_end(self) -> str:
        return f"{self.buyer.switch}:p{self.buyer.port}:{self.buyer_vlan}-{self.buyer_vlan}"


PAIRS = tuple(Pair(i, b, s) for i, (b, s) in enumerate(((b, s) for b in BUYERS for s in SELLERS), start=1))


def pair(buyer: str, seller: str) -> Pair:
    for p in PAIRS:
        if (p.buyer.name, p.seller.name) == (buyer, seller):
            return p
    raise KeyError(f"no lab pair {buyer}/{seller}")


# ----- the Mininet side (runs as root, in its own process) --------------------------------

RMEM_DEFAULT = Path("/proc/sys/net/core/rmem_default")
SWITCH_PORT_BUFFER = 4 << 20  # bytes


@contextlib.contextmanager
def roomy_packet_sockets() -> Any:
    """Open vSwitch's userspace datapath reads each port through a packet socket, opened
    with the kernel's default receive buffer (208 KiB, ~90 full frames) when the port is
    added. On two cores, when ovs-vswitchd is off the CPU for a moment at 90 Mbit/s the
    buffer overflows: the lost packets equalled that socket's drop count exactly
    (BENCHMARKS.md, issue 11). Ports added meanwhile get 4 MiB; the host's default is put
    back afterwards."""
    before = RMEM_DEFAULT.read_text().strip()
    RMEM_DEFAULT.write_text(str(max(int(before), SWITCH_PORT_BUFFER)))
    try:
        yield
    finally:
        RMEM_DEFAULT.write_text(before)


def build(state: Path, controllers: list[str]) -> tuple[Any, Any, list[Any]]:
    from mininet.net import Mininet
    from mininet.node import Node, OVSSwitch, RemoteController

    net = Mininet(controller=None, autoSetMacs=True, build=False, ipBase="10.200.0.0/16")
    for n, controller in enumerate(controllers):  # every switch gets all of them, in one transaction
        host, _, port = controller.rpartition(":")
        net.addController(RemoteController(f"c{n}", ip=host, port=int(port)))
    switches = {}
    for name, dpid in (("s1", 1), ("s2", 2), ("s3", 3)):
        switches[name] = net.addSwitch(
            name,
            cls=OVSSwitch,
            datapath="user",
            dpid=f"{dpid:016x}",
            protocols="OpenFlow13,OpenFlow14",
            # Created with its controller and fail mode in one transaction (README "Pointing
            # switches at the controller"); reconnect at least once a second.
            failMode="secure",
            reconnectms=1000,
        )
    # Interfaces are named in the order links are added: r1-eth0 to s1, r1-eth1 to
    # seller-r's equipment, r1-eth2 for management.
    router = net.addHost("r1")
    net.addLink(router, switches["s1"], port2=4)
    # Each participant's equipment: a host, and a customer-edge bridge that puts each of
    # the host's interfaces on one VLAN of the hand-off (this kernel has no 802.1Q
    # subinterfaces, so the hosts cannot tag themselves). seller-r's host plugs into r1's
    # untagged port. Each seller's network segment (its equipment to its port) runs through
    # an impairment relay (topologies/impair.py) in a namespace of its own, im<host>: the
    # seller's side on im<host>-eth0, the exchange's on -eth1.
    edges, segments = {}, {}
    seller_r = net.addHost("sr")
    segments["seller-r"] = net.addHost("imsr")
    net.addLink(segments["seller-r"], seller_r)  # imsr-eth0: the seller's side, as for the others
    net.addLink(router, segments["seller-r"])  # r1-eth1 <-> imsr-eth1
    for i, p in enumerate((*SELLERS, *BUYERS), start=1):
        if p.switch == "r1":
            continue
        edge = net.addSwitch(f"ce{p.host}", cls=OVSSwitch, datapath="user", dpid=f"{0xCE00 + i:016x}")
        edges[p.name] = edge
        if p in SELLERS:
            segment = segments[p.name] = net.addHost(f"im{p.host}")
            net.addLink(edge, segment, port1=1)
            net.addLink(segment, switches[p.switch], port2=p.port)
        else:
            net.addLink(edge, switches[p.switch], port1=1, port2=p.port)
    vlan_ports: list[tuple[Any, Any, int, str, Any]] = []
    untagged: list[tuple[Any, str]] = []
    seller_ends: dict[int, Any] = {}  # pair index -> the seller host's interface for it
    for p in PAIRS:
        for who, vlan, address in ((p.buyer, p.buyer_vlan, p.buyer_ip), (p.seller, p.seller_vlan, p.seller_ip)):
            if not vlan:
                untagged.append((seller_r, address))
                continue
            h = net.get(who.host) if who.host in net else net.addHost(who.host)
            link = net.addLink(h, edges[who.name])
            vlan_ports.append((edges[who.name], link.intf2, vlan, address, link.intf1))
            if who is p.seller:
                seller_ends[p.index] = link.intf1
    uplinks = _far_end(net, edges, seller_r)
    ring = [
        net.addLink(switches["s1"], switches["s2"], port1=2, port2=2),
        net.addLink(switches["s1"], switches["s3"], port1=3, port2=2),
        net.addLink(switches["s2"], switches["s3"], port1=3, port2=3),
    ]
    root = Node("root", inNamespace=False)
    net.addLink(router, root)
    with roomy_packet_sockets():
        net.build()
        net.start()
    for edge in edges.values():  # plain learning switches, no controller
        edge.vsctl(f"del-controller {edge.name} -- set bridge {edge.name} fail_mode=standalone")
    for link in ring:  # BFD on the fabric links (lab.toml says so): 30 ms x 3 (10 ms flaps on 2 busy cores)
        for intf in (link.intf1, link.intf2):
            intf.node.vsctl(f"set interface {intf.name} bfd:enable=true bfd:min_tx={BFD_MS} bfd:min_rx={BFD_MS}")
    for h in net.hosts:
        _quiet(h)
    for edge, edge_intf, vlan, address, host_intf in vlan_ports:
        edge.vsctl(f"set port {edge_intf.name} tag={vlan}")
        host_intf.node.cmd(f"ip addr add {address}/24 dev {host_intf.name} && ip link set {host_intf.name} up")
    for host, address in untagged:
        host.cmd(f"ip addr add {address}/24 dev {host.name}-eth0 && ip link set {host.name}-eth0 up")
    _address_far_end(net.get("fe"), uplinks)
    _shared_gateways(seller_ends)
    root_if = root.intfList()[0]
    root.cmd(f"ip addr flush dev {root_if} && ip addr add {MGMT_ROOT}/30 dev {root_if} && ip link set {root_if} up")
    router.cmd(f"ip addr add {MGMT_ROUTER}/30 dev r1-eth2 && ip link set r1-eth2 up")
    _start_sshd(router, state)
    relays = [_start_relay(segment, seller, state) for seller, segment in segments.items()]
    relays += [_start_reflector(net.get(p.host), state) for p in SELLERS]
    info = {
        "hosts": {h.name: h.pid for h in net.hosts},
        "controllers": controllers,
        "router": MGMT_ROUTER,
    }
    (state / "lab.json").write_text(json.dumps(info, indent=2))
    return net, root, relays


def seller_uplink(seller: str) -> str:
    """A seller's address on the far end's network."""
    return f"10.100.0.{11 + [s.name for s in SELLERS].index(seller)}"


def far_end_via(p: Pair) -> list[str]:
    """On the buyer's host: reach the far end through this pair's seller (its deal)."""
    return ["ip", "route", "replace", FAR_NET, "via", p.seller_ip]


def _far_end(net: Any, edges: dict[str, Any], seller_r: Any) -> list[tuple[str, Any]]:
    """The far-end host on a plain bridge of its own, and each seller's host's uplink to it."""
    from mininet.node import OVSSwitch

    far = net.addHost("fe")
    bridge = edges["far-end"] = net.addSwitch("cefe", cls=OVSSwitch, datapath="user", dpid=f"{0xCEFE:016x}")
    net.addLink(far, bridge)
    uplinks = []
    for seller in SELLERS:
        host = seller_r if seller.host == "sr" else net.get(seller.host)
        uplinks.append((seller.name, net.addLink(host, bridge).intf1))
    return uplinks


def _address_far_end(far: Any, uplinks: list[tuple[str, Any]]) -> None:
    """Sellers forward between their buyers and the far end; the far end sends each pair's
    subnet back through that pair's seller (as a transit provider's routes would)."""
    far.cmd(f"ip addr add {FAR_END}/24 dev fe-eth0 && ip link set fe-eth0 up")
    for seller, intf in uplinks:
        intf.node.cmd(f"ip addr add {seller_uplink(seller)}/24 dev {intf.name} && ip link set {intf.name} up")
        intf.node.cmd("sysctl -qw net.ipv4.ip_forward=1")
    for p in PAIRS:
        far.cmd(f"ip route add 10.0.{p.index}.0/24 via {seller_uplink(p.seller.name)}")


def swap_partners(p: Pair) -> list[Pair]:
    """The same buyer's pairs with the other sellers on a switch: the sellers a deal of
    this pair can be swapped to, keeping the buyer's hand-off (seller-r, behind the router,
    is not one: a swap keeps the buyer's end on a switch and its VLAN)."""
    if p.seller.switch == "r1":
        return []
    return [q for q in PAIRS if q.buyer is p.buyer and q is not p and q.seller.switch != "r1"]


def _shared_gateways(seller_ends: dict[int, Any]) -> None:
    """A buyer's gateway is the same at every seller it can be swapped between: each
    seller's interface towards the buyer answers every such pair's seller address with
    one MAC (an anycast gateway, as carriers run for a seller change), so after a swap the
    buyer's next frame, still addressed to the old gateway, is taken by the new seller."""
    for p in PAIRS:
        intf = seller_ends.get(p.index)
        if intf is None or not swap_partners(p):
            continue
        intf.node.cmd(f"ip link set {intf.name} address 02:0a:00:00:{p.buyer.port:02x}:01")
        for q in swap_partners(p):
            intf.node.cmd(f"ip addr add {q.seller_ip}/24 dev {intf.name}")


def impair_control(state: Path, seller: str) -> Path:
    """The control socket of a seller's impairment relay."""
    return state / f"impair-{seller}.sock"


def _start_relay(segment: Any, seller: str, state: Path) -> Any:
    """The seller's segment: frames copied between its two interfaces, unimpaired until
    `ixchange lab impair` says otherwise."""
    a, b = (f"{segment.name}-eth{i}" for i in (0, 1))
    for intf in (a, b):  # whole frames as they are on the wire, no coalescing
        segment.cmd(f"ethtool -K {intf} rx off tx off gro off gso off tso off >/dev/null 2>&1; ip link set {intf} up")
    control = impair_control(state, seller)
    log = open(state / f"impair-{seller}.log", "ab")  # noqa: SIM115 (the relay's, for its life)
    relay = segment.popen(
        [sys.executable, "-m", "topologies.impair", "--a", a, "--b", b, "--control", str(control)],
        cwd=str(Path(__file__).resolve().parent.parent),
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 10
    while not control.exists():
        if relay.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the impairment relay for {seller} did not start (see {log.name})")
        time.sleep(0.05)
    return relay


def _start_reflector(host: Any, state: Path) -> Any:
    """The seller's far end answers the exchange's STAMP probes (`ixchange reflector`)."""
    log = open(state / f"reflector-{host.name}.log", "ab")  # noqa: SIM115 (the reflector's, for its life)
    return host.popen(
        [sys.executable, "-m", "controller.cli", "--data-dir", str(state / "reflector"), "reflector"],
        cwd=str(Path(__file__).resolve().parent.parent),
        stdout=log,
        stderr=log,
    )


def _quiet(host: Any) -> None:
    """No IPv6 chatter and no Mininet default address: hosts speak only on deal VLANs."""
    host.cmd("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1")
    for intf in host.intfList():
        if intf.name != "lo":
            host.cmd(f"ip addr flush dev {intf.name}")
            # veth checksum offload leaves TCP checksums for hardware that the userspace
            # datapath never supplies: TCP would be dropped while ping works.
            host.cmd(f"ethtool -K {intf.name} tx off")


def ssh_key(state: Path) -> Path:
    return state / "id_ed25519"


def _start_sshd(router: Any, state: Path) -> None:
    key = ssh_key(state)
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    host_key = state / "ssh_host_ed25519_key"
    if not host_key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
    (state / "authorized_keys").write_text(key.with_suffix(".pub").read_text())
    config = state / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"ListenAddress {MGMT_ROUTER}",
                f"HostKey {host_key}",
                f"PidFile {state / 'sshd.pid'}",
                f"AuthorizedKeysFile {state / 'authorized_keys'}",
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "",
            ]
        )
    )
    os.makedirs("/run/sshd", exist_ok=True)
    out = router.cmd(f"/usr/sbin/sshd -f {config} -E {state / 'sshd.log'}; echo rc=$?")
    if "rc=0" not in out:
        raise RuntimeError(f"sshd did not start on r1: {out.strip()}")
    credentials = state / "credentials.toml"
    fd = os.open(credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        # The router shares this machine's filesystem: its NAPALM undo stays inside the lab.
        napalm_state = state / "r1-napalm"
        f.write(
            f'[{ROUTER_CREDENTIALS}]\nusername = "root"\nkey_file = "{key}"\nport = 22\ntimeout = 10\n'
            f'state_dir = "{napalm_state}"\n'
        )


def lab_bridges() -> list[str]:
    """The Open vSwitch bridges the lab makes (fabric switches, customer edges, the far end's)."""
    return [*SWITCHES, *(f"ce{p.host}" for p in PARTICIPANTS.values() if p.switch != "r1"), "cefe"]


def clean_leftovers(state: Path) -> None:
    """What a lab killed without its own cleanup leaves: its bridges, the management veth,
    r1's sshd and the sellers' impairment relays. Touches nothing else on the machine."""
    stop_sshd(state)
    subprocess.run(["pkill", "-f", f"topologies.impair .*--control {state}/impair-"], capture_output=True)
    existing = subprocess.run(["ovs-vsctl", "list-br"], capture_output=True, text=True).stdout.split()
    for bridge in set(existing) & set(lab_bridges()):
        subprocess.run(["ovs-vsctl", "--if-exists", "del-br", bridge], capture_output=True)
    subprocess.run(["ip", "link", "del", "root-eth0"], capture_output=True)


def stop_sshd(state: Path) -> None:
    pidfile = state / "sshd.pid"
    if pidfile.exists():
        with contextlib.suppress(ValueError, ProcessLookupError):
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        pidfile.unlink(missing_ok=True)


def run(state: Path, controllers: list[str]) -> int:
    from mininet.log import setLogLevel

    setLogLevel("warning")
    state.mkdir(parents=True, exist_ok=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    net, root, helpers = build(state, controllers)
    print("lab ready", flush=True)
    try:
        stopping.wait()
    finally:
        for helper in helpers:  # impairment relays and reflectors
            helper.terminate()
        stop_sshd(state)
        net.stop()
        root.terminate()
        (state / "lab.json").unlink(missing_ok=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m topologies.lab")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="build the lab network and keep it up until SIGTERM")
    r.add_argument("--state", type=Path, required=True)
    r.add_argument("--controller", action="append", help="host:port, once per controller (default 127.0.0.1:6653)")
    args = parser.parse_args(argv)
    return run(args.state, args.controller or ["127.0.0.1:6653"])


if __name__ == "__main__":
    sys.exit(main())
