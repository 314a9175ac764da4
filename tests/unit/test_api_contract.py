"""The public API's contract: generated code matches the .proto files and buf lint is clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_generated_code_is_fresh() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "proto" / "generate.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, f"run `make proto`: {result.stderr}"


def test_buf_lint_is_clean() -> None:
    buf = shutil.which("buf") or str(Path(sys.executable).parent / "buf")
    if not Path(buf).exists():
        pytest.fail("buf is not installed; `pip install -e .[dev]` brings buf-bin")
    result = subprocess.run([buf, "lint"], cwd=ROOT / "proto", capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("domain", "wire", "prefix"),
    [
        ("marketplace.orders.Side", "common_pb2.Side", "SIDE_"),
        ("marketplace.orders.OrderStatus", "common_pb2.OrderStatus", "ORDER_STATUS_"),
        ("marketplace.orders.TimeInForce", "common_pb2.TimeInForce", "TIME_IN_FORCE_"),
        ("marketplace.orders.RoutingPolicy", "common_pb2.RoutingPolicy", "ROUTING_POLICY_"),
        ("marketplace.orders.ClassAssignment", "common_pb2.ClassAssignment", "CLASS_ASSIGNMENT_"),
        ("marketplace.deals.DealStatus", "common_pb2.DealStatus", "DEAL_STATUS_"),
        ("marketplace.events.EventKind", "exchange_pb2.EventKind", "EVENT_KIND_"),
        ("marketplace.quotes.AlternateKind", "market_pb2.AlternateKind", "ALTERNATE_KIND_"),
    ],
)
def test_domain_enums_match_the_wire(domain: str, wire: str, prefix: str) -> None:
    """The servicers pass enum values straight through, so names and numbers must agree."""
    import importlib

    module, _, name = domain.rpartition(".")
    enum = getattr(importlib.import_module(module), name)
    wire_module, _, wire_name = wire.partition(".")
    wire_enum = getattr(importlib.import_module(f"ixchange.v1.{wire_module}"), wire_name)
    wire_only = {"EVENT_KIND_HEARTBEAT"}  # a stream's sign of life, never a domain event
    expected = {n.removeprefix(prefix): v for n, v in wire_enum.items() if v and n not in wire_only}
    assert {m.name: int(m) for m in enum} == expected
