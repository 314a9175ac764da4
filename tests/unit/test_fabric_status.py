"""What the provisioner reports about the fabric: node connections, link load, LLDP."""

from __future__ import annotations

from marketplace.deals import Agreement, Deal, DealStatus, Interconnect, Party
from marketplace.orders import Route, ServiceType
from provisioning.intent import compile_intent
from provisioning.inventory import load_inventory
from provisioning.openflow import OpenFlowDriver
from provisioning.routers import Credentials, RouterDrivers
from provisioning.service import FabricProvisioner
from topologies.lab import TOPOLOGY


class Connected:
    """Stands in for an os-ken datapath in the driver's bookkeeping."""

    def __init__(self, dpid: int) -> None:
        self.id = dpid


def test_fabric_status_reports_connections_load_and_lldp() -> None:
    inventory = load_inventory(TOPOLOGY)
    driver = OpenFlowDriver()
    provisioner = FabricProvisioner(inventory, driver, RouterDrivers(Credentials(None)))
    for dpid in (1, 3):  # s2 is not connected
        driver._switches[dpid] = object()  # type: ignore[assignment]
    driver.link_seen((1, 3), (3, 2), up=True)  # s1:p3 - s3:p2, as the topology says
    driver.link_seen((3, 2), (1, 3), up=True)
    driver.link_seen((1, 1), (3, 4), up=True)  # a cable the topology does not know
    deal = Deal(
        7, 1, 2, "seller-a", "buyer-a", ServiceType.ETHERNET_ELINE, Route("A", "B"), 10_000, 2, 1, "c", 1, "g", 1,
        DealStatus.BROKERED, "", 0, 0,
    )  # fmt: skip
    agreement = Agreement(
        1,
        "AG",
        "buyer-a",
        "seller-a",
        (Interconnect(Party.BUYER, "s3", "p1", 101, 101), Interconnect(Party.SELLER, "s1", "p1", 201, 201)),
        10**9,
        "",
        0,
    )
    intent = compile_intent(deal, agreement, inventory, provisioner.state)
    provisioner.intents[7] = intent
    provisioner.state.hold(intent)
    problems = provisioner.check_links()
    status = provisioner.fabric_status()
    nodes = {n.name: n for n in status.nodes}
    assert nodes["s1"].connected and not nodes["s2"].connected and nodes["s1"].address == "dpid 0x1"
    assert nodes["r1"].kind == "router" and not nodes["r1"].connected and nodes["r1"].address == "ixlinux at 10.99.0.2"
    links = {link.name: link for link in status.links}
    assert links["s1:p3-s3:p2"].seen and links["s1:p3-s3:p2"].load_kbps == 20_000 and links["s1:p3-s3:p2"].deals == 1
    assert not links["s1:p2-s2:p2"].seen and links["s1:p4-r1:r1-eth0"].untagged
    assert status.provisioned_deals == 1
    assert problems == ["LLDP sees a link s1:p1 - s3:p4 that the topology does not list"]
    assert status.link_problems == tuple(problems)  # s1-s2 unseen is not a problem while s2 is away
