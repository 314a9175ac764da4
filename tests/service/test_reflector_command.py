"""`ixchange reflector`: a real process answering STAMP probes over loopback."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from controller.stamp import Sender

ROOT = Path(__file__).resolve().parents[2]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_reflector_command_answers_probes_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_udp_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXCHANGE_")}
    command = [sys.executable, "-m", "controller.cli", "--data-dir", str(tmp_path), "reflector"]
    process = subprocess.Popen(
        [*command, "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        assert "STAMP reflector on" in process.stdout.readline()

        async def probe() -> list[int | None]:
            sender = Sender(("127.0.0.1", port), ("127.0.0.1", 0))
            sender.start()
            try:
                return [p.delay_ns for p in await sender.measure(10, 0.01, wait_s=2)]
            finally:
                sender.close()

        delays = asyncio.run(probe())
        assert len(delays) == 10 and all(d is not None for d in delays), delays
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "reflected 10 probes, 0 malformed" in err
    taken = subprocess.run(
        [*command, "--listen", "127.0.0.1:x"],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(ROOT)},
        timeout=30,
    )
    assert taken.returncode == 2 and "expected host:port" in taken.stderr
