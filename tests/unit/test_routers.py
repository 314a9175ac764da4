"""Router-type nodes: the NAPALM lifecycle the registry drives (with a recording stand-in
for a vendor driver: no vendor device is available here; the Linux driver runs for real
in the lab), credentials by reference, and the ixlinux undo rules."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from marketplace.errors import InvalidArgument
from provisioning.intent import RouterService
from provisioning.inventory import Node, NodeKind, Port
from provisioning.linux_napalm import undo_of
from provisioning.routers import Credentials, RouterDrivers, RouterError

SERVICE = RouterService("pe1", 9, "xe-0/0/1", 100, "xe-0/0/2", 200, 10_000, 1_000)


class FakeDevice:
    """Records the NAPALM calls; fails where told to."""

    instances: list[FakeDevice] = []

    def __init__(self, host: str, user: str, password: str, optional_args: dict[str, Any]) -> None:
        self.calls: list[str] = []
        self.fail_at = FakeDevice.fail_next
        self.confirm = FakeDevice.confirm_supported
        self.optional_args = optional_args
        FakeDevice.instances.append(self)

    fail_next = ""
    confirm_supported = True
    left_pending = False  # a commit another (dead) exchange did not confirm

    def has_pending_commit(self) -> bool:
        if not self.confirm:
            raise NotImplementedError
        return FakeDevice.left_pending

    def _step(self, name: str) -> None:
        self.calls.append(name)
        if name == self.fail_at:
            raise RuntimeError(f"{name} failed")

    def open(self) -> None:
        self._step("open")

    def close(self) -> None:
        self.calls.append("close")

    def is_alive(self) -> dict[str, bool]:
        return {"is_alive": True}

    def load_merge_candidate(self, config: str) -> None:
        assert "ixchange-deal-9" in config
        self._step("load")

    def compare_config(self) -> str:
        self._step("compare")
        return "+ the deal"

    def commit_config(self, revert_in: int | None = None) -> None:
        if revert_in and not self.confirm:
            raise NotImplementedError
        self._step("commit" if not revert_in else f"commit revert_in={revert_in}")

    def get_interfaces(self) -> dict[str, dict[str, bool]]:
        self._step("get_interfaces")
        return {name: {"is_up": True, "is_enabled": True} for name in ("xe-0/0/1", "xe-0/0/2")}

    def confirm_commit(self) -> None:
        self._step("confirm")

    def rollback(self) -> None:
        self.calls.append("rollback")
        FakeDevice.left_pending = False

    def discard_config(self) -> None:
        self.calls.append("discard")


@pytest.fixture
def drivers(tmp_path: Path) -> RouterDrivers:
    FakeDevice.instances = []
    FakeDevice.fail_next = ""
    FakeDevice.confirm_supported = True
    FakeDevice.left_pending = False
    creds = tmp_path / "credentials.toml"
    creds.write_text('[pe1]\nusername = "ops"\npassword = "x"\nport = 830\n')
    os.chmod(creds, 0o600)
    return RouterDrivers(Credentials(creds), driver_for=lambda name: FakeDevice)


NODE = Node(
    "pe1",
    NodeKind.ROUTER,
    (Port("xe-0/0/1", 10**7), Port("xe-0/0/2", 10**7)),
    driver="junos",
    host="pe1",
    credentials="pe1",
)


def test_a_change_is_load_compare_commit_confirmed_check_confirm(drivers: RouterDrivers) -> None:
    assert drivers.apply(NODE, SERVICE) == "+ the deal"
    (device,) = FakeDevice.instances
    assert device.calls == ["open", "load", "compare", "commit revert_in=120", "get_interfaces", "confirm"]
    assert device.optional_args == {"port": 830}
    drivers.remove(NODE, SERVICE)  # the same session serves the next change
    assert len(FakeDevice.instances) == 1
    assert device.calls[-4:] == ["load", "compare", "commit revert_in=120", "confirm"]  # removal: no check


def test_a_commit_left_unconfirmed_by_a_dead_exchange_is_rolled_back_before_the_change(
    drivers: RouterDrivers,
) -> None:
    FakeDevice.left_pending = True
    drivers.apply(NODE, SERVICE)
    (device,) = FakeDevice.instances
    assert device.calls == ["open", "rollback", "load", "compare", "commit revert_in=120", "get_interfaces", "confirm"]


def test_without_commit_confirm_the_plain_commit_is_used(drivers: RouterDrivers) -> None:
    FakeDevice.confirm_supported = False
    drivers.apply(NODE, SERVICE)
    assert FakeDevice.instances[0].calls == ["open", "load", "compare", "commit", "get_interfaces"]


@pytest.mark.parametrize(
    ("failing", "undo"),
    [("load", "discard"), ("compare", "discard"), ("get_interfaces", "rollback"), ("confirm", "rollback")],
)
def test_any_failure_is_undone_and_the_session_dropped(drivers: RouterDrivers, failing: str, undo: str) -> None:
    FakeDevice.fail_next = failing
    with pytest.raises(RouterError, match=f"node pe1: {failing} failed"):
        drivers.apply(NODE, SERVICE)
    device = FakeDevice.instances[0]
    assert device.calls[-2:] == [undo, "close"]
    FakeDevice.fail_next = ""
    drivers.apply(NODE, SERVICE)
    assert len(FakeDevice.instances) == 2  # a new session after a failure


def test_an_unreachable_node_and_unknown_credentials(drivers: RouterDrivers) -> None:
    FakeDevice.fail_next = "open"
    with pytest.raises(RouterError, match="cannot connect to pe1"):
        drivers.apply(NODE, SERVICE)
    stranger = Node("pe2", NodeKind.ROUTER, NODE.ports, driver="junos", host="pe2", credentials="nobody")
    with pytest.raises(RouterError, match="no credentials 'nobody'"):
        drivers.apply(stranger, SERVICE)
    odd = Node("pe3", NodeKind.ROUTER, NODE.ports, driver="nxos", host="pe3", credentials="pe1")
    with pytest.raises(RouterError, match="no templates for NAPALM driver 'nxos'"):
        drivers.apply(odd, SERVICE)


def test_credentials_readable_by_others_are_refused(tmp_path: Path) -> None:
    creds = tmp_path / "c.toml"
    creds.write_text('[pe1]\nusername = "ops"\n')
    os.chmod(creds, 0o644)
    with pytest.raises(InvalidArgument, match="IXCHANGE_CREDENTIALS_FILE"):
        Credentials(creds)


@pytest.mark.parametrize(
    ("command", "undo"),
    [
        ("ip link add ixd9 type bridge", "ip link del ixd9"),
        ("ip link add link eth1 name eth1.100 type vlan id 100", "ip link del eth1.100"),
        ("ip link set eth1.100 master ixd9", "ip link set eth1.100 nomaster"),
        ("ip link set ixd9 up", ""),
        ("tc qdisc replace dev eth1 root handle 1: htb default 10", "tc qdisc del dev eth1 root"),
        ("tc class replace dev eth1 parent 1: classid 1:10 htb rate 10kbit", ""),
        ("ip link del ixd9", ""),
        ("rm -rf /", None),
        ("ip route add default via 10.0.0.1", None),
    ],
)
def test_ixlinux_accepts_only_commands_it_can_undo(command: str, undo: str | None) -> None:
    assert undo_of(command) == undo


def test_the_linux_driver_keeps_each_nodes_undo_in_its_own_directory() -> None:
    from provisioning.linux_napalm import IxLinuxDriver

    default = IxLinuxDriver("10.0.0.7", "root", "")
    assert default.undo_file == "/run/ixchange-napalm/10.0.0.7/undo.sh"
    other = IxLinuxDriver("10.0.0.8", "root", "")
    assert other.undo_file != default.undo_file and other.pending_file != default.pending_file
    lab = IxLinuxDriver("10.99.0.2", "root", "", optional_args={"state_dir": "/var/lib/lab/r1-napalm"})
    assert lab.undo_file == "/var/lib/lab/r1-napalm/undo.sh"
    with pytest.raises(ValueError, match="state_dir"):  # it goes into shell lines unquoted
        IxLinuxDriver("10.99.0.2", "root", "", optional_args={"state_dir": "/tmp/x; rm -rf /"})


def test_router_sessions_are_opened_ahead_of_the_first_deal_and_reused(drivers: RouterDrivers) -> None:
    """Found in the lab: the first deal through r1 took 1.3 s (the SSH login on demand)."""
    assert drivers.keep_ready([NODE]) == []
    (device,) = FakeDevice.instances
    assert device.calls == ["open"] and drivers.open_sessions() == {"pe1"}
    assert drivers.keep_ready([NODE]) == []  # alive: kept, no second login
    drivers.apply(NODE, SERVICE)
    assert len(FakeDevice.instances) == 1 and device.calls[1] == "load"


def test_an_unreachable_router_is_reported_and_tried_again_later(drivers: RouterDrivers) -> None:
    FakeDevice.fail_next = "open"
    assert drivers.keep_ready([NODE]) == ["pe1"] and drivers.open_sessions() == set()
    FakeDevice.fail_next = ""
    assert drivers.keep_ready([NODE]) == [] and drivers.open_sessions() == {"pe1"}
