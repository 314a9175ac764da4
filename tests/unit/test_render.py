"""Router configuration per platform, pinned by golden files in tests/unit/golden/.
Regenerate them after a deliberate template change with IXCHANGE_TEST_UPDATE_GOLDEN=1."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provisioning.intent import NotAdmitted, RouterService
from provisioning.render import PLATFORMS, render

GOLDEN = Path(__file__).resolve().parent / "golden"
PORTS = {
    "junos": ("ge-0/0/1", "ge-0/0/2"),
    "eos": ("Ethernet1", "Ethernet2"),
    "iosxr": ("GigabitEthernet0/0/0/1", "GigabitEthernet0/0/0/2"),
    "ixlinux": ("eth1", "eth2"),
}


def service(platform: str, buyer_vlan: int = 2, seller_vlan: int = 500) -> RouterService:
    buyer_port, seller_port = PORTS[platform]
    return RouterService("r1", 7, buyer_port, buyer_vlan, seller_port, seller_vlan, 400_000, 40_000)


@pytest.mark.parametrize("action", ["apply", "remove"])
@pytest.mark.parametrize("platform", PLATFORMS)
def test_rendering_matches_the_golden_file(platform: str, action: str) -> None:
    text = render(service(platform), platform, remove=action == "remove")
    golden = GOLDEN / f"{platform}.{action}.txt"
    if os.environ.get("IXCHANGE_TEST_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_linux_untagged_side_uses_the_port_itself() -> None:
    text = render(service("ixlinux", seller_vlan=0), "ixlinux")
    assert "ip link set eth2 master ixd7" in text and "type vlan id 0" not in text
    assert "tc qdisc del dev eth2 root" in render(service("ixlinux", seller_vlan=0), "ixlinux", remove=True)


def test_refusals() -> None:
    with pytest.raises(NotAdmitted, match="must be VLAN-tagged"):
        render(service("junos", seller_vlan=0), "junos")
    with pytest.raises(NotAdmitted, match="no templates for platform 'nxos'"):
        render(service("junos"), "nxos")
    long = RouterService("r1", 7, "enp0s31f6-long", 100, "eth2", 200, 1000, 100)
    with pytest.raises(NotAdmitted, match="longer than 15"):
        render(long, "ixlinux")
