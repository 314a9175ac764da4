"""The OpenFlow driver's batching, against a recording datapath: change sets share one
write and one barrier while another batch is in flight, travel in one OpenFlow 1.4 bundle,
and a refused shared bundle is retried one change set at a time so only the culprit fails."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from os_ken.ofproto import ofproto_v1_3, ofproto_v1_4

from provisioning import ofwire
from provisioning.intent import Flow, Meter, VlanAction, deal_cookie
from provisioning.openflow import FlowCount, OpenFlowDriver, SwitchError


class RecordingDatapath:
    """Collects what the driver writes, split into (type, xid) per message."""

    def __init__(self, version: int, dpid: int = 7) -> None:
        self.id = dpid
        self.ofproto = ofproto_v1_3 if version == ofwire.OF13 else ofproto_v1_4
        self.xid = 100
        self.writes: list[list[tuple[int, int]]] = []
        self.stats_requests = 0
        self.flow_stats_xids: list[int] = []  # of each flow stats request, in order

    def send(self, buf: bytes) -> bool:
        messages = []
        at = 0
        while at < len(buf):
            _version, kind, length, xid = struct.unpack_from("!BBHI", buf, at)
            messages.append((kind, xid))
            at += length
        self.writes.append(messages)
        return True

    def set_xid(self, msg: Any) -> None:
        self.xid += 1
        msg.xid = self.xid

    def send_msg(self, msg: Any) -> None:
        self.stats_requests += 1  # stats requests (os-ken messages)
        if msg.xid is None:
            self.set_xid(msg)
        if type(msg).__name__ == "OFPFlowStatsRequest":
            self.flow_stats_xids.append(msg.xid)

    @property
    def ofproto_parser(self) -> Any:
        from os_ken.ofproto import ofproto_v1_3_parser, ofproto_v1_4_parser

        return ofproto_v1_3_parser if self.ofproto is ofproto_v1_3 else ofproto_v1_4_parser


def count(deal: int, in_port: int = 1, packets: int = 0) -> FlowCount:
    return FlowCount(deal_cookie(deal), in_port, packets, packets * 100)


def flows(deal: int) -> list[Flow]:
    return [Flow("s", deal_cookie(deal), 1, 100 + deal, 2, VlanAction.SWAP, 200 + deal, 0)]


def barrier_of(write: list[tuple[int, int]]) -> int:
    kind, xid = write[-1]
    assert kind == ofwire.OFPT_BARRIER_REQUEST
    return xid


def connected(version: int) -> tuple[OpenFlowDriver, RecordingDatapath]:
    driver = OpenFlowDriver()
    driver.wants_known()  # nothing to restore: switches reconcile as they connect
    dp = RecordingDatapath(version)
    driver.switch_connected(dp)
    driver.flow_stats(dp, dp.flow_stats_xids[-1], [], more=False)
    driver.meter_config(dp, [], more=False)  # reconcile: nothing wanted, one empty batch
    driver.barrier_reply(dp.id, barrier_of(dp.writes[-1]))
    assert driver.reconciled[dp.id].is_set()
    dp.writes.clear()
    return driver, dp


def test_change_sets_wait_for_the_batch_in_flight_then_share_one_bundle_and_barrier() -> None:
    driver, dp = connected(ofwire.OF14)
    first = driver.install(dp.id, 1, flows(1), [Meter("s", 1, 1000, 100)])
    assert len(dp.writes) == 1  # sent at once: nothing was in flight
    kinds = [k for k, _ in dp.writes[0]]
    assert kinds == [ofwire.OFPT_METER_MOD, 33, 34, 33, ofwire.OFPT_BARRIER_REQUEST]
    later = [driver.install(dp.id, d, flows(d), []) for d in (2, 3, 4)]
    assert len(dp.writes) == 1  # queued behind the first barrier
    driver.barrier_reply(dp.id, barrier_of(dp.writes[0]))
    assert first.result(0) is None
    assert len(dp.writes) == 2 and [k for k, _ in dp.writes[1]] == [33, 34, 34, 34, 33, ofwire.OFPT_BARRIER_REQUEST]
    driver.barrier_reply(dp.id, barrier_of(dp.writes[1]))
    assert all(f.result(0) is None for f in later)


def test_a_refused_shared_bundle_is_retried_alone_and_only_the_culprit_fails() -> None:
    driver, dp = connected(ofwire.OF14)
    blocker = driver.install(dp.id, 1, flows(1), [])
    futures = {d: driver.install(dp.id, d, flows(d), []) for d in (2, 3, 4)}
    driver.barrier_reply(dp.id, barrier_of(dp.writes[0]))
    assert blocker.done()
    shared = dp.writes[1]
    adds = [xid for kind, xid in shared if kind == ofwire.OFPT_BUNDLE_ADD_MESSAGE]
    driver.error(dp.id, adds[1], "OFPET_FLOW_MOD_FAILED code 1")  # deal 3's flow
    driver.error(dp.id, shared[-2][1], "OFPET_BUNDLE_FAILED code 13")  # the commit, no owner
    driver.barrier_reply(dp.id, barrier_of(shared))
    assert not any(f.done() for f in futures.values())  # nothing applied: all go again, alone
    for deal in (2, 3, 4):
        write = dp.writes[-1]
        assert [k for k, _ in write] == [33, 34, 33, ofwire.OFPT_BARRIER_REQUEST]
        if deal == 3:
            driver.error(dp.id, write[1][1], "OFPET_FLOW_MOD_FAILED code 1")
        driver.barrier_reply(dp.id, barrier_of(write))
    assert futures[2].result(0) is None and futures[4].result(0) is None
    with pytest.raises(SwitchError, match="FLOW_MOD_FAILED"):
        futures[3].result(0)


def test_openflow_13_switches_get_plain_flow_mods_and_errors_by_xid() -> None:
    driver, dp = connected(ofwire.OF13)
    driver.install(dp.id, 1, flows(1), [])
    futures = {d: driver.install(dp.id, d, flows(d), []) for d in (2, 3)}
    driver.barrier_reply(dp.id, barrier_of(dp.writes[0]))
    write = dp.writes[1]
    assert [k for k, _ in write] == [ofwire.OFPT_FLOW_MOD, ofwire.OFPT_FLOW_MOD, ofwire.OFPT_BARRIER_REQUEST]
    driver.error(dp.id, write[0][1], "OFPET_FLOW_MOD_FAILED code 1")
    driver.barrier_reply(dp.id, barrier_of(write))
    with pytest.raises(SwitchError):
        futures[2].result(0)
    assert futures[3].result(0) is None


def test_a_disconnect_fails_everything_waiting() -> None:
    driver, dp = connected(ofwire.OF14)
    waiting = [driver.install(dp.id, d, flows(d), []) for d in (1, 2)]
    driver.switch_left(dp)
    for future in waiting:
        with pytest.raises(SwitchError, match="disconnected"):
            future.result(0)
    with pytest.raises(SwitchError, match="not connected"):
        driver.install(dp.id, 3, flows(3), []).result(0)


def test_switches_wait_to_reconcile_until_the_exchange_says_what_must_exist() -> None:
    driver = OpenFlowDriver()  # a restarting exchange: wants not known yet
    dp = RecordingDatapath(ofwire.OF14)
    driver.switch_connected(dp)
    assert dp.stats_requests == 0 and not dp.writes  # nothing asked, nothing deleted
    driver.want(dp.id, 5, flows(5), [Meter("s", 9, 1000, 100)])
    driver.wants_known()
    assert dp.stats_requests == 2  # flow and meter stats: the reconcile starts
    driver.flow_stats(dp, dp.flow_stats_xids[-1], [count(5), count(6)], more=False)
    driver.meter_config(dp, [9], more=False)
    kinds = [k for k, _ in dp.writes[0]]
    # meter 9 exists: modified, not added; deal 6 is a stray: deleted (and any groups of its); deal 5 re-added
    group = ofwire.OFPT_GROUP_MOD
    assert kinds == [ofwire.OFPT_METER_MOD, 33, 34, 34, 33, group, group, group, group, ofwire.OFPT_BARRIER_REQUEST]
    driver.barrier_reply(dp.id, barrier_of(dp.writes[0]))
    assert driver.reconciled[dp.id].is_set()


def test_a_traffic_poll_reply_never_completes_a_reconciliation() -> None:
    """Both ask for deal flow stats: each reply goes where its xid says. A poll's reply
    taken for the reconcile's would reconcile from half the cookies (strays kept)."""
    driver = OpenFlowDriver()
    dp = RecordingDatapath(ofwire.OF14)
    driver.switch_connected(dp)
    driver.poll_traffic()  # the switch is connected: its counters are asked for
    driver.wants_known()  # now the reconcile asks too
    poll_xid, reconcile_xid = dp.flow_stats_xids
    driver.flow_stats(dp, poll_xid, [count(5, packets=3)], more=False)
    driver.meter_config(dp, [], more=False)
    assert not dp.writes  # the reconcile still waits for its own flow stats
    assert driver.traffic[dp.id] == [count(5, packets=3)]
    driver.flow_stats(dp, reconcile_xid, [count(6)], more=False)
    assert dp.writes and driver.reconcile_removed == 1  # deal 6 is a stray


def test_traffic_polls_gather_multipart_replies_per_switch() -> None:
    driver, dp = connected(ofwire.OF13)
    driver.poll_traffic()
    xid = dp.flow_stats_xids[-1]
    driver.poll_traffic()  # still answering: not asked again
    assert dp.flow_stats_xids[-1] == xid
    driver.flow_stats(dp, xid, [count(1, packets=2)], more=True)
    assert dp.id not in driver.traffic  # incomplete
    driver.flow_stats(dp, xid, [count(1, in_port=2, packets=4), FlowCount(0x1234, 1, 9, 9)], more=False)
    assert driver.traffic[dp.id] == [count(1, packets=2), count(1, in_port=2, packets=4)]  # strangers left out
    driver.switch_left(dp)
    driver.poll_traffic()
    assert dp.id not in driver.traffic
