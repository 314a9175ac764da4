"""packaging/ixchange.service: what it starts, and that systemd restarts a fail-stop."""

from __future__ import annotations

import configparser
from pathlib import Path

from controller.cli import build_parser

UNIT = Path(__file__).resolve().parents[2] / "packaging" / "ixchange.service"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNIT)
    return parser


def test_the_unit_runs_ixchange_serve_from_the_checkouts_virtualenv_and_restarts_failures() -> None:
    service = unit()["Service"]
    program, *args = service["ExecStart"].split()
    assert program == "/opt/ixchange/.venv/bin/ixchange"  # where the README clones and `make venv` builds
    build_parser().parse_args(args)  # a command line the CLI accepts
    assert args == ["serve"]
    assert service["Restart"] == "on-failure"  # a fail-stop exits non-zero; a stop exits 0
    assert service["User"] == "ixchange" and service["StateDirectoryMode"] == "0700"
    assert "IXCHANGE_DATA_DIR=/var/lib/ixchange" in service["Environment"]
    assert unit()["Install"]["WantedBy"] == "multi-user.target"
