"""A router change left half-done by an exchange that died (issue 16, item 3): the dead
process committed on r1 with a commit-confirm window and never confirmed. Whoever leads
next finds the unconfirmed commit, rolls it back and makes the change again from the
stored intent, instead of failing the deal on "a commit is waiting for confirmation" (or
leaving r1 to revert by itself two minutes later, under a live deal)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ixchange.v1 import common_pb2

from provisioning.routers import CONFIRM_WITHIN_S, Credentials, _napalm_driver
from topologies.driver import LabDriver as Lab
from topologies.lab import MGMT_ROUTER, pair

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (Mininet, Open vSwitch)")


def r1_session(lab: Lab) -> object:
    login = Credentials(Path(lab.data_dir) / "run" / "credentials.toml").login("lab-router")
    device = _napalm_driver("ixlinux")(
        MGMT_ROUTER, login.username, login.password, optional_args=dict(login.optional_args)
    )
    device.open()
    return device


def test_an_unconfirmed_commit_of_a_dead_exchange_is_rolled_back_and_the_deal_completed(lab: Lab) -> None:
    dead = r1_session(lab)
    dead.load_merge_candidate(config="ip link add ixdead0 type bridge")
    dead.commit_config(revert_in=CONFIRM_WITHIN_S)
    dead.close()  # the process is gone before it confirms
    assert "ixdead0" in lab.on("r1", "ip", "-br", "link").stdout
    deal_id = lab.trade("buyer-a", "seller-r")
    deal = lab.wait_status(deal_id, common_pb2.DEAL_STATUS_ACTIVE, common_pb2.DEAL_STATUS_PROVISIONING_FAILED)
    assert deal.status == common_pb2.DEAL_STATUS_ACTIVE, deal.status_reason
    links = lab.on("r1", "ip", "-br", "link").stdout
    assert "ixdead0" not in links and f"ixd{deal_id}" in links, links
    check = r1_session(lab)
    try:
        assert not check.has_pending_commit()
    finally:
        check.close()
    assert lab.reaches("ba", pair("buyer-a", "seller-r").seller_ip)
    lab.terminate("buyer-a", deal_id)
