"""`ixchange serve` where a port is taken: one line naming the setting and the address."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def busy() -> Iterator[str]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield f"127.0.0.1:{holder.getsockname()[1]}"


def free() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.parametrize(
    ("setting", "flags"),
    [
        ("IXCHANGE_LISTEN", ["--listen", "{busy}", "--metrics-listen", ""]),
        ("IXCHANGE_METRICS_LISTEN", ["--listen", "{free}", "--metrics-listen", "{busy}"]),
        (
            "IXCHANGE_OPENFLOW_LISTEN",
            [
                "--listen",
                "{free}",
                "--metrics-listen",
                "",
                "--topology",
                str(ROOT / "topologies" / "lab.toml"),
                "--openflow-listen",
                "{busy}",
            ],
        ),
    ],
)
def test_a_busy_port_is_one_line_naming_the_setting(tmp_path: Path, busy: str, setting: str, flags: list[str]) -> None:
    args = [f.format(busy=busy, free=free()) for f in flags]
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXCHANGE_")}
    done = subprocess.run(
        [sys.executable, "-m", "controller.cli", "--data-dir", str(tmp_path), "serve", *args],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(ROOT), "COLUMNS": "300"},
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert setting in lines[0] and busy in lines[0] and "address already in use" in lines[0]
    assert "Traceback" not in done.stdout + done.stderr


def test_bad_measurement_terms_are_one_line_naming_the_setting(tmp_path: Path) -> None:
    terms = tmp_path / "measurement.toml"
    terms.write_text('[[measurement]]\nagreement = "AG-1"\nreflector = "not an address"\nsource = "10.0.0.1"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXCHANGE_")}
    args = ["--listen", free(), "--metrics-listen", "", "--topology", str(ROOT / "topologies" / "lab.toml")]
    args += ["--openflow-listen", free()]
    done = subprocess.run(
        [sys.executable, "-m", "controller.cli", "--data-dir", str(tmp_path), "serve", *args],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(ROOT), "COLUMNS": "300", "IXCHANGE_MEASUREMENT": str(terms)},
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "IXCHANGE_MEASUREMENT" in lines[0] and "Traceback" not in done.stderr, done.stderr
