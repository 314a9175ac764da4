"""The exchange's measurement point: STAMP probes (RFC 8762) injected into each live deal at
its buyer's entry switch, as if the buyer sent them, to the seller's reflector; the
answers trapped back at the same switch. So the probes take the deal's own VLANs, flows
and meters, and see what the buyer's traffic sees.

Per deal the measurement point has its own MAC (02:1e + the deal id) and an IPv4 address on
the deal's segment, and the seller's reflector an address and port: the agreement's
measurement terms (`IXCHANGE_MEASUREMENT`, a TOML file by agreement reference, until the
API carries them). A trap on the entry switch sends frames for that MAC arriving from the
path to the controller. The point asks the reflector's MAC by ARP (the request also tells
the reflector's host ours; re-asked every `ARP_EVERY_S`), answers ARP for its own address,
and sends one probe every interval. Each `window` probes give one window of delivered
quality (marketplace.delivered): two-way delay, which includes the controller channel
both ways (packet-out, packet-in: about 0.5 ms here), jitter, loss, availability."""

from __future__ import annotations

import asyncio
import logging
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

from controller.stamp_packets import ErrorEstimate, Malformed, ReflectorPacket, SenderPacket, ntp_from_ns
from marketplace.delivered import Delivered, Probe, summarize
from provisioning.frames import ETH_ARP, ETH_IPV4, arp_frame, parse, udp_frame
from provisioning.intent import Intent
from provisioning.inventory import Inventory, Node, NodeKind
from provisioning.openflow import OpenFlowDriver

log = logging.getLogger(__name__)
MEASURE_TAG = 0x1E << 56  # cookie of the measurement traps: not deal flows (reconciliation leaves them)
OFFER_TAG = 1 << 40  # with MEASURE_TAG: the trap of an offer's verification, not a deal's
ARP_EVERY_S = 30.0
SOURCE_PORT = 8620
_ERROR = ErrorEstimate().encode()


class TermsError(ValueError):
    """The measurement terms file is not what it should be."""


@dataclass(frozen=True, slots=True)
class MeasurementTerms:
    reflector: IPv4Address
    reflector_port: int
    source: IPv4Address  # the measurement point's address on the deal's segment


def load_terms(path: Path) -> dict[str, MeasurementTerms]:
    """[[measurement]] agreement = "REF", reflector = "IP:PORT", source = "IP"."""
    try:
        raw = tomllib.loads(path.read_text())
        terms = {}
        for entry in raw.get("measurement", []):
            host, _, port = str(entry["reflector"]).rpartition(":")
            terms[str(entry["agreement"])] = MeasurementTerms(
                IPv4Address(host), int(port), IPv4Address(entry["source"])
            )
        return terms
    except (OSError, tomllib.TOMLDecodeError, KeyError, ValueError) as err:
        raise TermsError(f"measurement terms {path}: {err}") from None


def point_mac(deal_id: int) -> bytes:
    return bytes([0x02, 0x1E]) + (deal_id & 0xFFFF_FFFF).to_bytes(4, "big")


def verifier_mac(order_id: int) -> bytes:
    return bytes([0x02, 0x1F]) + (order_id & 0xFFFF_FFFF).to_bytes(4, "big")


@dataclass(slots=True)
class _Session:
    deal_id: int  # the deal measured (an offer's verification: its order id)
    terms: MeasurementTerms
    dpid: int
    buyer_port: int  # where probes enter, as from the buyer
    buyer_vlan: int
    path_port: int  # where answers come back from the path
    path_vlan: int
    mac: bytes
    backup_port: int = 0  # a protected deal: answers may come back this way too
    reflector_mac: bytes | None = None
    asked_at: float = 0.0
    sequence: int = 0
    sent: dict[int, int] = field(default_factory=dict)  # sequence -> monotonic ns
    answered: dict[int, int] = field(default_factory=dict)  # sequence -> two-way delay ns
    # Over the deal's life, counted as windows close: loss over any span (minutes, where a
    # 10-probe window cannot resolve a 100 ppm band) is the difference of two readings.
    probes_total: int = 0
    answered_total: int = 0
    # Verification of an offer: probes go straight out of `path_port` (the seller's
    # attachment) rather than through the flow table, and windows are collected.
    direct: bool = False
    collected: list[Delivered] | None = None
    wanted: int = 0
    done: asyncio.Future[None] | None = None

    @property
    def cookie(self) -> int:
        return MEASURE_TAG | (OFFER_TAG if self.direct else 0) | self.deal_id


class DealMonitor:
    def __init__(self, openflow: OpenFlowDriver, inventory: Inventory, interval_s: float = 1.0, window: int = 10):
        self.openflow = openflow
        self.inventory = inventory
        self.interval_s = interval_s
        self.window = window
        self.sessions: dict[int, _Session] = {}  # by deal
        self.offers: dict[int, _Session] = {}  # offers being verified, by order
        self._by_mac: dict[bytes, _Session] = {}
        self.delivered: dict[int, Delivered] = {}  # the last complete window per deal
        self.on_window: Callable[[int, Delivered], None] | None = None  # each window, as it closes
        self._loop: asyncio.AbstractEventLoop | None = None

    def watch(self, intent: Intent, terms: MeasurementTerms) -> bool:
        """Start measuring a deal (its first hop must be a switch)."""
        first = intent.path[0]
        node = self.inventory.nodes[first.node]
        buyer, path = node.port(first.buyer_side_port), node.port(first.seller_side_port)
        if node.kind is not NodeKind.OPENFLOW or buyer is None or path is None:
            return False
        mac = point_mac(intent.deal_id)
        self.sessions[intent.deal_id] = self._by_mac[mac] = _Session(
            intent.deal_id,
            terms,
            node.datapath_id,
            buyer.number,
            intent.buyer_vlan,
            path.number,
            intent.side_vlans(0)[1],
            mac,
            _number(node, intent.backup_path[0].seller_side_port) if intent.backup_path else 0,
        )
        self.openflow.measuring_macs.add(mac)
        return True

    def forget(self, deal_id: int) -> None:
        session = self.sessions.pop(deal_id, None)
        self.delivered.pop(deal_id, None)
        if session is not None:
            self._drop(session)

    def _drop(self, session: _Session) -> None:
        self._by_mac.pop(session.mac, None)
        self.openflow.measuring_macs.discard(session.mac)
        for port in _answer_ports(session):
            self.openflow.trap_mac(session.dpid, session.cookie, port, session.path_vlan, session.mac, add=False)

    async def verify(
        self, order_id: int, dpid: int, port: int, vlan: int, terms: MeasurementTerms, windows: int, timeout_s: float
    ) -> list[Delivered]:
        """Measure a seller's service from its attachment (switch `dpid`, `port`, `vlan`)
        for `windows` windows, before any deal exists: probes leave by the seller's port
        and the answers are trapped as they come back in. Returns the windows measured
        (fewer, or none, when `timeout_s` passed first)."""
        mac = verifier_mac(order_id)
        session = _Session(
            order_id, terms, dpid, port, vlan, port, vlan, mac, direct=True, collected=[], wanted=windows
        )
        session.done = asyncio.get_running_loop().create_future()
        self.offers[order_id] = self._by_mac[mac] = session
        self.openflow.measuring_macs.add(mac)
        try:
            await asyncio.wait_for(asyncio.shield(session.done), timeout_s)
        except TimeoutError:
            pass
        finally:
            self.offers.pop(order_id, None)
            self._drop(session)
        return list(session.collected or ())

    def _send(self, session: _Session, frame: bytes) -> None:
        if session.direct:
            self.openflow.send_frame(session.dpid, session.path_port, frame, out=True)
        else:
            self.openflow.send_frame(session.dpid, session.buyer_port, frame)

    def frame_in(self, frame: bytes, arrived_ns: int) -> None:
        """From the OpenFlow driver's thread: hand the frame to the event loop."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._frame, frame, arrived_ns)

    async def run_forever(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.openflow.frame_sink = self.frame_in
        while True:
            for session in [*self.sessions.values(), *self.offers.values()]:
                try:
                    self._tick(session)
                except Exception:  # one deal's trouble must not stop the others' measurement
                    log.exception("deal %d: measurement step failed", session.deal_id)
            await asyncio.sleep(self.interval_s)

    def _tick(self, session: _Session) -> None:
        now = time.monotonic()
        if session.reflector_mac is None or now - session.asked_at >= ARP_EVERY_S:
            for port in _answer_ports(session):
                self.openflow.trap_mac(session.dpid, session.cookie, port, session.path_vlan, session.mac)
            ask = arp_frame(1, session.mac, session.terms.source, b"", session.terms.reflector, session.buyer_vlan)
            self._send(session, ask)
            session.asked_at = now
        if session.reflector_mac is not None:
            self._probe(session)
        self._close_window(session)

    def _probe(self, session: _Session) -> None:
        sequence = session.sequence
        session.sequence = (sequence + 1) & 0xFFFF_FFFF
        payload = SenderPacket(sequence, ntp_from_ns(time.time_ns()), _ERROR).encode()
        assert session.reflector_mac is not None
        frame = udp_frame(
            session.reflector_mac,
            session.mac,
            session.buyer_vlan,
            session.terms.source,
            session.terms.reflector,
            (SOURCE_PORT, session.terms.reflector_port),
            payload,
        )
        session.sent[sequence] = time.monotonic_ns()
        self._send(session, frame)

    def _close_window(self, session: _Session) -> None:
        """Once `window` probes are out and the last had time to come back, they make a window."""
        if len(session.sent) < self.window:
            return
        batch = sorted(session.sent)[: self.window]
        if time.monotonic_ns() - session.sent[batch[-1]] < 1_000_000_000:
            return
        probes = [Probe(s, session.sent.pop(s), session.answered.pop(s, None)) for s in batch]
        window = summarize(probes, interval_ns=int(self.interval_s * 1e9))
        if session.collected is not None:  # an offer's verification
            session.collected.append(window)
            if len(session.collected) >= session.wanted and session.done is not None and not session.done.done():
                session.done.set_result(None)
            return
        self.delivered[session.deal_id] = window
        session.probes_total += window.probes
        session.answered_total += window.answered
        if self.on_window is not None:
            self.on_window(session.deal_id, window)

    def _frame(self, frame: bytes, arrived_ns: int) -> None:
        session = self._by_mac.get(frame[:6])
        parsed = parse(frame)
        if session is None or parsed is None or frame[:6] != session.mac:
            return
        terms = session.terms
        if parsed.eth_type == ETH_ARP:
            if parsed.arp_op == 2 and parsed.sender_ip == terms.reflector:
                session.reflector_mac = parsed.src_mac
            elif parsed.arp_op == 1 and parsed.target_ip == terms.source and parsed.sender_ip is not None:
                answer = arp_frame(2, session.mac, terms.source, parsed.src_mac, parsed.sender_ip, session.buyer_vlan)
                self._send(session, answer)
        elif parsed.eth_type == ETH_IPV4 and parsed.sender_ip == terms.reflector and parsed.udp_dport == SOURCE_PORT:
            try:
                answer_packet = ReflectorPacket.decode(parsed.payload)
            except Malformed:
                return
            sent = session.sent.get(answer_packet.sender_sequence)
            if sent is not None and answer_packet.sender_sequence not in session.answered:
                delay = arrived_ns - sent - answer_packet.turnaround_ns
                session.answered[answer_packet.sender_sequence] = max(0, delay)


def _answer_ports(session: _Session) -> tuple[int, ...]:
    return (session.path_port, session.backup_port) if session.backup_port else (session.path_port,)


def _number(node: Node, port: str) -> int:
    found = node.port(port)
    return found.number if found is not None else 0
