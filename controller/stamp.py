"""STAMP (RFC 8762, unauthenticated mode) over UDP: a Session-Reflector (what a seller's
far end runs: `ixchange reflector`) and a Session-Sender (the exchange's measurement
point). Packet formats are in controller.stamp_packets; the window summary in
marketplace.delivered.

The reflector is stateless (RFC 8762 section 4.2: its sequence number copies the
sender's), so a lost probe is a round-trip loss; it reports the TTL each probe arrived
with (IP_RECVTTL) and answers with the probe's own size."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time

from controller.stamp_packets import (
    MAX_SIZE,
    PORT,
    SIZE,
    ErrorEstimate,
    Malformed,
    ReflectorPacket,
    SenderPacket,
    ntp_from_ns,
    reflection,
)
from marketplace.delivered import Probe

log = logging.getLogger(__name__)
UNKNOWN_TTL = 255
IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)  # Linux's value; CPython names it from 3.12
_ERROR = ErrorEstimate().encode()


def _udp_socket(bind: tuple[str, int]) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
    sock.bind(bind)
    return sock


def _ttl_of(ancillary: list[tuple[int, int, bytes]]) -> int:
    for level, kind, data in ancillary:
        if level == socket.IPPROTO_IP and kind == socket.IP_TTL and len(data) >= 4:
            return int(struct.unpack("i", data[:4])[0])
    return UNKNOWN_TTL


class _Endpoint:
    """A UDP socket read by the running event loop whenever it has datagrams."""

    def __init__(self, bind: tuple[str, int]) -> None:
        self._bind = bind
        self._sock: socket.socket | None = None

    @property
    def address(self) -> tuple[str, int]:
        assert self._sock is not None, "not started"
        host, port = self._sock.getsockname()
        return host, port

    def start(self) -> None:
        self._sock = _udp_socket(self._bind)
        asyncio.get_running_loop().add_reader(self._sock.fileno(), self._readable)

    def close(self) -> None:
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None

    def _readable(self) -> None:
        raise NotImplementedError


class Reflector(_Endpoint):
    def __init__(self, host: str = "0.0.0.0", port: int = PORT) -> None:
        super().__init__((host, port))
        self.reflected = 0
        self.malformed = 0

    def _readable(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data, ancillary, _, peer = self._sock.recvmsg(MAX_SIZE + 1, socket.CMSG_SPACE(4))
            except (BlockingIOError, InterruptedError):
                return
            received_ntp = ntp_from_ns(time.time_ns())
            try:
                probe = SenderPacket.decode(data)
            except Malformed:
                self.malformed += 1
                continue
            answer = reflection(
                probe, probe.sequence, received_ntp, ntp_from_ns(time.time_ns()), _ttl_of(ancillary), _ERROR
            )
            try:
                self._sock.sendto(answer.encode(), peer)
                self.reflected += 1
            except OSError as err:  # the sender's address unreachable now: its probe is lost
                log.debug("STAMP reflection to %s failed: %s", peer, err)


class Sender(_Endpoint):
    """Probes one reflector; `measure` sends a train and returns what came back."""

    def __init__(self, reflector: tuple[str, int], bind: tuple[str, int] = ("0.0.0.0", 0), size: int = SIZE) -> None:
        super().__init__(bind)
        self.reflector = reflector
        self.size = size
        self._sequence = 0
        self._sent: dict[int, int] = {}  # sequence -> monotonic ns at sending
        self._delays: dict[int, int] = {}  # sequence -> two-way delay ns
        self.stray = 0  # answers that match no probe of ours (late, duplicated, malformed)

    def send(self) -> int:
        """One probe now; its sequence number."""
        assert self._sock is not None, "not started"
        sequence = self._sequence
        self._sequence = (self._sequence + 1) & 0xFFFF_FFFF
        packet = SenderPacket(sequence, ntp_from_ns(time.time_ns()), _ERROR, self.size).encode()
        self._sent[sequence] = time.monotonic_ns()
        try:
            self._sock.sendto(packet, self.reflector)
        except OSError as err:  # no route now: counts as lost
            log.debug("STAMP probe to %s failed: %s", self.reflector, err)
        return sequence

    async def measure(self, count: int, interval_s: float, wait_s: float = 1.0) -> list[Probe]:
        """`count` probes `interval_s` apart, then up to `wait_s` for the last answers."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        sequences = []
        for i in range(count):
            await asyncio.sleep(max(0.0, start + i * interval_s - loop.time()))
            sequences.append(self.send())
        deadline = loop.time() + wait_s
        while loop.time() < deadline and any(s not in self._delays for s in sequences):
            await asyncio.sleep(min(0.01, wait_s))
        return self.collect(sequences)

    def collect(self, sequences: list[int]) -> list[Probe]:
        """The outcome of these probes, forgotten afterwards (an answer arriving later is stray)."""
        out = [Probe(s, self._sent.pop(s), self._delays.pop(s, None)) for s in sequences if s in self._sent]
        return out

    def _readable(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data = self._sock.recv(MAX_SIZE + 1)
            except (BlockingIOError, InterruptedError):
                return
            arrived = time.monotonic_ns()
            try:
                answer = ReflectorPacket.decode(data)
            except Malformed:
                self.stray += 1
                continue
            sent = self._sent.get(answer.sender_sequence)
            if sent is None or answer.sender_sequence in self._delays:
                self.stray += 1
                continue
            self._delays[answer.sender_sequence] = max(0, arrived - sent - answer.turnaround_ns)


def main(argv: list[str] | None = None) -> int:
    """`python -m controller.stamp HOST:PORT [--count N] [--interval S]`: probe a reflector
    and print the window's delivered quality and each probe's delay as JSON (the lab's
    accuracy benchmark runs it from a buyer's host)."""
    import argparse
    import json

    from marketplace.delivered import summarize

    parser = argparse.ArgumentParser(prog="python -m controller.stamp", description=main.__doc__)
    parser.add_argument("reflector", help="host:port")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.01, help="seconds between probes")
    parser.add_argument("--wait", type=float, default=2.0, help="seconds to wait for the last answers")
    args = parser.parse_args(argv)
    host, _, port = args.reflector.rpartition(":")

    async def run() -> list[Probe]:
        sender = Sender((host, int(port)))
        sender.start()
        try:
            return await sender.measure(args.count, args.interval, args.wait)
        finally:
            sender.close()

    probes = asyncio.run(run())
    delivered = summarize(probes, interval_ns=max(1, int(args.interval * 10 * 1e9)))
    print(
        json.dumps(
            {
                "delivered": delivered.values(),
                "lost": delivered.probes - delivered.answered,
                "delays_us": [None if p.delay_ns is None else p.delay_ns / 1000 for p in probes],
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
