"""The os-ken app that connects OpenFlow switches to the provisioning layer. It only
translates switch events into calls on the OpenFlowDriver; the driver decides."""

from __future__ import annotations

from typing import Any, ClassVar

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, DEAD_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.ofproto import ofproto_v1_3, ofproto_v1_4
from os_ken.topology import event as topology_event

from provisioning import openflow_roles as roles
from provisioning.openflow import FlowCount, OpenFlowDriver

LIVE = [CONFIG_DISPATCHER, MAIN_DISPATCHER]


class SwitchControl(app_manager.OSKenApp):  # type: ignore[misc]
    """Switch (re)connects, barrier replies, errors and the stats replies reconciliation reads."""

    OFP_VERSIONS: ClassVar[list[int]] = [ofproto_v1_3.OFP_VERSION, ofproto_v1_4.OFP_VERSION]
    driver: ClassVar[OpenFlowDriver | None] = None  # set by controller.runtime before start

    def _driver(self) -> OpenFlowDriver:
        assert self.driver is not None, "controller.runtime.start_controller sets the driver"
        return self.driver

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)  # type: ignore[misc]
    def on_features(self, ev: Any) -> None:
        self._driver().switch_connected(ev.msg.datapath)

    @set_ev_cls(ofp_event.EventOFPStateChange, [DEAD_DISPATCHER])  # type: ignore[misc]
    def on_gone(self, ev: Any) -> None:
        if ev.datapath.id is not None:
            self._driver().switch_left(ev.datapath)

    @set_ev_cls(ofp_event.EventOFPBarrierReply, LIVE)  # type: ignore[misc]
    def on_barrier(self, ev: Any) -> None:
        self._driver().barrier_reply(ev.msg.datapath.id, ev.msg.xid)

    @set_ev_cls(ofp_event.EventOFPErrorMsg, LIVE)  # type: ignore[misc]
    def on_error(self, ev: Any) -> None:
        msg = ev.msg
        ofp = msg.datapath.ofproto
        text = roles.error_text(msg.type, msg.code) or f"OpenFlow error type {msg.type} code {msg.code}"
        if msg.type == roles.ROLE_REQUEST_FAILED:
            self._driver().role_refused(msg.datapath.id, text)
            return
        for name in dir(ofp):
            if name.startswith("OFPET_") and getattr(ofp, name) == msg.type and text.startswith("OpenFlow error"):
                text = f"{name} code {msg.code}"
        is_slave = (msg.type, msg.code) == (roles.BAD_REQUEST, roles.IS_SLAVE)
        self._driver().error(msg.datapath.id, msg.xid, text, is_slave)

    @set_ev_cls(ofp_event.EventOFPRoleReply, LIVE)  # type: ignore[misc]
    def on_role_reply(self, ev: Any) -> None:
        self._role(ev.msg, status=False)

    @set_ev_cls(ofp_event.EventOFPRoleStatus, LIVE)  # type: ignore[misc]
    def on_role_status(self, ev: Any) -> None:  # OpenFlow 1.4: another controller took the master role
        self._role(ev.msg, status=True)

    def _role(self, msg: Any, status: bool) -> None:
        name = roles.ROLE_NAME.get(msg.role, roles.EQUAL)
        self._driver().role_told(msg.datapath.id, roles.Role(name, msg.generation_id), status)
        if name == roles.MASTER:
            # os-ken's LLDP rounds run when this event is set (with native threads its timed
            # wait never times out): the discovery it sent as a slave was refused, so a new
            # master sends a round of its own.
            discovery = app_manager.lookup_service_brick("switches")
            if discovery is not None:
                discovery.lldp_event.set()

    @set_ev_cls(ofp_event.EventOFPFlowStatsReply, LIVE)  # type: ignore[misc]
    def on_flow_stats(self, ev: Any) -> None:
        msg = ev.msg
        more = bool(msg.flags & msg.datapath.ofproto.OFPMPF_REPLY_MORE)
        counts = [FlowCount(s.cookie, s.match.get("in_port", 0), s.packet_count, s.byte_count) for s in msg.body]
        self._driver().flow_stats(msg.datapath, msg.xid, counts, more)

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)  # type: ignore[misc]
    def on_packet_in(self, ev: Any) -> None:
        self._driver().packet_in(bytes(ev.msg.data))

    @set_ev_cls(ofp_event.EventOFPPortStatus, LIVE)  # type: ignore[misc]
    def on_port_status(self, ev: Any) -> None:
        msg = ev.msg
        ofp = msg.datapath.ofproto
        desc = msg.desc
        down = desc.state & ofp.OFPPS_LINK_DOWN or desc.config & ofp.OFPPC_PORT_DOWN
        up = msg.reason != ofp.OFPPR_DELETE and not down
        self._driver().port_changed(msg.datapath.id, desc.port_no, up, bool(desc.state & ofp.OFPPS_LIVE))

    @set_ev_cls(topology_event.EventLinkAdd)  # type: ignore[misc]
    def on_link_add(self, ev: Any) -> None:
        link = ev.link
        self._driver().link_seen((link.src.dpid, link.src.port_no), (link.dst.dpid, link.dst.port_no), up=True)

    @set_ev_cls(topology_event.EventLinkDelete)  # type: ignore[misc]
    def on_link_delete(self, ev: Any) -> None:
        link = ev.link
        self._driver().link_seen((link.src.dpid, link.src.port_no), (link.dst.dpid, link.dst.port_no), up=False)

    @set_ev_cls(ofp_event.EventOFPMeterConfigStatsReply, LIVE)  # type: ignore[misc]
    def on_meter_config(self, ev: Any) -> None:
        msg = ev.msg
        more = bool(msg.flags & msg.datapath.ofproto.OFPMPF_REPLY_MORE)
        self._driver().meter_config(msg.datapath, [s.meter_id for s in msg.body], more)
