"""The hand-packed OpenFlow messages are byte-for-byte what os-ken's serialiser makes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from os_ken.ofproto import ofproto_v1_3, ofproto_v1_3_parser, ofproto_v1_4, ofproto_v1_4_parser

from provisioning import ofwire
from provisioning.intent import Flow, Group, Meter, VlanAction, deal_cookie
from provisioning.openflow import DEAL_PRIORITY, PROBE_ETHERTYPE, PROBE_PRIORITY

# ----- the same messages built with os-ken's classes (the reference) ----------------------


def _flow_mod(dp: Any, f: Flow) -> Any:
    ofp, parser = dp.ofproto, dp.ofproto_parser
    vlan_match = (ofp.OFPVID_PRESENT | f.vlan) if f.vlan else ofp.OFPVID_NONE
    match = parser.OFPMatch(in_port=f.in_port, vlan_vid=vlan_match)
    actions: list[Any] = []
    tag = parser.OFPActionSetField(vlan_vid=ofp.OFPVID_PRESENT | f.set_vlan)
    if f.vlan_action is VlanAction.PUSH:
        actions += [parser.OFPActionPushVlan(0x8100), tag]
    elif f.vlan_action is VlanAction.SWAP:
        actions.append(tag)
    elif f.vlan_action is VlanAction.POP:
        actions.append(parser.OFPActionPopVlan())
    actions.append(parser.OFPActionOutput(ofp.OFPP_IN_PORT if f.out_port == f.in_port else f.out_port))
    instructions = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)]
    if f.meter_id:
        instructions.insert(0, parser.OFPInstructionMeter(f.meter_id))
    return parser.OFPFlowMod(
        dp, cookie=f.cookie, priority=DEAL_PRIORITY, match=match, instructions=instructions, command=ofp.OFPFC_ADD
    )


def _delete_deal_flows(dp: Any, deal_id: int) -> Any:
    ofp, parser = dp.ofproto, dp.ofproto_parser
    return parser.OFPFlowMod(
        dp,
        cookie=deal_cookie(deal_id),
        cookie_mask=(1 << 64) - 1,
        table_id=ofp.OFPTT_ALL,
        command=ofp.OFPFC_DELETE,
        out_port=ofp.OFPP_ANY,
        out_group=ofp.OFPG_ANY,
    )


def _probe_trap(dp: Any, deal_id: int, in_port: int, vlan: int, command: int) -> Any:
    ofp, parser = dp.ofproto, dp.ofproto_parser
    vlan_match = (ofp.OFPVID_PRESENT | vlan) if vlan else ofp.OFPVID_NONE
    match = parser.OFPMatch(in_port=in_port, vlan_vid=vlan_match, eth_type=PROBE_ETHERTYPE)
    if command == ofp.OFPFC_ADD:
        action = parser.OFPActionOutput(ofp.OFPP_CONTROLLER, ofp.OFPCML_NO_BUFFER)
        instructions = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, [action])]
        return parser.OFPFlowMod(
            dp, cookie=deal_cookie(deal_id), priority=PROBE_PRIORITY, match=match, instructions=instructions
        )
    return parser.OFPFlowMod(
        dp,
        cookie=deal_cookie(deal_id),
        priority=PROBE_PRIORITY,
        match=match,
        command=command,
        out_port=ofp.OFPP_ANY,
        out_group=ofp.OFPG_ANY,
    )


def _meter_mod(dp: Any, m: Meter, command: int) -> Any:
    ofp, parser = dp.ofproto, dp.ofproto_parser
    band = parser.OFPMeterBandDrop(rate=m.rate_kbps, burst_size=m.burst_kbits)
    flags = ofp.OFPMF_KBPS | ofp.OFPMF_BURST
    return parser.OFPMeterMod(dp, command=command, flags=flags, meter_id=m.meter_id, bands=[band])


def _vlan_actions(parser: Any, ofp: Any, action: VlanAction | None, vlan: int, port: int) -> list[Any]:
    tag = parser.OFPActionSetField(vlan_vid=ofp.OFPVID_PRESENT | vlan)
    actions: list[Any] = (
        {
            VlanAction.PUSH: [parser.OFPActionPushVlan(0x8100), tag],
            VlanAction.SWAP: [tag],
            VlanAction.POP: [parser.OFPActionPopVlan()],
        }.get(action, [])
        if action
        else []
    )  # type: ignore[arg-type]
    return [*actions, parser.OFPActionOutput(port)]


def _group_mod(dp: Any, g: Group) -> Any:
    ofp, parser = dp.ofproto, dp.ofproto_parser
    buckets = [
        parser.OFPBucket(
            watch_port=port, watch_group=ofp.OFPG_ANY, actions=_vlan_actions(parser, ofp, action, vlan, port)
        )
        for port, action, vlan in ((g.port, g.action, g.vlan), (g.backup_port, g.backup_action, g.backup_vlan))
    ]
    return parser.OFPGroupMod(dp, command=ofp.OFPGC_ADD, type_=ofp.OFPGT_FF, group_id=g.group_id, buckets=buckets)


def _meter_delete(dp: Any, meter_id: int) -> Any:
    return dp.ofproto_parser.OFPMeterMod(dp, command=dp.ofproto.OFPMC_DELETE, meter_id=meter_id)


# ----- the comparisons --------------------------------------------------------------------


class FakeDatapath:
    def __init__(self, version: int) -> None:
        self.ofproto = ofproto_v1_3 if version == ofwire.OF13 else ofproto_v1_4
        self.ofproto_parser = ofproto_v1_3_parser if version == ofwire.OF13 else ofproto_v1_4_parser
        self.id = 1


def serialized(msg: Any, xid: int) -> bytes:
    msg.set_xid(xid)
    msg.serialize()
    return bytes(msg.buf)


VERSIONS = pytest.mark.parametrize("version", [ofwire.OF13, ofwire.OF14])
vlans = st.integers(0, 4094)
flows = st.builds(
    Flow,
    node=st.just("s"),
    cookie=st.integers(1, 2**40).map(deal_cookie),
    in_port=st.integers(1, 0xFFFFFF00),
    vlan=vlans,
    out_port=st.integers(1, 0xFFFFFF00),
    vlan_action=st.sampled_from([None, *VlanAction]),
    set_vlan=st.integers(1, 4094),
    meter_id=st.integers(0, 2**31),
)


@VERSIONS
@given(flow=flows, xid=st.integers(0, 2**32 - 1))
def test_deal_flows(version: int, flow: Flow, xid: int) -> None:
    dp = FakeDatapath(version)
    assert ofwire.add_flow(version, xid, flow, DEAL_PRIORITY) == serialized(_flow_mod(dp, flow), xid)


@VERSIONS
def test_hairpin_flow_outputs_to_in_port(version: int) -> None:
    flow = Flow("s", deal_cookie(3), 5, 100, 5, VlanAction.SWAP, 200, 0)
    dp = FakeDatapath(version)
    assert ofwire.add_flow(version, 9, flow, DEAL_PRIORITY) == serialized(_flow_mod(dp, flow), 9)


@VERSIONS
@given(deal=st.integers(1, 2**40), xid=st.integers(0, 2**32 - 1))
def test_delete_by_cookie(version: int, deal: int, xid: int) -> None:
    dp = FakeDatapath(version)
    assert ofwire.delete_cookie(version, xid, deal_cookie(deal)) == serialized(_delete_deal_flows(dp, deal), xid)


@VERSIONS
@given(port=st.integers(1, 0xFFFFFF00), vlan=vlans, add=st.booleans())
def test_probe_traps(version: int, port: int, vlan: int, add: bool) -> None:
    dp = FakeDatapath(version)
    command = dp.ofproto.OFPFC_ADD if add else dp.ofproto.OFPFC_DELETE_STRICT
    expected = serialized(_probe_trap(dp, 7, port, vlan, command), 5)
    packed = ofwire.probe_trap(version, 5, deal_cookie(7), port, vlan, PROBE_ETHERTYPE, PROBE_PRIORITY, add)
    assert packed == expected


@VERSIONS
@given(
    meter=st.builds(Meter, st.just("s"), st.integers(1, 2**31), st.integers(1, 2**32 - 1), st.integers(1, 2**32 - 1)),
    modify=st.booleans(),
)
def test_meters(version: int, meter: Meter, modify: bool) -> None:
    dp = FakeDatapath(version)
    command = ofwire.OFPMC_MODIFY if modify else ofwire.OFPMC_ADD
    assert ofwire.meter_mod(version, 3, meter, command) == serialized(_meter_mod(dp, meter, command), 3)
    assert ofwire.meter_delete(version, 4, meter.meter_id) == serialized(_meter_delete(dp, meter.meter_id), 4)


@VERSIONS
@given(
    group=st.builds(
        Group,
        node=st.just("s"),
        group_id=st.integers(1, 2**31),
        port=st.integers(1, 0xFFFFFF00),
        action=st.sampled_from([None, *VlanAction]),
        vlan=st.integers(1, 4094),
        backup_port=st.integers(1, 0xFFFFFF00),
        backup_action=st.sampled_from([None, *VlanAction]),
        backup_vlan=st.integers(1, 4094),
    ),
    xid=st.integers(0, 2**32 - 1),
)
def test_fast_failover_groups(version: int, group: Group, xid: int) -> None:
    dp = FakeDatapath(version)
    assert ofwire.group_mod(version, xid, group, ofwire.OFPGC_ADD) == serialized(_group_mod(dp, group), xid)
    add_or_mod = ofwire.group_mod(version, xid, group)  # Open vSwitch's extension: the same but the command
    assert add_or_mod[8:10] == b"\x80\x00" and add_or_mod[10:] == ofwire.group_mod(version, xid, group, 0)[10:]
    deleted = dp.ofproto_parser.OFPGroupMod(dp, command=dp.ofproto.OFPGC_DELETE, group_id=group.group_id)
    assert ofwire.group_delete(version, xid, group.group_id) == serialized(deleted, xid)
    flow = Flow("s", deal_cookie(1), 1, 100, 2, VlanAction.SWAP, 300, 7, group.group_id)
    instructions = [
        dp.ofproto_parser.OFPInstructionMeter(7),
        dp.ofproto_parser.OFPInstructionActions(
            dp.ofproto.OFPIT_APPLY_ACTIONS, [dp.ofproto_parser.OFPActionGroup(group.group_id)]
        ),
    ]
    match = dp.ofproto_parser.OFPMatch(in_port=1, vlan_vid=dp.ofproto.OFPVID_PRESENT | 100)
    reference = dp.ofproto_parser.OFPFlowMod(
        dp, cookie=flow.cookie, priority=DEAL_PRIORITY, match=match, instructions=instructions
    )
    assert ofwire.add_flow(version, xid, flow, DEAL_PRIORITY) == serialized(reference, xid)


@VERSIONS
def test_barrier(version: int) -> None:
    dp = FakeDatapath(version)
    assert ofwire.barrier(version, 77) == serialized(dp.ofproto_parser.OFPBarrierRequest(dp), 77)


def test_bundles() -> None:
    dp = FakeDatapath(ofwire.OF14)
    parser, ofp = dp.ofproto_parser, dp.ofproto
    flags = ofp.OFPBF_ATOMIC | ofp.OFPBF_ORDERED
    for kind in (ofp.OFPBCT_OPEN_REQUEST, ofp.OFPBCT_COMMIT_REQUEST):
        expected = serialized(parser.OFPBundleCtrlMsg(dp, 12, kind, flags, []), 40)
        assert ofwire.bundle_control(40, 12, kind) == expected
    flow = Flow("s", deal_cookie(2), 1, 100, 2, VlanAction.SWAP, 300, 3)
    inner = _flow_mod(dp, flow)
    expected = serialized(parser.OFPBundleAddMsg(dp, 12, flags, inner, []), 41)
    assert ofwire.bundle_add(41, 12, ofwire.add_flow(ofwire.OF14, 41, flow, DEAL_PRIORITY)) == expected
