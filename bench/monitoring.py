"""How many deals one exchange process can watch at one STAMP probe per second each
before the probing takes half of one core (issue 12). N sessions in one process (the
exchange's event loop), each its own socket and sequence, probes spread evenly over the
second, against `ixchange reflector` in another process on loopback; the probing
process's CPU time over the run divided by the wall time. The sender's side only: not
yet the controller's injection of probes into each deal's path.
`python -m bench.monitoring [--sessions 250 1000 4000] [--seconds 10]`."""

from __future__ import annotations

import argparse
import asyncio
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

from controller.stamp import Sender

ROOT = Path(__file__).resolve().parent.parent


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _probe_for(sessions: int, seconds: float, reflector: tuple[str, int]) -> tuple[float, int, int]:
    senders = [Sender(reflector, ("127.0.0.1", 0)) for _ in range(sessions)]
    for s in senders:
        s.start()
    loop = asyncio.get_running_loop()
    sent: list[list[int]] = [[] for _ in senders]
    step = 1.0 / sessions
    start_wall, start_cpu = time.monotonic(), time.process_time()
    next_at, i = loop.time(), 0
    while time.monotonic() - start_wall < seconds:
        await asyncio.sleep(max(0.0, next_at - loop.time()))
        sent[i].append(senders[i].send())
        i = (i + 1) % sessions
        next_at += step
    await asyncio.sleep(0.5)  # the last answers
    cpu = time.process_time() - start_cpu
    wall = time.monotonic() - start_wall
    answered = total = 0
    for sender, sequences in zip(senders, sent, strict=True):
        probes = sender.collect(sequences)
        total += len(probes)
        answered += sum(p.delay_ns is not None for p in probes)
        sender.close()
    return cpu / wall, total, answered


def main(sessions: tuple[int, ...] = (250, 1000, 4000), seconds: float = 10) -> list[dict[str, object]]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, max(sessions) + 256)), hard))
    port = _free_udp_port()
    reflector = subprocess.Popen(
        [sys.executable, "-m", "controller.cli", "reflector", "--listen", f"127.0.0.1:{port}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    rows: list[dict[str, object]] = []
    try:
        assert reflector.stdout is not None
        reflector.stdout.readline()  # listening
        for n in sessions:
            share, total, answered = asyncio.run(_probe_for(n, seconds, ("127.0.0.1", port)))
            per_probe_us = share * seconds * 1e6 / max(total, 1)
            capacity = int(0.5 / share * n) if share else 0
            rows.append(
                {
                    "bench": "monitoring",
                    "sessions": n,
                    "probes_per_s": round(total / seconds),
                    "cpu_share_of_one_core": round(share, 3),
                    "cpu_us_per_probe": round(per_probe_us, 1),
                    "answered": answered,
                    "probes": total,
                    "sessions_at_half_a_core": capacity,
                }
            )
            print(
                f"monitoring {n} deals at 1 probe/s: {100 * share:.1f} % of one core ({per_probe_us:.0f} us a probe, "
                f"{answered}/{total} answered) -> about {capacity} deals at 50 % of a core",
                flush=True,
            )
    finally:
        reflector.terminate()
        reflector.wait(timeout=10)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[250, 1000, 4000])
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    main(tuple(args.sessions), args.seconds)
