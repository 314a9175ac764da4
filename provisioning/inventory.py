"""The interconnection fabric as the exchange knows it: nodes (OpenFlow switches by datapath
id, router-type nodes by NAPALM driver), their ports and capacities, the links between
them, and where each participant attaches (node, port, VLAN range).

Loaded from a TOML topology file and checked before anything uses it. Router nodes carry
a credentials *reference* (a name the driver resolves), never a secret: a key that looks
like one is refused.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from marketplace.errors import InvalidArgument

NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
SECRET_KEYS = frozenset({"password", "secret", "passphrase", "private_key", "token"})
CAPACITY_RULE = re.compile(r"^(\d+)\s*([kmgt]?)$", re.IGNORECASE)
UNITS = {"": 1, "k": 1, "m": 1_000, "g": 1_000_000, "t": 1_000_000_000}
UNTAGGED = 0  # a VLAN range of 0-0: the port carries one service untagged


class NodeKind(StrEnum):
    OPENFLOW = "openflow"
    ROUTER = "router"


@dataclass(frozen=True, slots=True)
class Port:
    name: str
    capacity_kbps: int
    number: int = 0  # OpenFlow port number; 0 on router-type nodes


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    kind: NodeKind
    ports: tuple[Port, ...]
    datapath_id: int = 0  # OpenFlow switches
    driver: str = ""  # router-type nodes: NAPALM driver name
    host: str = ""
    credentials: str = ""  # a reference the driver resolves, never a secret
    _by_name: dict[str, Port] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {p.name: p for p in reversed(self.ports)})  # the first wins

    def port(self, name: str) -> Port | None:
        return self._by_name.get(name)


@dataclass(frozen=True, slots=True)
class Link:
    """A point-to-point link between two node ports, usable in both directions up to
    `capacity_kbps` each way."""

    a_node: str
    a_port: str
    z_node: str
    z_port: str
    capacity_kbps: int
    # An access link carries one deal at a time, untagged (e.g. to a router-type node
    # whose kernel has no 802.1Q support); otherwise each deal rides its own fabric VLAN.
    untagged: bool = False
    # Both switches run BFD on it: a port that stops being live (OpenFlow's OFPPS_LIVE) is
    # a failure even while its carrier is up.
    bfd: bool = False

    @property
    def key(self) -> str:
        return f"{self.a_node}:{self.a_port}-{self.z_node}:{self.z_port}"


@dataclass(frozen=True, slots=True)
class Attachment:
    """Where a participant's equipment plugs into the fabric."""

    participant: str
    node: str
    port: str
    vlan_min: int
    vlan_max: int


@dataclass(frozen=True, slots=True)
class Inventory:
    nodes: dict[str, Node]
    links: tuple[Link, ...]
    attachments: tuple[Attachment, ...]
    # Lookups the matcher's deliverability check makes for every candidate: built once.
    _attachments: dict[tuple[str, str, str], Attachment] = field(init=False, repr=False, compare=False)
    links_by_key: dict[str, Link] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_place = {(a.participant, a.node, a.port): a for a in reversed(self.attachments)}  # the first wins
        object.__setattr__(self, "_attachments", by_place)
        object.__setattr__(self, "links_by_key", {link.key: link for link in self.links})

    def attachment(self, participant: str, node: str, port: str) -> Attachment | None:
        return self._attachments.get((participant, node, port))

    def by_datapath(self, datapath_id: int) -> Node | None:
        for n in self.nodes.values():
            if n.kind is NodeKind.OPENFLOW and n.datapath_id == datapath_id:
                return n
        return None


def capacity(field: str, value: Any) -> int:
    """1G, 100M, 512k or an integer of kbit/s."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    m = CAPACITY_RULE.match(str(value).strip())
    if not m or int(m.group(1)) <= 0:
        raise InvalidArgument(field, "must be a capacity such as 1G, 100M, 512k or kbit/s")
    return int(m.group(1)) * UNITS[m.group(2).lower()]


def load_inventory(source: Path | str) -> Inventory:
    """Read and check a TOML topology file (a path, or the text itself)."""
    text = source.read_text() if isinstance(source, Path) else source
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InvalidArgument("topology", f"not valid TOML: {err}") from None
    return parse_inventory(data)


def parse_inventory(data: Mapping[str, Any]) -> Inventory:
    nodes: dict[str, Node] = {}
    for i, raw in enumerate(data.get("nodes", [])):
        node = _node(f"nodes[{i}]", raw)
        if node.name in nodes:
            raise InvalidArgument(f"nodes[{i}].name", f"{node.name} is defined twice")
        nodes[node.name] = node
    dpids = [n.datapath_id for n in nodes.values() if n.kind is NodeKind.OPENFLOW]
    if len(dpids) != len(set(dpids)):
        raise InvalidArgument("nodes", "two OpenFlow nodes share a datapath_id")
    links = tuple(_link(f"links[{i}]", raw, nodes) for i, raw in enumerate(data.get("links", [])))
    used: dict[tuple[str, str], str] = {}
    for i, link in enumerate(links):
        for end in ((link.a_node, link.a_port), (link.z_node, link.z_port)):
            if end in used:
                raise InvalidArgument(f"links[{i}]", f"port {end[0]}:{end[1]} is already used by {used[end]}")
            used[end] = f"links[{i}]"
    attachments = []
    for i, raw in enumerate(data.get("attachments", [])):
        att = _attachment(f"attachments[{i}]", raw, nodes)
        if (att.node, att.port) in used and used[(att.node, att.port)].startswith("links"):
            raise InvalidArgument(f"attachments[{i}].port", f"{att.node}:{att.port} is a fabric link port")
        attachments.append(att)
    return Inventory(nodes, links, tuple(attachments))


def _name(field: str, value: Any) -> str:
    if not isinstance(value, str) or not NAME_RULE.match(value):
        raise InvalidArgument(field, "must be a name of 1-64 characters A-Z a-z 0-9 . _ : / -")
    return value


def _node(where: str, raw: Mapping[str, Any]) -> Node:
    secrets = SECRET_KEYS & set(raw)
    if secrets:
        raise InvalidArgument(
            f"{where}.{sorted(secrets)[0]}", "secrets do not belong in the topology; give a `credentials` reference"
        )
    name = _name(f"{where}.name", raw.get("name"))
    try:
        kind = NodeKind(raw.get("kind", ""))
    except ValueError:
        raise InvalidArgument(f"{where}.kind", "must be openflow or router") from None
    ports = []
    for j, p in enumerate(raw.get("ports", [])):
        field = f"{where}.ports[{j}]"
        number = p.get("number", 0)
        if kind is NodeKind.OPENFLOW and (not isinstance(number, int) or not 1 <= number <= 0xFFFFFF00):
            raise InvalidArgument(f"{field}.number", "an OpenFlow port needs its port number (1..0xffffff00)")
        port_name = _name(f"{field}.name", str(p.get("name", "")))
        ports.append(Port(port_name, capacity(f"{field}.capacity", p.get("capacity")), number))
    if not ports:
        raise InvalidArgument(f"{where}.ports", "a node needs at least one port")
    if len({p.name for p in ports}) != len(ports):
        raise InvalidArgument(f"{where}.ports", "port names must be unique on a node")
    if kind is NodeKind.OPENFLOW:
        dpid = raw.get("datapath_id")
        if isinstance(dpid, str):
            try:
                dpid = int(dpid, 0)
            except ValueError:
                dpid = None
        if not isinstance(dpid, int) or not 1 <= dpid < 2**64:
            raise InvalidArgument(f"{where}.datapath_id", 'must be a 64-bit datapath id, e.g. 1 or "0x1"')
        return Node(name, kind, tuple(ports), datapath_id=dpid)
    driver = raw.get("driver", "")
    if not isinstance(driver, str) or not re.fullmatch(r"[a-z][a-z0-9_]{1,31}", driver):
        raise InvalidArgument(f"{where}.driver", "a router-type node needs its NAPALM driver name, e.g. junos, eos")
    host = _name(f"{where}.host", raw.get("host"))
    credentials = _name(f"{where}.credentials", raw.get("credentials"))
    return Node(name, kind, tuple(ports), driver=driver, host=host, credentials=credentials)


def _end(field: str, value: Any, nodes: dict[str, Node]) -> tuple[str, Port]:
    node_name, sep, port_name = str(value).partition(":") if isinstance(value, str) else ("", "", "")
    if not sep:
        raise InvalidArgument(field, "must be NODE:PORT")
    node = nodes.get(node_name)
    if node is None:
        raise InvalidArgument(field, f"no node {node_name!r}")
    port = node.port(port_name)
    if port is None:
        raise InvalidArgument(field, f"node {node_name} has no port {port_name!r}")
    return node_name, port


def _link(where: str, raw: Mapping[str, Any], nodes: dict[str, Node]) -> Link:
    a_node, a_port = _end(f"{where}.a", raw.get("a"), nodes)
    z_node, z_port = _end(f"{where}.z", raw.get("z"), nodes)
    if a_node == z_node:
        raise InvalidArgument(f"{where}.z", "a link joins two different nodes")
    limit = min(a_port.capacity_kbps, z_port.capacity_kbps)
    cap = capacity(f"{where}.capacity", raw["capacity"]) if "capacity" in raw else limit
    if cap > limit:
        raise InvalidArgument(f"{where}.capacity", f"more than its ports carry ({limit} kbit/s)")
    untagged, bfd = raw.get("untagged", False), raw.get("bfd", False)
    for name, value in (("untagged", untagged), ("bfd", bfd)):
        if not isinstance(value, bool):
            raise InvalidArgument(f"{where}.{name}", "must be true or false")
    return Link(a_node, a_port.name, z_node, z_port.name, cap, untagged, bfd)


def _attachment(where: str, raw: Mapping[str, Any], nodes: dict[str, Node]) -> Attachment:
    participant = _name(f"{where}.participant", raw.get("participant"))
    node, port = _end(f"{where}.port", f"{raw.get('node')}:{raw.get('port')}", nodes)
    vlans = str(raw.get("vlans", "0"))
    lo_text, _, hi_text = vlans.partition("-")
    try:
        lo, hi = int(lo_text), int(hi_text or lo_text)
    except ValueError:
        raise InvalidArgument(f"{where}.vlans", "must be VLAN or VLAN_MIN-VLAN_MAX (0 for untagged)") from None
    if not ((lo == hi == UNTAGGED) or 1 <= lo <= hi <= 4094):
        raise InvalidArgument(f"{where}.vlans", "must lie in 1-4094, or be 0 for an untagged port")
    return Attachment(participant, node, port.name, lo, hi)


def link_mismatches(inventory: Inventory, seen: set[tuple[int, int, int, int]], connected: set[int]) -> list[str]:
    """What LLDP sees that the inventory does not say, and what the inventory says that
    LLDP does not see (between connected switches). `seen` holds (dpid, port, dpid, port)."""
    names: dict[tuple[int, int], str] = {}
    for node in inventory.nodes.values():
        if node.kind is NodeKind.OPENFLOW:
            for port in node.ports:
                names[(node.datapath_id, port.number)] = f"{node.name}:{port.name}"
    undirected = {frozenset({(a, b), (c, d)}) for a, b, c, d in seen}
    expected = set()
    problems = []
    for link in inventory.links:
        a, z = inventory.nodes[link.a_node], inventory.nodes[link.z_node]
        if a.kind is not NodeKind.OPENFLOW or z.kind is not NodeKind.OPENFLOW:
            continue  # LLDP runs between switches only
        a_port, z_port = a.port(link.a_port), z.port(link.z_port)
        assert a_port is not None and z_port is not None
        ends = frozenset({(a.datapath_id, a_port.number), (z.datapath_id, z_port.number)})
        expected.add(ends)
        if a.datapath_id in connected and z.datapath_id in connected and ends not in undirected:
            problems.append(f"link {link.key} is in the topology but LLDP does not see it")
    for ends in sorted(undirected - expected, key=sorted):
        shown = " - ".join(names.get(end, f"dpid {end[0]:#x} port {end[1]}") for end in sorted(ends))
        problems.append(f"LLDP sees a link {shown} that the topology does not list")
    return problems
