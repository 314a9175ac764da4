"""The few Ethernet frames the exchange's measurement point puts into a deal and takes out
of it: ARP (to find the seller's reflector and to answer for its own address) and
IPv4/UDP carrying STAMP. Pure: bytes in, bytes out; 802.1Q-tagged when a VLAN is given."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address

ETH_IPV4, ETH_ARP, ETH_VLAN = 0x0800, 0x0806, 0x8100
BROADCAST = b"\xff" * 6
_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_UDP = struct.Struct("!HHHH")
_ARP = struct.Struct("!HHBBH6s4s6s4s")


def mac_bytes(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def _ethernet(dst: bytes, src: bytes, vlan: int, eth_type: int) -> bytes:
    tag = struct.pack("!HH", ETH_VLAN, vlan) if vlan else b""
    return dst + src + tag + struct.pack("!H", eth_type)


def _checksum(data: bytes) -> int:
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def udp_frame(
    dst_mac: bytes,
    src_mac: bytes,
    vlan: int,
    src: IPv4Address,
    dst: IPv4Address,
    ports: tuple[int, int],  # (source, destination)
    payload: bytes,
) -> bytes:
    """An IPv4/UDP datagram in an Ethernet frame (UDP checksum 0: none, as IPv4 allows)."""
    udp = _UDP.pack(*ports, 8 + len(payload), 0) + payload
    head = _IPV4.pack(0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0, src.packed, dst.packed)
    head = head[:10] + struct.pack("!H", _checksum(head)) + head[12:]
    return _ethernet(dst_mac, src_mac, vlan, ETH_IPV4) + head + udp


def arp_frame(op: int, src_mac: bytes, src: IPv4Address, dst_mac: bytes, dst: IPv4Address, vlan: int) -> bytes:
    """An ARP request (op 1, to broadcast) or reply (op 2, to `dst_mac`)."""
    target_mac = bytes(6) if op == 1 else dst_mac
    body = _ARP.pack(1, ETH_IPV4, 6, 4, op, src_mac, src.packed, target_mac, dst.packed)
    return (_ethernet(BROADCAST if op == 1 else dst_mac, src_mac, vlan, ETH_ARP) + body).ljust(60, b"\0")


@dataclass(frozen=True, slots=True)
class Parsed:
    """What the measurement point reads from a frame addressed to it."""

    src_mac: bytes
    eth_type: int
    arp_op: int = 0
    sender_ip: IPv4Address | None = None  # ARP: who asks or answers; IPv4: the source
    target_ip: IPv4Address | None = None  # ARP: whose address is asked for; IPv4: the destination
    udp_sport: int = 0
    udp_dport: int = 0
    payload: bytes = b""


def parse(frame: bytes) -> Parsed | None:
    """An ARP or IPv4/UDP frame (tagged or not); None for anything else or a short frame."""
    if len(frame) < 14:
        return None
    src_mac = frame[6:12]
    eth_type, at = struct.unpack_from("!H", frame, 12)[0], 14
    if eth_type == ETH_VLAN and len(frame) >= 18:
        eth_type, at = struct.unpack_from("!H", frame, 16)[0], 18
    if eth_type == ETH_ARP and len(frame) >= at + _ARP.size:
        _, _, _, _, op, sha, spa, _, tpa = _ARP.unpack_from(frame, at)
        return Parsed(sha, ETH_ARP, op, IPv4Address(spa), IPv4Address(tpa))
    if eth_type == ETH_IPV4 and len(frame) >= at + 20:
        ihl = (frame[at] & 0x0F) * 4
        proto = frame[at + 9]
        src, dst = IPv4Address(frame[at + 12 : at + 16]), IPv4Address(frame[at + 16 : at + 20])
        if proto != 17 or len(frame) < at + ihl + 8:
            return None
        sport, dport, length, _ = _UDP.unpack_from(frame, at + ihl)
        payload = frame[at + ihl + 8 : at + ihl + length]
        return Parsed(src_mac, ETH_IPV4, 0, src, dst, sport, dport, payload)
    return None
