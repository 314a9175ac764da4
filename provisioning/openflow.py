"""The OpenFlow driver: puts a deal's flows and meters on a switch and confirms them with a
barrier, removes them by the deal's cookie, and reconciles a switch whenever it connects
(what is wanted is installed, stray deal flows are removed).

Each call is a change set with its own future. Change sets for one switch go out in
batches, like the exchange's group commit: while one batch waits for its barrier, the next
collects whatever arrives, so a busy switch gets few barriers and a quiet one no delay. On
OpenFlow 1.4 a batch's flow-mods travel in one atomic bundle (Open vSwitch applies a bundle
several times faster than the same flow-mods one by one); if the bundle is refused, its
change sets are sent again one bundle each, so only the one at fault fails. Switch errors
are charged to the change set whose message (by xid) caused them. Messages are packed by
provisioning.ofwire and each batch is one write.

Threads: os-ken delivers switch events on its own threads; the exchange calls `install` and
`remove` from its asyncio loop. Both sides meet here, under one lock, and the loop gets a
`concurrent.futures.Future` to await (`asyncio.wrap_future`): the single boundary between
the two worlds. Futures are completed outside the lock.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from provisioning import ofwire
from provisioning.intent import (
    COOKIE_TAG,
    DEAL_COOKIE_MASK,
    Flow,
    Group,
    Meter,
    deal_cookie,
    deal_group_ids,
    deal_meter_ids,
    deal_of_cookie,
)
from provisioning.openflow_roles import Role, role_request, superseded

log = logging.getLogger(__name__)

DEAL_PRIORITY = 100
PROBE_PRIORITY = DEAL_PRIORITY + 1  # the probe trap sits just above the deal's own flow
PROBE_ETHERTYPE = 0x88B5  # IEEE 802 local experimental: never a customer's protocol
PROBE_MARK = b"ixchange-probe:"
COOKIE_TAG_MASK = 0xFF << 56


class SwitchError(Exception):
    """A switch refused a change, or is not connected."""


class SwitchGone(SwitchError):
    """The switch's connection closed (or was never there) before it confirmed a change:
    nothing was refused; what it was asked to hold is installed when it reconnects."""


Op = Callable[[int, int], bytes]  # (OpenFlow version, xid) -> one packed message


@dataclass(slots=True, eq=False)
class _ChangeSet:
    """Messages for one switch that succeed or fail together, and the future that says so.
    `setup` (meter-mods) goes before the flow-mods and `teardown` (meter deletes) after;
    meter-mods cannot travel in bundles."""

    future: Future[None]
    setup: list[Op]
    flows: list[Op]
    teardown: list[Op] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    setup_done: bool = False  # sent and not refused: a retry sends only the rest
    alone: bool = False  # retried after a refused shared bundle: gets a bundle of its own


@dataclass(slots=True, eq=False)
class _Batch:
    change_sets: list[_ChangeSet]
    barrier_xid: int
    bundled: bool
    owner: dict[int, _ChangeSet]  # xid -> the change set that sent it
    setup_xids: set[int]
    shared_errors: list[str] = field(default_factory=list)  # bundle-level, no owner


@dataclass(slots=True, eq=False)
class _Switch:
    dp: Any
    pending: list[_ChangeSet] = field(default_factory=list)
    inflight: _Batch | None = None
    bundle_id: int = 0


@dataclass(slots=True)
class _Reconcile:
    """A reconnecting switch's deal cookies and meters, gathered from its stats replies."""

    flows_xid: int = 0  # the flow stats request's xid: only its replies count
    cookies: set[int] = field(default_factory=set)
    meters: set[int] = field(default_factory=set)
    flows_done: bool = False
    meters_done: bool = False


@dataclass(frozen=True, slots=True)
class FlowCount:
    """One deal flow's counters, as a switch's flow stats reply gives them."""

    cookie: int
    in_port: int
    packets: int
    bytes: int


@dataclass(slots=True)
class _TrafficPoll:
    """Deal flow counters being gathered from one switch's (multipart) stats reply."""

    xid: int
    counts: list[FlowCount] = field(default_factory=list)


class OpenFlowDriver:
    """Deal flows on OpenFlow switches, by datapath id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._switches: dict[int, _Switch] = {}
        self.switch_changes = 0  # counts connections and disconnections (answers about them go stale)
        # What must exist: per switch, per deal, its flows and meters.
        # (Meters and a protected deal's fast-failover groups go beside the flows, outside bundles.)
        self._wanted: dict[int, dict[int, tuple[tuple[Flow, ...], tuple[Meter | Group, ...]]]] = {}
        self._reconciling: dict[int, _Reconcile] = {}
        self.reconciled: dict[int, threading.Event] = {}  # set after each (re)connect's reconcile
        self._probes: dict[bytes, Future[None]] = {}  # nonce -> waiting data-plane probe
        self.links_seen: set[tuple[int, int, int, int]] = set()  # LLDP: (dpid, port, dpid, port)
        # When each fact last changed (µs since the epoch), so a reader knows how fresh it is.
        self.switch_changed_us: dict[int, int] = {}
        self.link_changed_us: dict[frozenset[tuple[int, int]], int] = {}
        # Deal flow counters per switch, from the last complete traffic poll of each.
        self.traffic: dict[int, list[FlowCount]] = {}
        self._polls: dict[int, _TrafficPoll] = {}
        # What reconciliations changed since start (for metrics): deal flows and meters
        # installed, stray deal flows and meters removed.
        self.reconcile_installed = 0
        self.reconcile_removed = 0
        # Until the exchange has said what must exist (after a restart, from the store), a
        # connecting switch waits: reconciling it against nothing would delete every deal.
        self._wants_known = False
        # The measurement point: frames addressed to these MACs go to `frame_sink`
        # (frame, monotonic ns at arrival), called on os-ken's thread.
        self.measuring_macs: set[bytes] = set()
        self.frame_sink: Callable[[bytes, int], None] | None = None
        # A switch port changed (OpenFlow port status): (dpid, port, link up, live — BFD's
        # verdict where it runs), called on os-ken's thread. Faster than LLDP, which needs
        # several missed rounds.
        self.port_sink: Callable[[int, int, bool, bool], None] | None = None
        # High availability (provisioning/openflow_roles.py): the role this controller asks
        # every switch for (None: none asked, OpenFlow's EQUAL), what each switch last said
        # this controller is, and who hears that another controller took over (os-ken's thread).
        self.role: Role | None = None
        self.roles: dict[int, Role] = {}
        self.superseded_sink: Callable[[int, str], None] | None = None

    # ----- called by the exchange (any thread) ----------------------------------------

    def want(self, dpid: int, deal_id: int, flows: Iterable[Flow], meters: Iterable[Meter | Group]) -> None:
        """Record that a deal's flows and meters must exist on a switch, without sending
        them: reconciliation installs them (after a restart)."""
        with self._lock:
            self._wanted.setdefault(dpid, {})[deal_id] = (tuple(flows), tuple(meters))

    def wants_known(self) -> None:
        """Everything that must exist has been said (`want`): reconcile the switches that
        connected meanwhile, and every one that connects from now on."""
        with self._lock:
            self._wants_known = True
            waiting = [s.dp for s in self._switches.values()]
            for dp in waiting:
                self._ask_what_it_has(dp)

    def set_role(self, name: str, generation: int) -> None:
        """Ask every switch, now and whenever one connects, for this role (master or
        slave) with this generation; what each answers lands in `roles`."""
        role = Role(name, generation)  # checked here: a bad generation fails the caller, not a send
        with self._lock:
            self.role = role
            for switch in self._switches.values():
                switch.dp.send_msg(role_request(switch.dp, role))

    def connected(self, dpid: int) -> bool:
        with self._lock:
            return dpid in self._switches

    def install(self, dpid: int, deal_id: int, flows: Iterable[Flow], meters: Iterable[Meter | Group]) -> Future[None]:
        """Add (or replace) a deal's flows, meters and groups on one switch. The future
        completes when the switch confirms them with a barrier, or fails with the switch's
        error. Meters and groups go first (not in a bundle); groups no longer wanted here
        (a deal that lost its protection) go after the flows that used them."""
        flows, meters = tuple(flows), tuple(meters)
        with self._lock:
            wanted = self._wanted.setdefault(dpid, {})
            before = wanted.get(deal_id, ((), ()))[1]
            had = {m.meter_id for m in before if isinstance(m, Meter)}  # a re-route: they exist here
            wanted[deal_id] = (flows, meters)
            setup = [_setup(m, m.meter_id in had if isinstance(m, Meter) else True) for m in meters]
            now = {m.group_id for m in meters if isinstance(m, Group)}
            gone = [_teardown(g) for g in before if isinstance(g, Group) and g.group_id not in now]
            return self._submit(dpid, setup, [partial(_flow, flow=f) for f in flows], gone)

    def remove(self, dpid: int, deal_id: int) -> Future[None]:
        """Delete every flow of the deal (of every generation), then its meters and groups."""
        with self._lock:
            _, meters = self._wanted.get(dpid, {}).pop(deal_id, ((), ()))
            flows = [partial(_delete_deal, cookie=deal_cookie(deal_id), mask=DEAL_COOKIE_MASK)]
            teardown = [_teardown(m) for m in meters]  # only what it has here
            return self._submit(dpid, [], flows, teardown)

    def retire(self, dpid: int, deal_id: int, cookie: int, off_path: bool) -> Future[None]:
        """After a re-route: delete the old path's flows (their exact cookie, the old
        generation); where the new path does not pass (`off_path`), the meters and groups too."""
        with self._lock:
            teardown: list[Op] = []
            if off_path:
                _, meters = self._wanted.get(dpid, {}).pop(deal_id, ((), ()))
                teardown = [_teardown(m) for m in meters]
            return self._submit(dpid, [], [partial(_delete_deal, cookie=cookie)], teardown)

    def add_probe_trap(self, dpid: int, deal_id: int, in_port: int, vlan: int) -> Future[None]:
        """Send probe frames arriving on in_port/vlan to the controller instead of onwards:
        where a data-plane probe is caught. Carries the deal's cookie, so removing the deal
        removes a forgotten trap too."""
        with self._lock:
            return self._submit(
                dpid, [], [partial(_trap, cookie=deal_cookie(deal_id), port=in_port, vlan=vlan, add=True)]
            )

    def remove_probe_trap(self, dpid: int, deal_id: int, in_port: int, vlan: int) -> Future[None]:
        with self._lock:
            trap = partial(_trap, cookie=deal_cookie(deal_id), port=in_port, vlan=vlan, add=False)
            return self._submit(dpid, [], [trap])

    def send_probe(self, dpid: int, in_port: int, vlan: int) -> Future[None]:
        """Inject a probe frame on `dpid` as if it came in on in_port/vlan, through the
        switch's flow table. The future completes when a trap sends it back."""
        nonce = os.urandom(8).hex().encode()
        future: Future[None] = Future()
        with self._lock:
            switch = self._switches.get(dpid)
            if switch is None:
                return _failed(SwitchGone(f"switch {dpid:#x} is not connected"))
            dp = switch.dp
            self._probes[nonce] = future
            ofp, parser = dp.ofproto, dp.ofproto_parser
            out = parser.OFPPacketOut(
                dp,
                buffer_id=ofp.OFP_NO_BUFFER,
                in_port=in_port,
                actions=[parser.OFPActionOutput(ofp.OFPP_TABLE)],
                data=_probe_frame(vlan, nonce),
            )
            dp.send_msg(out)
        future.add_done_callback(lambda _f: self._forget_probe(nonce))
        return future

    def trap_mac(self, dpid: int, cookie: int, in_port: int, vlan: int, mac: bytes, add: bool = True) -> bool:
        """Frames to `mac` arriving on in_port/vlan go to the controller (the measurement
        point's own address on a deal's path), above the deal's flow; with add=False the
        trap is deleted. Not confirmed by a barrier: the caller re-adds it from time to
        time. False when the switch is not connected."""

        def flow_mod(dp: Any) -> Any:
            ofp, parser = dp.ofproto, dp.ofproto_parser
            vid = (ofp.OFPVID_PRESENT | vlan) if vlan else 0
            match = parser.OFPMatch(in_port=in_port, eth_dst=mac.hex(":"), vlan_vid=vid)
            if not add:
                return parser.OFPFlowMod(
                    dp,
                    cookie=cookie,
                    command=ofp.OFPFC_DELETE_STRICT,
                    priority=PROBE_PRIORITY,
                    match=match,
                    out_port=ofp.OFPP_ANY,
                    out_group=ofp.OFPG_ANY,
                )
            actions = [parser.OFPActionOutput(ofp.OFPP_CONTROLLER, ofp.OFPCML_NO_BUFFER)]
            instructions = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)]
            return parser.OFPFlowMod(dp, cookie=cookie, priority=PROBE_PRIORITY, match=match, instructions=instructions)

        return self._send_now(dpid, flow_mod)

    def send_frame(self, dpid: int, port: int, frame: bytes, out: bool = False) -> bool:
        """Inject a frame on `dpid` as if it came in on `port`, through the flow table; with
        `out`, send it straight out of `port` instead. False when the switch is not connected."""

        def packet_out(dp: Any) -> Any:
            ofp, parser = dp.ofproto, dp.ofproto_parser
            actions = [parser.OFPActionOutput(port if out else ofp.OFPP_TABLE)]
            in_port = ofp.OFPP_CONTROLLER if out else port
            return parser.OFPPacketOut(dp, buffer_id=ofp.OFP_NO_BUFFER, in_port=in_port, actions=actions, data=frame)

        return self._send_now(dpid, packet_out)

    def _send_now(self, dpid: int, message: Callable[[Any], Any]) -> bool:
        """One message, built for the switch's connection and sent at once (no batch, no
        barrier); False when the switch is not connected."""
        with self._lock:
            switch = self._switches.get(dpid)
            if switch is None:
                return False
            switch.dp.send_msg(message(switch.dp))
            return True

    def _forget_probe(self, nonce: bytes) -> None:
        with self._lock:
            self._probes.pop(nonce, None)

    # ----- called by the os-ken app (its threads) -------------------------------------

    def packet_in(self, data: bytes) -> None:
        sink = self.frame_sink
        if sink is not None and data[:6] in self.measuring_macs:
            sink(data, time.monotonic_ns())
            return
        at = data.find(PROBE_MARK)
        if at < 0:
            return
        nonce = data[at + len(PROBE_MARK) : at + len(PROBE_MARK) + 16]
        with self._lock:
            future = self._probes.pop(nonce, None)
        if future is not None and not future.done():
            future.set_result(None)

    def port_changed(self, dpid: int, port: int, up: bool, live: bool) -> None:
        sink = self.port_sink
        if sink is not None:
            sink(dpid, port, up, live)

    def link_seen(self, src: tuple[int, int], dst: tuple[int, int], up: bool) -> None:
        """LLDP found (or lost) a link between two switch ports."""
        with self._lock:
            if up:
                self.links_seen.add((*src, *dst))
            else:
                self.links_seen.discard((*src, *dst))
            self.link_changed_us[frozenset({src, dst})] = _now_us()

    def connected_switches(self) -> set[int]:
        with self._lock:
            return set(self._switches)

    def switch_connected(self, dp: Any) -> None:
        """A switch (re)connected: ask what deal flows and meters it has, then reconcile."""
        with self._lock:
            old = self._switches.get(dp.id)
            self._switches[dp.id] = _Switch(dp)
            self.switch_changes += 1
            self.switch_changed_us[dp.id] = _now_us()
            self.reconciled.setdefault(dp.id, threading.Event()).clear()
            self.roles.pop(dp.id, None)
            if self.role is not None:  # before anything else: the switch handles messages in order
                dp.send_msg(role_request(dp, self.role))
            if self._wants_known:
                self._ask_what_it_has(dp)
        if old is not None:
            _fail_all(old, f"switch {dp.id:#x} reconnected")

    def switch_left(self, dp: Any) -> None:
        """A connection closed. Only forget the switch if this is still its current
        connection: a reconnect can be announced before the old connection's end."""
        dpid: int = dp.id
        with self._lock:
            switch = self._switches.get(dpid)
            if switch is None or switch.dp is not dp:
                return
            del self._switches[dpid]
            self.roles.pop(dpid, None)
            self.switch_changes += 1
            self._reconciling.pop(dpid, None)
            self.switch_changed_us[dpid] = _now_us()
        _fail_all(switch, f"switch {dpid:#x} disconnected")

    def role_told(self, dpid: int, role: Role, status: bool) -> None:
        """A role reply (`status` False) or an unasked role status: what the switch says
        this controller is now. A master made slave has been superseded."""
        with self._lock:
            if dpid not in self._switches:
                return
            before = self.roles.get(dpid)
            self.roles[dpid] = role
            lost = status and superseded(self.role, role)
        if before != role:
            log.info("switch %#x: this controller is %s (role generation %d)", dpid, role.name, role.generation)
        if lost and self.superseded_sink is not None:
            why = f"switch {dpid:#x} made another controller master (generation {role.generation})"
            self.superseded_sink(dpid, why)

    def role_refused(self, dpid: int, text: str) -> None:
        """The switch refused the role request: with a stale generation, a newer leader has
        asked it since."""
        log.warning("switch %#x: %s", dpid, text)
        with self._lock:
            wanted = self.role
        if wanted is not None and wanted.name == "master" and self.superseded_sink is not None:
            self.superseded_sink(dpid, f"switch {dpid:#x}: {text}")

    def flow_stats(self, dp: Any, xid: int, counts: Iterable[FlowCount], more: bool) -> None:
        """A flow stats reply: for a reconciliation or a traffic poll, told by its xid."""
        with self._lock:
            state = self._reconciling.get(dp.id)
            if state is not None and state.flows_xid == xid:
                state.cookies.update(c.cookie for c in counts if deal_of_cookie(c.cookie) is not None)
                state.flows_done = not more
                self._maybe_reconcile(dp, state)
                return
            poll = self._polls.get(dp.id)
            if poll is not None and poll.xid == xid:
                poll.counts.extend(c for c in counts if deal_of_cookie(c.cookie) is not None)
                if not more:
                    self.traffic[dp.id] = poll.counts
                    del self._polls[dp.id]

    def poll_traffic(self) -> None:
        """Ask every connected switch for its deal flows' counters; `traffic` holds each
        switch's answer once complete. A switch still answering the last poll is skipped."""
        with self._lock:
            for dpid, switch in self._switches.items():
                if dpid not in self._polls:
                    self._polls[dpid] = _TrafficPoll(self._send_deal_flow_stats(switch.dp))
            for dpid in set(self.traffic) - set(self._switches):
                del self.traffic[dpid]  # gone: its counters are no longer known

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
            switch = self._switches.get(dpid)
            batch = switch.inflight if switch is not None else None
            if switch is None or batch is None or batch.barrier_xid != xid:
                return
            switch.inflight = None
            settled = self._settle(switch, batch)
            if switch.pending:
                self._flush(switch)
        for change, error in settled:
            if error:
                change.future.set_exception(SwitchError(f"switch {dpid:#x} refused: {error}"))
            else:
                change.future.set_result(None)

    def error(self, dpid: int, xid: int, text: str, is_slave: bool = False) -> None:
        """An OFPT_ERROR: charge it to the change set that sent `xid`."""
        with self._lock:
            switch = self._switches.get(dpid)
            batch = switch.inflight if switch is not None else None
            if batch is not None and xid in batch.owner:
                batch.owner[xid].errors.append(text)
                if xid in batch.setup_xids:
                    batch.owner[xid].setup_done = False
                return
            if batch is not None and batch.bundled:
                batch.shared_errors.append(text)  # the bundle open/commit itself
                return
        # A slave's own os-ken apps (LLDP discovery) send packet-outs the switch refuses: expected.
        level = logging.DEBUG if is_slave and self.role is not None else logging.WARNING
        log.log(level, "switch %#x: error for xid %d outside any change: %s", dpid, xid, text)

    # ----- internals (lock held) ------------------------------------------------------

    def _ask_what_it_has(self, dp: Any) -> None:
        """Start a reconcile: the switch's deal flows and meters, by stats request."""
        state = self._reconciling[dp.id] = _Reconcile()
        ofp, parser = dp.ofproto, dp.ofproto_parser
        state.flows_xid = self._send_deal_flow_stats(dp)
        dp.send_msg(parser.OFPMeterConfigStatsRequest(dp, 0, ofp.OFPM_ALL))

    def _send_deal_flow_stats(self, dp: Any) -> int:
        """Ask for every deal flow (by cookie tag); returns the request's xid."""
        ofp, parser = dp.ofproto, dp.ofproto_parser
        request = parser.OFPFlowStatsRequest(
            dp, 0, ofp.OFPTT_ALL, ofp.OFPP_ANY, ofp.OFPG_ANY, COOKIE_TAG, COOKIE_TAG_MASK, parser.OFPMatch()
        )
        dp.set_xid(request)
        dp.send_msg(request)
        return int(request.xid)

    def _maybe_reconcile(self, dp: Any, state: _Reconcile) -> None:
        if not (state.flows_done and state.meters_done):
            return
        del self._reconciling[dp.id]
        wanted = self._wanted.get(dp.id, {})
        setup: list[Op] = []
        flows: list[Op] = []
        teardown: list[Op] = []
        stray_groups: list[Op] = []  # not asked for (deleting a missing group is no error): not counted
        current = {f.cookie for deal_flows, _ in wanted.values() for f in deal_flows}
        for cookie in sorted(state.cookies):
            deal_id = deal_of_cookie(cookie)
            assert deal_id is not None
            if deal_id not in wanted:  # a stray: its deal ended while we were away
                flows.append(partial(_delete_deal, cookie=cookie))
                teardown += [
                    partial(ofwire.meter_delete, meter_id=m) for m in deal_meter_ids(deal_id) if m in state.meters
                ]
                stray_groups += [
                    partial(ofwire.group_delete, group_id=g) for gen in (0, 1) for g in deal_group_ids(deal_id, gen)
                ]
            elif cookie not in current:  # an older generation of a re-routed deal's path
                flows.append(partial(_delete_deal, cookie=cookie))
        strays = len(flows)
        for _deal, (deal_flows, meters) in sorted(wanted.items()):
            for m in meters:
                setup.append(_setup(m, m.meter_id in state.meters if isinstance(m, Meter) else True))
            flows += [partial(_flow, flow=f) for f in deal_flows]  # ADD replaces an identical flow in place
        installed = len(flows) - strays + len(setup)
        self.reconcile_installed += installed
        self.reconcile_removed += strays + len(teardown)
        log.info(
            "switch %#x reconciled: %d deal(s) (re)installed (%d flows and meters), %d stray deal(s) removed "
            "(%d meters); it had %d deal flow cookie(s)",
            dp.id,
            len(wanted),
            installed,
            strays,
            len(teardown),
            len(state.cookies),
        )
        done = self._submit(dp.id, setup, flows, teardown + stray_groups)
        event = self.reconciled[dp.id]
        done.add_done_callback(lambda f: event.set())

    def _submit(self, dpid: int, setup: Sequence[Op], flows: Sequence[Op], teardown: Sequence[Op] = ()) -> Future[None]:
        switch = self._switches.get(dpid)
        if switch is None:
            return _failed(SwitchGone(f"switch {dpid:#x} is not connected"))
        change = _ChangeSet(Future(), list(setup), list(flows), list(teardown))
        switch.pending.append(change)
        if switch.inflight is None:
            self._flush(switch)
        return change.future

    def _flush(self, switch: _Switch) -> None:
        """Send the pending change sets as one batch: one write, one barrier. A change set
        being retried alone goes in a batch of its own."""
        if switch.pending[0].alone:
            batch_sets, switch.pending = switch.pending[:1], switch.pending[1:]
        else:
            cut = next((i for i, c in enumerate(switch.pending) if c.alone), len(switch.pending))
            batch_sets, switch.pending = switch.pending[:cut], switch.pending[cut:]
        dp = switch.dp
        version: int = dp.ofproto.OFP_VERSION
        bundled = version >= ofwire.OF14 and any(c.flows for c in batch_sets)
        owner: dict[int, _ChangeSet] = {}
        setup_xids: set[int] = set()
        out: list[bytes] = []

        def next_xid() -> int:
            dp.xid = (dp.xid + 1) & 0xFFFFFFFF  # os-ken's own counter, so xids never collide
            return int(dp.xid)

        for change in batch_sets:
            if not change.setup_done:
                for op in change.setup:
                    xid = next_xid()
                    owner[xid] = change
                    setup_xids.add(xid)
                    out.append(op(version, xid))
                change.setup_done = True  # unless an error says otherwise
        if bundled:
            switch.bundle_id = (switch.bundle_id + 1) & 0xFFFFFFFF
            out.append(ofwire.bundle_control(next_xid(), switch.bundle_id, ofwire.OFPBCT_OPEN_REQUEST))
        for change in batch_sets:
            for op in change.flows:
                xid = next_xid()
                owner[xid] = change
                message = op(version, xid)
                out.append(ofwire.bundle_add(xid, switch.bundle_id, message) if bundled else message)
        if bundled:
            out.append(ofwire.bundle_control(next_xid(), switch.bundle_id, ofwire.OFPBCT_COMMIT_REQUEST))
        for change in batch_sets:
            for op in change.teardown:
                xid = next_xid()
                owner[xid] = change
                out.append(op(version, xid))
        barrier_xid = next_xid()
        out.append(ofwire.barrier(version, barrier_xid))
        switch.inflight = _Batch(batch_sets, barrier_xid, bundled, owner, setup_xids)
        dp.send(b"".join(out))

    def _settle(self, switch: _Switch, batch: _Batch) -> list[tuple[_ChangeSet, str]]:
        """After a batch's barrier: the change sets that are done (error "" or the switch's
        refusal). A refused shared bundle applied nothing: its other change sets go again,
        each alone, ahead of anything newer."""
        refused_bundle = batch.bundled and (batch.shared_errors or any(c.errors for c in batch.change_sets))
        if not refused_bundle or len(batch.change_sets) == 1:
            return [
                (c, "; ".join(c.errors + batch.shared_errors if refused_bundle else c.errors))
                for c in batch.change_sets
            ]
        settled = []
        retry = []
        for change in batch.change_sets:
            if change.errors and not change.flows:
                settled.append((change, "; ".join(change.errors)))
                continue
            change.errors.clear()
            change.alone = True
            retry.append(change)
        switch.pending[:0] = retry
        return settled


def _fail_all(switch: _Switch, why: str) -> None:
    waiting = [*(switch.inflight.change_sets if switch.inflight else []), *switch.pending]
    switch.inflight, switch.pending = None, []
    for change in waiting:
        if not change.future.done():
            change.future.set_exception(SwitchGone(why))


def _flow(version: int, xid: int, flow: Flow) -> bytes:
    return ofwire.add_flow(version, xid, flow, DEAL_PRIORITY)


def _delete_deal(version: int, xid: int, cookie: int, mask: int = ofwire.ALL_BITS) -> bytes:
    return ofwire.delete_cookie(version, xid, cookie, mask)


def _meter(version: int, xid: int, meter: Meter, command: int) -> bytes:
    return ofwire.meter_mod(version, xid, meter, command)


def _setup(item: Meter | Group, exists: bool) -> Op:
    """A meter added (or modified where it `exists`), or a group added or modified in place."""
    if isinstance(item, Group):
        return partial(ofwire.group_mod, group=item)
    return partial(_meter, meter=item, command=ofwire.OFPMC_MODIFY if exists else ofwire.OFPMC_ADD)


def _teardown(item: Meter | Group) -> Op:
    if isinstance(item, Group):
        return partial(ofwire.group_delete, group_id=item.group_id)
    return partial(ofwire.meter_delete, meter_id=item.meter_id)


def _trap(version: int, xid: int, cookie: int, port: int, vlan: int, add: bool) -> bytes:
    return ofwire.probe_trap(version, xid, cookie, port, vlan, PROBE_ETHERTYPE, PROBE_PRIORITY, add)


def _failed(err: Exception) -> Future[None]:
    future: Future[None] = Future()
    future.set_exception(err)
    return future


def _probe_frame(vlan: int, nonce: bytes) -> bytes:
    """A minimal Ethernet frame (locally administered MACs), VLAN-tagged unless vlan is 0."""
    head = bytes.fromhex("02005e1f0001") + bytes.fromhex("02005e1f0002")
    tag = struct.pack("!HH", 0x8100, vlan) if vlan else b""
    body = PROBE_MARK + nonce
    return (head + tag + struct.pack("!H", PROBE_ETHERTYPE) + body).ljust(60, b"\0")


def _now_us() -> int:
    return time.time_ns() // 1000
