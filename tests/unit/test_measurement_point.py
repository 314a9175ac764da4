"""The exchange's measurement point: its frames, and a deal's session against a fake switch
that plays the seller's reflector host (ARP and STAMP) and the path's delay."""

from __future__ import annotations

import asyncio
import time
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from controller.stamp_packets import SenderPacket, reflection
from provisioning.frames import ETH_ARP, ETH_IPV4, arp_frame, mac_bytes, parse, udp_frame
from provisioning.intent import Hop, Intent
from provisioning.inventory import load_inventory
from provisioning.monitor import DealMonitor, MeasurementTerms, TermsError, load_terms, point_mac

LAB = load_inventory((Path(__file__).resolve().parents[2] / "topologies" / "lab.toml").read_text())
HOST_MAC = mac_bytes("02:00:00:00:00:05")
TERMS = MeasurementTerms(IPv4Address("10.0.5.2"), 862, IPv4Address("10.0.5.254"))


def test_frames_round_trip() -> None:
    src, dst = IPv4Address("10.0.5.254"), IPv4Address("10.0.5.2")
    frame = udp_frame(HOST_MAC, point_mac(7), 105, src, dst, (8620, 862), b"x" * 44)
    parsed = parse(frame)
    assert parsed is not None and parsed.eth_type == ETH_IPV4 and parsed.src_mac == point_mac(7)
    assert (parsed.sender_ip, parsed.target_ip, parsed.udp_sport, parsed.udp_dport) == (src, dst, 8620, 862)
    assert parsed.payload == b"x" * 44 and frame[12:16] == bytes.fromhex("81000069")  # VLAN 105
    ip_header = frame[18:38]
    words = [int.from_bytes(ip_header[i : i + 2], "big") for i in range(0, 20, 2)]
    total = sum(words)
    assert (total & 0xFFFF) + (total >> 16) == 0xFFFF  # a valid IPv4 header checksum
    ask = parse(arp_frame(1, point_mac(7), src, b"", dst, 0))
    assert ask is not None and (ask.eth_type, ask.arp_op, ask.target_ip) == (ETH_ARP, 1, dst)
    assert parse(b"short") is None


class FakeSwitch:
    """The OpenFlow driver's measurement calls; frames sent into the deal come back as the
    seller's host would answer them, 3 ms later."""

    def __init__(self) -> None:
        self.measuring_macs: set[bytes] = set()
        self.frame_sink = None
        self.traps: list[tuple[int, int, int, bool]] = []
        self.sent: list[tuple[int, int, bytes]] = []
        self.monitor: DealMonitor | None = None

    def trap_mac(self, dpid: int, cookie: int, in_port: int, vlan: int, mac: bytes, add: bool = True) -> bool:
        self.traps.append((dpid, in_port, vlan, add))
        return True

    def send_frame(self, dpid: int, in_port: int, frame: bytes) -> bool:
        self.sent.append((dpid, in_port, frame))
        parsed = parse(frame)
        assert parsed is not None and self.monitor is not None
        if parsed.eth_type == ETH_ARP and parsed.arp_op == 1 and parsed.target_ip == TERMS.reflector:
            answer = arp_frame(2, HOST_MAC, TERMS.reflector, parsed.src_mac, TERMS.source, 0)
        elif parsed.eth_type == ETH_IPV4:
            probe = SenderPacket.decode(parsed.payload)
            stamp = reflection(probe, probe.sequence, probe.timestamp, probe.timestamp, 64, 0).encode()
            answer = udp_frame(parsed.src_mac, HOST_MAC, 0, TERMS.reflector, TERMS.source, (862, 8620), stamp)
        else:
            return True
        monitor = self.monitor
        asyncio.get_running_loop().call_later(0.003, lambda: monitor.frame_in(answer, time.monotonic_ns()))
        return True


def two_hops(deal_id: int) -> Intent:
    """buyer-b on s3:p4 (VLAN 105) to seller-b over s3 > s2 (fabric VLAN 2, s3:p3)."""
    return Intent(
        deal_id, (Hop("s3", "p4", "p3"), Hop("s2", "p3", "p1")), ("s2:3-s3:3",), (2,), 105, 205, 2, 1, 1, (), (), ()
    )


def test_a_deal_is_measured_through_its_entry_switch() -> None:
    # buyer-b on s3:p4 (VLAN 105), to seller-b over s3 > s2 (fabric VLAN 2 on s3:p3).
    intent = Intent(
        5, (Hop("s3", "p4", "p3"), Hop("s2", "p3", "p1")), ("s2:3-s3:3",), (2,), 105, 205, 2, 1, 1, (), (), ()
    )
    switch = FakeSwitch()
    monitor = DealMonitor(switch, LAB, interval_s=0.01, window=5)  # type: ignore[arg-type]
    switch.monitor = monitor
    assert monitor.watch(intent, TERMS)

    async def run() -> None:
        task = asyncio.create_task(monitor.run_forever())
        for _ in range(300):
            await asyncio.sleep(0.01)
            if 5 in monitor.delivered:
                break
        task.cancel()

    asyncio.run(run())
    (dpid, in_port, vlan, add) = switch.traps[0]
    assert (dpid, in_port, vlan, add) == (3, 3, 2, True)  # answers trapped where they come back
    assert {(d, p) for d, p, _ in switch.sent} == {(3, 4)}  # everything injected as from the buyer
    window = monitor.delivered[5]
    assert window.loss_ppm == 0 and window.availability_ppm == 1_000_000
    assert window.latency_us is not None and 3_000 <= window.latency_us < 50_000
    session = monitor.sessions[5]
    assert session.probes_total >= 5 and session.answered_total == session.probes_total
    monitor.forget(5)
    assert switch.traps[-1][3] is False and point_mac(5) not in switch.measuring_macs


def test_the_point_answers_arp_for_its_own_address() -> None:
    intent = Intent(
        6, (Hop("s3", "p4", "p3"), Hop("s2", "p3", "p1")), ("s2:3-s3:3",), (2,), 105, 205, 2, 1, 1, (), (), ()
    )
    switch = FakeSwitch()
    monitor = DealMonitor(switch, LAB)  # type: ignore[arg-type]
    switch.monitor = monitor
    monitor.watch(intent, TERMS)
    who_has = arp_frame(1, HOST_MAC, TERMS.reflector, b"", TERMS.source, 0)
    monitor._frame(point_mac(6) + who_has[6:], 0)  # a unicast ARP probe from the seller's host
    (_, in_port, frame) = switch.sent[-1]
    answer = parse(frame)
    assert in_port == 4 and answer is not None and answer.arp_op == 2 and answer.sender_ip == TERMS.source
    assert frame[:6] == HOST_MAC  # sent back to the asker, into the deal


def test_measurement_terms_are_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[[measurement]]\nagreement = "AG-1"\nreflector = "10.0.5.2:862"\nsource = "10.0.5.254"\n')
    assert load_terms(path) == {"AG-1": TERMS}
    path.write_text('[[measurement]]\nagreement = "AG-1"\nreflector = "nowhere"\nsource = "10.0.5.254"\n')
    with pytest.raises(TermsError, match="measurement terms"):
        load_terms(path)
