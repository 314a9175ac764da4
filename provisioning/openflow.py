"""The OpenFlow driver: puts a deal's flows and meters on a switch and confirms them with a
barrier, removes them by the deal's cookie, and reconciles a switch whenever it connects
(what is wanted is installed, stray deal flows are removed).

Threads: os-ken delivers switch events on its own threads; the exchange calls `install` and
`remove` from its asyncio loop. Both sides meet here, under one lock, and the loop gets a
`concurrent.futures.Future` to await (`asyncio.wrap_future`) — the single boundary between
the two worlds. Nothing here blocks.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from provisioning.intent import COOKIE_TAG, Flow, Meter, VlanAction, deal_cookie, deal_meter_ids, deal_of_cookie

log = logging.getLogger(__name__)

DEAL_PRIORITY = 100
PROBE_PRIORITY = DEAL_PRIORITY + 1  # the probe trap sits just above the deal's own flow
PROBE_ETHERTYPE = 0x88B5  # IEEE 802 local experimental: never a customer's protocol
PROBE_MARK = b"ixchange-probe:"
COOKIE_TAG_MASK = 0xFF << 56
ALL_BITS = (1 << 64) - 1


class SwitchError(Exception):
    """A switch refused a change, or is not connected."""


@dataclass(slots=True)
class _Waiter:
    """Changes sent to one switch, waiting for the barrier that follows them."""

    xids: set[int]
    future: Future[None]
    errors: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Reconcile:
    """A reconnecting switch's deal cookies and meters, gathered from its stats replies."""

    cookies: set[int] = field(default_factory=set)
    meters: set[int] = field(default_factory=set)
    flows_done: bool = False
    meters_done: bool = False


class OpenFlowDriver:
    """Deal flows on OpenFlow switches, by datapath id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._datapaths: dict[int, Any] = {}
        # What must exist: per switch, per deal, its flows and meters.
        self._wanted: dict[int, dict[int, tuple[tuple[Flow, ...], tuple[Meter, ...]]]] = {}
        self._waiters: dict[tuple[int, int], _Waiter] = {}  # (dpid, barrier xid)
        self._reconciling: dict[int, _Reconcile] = {}
        self.reconciled: dict[int, threading.Event] = {}  # set after each (re)connect's reconcile
        self._probes: dict[bytes, Future[None]] = {}  # nonce -> waiting data-plane probe
        self.links_seen: set[tuple[int, int, int, int]] = set()  # LLDP: (dpid, port, dpid, port)

    # ----- called by the exchange (any thread) ----------------------------------------

    def connected(self, dpid: int) -> bool:
        with self._lock:
            return dpid in self._datapaths

    def install(self, dpid: int, deal_id: int, flows: Iterable[Flow], meters: Iterable[Meter]) -> Future[None]:
        """Add (or replace) a deal's flows and meters on one switch. The future completes
        when the switch confirms them with a barrier, or fails with the switch's error."""
        flows, meters = tuple(flows), tuple(meters)
        with self._lock:
            self._wanted.setdefault(dpid, {})[deal_id] = (flows, meters)
            dp = self._datapaths.get(dpid)
            if dp is None:
                return _failed(SwitchError(f"switch {dpid:#x} is not connected"))
            msgs = [_meter_mod(dp, m, dp.ofproto.OFPMC_ADD) for m in meters]
            msgs += [_flow_mod(dp, f) for f in flows]
            return self._send_confirmed(dp, msgs)

    def remove(self, dpid: int, deal_id: int) -> Future[None]:
        """Delete every flow with the deal's cookie, then its meters."""
        with self._lock:
            _, meters = self._wanted.get(dpid, {}).pop(deal_id, ((), ()))
            dp = self._datapaths.get(dpid)
            if dp is None:
                return _failed(SwitchError(f"switch {dpid:#x} is not connected"))
            msgs = [_delete_deal_flows(dp, deal_id)]
            msgs += [_meter_delete(dp, m.meter_id) for m in meters]  # only meters it has here
            return self._send_confirmed(dp, msgs)

    def add_probe_trap(self, dpid: int, deal_id: int, in_port: int, vlan: int) -> Future[None]:
        """Send probe frames arriving on in_port/vlan to the controller instead of onwards:
        where a data-plane probe is caught. Carries the deal's cookie, so removing the deal
        removes a forgotten trap too."""
        with self._lock:
            dp = self._datapaths.get(dpid)
            if dp is None:
                return _failed(SwitchError(f"switch {dpid:#x} is not connected"))
            return self._send_confirmed(dp, [_probe_trap(dp, deal_id, in_port, vlan, dp.ofproto.OFPFC_ADD)])

    def remove_probe_trap(self, dpid: int, deal_id: int, in_port: int, vlan: int) -> Future[None]:
        with self._lock:
            dp = self._datapaths.get(dpid)
            if dp is None:
                return _failed(SwitchError(f"switch {dpid:#x} is not connected"))
            return self._send_confirmed(dp, [_probe_trap(dp, deal_id, in_port, vlan, dp.ofproto.OFPFC_DELETE_STRICT)])

    def send_probe(self, dpid: int, in_port: int, vlan: int) -> Future[None]:
        """Inject a probe frame on `dpid` as if it came in on in_port/vlan, through the
        switch's flow table. The future completes when a trap sends it back."""
        nonce = os.urandom(8).hex().encode()
        future: Future[None] = Future()
        with self._lock:
            dp = self._datapaths.get(dpid)
            if dp is None:
                return _failed(SwitchError(f"switch {dpid:#x} is not connected"))
            self._probes[nonce] = future
            ofp, parser = dp.ofproto, dp.ofproto_parser
            out = parser.OFPPacketOut(
                dp,
                buffer_id=ofp.OFP_NO_BUFFER,
                in_port=in_port,
                actions=[parser.OFPActionOutput(ofp.OFPP_TABLE)],
                data=_probe_frame(vlan, nonce),
            )
            self._send(dp, out)
        future.add_done_callback(lambda _f: self._forget_probe(nonce))
        return future

    def _forget_probe(self, nonce: bytes) -> None:
        with self._lock:
            self._probes.pop(nonce, None)

    # ----- called by the os-ken app (its threads) -------------------------------------

    def packet_in(self, data: bytes) -> None:
        at = data.find(PROBE_MARK)
        if at < 0:
            return
        nonce = data[at + len(PROBE_MARK) : at + len(PROBE_MARK) + 16]
        with self._lock:
            future = self._probes.pop(nonce, None)
        if future is not None and not future.done():
            future.set_result(None)

    def link_seen(self, src: tuple[int, int], dst: tuple[int, int], up: bool) -> None:
        """LLDP found (or lost) a link between two switch ports."""
        with self._lock:
            if up:
                self.links_seen.add((*src, *dst))
            else:
                self.links_seen.discard((*src, *dst))

    def connected_switches(self) -> set[int]:
        with self._lock:
            return set(self._datapaths)

    def switch_connected(self, dp: Any) -> None:
        """A switch (re)connected: ask what deal flows and meters it has, then reconcile."""
        with self._lock:
            self._datapaths[dp.id] = dp
            self.reconciled.setdefault(dp.id, threading.Event()).clear()
            self._reconciling[dp.id] = _Reconcile()
            ofp, parser = dp.ofproto, dp.ofproto_parser
            self._send(
                dp,
                parser.OFPFlowStatsRequest(
                    dp, 0, ofp.OFPTT_ALL, ofp.OFPP_ANY, ofp.OFPG_ANY, COOKIE_TAG, COOKIE_TAG_MASK, parser.OFPMatch()
                ),
            )
            self._send(dp, parser.OFPMeterConfigStatsRequest(dp, 0, ofp.OFPM_ALL))

    def switch_left(self, dp: Any) -> None:
        """A connection closed. Only forget the switch if this is still its current
        connection: a reconnect can be announced before the old connection's end."""
        dpid: int = dp.id
        with self._lock:
            if self._datapaths.get(dpid) is not dp:
                return
            del self._datapaths[dpid]
            self._reconciling.pop(dpid, None)
            for key in [k for k in self._waiters if k[0] == dpid]:
                self._waiters.pop(key).future.set_exception(SwitchError(f"switch {dpid:#x} disconnected"))

    def flow_stats(self, dp: Any, cookies: Iterable[int], more: bool) -> None:
        with self._lock:
            state = self._reconciling.get(dp.id)
            if state is None:
                return
            state.cookies.update(c for c in cookies if deal_of_cookie(c) is not None)
            state.flows_done = not more
            self._maybe_reconcile(dp, state)

    def meter_config(self, dp: Any, meter_ids: Iterable[int], more: bool) -> None:
        with self._lock:
            state = self._reconciling.get(dp.id)
            if state is None:
                return
            state.meters.update(meter_ids)
            state.meters_done = not more
            self._maybe_reconcile(dp, state)

    def barrier_reply(self, dpid: int, xid: int) -> None:
        with self._lock:
            waiter = self._waiters.pop((dpid, xid), None)
        if waiter is None:
            return
        if waiter.errors:
            waiter.future.set_exception(SwitchError(f"switch {dpid:#x} refused: {'; '.join(waiter.errors)}"))
        else:
            waiter.future.set_result(None)

    def error(self, dpid: int, xid: int, text: str) -> None:
        """An OFPT_ERROR: charge it to the change set that sent `xid`."""
        with self._lock:
            for (wdpid, _), waiter in self._waiters.items():
                if wdpid == dpid and xid in waiter.xids:
                    waiter.errors.append(text)
                    return
        log.warning("switch %#x: error for xid %d outside any change: %s", dpid, xid, text)

    # ----- internals (lock held) ------------------------------------------------------

    def _maybe_reconcile(self, dp: Any, state: _Reconcile) -> None:
        if not (state.flows_done and state.meters_done):
            return
        del self._reconciling[dp.id]
        wanted = self._wanted.get(dp.id, {})
        msgs = []
        for cookie in sorted(state.cookies):
            deal_id = deal_of_cookie(cookie)
            assert deal_id is not None
            if deal_id not in wanted:  # a stray: its deal ended while we were away
                msgs.append(_delete_deal_flows(dp, deal_id))
                msgs += [_meter_delete(dp, m) for m in deal_meter_ids(deal_id) if m in state.meters]
        for _deal, (flows, meters) in sorted(wanted.items()):
            for m in meters:
                command = dp.ofproto.OFPMC_MODIFY if m.meter_id in state.meters else dp.ofproto.OFPMC_ADD
                msgs.append(_meter_mod(dp, m, command))
            msgs += [_flow_mod(dp, f) for f in flows]  # ADD replaces an identical flow in place
        done = self._send_confirmed(dp, msgs)
        event = self.reconciled[dp.id]
        done.add_done_callback(lambda f: event.set())

    def _send_confirmed(self, dp: Any, msgs: list[Any]) -> Future[None]:
        future: Future[None] = Future()
        xids = {self._send(dp, m) for m in msgs}
        barrier = dp.ofproto_parser.OFPBarrierRequest(dp)
        self._waiters[(dp.id, dp.set_xid(barrier))] = _Waiter(xids, future)
        dp.send_msg(barrier)
        return future

    def _send(self, dp: Any, msg: Any) -> int:
        xid: int = dp.set_xid(msg)
        dp.send_msg(msg)
        return xid


def _failed(err: Exception) -> Future[None]:
    future: Future[None] = Future()
    future.set_exception(err)
    return future


def _meter_mod(dp: Any, m: Meter, command: int) -> Any:
    ofp, parser = dp.ofproto, dp.ofproto_parser
    band = parser.OFPMeterBandDrop(rate=m.rate_kbps, burst_size=m.burst_kbits)
    flags = ofp.OFPMF_KBPS | ofp.OFPMF_BURST
    return parser.OFPMeterMod(dp, command=command, flags=flags, meter_id=m.meter_id, bands=[band])


def _meter_delete(dp: Any, meter_id: int) -> Any:
    return dp.ofproto_parser.OFPMeterMod(dp, command=dp.ofproto.OFPMC_DELETE, meter_id=meter_id)


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


def _probe_trap(dp: Any, deal_id: int, in_port: int, vlan: int, command: int) -> Any:
    ofp, parser = dp.ofproto, dp.ofproto_parser
    vlan_match = (ofp.OFPVID_PRESENT | vlan) if vlan else ofp.OFPVID_NONE
    match = parser.OFPMatch(in_port=in_port, vlan_vid=vlan_match, eth_type=PROBE_ETHERTYPE)
    to_controller = parser.OFPActionOutput(ofp.OFPP_CONTROLLER, ofp.OFPCML_NO_BUFFER)
    return parser.OFPFlowMod(
        dp,
        cookie=deal_cookie(deal_id),
        priority=PROBE_PRIORITY,
        match=match,
        instructions=[parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, [to_controller])],
        command=command,
        out_port=ofp.OFPP_ANY,
        out_group=ofp.OFPG_ANY,
    )


def _probe_frame(vlan: int, nonce: bytes) -> bytes:
    """A minimal Ethernet frame (locally administered MACs), VLAN-tagged unless vlan is 0."""
    head = bytes.fromhex("02005e1f0001") + bytes.fromhex("02005e1f0002")
    tag = struct.pack("!HH", 0x8100, vlan) if vlan else b""
    body = PROBE_MARK + nonce
    return (head + tag + struct.pack("!H", PROBE_ETHERTYPE) + body).ljust(60, b"\0")


def _delete_deal_flows(dp: Any, deal_id: int) -> Any:
    ofp, parser = dp.ofproto, dp.ofproto_parser
    return parser.OFPFlowMod(
        dp,
        cookie=deal_cookie(deal_id),
        cookie_mask=ALL_BITS,
        table_id=ofp.OFPTT_ALL,
        command=ofp.OFPFC_DELETE,
        out_port=ofp.OFPP_ANY,
        out_group=ofp.OFPG_ANY,
    )
