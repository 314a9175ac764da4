"""A seller's network segment with real impairment: a relay that copies Ethernet frames
between two interfaces through packet sockets, delaying, jittering and dropping them on
the way. This kernel has no netem (../shared/LAB_NOTES.md), so the lab puts one of these
between each seller's equipment and its switch port; nothing is ever faked in a
measurement.

- Delay: each frame waits `delay` ± a uniform `jitter`, never overtaking the frame before
  it in its direction (a link queues, it does not reorder).
- Loss: each frame is dropped with probability `loss`, counted per direction: the counter
  a measurement's loss is checked against.
- VLAN tags the kernel stripped on receive (offload) are put back from PACKET_AUXDATA;
  the relay's own transmissions, seen again on its sockets, are skipped.

Controlled over a UNIX datagram socket with JSON: {"delay_us": .., "jitter_us": ..,
"loss_ppm": ..} sets (missing keys keep their value), {} only asks; the reply is the
settings and the counters. `python -m topologies.impair --a IF --b IF --control PATH`.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import select
import socket
import struct
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
_AUXDATA = struct.Struct("IIIHHHH")  # status, len, snaplen, mac, net, vlan_tci, vlan_tpid
BATCH = 64  # frames read from one socket before looking at the others


@dataclass(slots=True)
class Impairment:
    delay_us: int = 0
    jitter_us: int = 0
    loss_ppm: int = 0

    def update(self, changes: dict[str, object]) -> None:
        for name in ("delay_us", "jitter_us", "loss_ppm"):
            if name in changes:
                value = changes[name]
                if not isinstance(value, int) or value < 0 or (name == "loss_ppm" and value > 1_000_000):
                    raise ValueError(f"{name}: a whole number of {name.rsplit('_', 1)[1]} >= 0")
                setattr(self, name, value)
        if self.jitter_us > self.delay_us:
            raise ValueError("jitter_us cannot exceed delay_us (a frame cannot leave before it came)")


@dataclass(slots=True)
class Way:
    """One direction: frames waiting, and what happened to those that came."""

    forwarded: int = 0
    dropped: int = 0
    queue: list[tuple[int, int, bytes]] = field(default_factory=list)  # (due ns, order, frame)
    last_due: int = 0


def restore_vlan(frame: bytes, ancillary: list[tuple[int, int, bytes]]) -> bytes:
    """The frame as it was on the wire: a tag the kernel moved into metadata put back."""
    for level, kind, data in ancillary:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(data) >= _AUXDATA.size:
            status, _, _, _, _, tci, tpid = _AUXDATA.unpack_from(data)
            if status & TP_STATUS_VLAN_VALID:
                tpid = tpid if status & TP_STATUS_VLAN_TPID_VALID else 0x8100
                return frame[:12] + struct.pack("!HH", tpid, tci) + frame[12:]
    return frame


def due_at(now_ns: int, impairment: Impairment, way: Way, rng: random.Random) -> int:
    """When a frame arriving now leaves: delay ± jitter, never before the previous one."""
    wait_us = impairment.delay_us
    if impairment.jitter_us:
        wait_us += rng.randint(-impairment.jitter_us, impairment.jitter_us)
    return max(now_ns + wait_us * 1000, way.last_due)


class Relay:
    def __init__(self, a: str, b: str, control: Path, seed: int | None = None) -> None:
        self.impairment = Impairment()
        self.rng = random.Random(seed)
        self.sockets = {name: self._packet_socket(name) for name in (a, b)}
        self.other = {a: b, b: a}
        self.ways = {a: Way(), b: Way()}  # by the interface frames came in on
        self.order = 0
        control.unlink(missing_ok=True)
        self.control = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.control.bind(str(control))
        os.chmod(control, 0o600)

    @staticmethod
    def _packet_socket(interface: str) -> socket.socket:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.bind((interface, ETH_P_ALL))
        sock.setblocking(False)
        return sock

    def serve(self) -> None:
        by_fd = {s.fileno(): name for name, s in self.sockets.items()}
        poller = select.poll()
        for fd in (*by_fd, self.control.fileno()):
            poller.register(fd, select.POLLIN)
        while True:
            wait = self._next_due_ms()
            for fd, _ in poller.poll(wait):
                if fd == self.control.fileno():
                    self._command()
                else:
                    self._receive(by_fd[fd])
            self._send_due()

    def _next_due_ms(self) -> int | None:
        dues = [w.queue[0][0] for w in self.ways.values() if w.queue]
        if not dues:
            return None
        return max(0, (min(dues) - time.monotonic_ns() + 999_999) // 1_000_000)

    def _receive(self, interface: str) -> None:
        sock, way, out = self.sockets[interface], self.ways[interface], self.sockets[self.other[interface]]
        impairment = self.impairment
        for _ in range(BATCH):
            try:
                frame, ancillary, _, address = sock.recvmsg(65535, socket.CMSG_SPACE(_AUXDATA.size))
            except BlockingIOError:
                return
            if address[2] == socket.PACKET_OUTGOING:
                continue  # our own transmission on this interface
            frame = restore_vlan(frame, ancillary)
            if impairment.loss_ppm and self.rng.randrange(1_000_000) < impairment.loss_ppm:
                way.dropped += 1
                continue
            if not impairment.delay_us and not way.queue:
                self._transmit(out, frame, way)
                continue
            due = due_at(time.monotonic_ns(), impairment, way, self.rng)
            way.last_due = due
            self.order += 1
            heapq.heappush(way.queue, (due, self.order, frame))

    def _send_due(self) -> None:
        now = time.monotonic_ns()
        for interface, way in self.ways.items():
            out = self.sockets[self.other[interface]]
            while way.queue and way.queue[0][0] <= now:
                _, _, frame = heapq.heappop(way.queue)
                self._transmit(out, frame, way)

    @staticmethod
    def _transmit(out: socket.socket, frame: bytes, way: Way) -> None:
        try:
            out.send(frame)
            way.forwarded += 1
        except OSError:  # the interface's queue is full: the segment lost it
            way.dropped += 1

    def _command(self) -> None:
        try:
            raw, peer = self.control.recvfrom(4096)
        except BlockingIOError:
            return
        reply: dict[str, object]
        try:
            changes = json.loads(raw or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("a JSON object")
            self.impairment.update(changes)
            reply = {"ok": True}
        except ValueError as err:
            reply = {"ok": False, "error": str(err)}
        reply |= {
            "impairment": asdict(self.impairment),
            "ways": {
                name: {"forwarded": w.forwarded, "dropped": w.dropped, "queued": len(w.queue)}
                for name, w in self.ways.items()
            },
        }
        if peer:
            self.control.sendto(json.dumps(reply).encode(), peer)


def ask(control: Path, changes: dict[str, object], timeout: float = 5.0) -> dict[str, object]:
    """Send a command to a relay and return its reply (settings and counters)."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    reply_path = control.with_name(f".{control.name}.{os.getpid()}.reply")
    reply_path.unlink(missing_ok=True)
    try:
        client.bind(str(reply_path))
        client.settimeout(timeout)
        client.sendto(json.dumps(changes).encode(), str(control))
        answer: dict[str, object] = json.loads(client.recv(65536))
        return answer
    finally:
        client.close()
        reply_path.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m topologies.impair", description=__doc__.splitlines()[0])
    parser.add_argument("--a", required=True, help="one interface of the segment")
    parser.add_argument("--b", required=True, help="the other")
    parser.add_argument("--control", type=Path, required=True, help="UNIX datagram socket for commands")
    args = parser.parse_args(argv)
    Relay(args.a, args.b, args.control).serve()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
