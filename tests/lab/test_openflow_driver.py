"""The OpenFlow driver against a real Open vSwitch (userspace datapath) through os-ken:
changes confirmed by barrier, refusals reported, removal by cookie, and reconciliation
when the switch reconnects. Needs root (Open vSwitch); `make test` starts it."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.runtime import start_controller
from provisioning.intent import Flow, Meter, VlanAction, deal_cookie
from provisioning.openflow import OpenFlowDriver, SwitchError

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="Open vSwitch needs root")
ROOT = Path(__file__).resolve().parents[2]
DPID = 0xA1
BRIDGE = "ixtest0"


def sh(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def controller() -> tuple[OpenFlowDriver, int]:
    subprocess.run([str(ROOT / "tests" / "tools" / "ovs.sh"), "start"], check=True)
    driver = OpenFlowDriver()
    driver.wants_known()  # nothing to restore: switches reconcile as they connect
    port = free_port()
    start_controller(driver, port, "127.0.0.1")
    return driver, port


def connect(port: int) -> None:
    sh("ovs-vsctl", "set-controller", BRIDGE, f"tcp:127.0.0.1:{port}")


def wait_reconciled(driver: OpenFlowDriver) -> None:
    deadline = time.monotonic() + 30
    while DPID not in driver.reconciled and time.monotonic() < deadline:
        time.sleep(0.05)
    assert driver.reconciled[DPID].wait(30), "the switch did not connect and reconcile"


@pytest.fixture
def switch(controller: tuple[OpenFlowDriver, int]) -> Iterator[OpenFlowDriver]:
    driver, port = controller
    sh("ovs-vsctl", "--if-exists", "del-br", BRIDGE)
    sh(
        "ovs-vsctl",
        "add-br",
        BRIDGE,
        "--",
        "set",
        "bridge",
        BRIDGE,
        "datapath_type=netdev",
        "protocols=OpenFlow13,OpenFlow14",
        f"other-config:datapath-id={DPID:016x}",
        "fail_mode=secure",
    )
    for n in range(1, 5):
        sh(
            "ovs-vsctl",
            "add-port",
            BRIDGE,
            f"{BRIDGE}p{n}",
            "--",
            "set",
            "interface",
            f"{BRIDGE}p{n}",
            "type=internal",
            f"ofport_request={n}",
        )
    if DPID in driver.reconciled:
        driver.reconciled[DPID].clear()
    connect(port)
    wait_reconciled(driver)
    yield driver
    for deal_id in (5, 6, 7):
        driver.remove(DPID, deal_id)  # forget what the test wanted
    sh("ovs-vsctl", "--if-exists", "del-br", BRIDGE)


def deal_flows(deal_id: int, meter: bool = True) -> tuple[list[Flow], list[Meter]]:
    cookie = deal_cookie(deal_id)
    m = 2 * deal_id - 1 if meter else 0
    flows = [
        Flow("s", cookie, 1, 100 + deal_id, 2, VlanAction.SWAP, 200 + deal_id, m),
        Flow("s", cookie, 2, 200 + deal_id, 1, VlanAction.SWAP, 100 + deal_id, 0),
    ]
    meters = [Meter("s", m, 50_000, 5_000)] if meter else []
    return flows, meters


def dump_flows() -> str:
    return sh("ovs-ofctl", "-O", "OpenFlow13", "dump-flows", BRIDGE)


def test_install_is_confirmed_by_barrier_and_removal_clears_the_cookie(switch: OpenFlowDriver) -> None:
    flows, meters = deal_flows(5)
    switch.install(DPID, 5, flows, meters).result(10)
    dumped = dump_flows()
    assert f"cookie={deal_cookie(5):#x}" in dumped
    assert "in_port=1,dl_vlan=105 actions=meter:9,set_field:4301->vlan_vid,output:2" in dumped
    assert "meter=9 kbps burst" in sh("ovs-ofctl", "-O", "OpenFlow13", "dump-meters", BRIDGE)
    switch.remove(DPID, 5).result(10)
    assert f"cookie={deal_cookie(5):#x}" not in dump_flows()
    assert "meter=9" not in sh("ovs-ofctl", "-O", "OpenFlow13", "dump-meters", BRIDGE)


def test_a_refused_change_fails_with_the_switch_error(switch: OpenFlowDriver) -> None:
    flows, _ = deal_flows(6)  # the flows use meter 11, which is not installed
    with pytest.raises(SwitchError, match="OFPET_METER_MOD_FAILED"):
        switch.install(DPID, 6, flows, []).result(10)


def test_reconnect_reinstalls_what_is_wanted_and_removes_strays(
    switch: OpenFlowDriver, controller: tuple[OpenFlowDriver, int]
) -> None:
    _, port = controller
    flows, meters = deal_flows(7)
    switch.install(DPID, 7, flows, meters).result(10)
    # Behind the controller's back: deal 7's flows vanish, a stray deal flow appears.
    sh("ovs-ofctl", "-O", "OpenFlow13", "del-flows", BRIDGE, f"cookie={deal_cookie(7):#x}/-1")
    stray = f"cookie={deal_cookie(99):#x},priority=100,in_port=3,actions=output:4"
    sh("ovs-ofctl", "-O", "OpenFlow13", "add-flow", BRIDGE, stray)
    switch.reconciled[DPID].clear()
    sh("ovs-vsctl", "del-controller", BRIDGE)
    connect(port)
    wait_reconciled(switch)
    dumped = dump_flows()
    assert f"cookie={deal_cookie(99):#x}" not in dumped
    assert dumped.count(f"cookie={deal_cookie(7):#x}") == 2


def test_a_new_generation_replaces_the_old_and_a_reconnect_removes_a_stale_one(
    switch: OpenFlowDriver, controller: tuple[OpenFlowDriver, int]
) -> None:
    """A re-route: the next generation goes in beside the old (its meter modified, not
    added twice), the old is retired by its exact cookie; a stale generation left on a
    switch is removed when it reconnects, the current one kept."""
    _, port = controller
    flows, meters = deal_flows(7)
    switch.install(DPID, 7, flows, meters).result(10)
    newer = [
        dataclasses.replace(f, cookie=deal_cookie(7, 1), out_port=4 if f.in_port == 1 else f.out_port) for f in flows
    ]
    switch.install(DPID, 7, newer, meters).result(10)  # meter 13 exists: modified
    dumped = dump_flows()
    assert dumped.count(f"cookie={deal_cookie(7, 1):#x}") == 2 and "in_port=1,dl_vlan=107" in dumped
    stale = f"cookie={deal_cookie(7):#x},priority=100,in_port=3,dl_vlan=207,actions=output:1"
    sh("ovs-ofctl", "-O", "OpenFlow13", "add-flow", BRIDGE, stale)  # the old generation, left behind
    switch.retire(DPID, 7, deal_cookie(7), off_path=False).result(10)
    assert f"cookie={deal_cookie(7):#x}," not in dump_flows()
    sh("ovs-ofctl", "-O", "OpenFlow13", "add-flow", BRIDGE, stale)
    switch.reconciled[DPID].clear()
    sh("ovs-vsctl", "del-controller", BRIDGE)
    connect(port)
    wait_reconciled(switch)
    dumped = dump_flows()
    assert f"cookie={deal_cookie(7):#x}," not in dumped
    assert dumped.count(f"cookie={deal_cookie(7, 1):#x}") == 2


def test_a_disconnected_switch_is_reported(controller: tuple[OpenFlowDriver, int]) -> None:
    driver, _ = controller
    with pytest.raises(SwitchError, match="not connected"):
        driver.install(0xBEEF, 1, [], []).result(1)


def wait_role(driver: OpenFlowDriver, name: str, generation: int | None) -> None:
    deadline = time.monotonic() + 10
    while (got := driver.roles.get(DPID)) is None or got.name != name or generation not in (None, got.generation):
        assert time.monotonic() < deadline, f"the switch never confirmed {name} {generation}: {driver.roles}"
        time.sleep(0.02)


def controller_role(expected: str) -> str:
    """The role Open vSwitch reports for the controller (its database catches up within seconds)."""
    deadline = time.monotonic() + 15
    while (role := sh("ovs-vsctl", "get", "controller", BRIDGE, "role").strip()) != expected:
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return role


def test_roles_a_slave_cannot_change_the_switch_and_a_stale_master_is_refused(switch: OpenFlowDriver) -> None:
    """High availability's OpenFlow roles (issue 16): the switch itself fences a standby
    and a superseded leader, whatever their controllers send."""
    told: list[str] = []
    switch.superseded_sink = lambda _dpid, why: told.append(why)
    try:
        switch.set_role("master", 7)
        wait_role(switch, "master", 7)
        assert controller_role("master") == "master"
        flows, meters = deal_flows(5)
        switch.install(DPID, 5, flows, meters).result(10)
        switch.set_role("slave", 7)
        wait_role(switch, "slave", 7)
        assert controller_role("slave") == "slave"
        flows, meters = deal_flows(6)
        with pytest.raises(SwitchError, match="OFPBRC_IS_SLAVE"):
            switch.install(DPID, 6, flows, meters).result(10)
        assert f"cookie={deal_cookie(6):#x}" not in dump_flows()
        switch.set_role("master", 6)  # older than the 7 the switch has seen: a leader since superseded
        deadline = time.monotonic() + 10
        while not told:
            assert time.monotonic() < deadline, "the stale role request was not reported"
            time.sleep(0.02)
        assert "OFPRRFC_STALE" in told[0]
        assert controller_role("slave") == "slave"
    finally:
        switch.superseded_sink = None
        switch.set_role("equal", 0)  # OpenFlow's default, as the other tests expect
        wait_role(switch, "equal", None)  # the reply carries the switch's newest generation, 7
        switch.role = None
