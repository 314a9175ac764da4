"""Sequence-numbered UDP for counting lost packets across a network change (a seller swap,
a failover): `send` puts numbered datagrams on the wire at a fixed spacing, `receive`
counts which numbers arrived. Run inside lab hosts (mnexec).

    python -m topologies.udpseq receive --port 9000 --idle 2      # prints JSON at the end
    python -m topologies.udpseq send --to 10.100.0.1:9000 --count 5000 --interval 0.001
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import struct
import sys
import time

HEADER = struct.Struct("!QQ")  # sequence number, send time (ns)


def send(address: str, port: int, count: int, interval: float) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        start = time.monotonic()
        for seq in range(count):
            due = start + seq * interval
            while (left := due - time.monotonic()) > 0:
                time.sleep(left if left > 0.0005 else 0)  # the last half millisecond spun: on time
            with contextlib.suppress(OSError):  # no route or neighbour for a moment: lost, counted at the far end
                sock.sendto(HEADER.pack(seq, time.time_ns()) + bytes(32), (address, port))
    return 0


def receive(port: int, idle: float, limit: float) -> dict[str, object]:
    """Until `idle` seconds pass without a datagram after the first (or `limit` in all)."""
    seen: set[int] = set()
    received = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.bind(("0.0.0.0", port))
        print("ready", file=sys.stderr, flush=True)
        deadline = time.monotonic() + limit
        sock.settimeout(limit)
        while time.monotonic() < deadline:
            try:
                data = sock.recv(2048)
            except TimeoutError:
                break
            if len(data) >= HEADER.size:
                seen.add(HEADER.unpack_from(data)[0])
                received += 1
                sock.settimeout(idle)
    top = max(seen) if seen else -1
    missing = sorted(set(range(top + 1)) - seen)
    gaps = _runs(missing)
    return {"received": received, "distinct": len(seen), "highest": top, "missing": len(missing), "gaps": gaps[:20]}


def _runs(numbers: list[int]) -> list[list[int]]:
    """[first, last] of each run of consecutive numbers."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and runs[-1][1] == n - 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m topologies.udpseq")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("send")
    s.add_argument("--to", required=True, help="ADDRESS:PORT")
    s.add_argument("--count", type=int, default=5000)
    s.add_argument("--interval", type=float, default=0.001)
    r = sub.add_parser("receive")
    r.add_argument("--port", type=int, default=9000)
    r.add_argument("--idle", type=float, default=2.0)
    r.add_argument("--limit", type=float, default=120.0)
    args = parser.parse_args(argv)
    if args.command == "send":
        address, _, port = args.to.rpartition(":")
        return send(address, int(port), args.count, args.interval)
    print(json.dumps(receive(args.port, args.idle, args.limit)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
