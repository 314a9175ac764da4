"""The CLI for scripts and logs: `-o json` with the proto's field names on every command
that prints data, tables never cut short when piped, completion scripts, `lab env`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.cli import build_parser
from controller.cli.completion import script
from controller.cli.lab import TRADE_HINT
from marketplace.settings import load_settings
from tests.conftest import ServerThread

ROOT = Path(__file__).resolve().parents[2]
LONG_NAME = "seller-with-a-long-name-" + "x" * 16  # 40: the longest allowed


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerThread]:
    settings = load_settings(env={}, data_dir=tmp_path, listen="127.0.0.1:0", metrics_listen="")
    running = ServerThread(settings).start()
    yield running
    running.stop()


def ixchange(server: ServerThread, data_dir: Path, *args: str) -> str:
    """The CLI as a script runs it: its own process, stdout a pipe, no COLUMNS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXCHANGE_") and k != "COLUMNS"}
    done = subprocess.run(
        [sys.executable, "-m", "controller.cli", "--server", server.target, "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_json_output_uses_the_proto_field_names_and_tables_are_whole_when_piped(
    server: ServerThread, tmp_path: Path
) -> None:
    ixchange(server, tmp_path, "participants", "add", LONG_NAME, "--role", "seller")
    ixchange(server, tmp_path, "participants", "add", "globex", "--role", "buyer")
    values = ["--value", "latency_us=4000", "--value", "jitter_us=300", "--value", "loss_ppm=5"]
    offer = ["offer", "--route", "FRA1:AMS2", "--capacity", "10G", "--price", "90000", *values]
    placed = json.loads(
        ixchange(server, tmp_path, "-o", "json", "--as", LONG_NAME, *offer, "--value", "availability_ppm=999995")
    )
    assert placed["order"]["participant"] == LONG_NAME and placed["duplicate"] is False
    assert placed["order"]["price_unit"] == {"currency": "EUR", "exponent": 2, "per": "circuit-month"}
    request = ["request", "--route", "AMS2:FRA1", "--capacity", "10G", "--limit", "95000", "--grade", "platinum"]
    ixchange(server, tmp_path, "--as", "globex", *request)

    deals = json.loads(ixchange(server, tmp_path, "deals", "-o", "json"))  # -o after the command works too
    assert deals["deals"][0]["status"] == "DEAL_STATUS_PENDING_AGREEMENT"
    assert deals["deals"][0]["seller"] == LONG_NAME and deals["next_page_token"] == ""
    orders = json.loads(ixchange(server, tmp_path, "-o", "json", "orders"))
    assert [o["order_id"] for o in orders["orders"]] == ["1", "2"]  # proto3 JSON: 64-bit ids are strings
    for command in (["book"], ["participants"], ["agreements"], ["classes"], ["classes", "params"], ["report"]):
        json.loads(ixchange(server, tmp_path, "-o", "json", *command))

    table = ixchange(server, tmp_path, "deals")  # piped: no 80-column cut
    assert "…" not in table
    assert LONG_NAME in table and "PENDING_AGREEMENT" in table


def test_completion_scripts_know_every_command_and_are_valid_shell() -> None:
    parser = build_parser()
    bash = script(parser, "bash")
    for word in ("offer", "request", "deals", "lab", "--output", "restart-exchange", "--route"):
        assert word in bash
    assert subprocess.run(["bash", "-n"], input=bash, text=True).returncode == 0
    completed = subprocess.run(
        ["bash", "-c", bash + '\nCOMP_WORDS=(ixchange de); COMP_CWORD=1; _ixchange; echo "${COMPREPLY[@]}"'],
        capture_output=True,
        text=True,
    )
    assert completed.stdout.split() == ["deals"]
    assert script(parser, "zsh").startswith("autoload -U +X bashcompinit")


def test_lab_env_points_the_cli_at_the_lab(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXCHANGE_")}
    env.update(IXCHANGE_LAB_DIR=str(tmp_path / "lab"), IXCHANGE_LAB_LISTEN="127.0.0.1:50999", PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-m", "controller.cli", "lab", "env"], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert out.splitlines() == [
        f"export IXCHANGE_DATA_DIR={tmp_path / 'lab'}",
        "export IXCHANGE_SERVER=127.0.0.1:50999",
    ]


def test_the_lab_hint_is_whole_commands(capsys: pytest.CaptureFixture[str]) -> None:
    """Printed by `lab up` one command a line, never wrapped in the middle (soft wrap)."""
    from controller.cli.common import say

    for line in TRADE_HINT:
        say(f"  {line}")
    printed = capsys.readouterr().out.splitlines()
    assert [line.strip() for line in printed] == [line.strip() for line in TRADE_HINT]
