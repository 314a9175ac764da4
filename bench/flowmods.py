"""Flow-mods per second installed to barrier by the controller (os-ken + OpenFlowDriver),
beside `ovs-ofctl --bundle add-flows` of the same flows on the same switch (Open vSwitch,
userspace datapath). Needs root; starts Open vSwitch with tests/tools/ovs.sh."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from controller.runtime import start_controller
from provisioning.intent import Flow, VlanAction, deal_cookie
from provisioning.openflow import OpenFlowDriver

ROOT = Path(__file__).resolve().parents[1]
BRIDGE = "ixbench0"
DPID = 0xB1


def sh(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def flows_for(deals: int) -> list[tuple[int, list[Flow]]]:
    """Two flows per deal (one per direction), each on its own VLAN pair."""
    out = []
    for d in range(1, deals + 1):
        vlan = 2 + d % 4000
        cookie = deal_cookie(d)
        out.append(
            (
                d,
                [
                    Flow("b", cookie, 1, vlan, 2, VlanAction.SWAP, vlan, 0),
                    Flow("b", cookie, 2, vlan, 1, VlanAction.SWAP, vlan, 0),
                ],
            )
        )
    return out


def reset_bridge(port: int | None) -> None:
    sh("ovs-vsctl", "--if-exists", "del-br", BRIDGE)
    sh(
        "ovs-vsctl", "add-br", BRIDGE, "--", "set", "bridge", BRIDGE, "datapath_type=netdev",
        "protocols=OpenFlow13,OpenFlow14", f"other-config:datapath-id={DPID:016x}", "fail_mode=secure",
    )  # fmt: skip
    for n in (1, 2):
        sh("ovs-vsctl", "add-port", BRIDGE, f"{BRIDGE}p{n}", "--", "set", "interface", f"{BRIDGE}p{n}",
           "type=internal", f"ofport_request={n}")  # fmt: skip
    if port is not None:
        sh("ovs-vsctl", "set-controller", BRIDGE, f"tcp:127.0.0.1:{port}")


def main(deals: int = 2_500) -> list[dict[str, object]]:
    if os.geteuid() != 0:
        print("flow-mod benchmark skipped: Open vSwitch needs root")
        return []
    subprocess.run([str(ROOT / "tests" / "tools" / "ovs.sh"), "start"], check=True)
    plan = flows_for(deals)
    n_flows = sum(len(f) for _, f in plan)

    # ovs-ofctl: the same flows as one bundle (atomic, one transaction), no controller.
    reset_bridge(None)
    lines = []
    for _, flows in plan:
        for f in flows:
            lines.append(
                f"cookie={f.cookie:#x},priority=100,in_port={f.in_port},dl_vlan={f.vlan},"
                f"actions=mod_vlan_vid:{f.set_vlan},output:{f.out_port}"
            )
    with tempfile.NamedTemporaryFile("w", suffix=".flows", delete=False) as fh:
        fh.write("\n".join(lines) + "\n")
    start = time.perf_counter()
    sh("ovs-ofctl", "-O", "OpenFlow14", "--bundle", "add-flows", BRIDGE, fh.name)
    ofctl_s = time.perf_counter() - start
    os.unlink(fh.name)
    assert sh("ovs-ofctl", "-O", "OpenFlow13", "dump-aggregate", BRIDGE).count(f"flow_count={n_flows}") == 1

    # The controller: one change set per deal, all in flight at once; the driver batches
    # them (one barrier and one bundle per batch) and confirms each deal's own future.
    driver = OpenFlowDriver()
    driver.wants_known()  # nothing to restore: switches reconcile as they connect
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    start_controller(driver, port, "127.0.0.1")
    reset_bridge(port)
    deadline = time.monotonic() + 30
    while not (DPID in driver.reconciled and driver.reconciled[DPID].is_set()) and time.monotonic() < deadline:
        time.sleep(0.02)
    start = time.perf_counter()
    futures = [driver.install(DPID, d, flows, []) for d, flows in plan]
    for fut in futures:
        fut.result(120)
    controller_s = time.perf_counter() - start
    # Deal flows only: the controller's LLDP discovery adds a flow of its own.
    installed = sh(
        "ovs-ofctl", "-O", "OpenFlow13", "dump-aggregate", BRIDGE, "cookie=0x1f00000000000000/0xff00000000000000"
    )
    assert f"flow_count={n_flows}" in installed, installed
    sh("ovs-vsctl", "--if-exists", "del-br", BRIDGE)

    rows: list[dict[str, object]] = [
        {
            "bench": "flowmods",
            "flows": n_flows,
            "controller_per_s": round(n_flows / controller_s),
            "ovs_ofctl_bundle_per_s": round(n_flows / ofctl_s),
            "ratio": round(ofctl_s / controller_s, 3),
        }
    ]
    print(
        f"flow-mods: controller {n_flows / controller_s:,.0f}/s to barrier ({deals} deals in flight, each its own "
        "change set, batched under shared barriers and OpenFlow 1.4 bundles); "
        f"ovs-ofctl --bundle {n_flows / ofctl_s:,.0f}/s; ratio {ofctl_s / controller_s:.2f}",
        flush=True,
    )
    return rows


if __name__ == "__main__":
    main()
