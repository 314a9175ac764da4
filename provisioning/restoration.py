"""Restoration of unprotected deals (issue 13): when a switch reports a port of a
fabric link down (OpenFlow port status: at once, where LLDP needs several missed rounds;
on links that run BFD, also a port that stops being live while its carrier is up),
every live deal over that link is routed around it. The new path keeps the deal's
hand-off VLANs and carries the next generation in its flows' cookies; it goes in
make-before-break order (every switch from the seller's end back to the buyer's entry
switch, so the entry switch, whose flow is replaced in place, moves last), then the old
path's flows are deleted by their exact (old-generation) cookie, and its meters where the
new path does not pass. The deal keeps ACTIVE; its reason says what happened (an event).
No other path: the deal stays as it is and says so, and says so again when the link
comes back. Paths through router-type nodes are not re-routed yet.

Drains use the same move: an operator drains a link for maintenance (`ixchange drain`),
every deal on it is moved off make-before-break and new deals avoid it until it is
undrained (deals do not move back by themselves). A seller's hand-off port going down asks
for a seller swap (provisioning.swap). A mixin of FabricProvisioner."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from marketplace import limits
from marketplace.deals import Agreement, Deal, DealStatus
from marketplace.errors import DomainError, InvalidArgument
from provisioning.intent import Intent, NotAdmitted, compile_intent, intent_to_json
from provisioning.inventory import NodeKind

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from marketplace.api.sequencer import Sequencer
    from marketplace.engine import ExchangeEngine
    from provisioning.fabric_state import FabricState
    from provisioning.inventory import Inventory
    from provisioning.monitor import DealMonitor
    from provisioning.openflow import OpenFlowDriver
    from provisioning.service import ProvisioningSettings

log = logging.getLogger(__name__)


class Restoration:
    if TYPE_CHECKING:  # what it uses of FabricProvisioner
        inventory: Inventory
        openflow: OpenFlowDriver
        state: FabricState
        intents: dict[int, Intent]
        monitor: DealMonitor | None
        settings: ProvisioningSettings
        _work: dict[int, asyncio.Task[None]]

        def _sequencer(self) -> Sequencer: ...
        def _chain(self, deal_id: int, step: Coroutine[Any, Any, None]) -> None: ...
        def _unavailable(self) -> frozenset[str]: ...
        async def _apply(self, intent: Intent, hop: Any, deadline: float) -> None: ...
        def _attachment_down(self, node: str, port: str) -> None: ...

    def _init_restoration(self, loop: asyncio.AbstractEventLoop) -> None:
        self.down_links: set[str] = set()
        self.drained_links: set[str] = set()
        self._stuck: dict[int, str] = {}  # deal -> why its last move found no path
        self._restoration_loop = loop
        self.openflow.port_sink = self._port_sink

    def _port_sink(self, dpid: int, port: int, up: bool, live: bool) -> None:
        """From os-ken's thread."""
        self._restoration_loop.call_soon_threadsafe(self._port_changed, dpid, port, up, live)

    def _port_changed(self, dpid: int, port_no: int, link_up: bool, live: bool) -> None:
        node = self.inventory.by_datapath(dpid)
        port = next((p for p in node.ports if p.number == port_no), None) if node is not None else None
        if node is None or port is None:
            return
        if not link_up and any(a.node == node.name and a.port == port.name for a in self.inventory.attachments):
            self._attachment_down(node.name, port.name)
        for link in self.inventory.links:
            if (node.name, port.name) not in ((link.a_node, link.a_port), (link.z_node, link.z_port)):
                continue
            up = link_up and (live or not link.bfd)  # BFD's verdict counts where the link runs it
            if up:
                if link.key in self.down_links:
                    self.down_links.discard(link.key)
                    for deal_id, intent in list(self.intents.items()):
                        if link.key in intent.links:  # it found no way round: traffic passes again
                            self._chain(deal_id, self._note(deal_id, f"link {link.key} is up again: traffic passes"))
            elif link.key not in self.down_links:
                self.down_links.add(link.key)
                log.warning("link %s is down (%s port %s)", link.key, node.name, port.name)
                for deal_id, intent in list(self.intents.items()):
                    if link.key in intent.links:
                        self._chain(deal_id, self._reroute(deal_id, link.key, time.monotonic()))

    def _avoided(self) -> frozenset[str]:
        """Links paths stay off: down, or drained for maintenance."""
        return frozenset(self.down_links | self.drained_links)

    async def drain_link(self, link: str, drained: bool) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
        """An operator drains a fabric link (every deal on it moved off, make-before-break;
        new deals avoid it) or undrains it. Returns (deal, new path) for the deals moved
        and (deal, why) for those with no other path."""
        if link not in {k.key for k in self.inventory.links}:
            raise InvalidArgument("link", f"no fabric link {limits.shown(link)} (see `ixchange fabric`)")
        if not drained:
            self.drained_links.discard(link)
            return [], []
        self.drained_links.add(link)
        on_it = [deal_id for deal_id, intent in self.intents.items() if link in intent.links]
        for deal_id in on_it:
            self._chain(deal_id, self._reroute(deal_id, link, time.monotonic(), "drained"))
        await asyncio.gather(*(self._work[d] for d in on_it if d in self._work), return_exceptions=True)
        moved, stuck = [], []
        for deal_id in on_it:
            intent = self.intents.get(deal_id)
            if intent is None:
                continue  # ended meanwhile
            if link in intent.links:
                stuck.append((deal_id, self._stuck.get(deal_id, "not moved")))
            else:
                moved.append((deal_id, " > ".join(intent.nodes())))
        return moved, stuck

    async def _reroute(self, deal_id: int, link: str, since: float, cause: str = "down") -> None:
        old = self.intents.get(deal_id)
        if old is None or link not in old.links or link not in self._avoided():
            return  # ended, already moved, or the link came back meanwhile
        seq = self._sequencer()
        found: tuple[Deal, Agreement] | None = await seq.run(lambda e, _now: _live(e, deal_id))
        if found is None:
            return
        deal, agreement = found
        if old.router_services:
            self._stuck[deal_id] = "a path through a router-type node is not re-routed yet"
            await self._note(deal_id, f"link {link} is {cause}; {self._stuck[deal_id]}")
            return
        self.state.release(old)
        try:
            new = compile_intent(deal, agreement, self.inventory, self.state, self._unavailable(), self._avoided(), old)
        except NotAdmitted as err:
            self.state.hold(old)
            self._stuck[deal_id] = f"there is no other path: {err}"
            await self._note(deal_id, f"link {link} is {cause} and {self._stuck[deal_id]}")
            return
        self._stuck.pop(deal_id, None)
        self.state.hold(new)
        self.intents[deal_id] = new
        await asyncio.to_thread(seq.store.save_intent, deal_id, intent_to_json(new), seq.now())
        deadline = time.monotonic() + self.settings.switch_wait_s
        for hop in reversed(new.path):  # the buyer's entry switch last
            await self._apply(new, hop, deadline)
        passing = time.monotonic()
        if cause == "drained":  # planned: frames in flight on the old path arrive first
            await asyncio.sleep(self.settings.drain_s)
        on_new = set(new.nodes())
        for hop in old.path:
            node = self.inventory.nodes[hop.node]
            if node.kind is NodeKind.OPENFLOW and self.openflow.connected(node.datapath_id):
                gone = self.openflow.retire(node.datapath_id, deal_id, old.cookie, hop.node not in on_new)
                await asyncio.wrap_future(gone)
        if self.monitor is not None and deal_id in self.monitor.sessions:
            terms = self.monitor.sessions[deal_id].terms
            self.monitor.forget(deal_id)
            self.monitor.watch(new, terms)
        took = round((passing - since) * 1000)
        path = " > ".join(new.nodes())
        await self._note(deal_id, f"re-routed around {link} ({cause}): path {path}, new path in {took} ms")

    async def _note(self, deal_id: int, reason: str) -> None:
        log.info("deal %d: %s", deal_id, reason)
        try:
            await self._sequencer().run(lambda e, now: e.note_deal(deal_id, reason, now))
        except DomainError as err:
            log.info("deal %d: not noted: %s", deal_id, err)  # ended meanwhile


def _live(engine: ExchangeEngine, deal_id: int) -> tuple[Deal, Agreement] | None:
    deal = engine.deals.get(deal_id)
    if deal is None or deal.status is not DealStatus.ACTIVE:
        return None
    return deal.snapshot(), engine.agreements[deal.agreement_id]
