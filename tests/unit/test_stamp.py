"""STAMP (RFC 8762) packets, a reflector/sender pair over loopback, and the window summary."""

from __future__ import annotations

import asyncio
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.stamp import Reflector, Sender
from controller.stamp_packets import (
    SIZE,
    ErrorEstimate,
    Malformed,
    ReflectorPacket,
    SenderPacket,
    ns_from_ntp,
    ntp_from_ns,
    reflection,
)
from marketplace.delivered import Probe, summarize

u32, u64, u16 = st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1), st.integers(0, 2**16 - 1)
sizes = st.integers(SIZE, 1472)


@given(u32, u64, u16, sizes)
def test_a_sender_packet_round_trips(seq: int, ts: int, err: int, size: int) -> None:
    packet = SenderPacket(seq, ts, err, size)
    data = packet.encode()
    assert len(data) == size and SenderPacket.decode(data) == packet


@given(u32, u64, u16, u64, u32, u64, u16, st.integers(0, 255), sizes)
def test_a_reflector_packet_round_trips(
    seq: int, ts: int, err: int, rx: int, s_seq: int, s_ts: int, s_err: int, ttl: int, size: int
) -> None:
    packet = ReflectorPacket(seq, ts, err, rx, s_seq, s_ts, s_err, ttl, size)
    data = packet.encode()
    assert len(data) == size and ReflectorPacket.decode(data) == packet


def test_the_wire_layout_is_the_rfcs() -> None:
    data = SenderPacket(7, 0x0102030405060708, 0x8001).encode()
    assert data[:16] == bytes.fromhex("00000007 0102030405060708 8001 0000".replace(" ", ""))
    assert data[16:] == bytes(28)  # MBZ
    answer = reflection(SenderPacket.decode(data), 9, 0x11, 0x22, 64, 0x0116)
    raw = answer.encode()
    assert len(raw) == 44
    assert struct.unpack("!IQHHQIQHHB3x", raw) == (9, 0x22, 0x0116, 0, 0x11, 7, 0x0102030405060708, 0x8001, 0, 64)
    with pytest.raises(Malformed):
        SenderPacket.decode(data[:43])


def test_ntp_timestamps_and_the_error_estimate() -> None:
    unix_ns = 1_764_115_200_123_456_789  # 2025-11-26
    ntp = ntp_from_ns(unix_ns)
    assert ntp >> 32 == 1_764_115_200 + 2_208_988_800
    assert abs(ns_from_ntp(ntp) - unix_ns) <= 1  # 2^-32 s is 0.23 ns
    estimate = ErrorEstimate(synchronized=True, scale=22, multiplier=1)
    assert ErrorEstimate.decode(estimate.encode()) == estimate
    assert estimate.encode() >> 15 == 1 and abs(estimate.seconds - 2**-10) < 1e-12
    with pytest.raises(ValueError):
        ErrorEstimate(multiplier=0).encode()


def test_a_sender_and_a_reflector_over_loopback() -> None:
    async def run() -> tuple[list[Probe], Reflector, Sender]:
        reflector = Reflector("127.0.0.1", 0)
        reflector.start()
        sender = Sender(reflector.address, ("127.0.0.1", 0), size=100)
        sender.start()
        try:
            probes = await sender.measure(20, 0.005, wait_s=1.0)
        finally:
            sender.close()
            reflector.close()
        return probes, reflector, sender

    probes, reflector, sender = asyncio.run(run())
    assert [p.sequence for p in probes] == list(range(20))
    assert all(p.delay_ns is not None and 0 <= p.delay_ns < 50_000_000 for p in probes)
    assert reflector.reflected == 20 and reflector.malformed == 0 and sender.stray == 0
    delivered = summarize(probes, interval_ns=10_000_000)
    assert delivered.loss_ppm == 0 and delivered.availability_ppm == 1_000_000 and delivered.answered == 20


def test_a_reflector_ignores_what_is_not_a_test_packet() -> None:
    async def run() -> Reflector:
        reflector = Reflector("127.0.0.1", 0)
        reflector.start()
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, remote_addr=reflector.address)
        transport.sendto(b"short")
        await asyncio.sleep(0.1)
        transport.close()
        reflector.close()
        return reflector

    reflector = asyncio.run(run())
    assert reflector.malformed == 1 and reflector.reflected == 0


def test_the_window_summary() -> None:
    ms = 1_000_000
    probes = [
        Probe(0, 0, 10 * ms),
        Probe(1, 100 * ms, 12 * ms),
        Probe(2, 200 * ms, None),  # lost
        Probe(3, 1_100 * ms, 11 * ms),
        Probe(4, 2_100 * ms, None),  # the third second answered nothing
    ]
    d = summarize(probes)
    assert d.latency_us == 11_000  # median two-way delay
    assert d.jitter_us == 1_500  # mean |IPDV| of 10, 12, 11 ms: (2 + 1) / 2
    assert d.loss_ppm == 400_000 and d.availability_ppm == 666_666
    assert d.values() == {"latency_us": 11_000, "jitter_us": 1_500, "loss_ppm": 400_000, "availability_ppm": 666_666}
    assert summarize([Probe(0, 0, None)]).values() == {"loss_ppm": 1_000_000, "availability_ppm": 0}


def test_the_reflection_carries_the_probes_ttl_and_size() -> None:
    async def run() -> bytes:
        reflector = Reflector("127.0.0.1", 0)
        reflector.start()
        loop = asyncio.get_running_loop()
        got: asyncio.Future[bytes] = loop.create_future()

        class Catch(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                got.set_result(data)

        transport, _ = await loop.create_datagram_endpoint(Catch, remote_addr=reflector.address)
        transport.sendto(SenderPacket(41, ntp_from_ns(0), size=60).encode())
        try:
            return await asyncio.wait_for(got, 2)
        finally:
            transport.close()
            reflector.close()

    answer = ReflectorPacket.decode(asyncio.run(run()))
    assert (answer.sender_sequence, answer.sequence, answer.size) == (41, 41, 60)  # stateless, same size
    assert answer.sender_ttl == 64  # Linux's default TTL, read with IP_RECVTTL
    assert answer.turnaround_ns >= 0
