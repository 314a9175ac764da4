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
import dataclasses
import logging
import time
from typing import TYPE_CHECKING, Any

from marketplace import limits
from marketplace.deals import Agreement, Deal, DealStatus
from marketplace.errors import DomainError, FailedPrecondition, InvalidArgument
from provisioning.intent import Hop, Intent, NotAdmitted, compile_intent, intent_to_json
from provisioning.inventory import NodeKind
from provisioning.protection import with_backup

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

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
        self._unprotected: set[int] = set()  # protected deals running without a backup for now
        self._passing = 0.0  # when the last move's new path was in place
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
            if up and link.key in self.down_links:
                self.down_links.discard(link.key)
                self._link_up(link.key)
            elif not up and link.key not in self.down_links:
                self.down_links.add(link.key)
                log.warning("link %s is down (%s port %s)", link.key, node.name, port.name)
                self._link_down(link.key)

    def _link_down(self, link: str) -> None:
        now = time.monotonic()
        for deal_id, intent in list(self.intents.items()):
            if link not in intent.all_links():
                continue
            if _failed_over(intent, link, self._avoided()):  # the switches moved it themselves
                backup = " > ".join(h.node for h in intent.backup_path)
                self._chain(
                    deal_id, self._note(deal_id, f"link {link} is down: on its backup path {backup} (fast failover)")
                )
            else:  # re-routed (a protected deal keeps, or gets back, a backup where the fabric allows)
                self._chain(deal_id, self._reroute(deal_id, link, now))

    def _link_up(self, link: str) -> None:
        for deal_id, intent in list(self.intents.items()):
            if link in intent.links and intent.backup_links:
                self._chain(deal_id, self._note(deal_id, f"link {link} is up again: back on its primary path"))
            elif link in intent.links:  # it found no way round: traffic passes again
                self._chain(deal_id, self._note(deal_id, f"link {link} is up again: traffic passes"))
            elif deal_id in self._unprotected:  # a protected deal that lost its backup: protect it again
                self._chain(deal_id, self._reroute(deal_id, None, time.monotonic(), f"link {link} is up"))

    def _avoided(self) -> frozenset[str]:
        """Links paths stay off: down, or drained for maintenance."""
        return frozenset(self.down_links | self.drained_links)

    async def drain_link(self, link: str, drained: bool) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
        """An operator drains a fabric link, or every link of a switch (`link` names the
        switch), for maintenance: every deal on them is moved off, make-before-break, and
        new deals avoid them; or undrains them. Returns (deal, new path) for the deals
        moved and (deal, why) for those with no other path (a deal handed off at a drained
        switch has none)."""
        keys = [k.key for k in self.inventory.links if link in (k.key, k.a_node, k.z_node)]
        if not keys:
            raise InvalidArgument("link", f"no fabric link or switch {limits.shown(link)} (see `ixchange fabric`)")
        if not drained:
            self.drained_links.difference_update(keys)
            return [], []
        self.drained_links.update(keys)
        on_them = {
            deal_id: on for deal_id, intent in self.intents.items() if (on := set(keys) & set(intent.all_links()))
        }
        for deal_id, on in on_them.items():
            self._chain(deal_id, self._reroute(deal_id, min(on), time.monotonic(), "drained"))
        await asyncio.gather(*(self._work[d] for d in on_them if d in self._work), return_exceptions=True)
        moved, stuck = [], []
        for deal_id in on_them:
            intent = self.intents.get(deal_id)
            if intent is None:
                continue  # ended meanwhile
            if set(keys) & set(intent.all_links()):
                stuck.append((deal_id, self._stuck.get(deal_id, "not moved")))
            else:
                moved.append((deal_id, " > ".join(intent.nodes())))
        return moved, stuck

    async def _reroute(self, deal_id: int, link: str | None, since: float, cause: str = "down") -> None:
        """Move a live deal off `link` (down or drained), or (link None) give a protected
        deal that runs without a backup a new one."""
        old = self.intents.get(deal_id)
        if old is None:
            return  # ended
        if link is not None and (link not in old.all_links() or link not in self._avoided()):
            return  # already moved, or the link came back meanwhile
        if link is None and (old.backup_links or deal_id not in self._unprotected):
            return
        found: tuple[Deal, Agreement] | None = await self._sequencer().run(lambda e, _now: _live(e, deal_id))
        if found is None:
            return
        deal, agreement = found
        what = f"link {link} is {cause}" if link else cause
        if old.router_services:
            self._stuck[deal_id] = "a path through a router-type node is not re-routed yet"
            await self._note(deal_id, f"{what}; {self._stuck[deal_id]}")
            return
        moved = await self._move(deal, agreement, old, deal.protection_price > 0, drain=cause == "drained")
        if isinstance(moved, str):
            self._stuck[deal_id] = f"there is no other path: {moved}"
            await self._note(deal_id, f"{what} and {self._stuck[deal_id]}")
            return
        new, unprotected = moved
        self._stuck.pop(deal_id, None)
        took = round((self._passing - since) * 1000)
        path = " > ".join(new.nodes())
        done = f"re-routed around {link} ({cause})" if link else f"{cause}: protected again"
        backup = " > ".join(h.node for h in new.backup_path)
        protection = f", backup {backup}" if backup else (f"; unprotected: {unprotected}" if unprotected else "")
        await self._note(deal_id, f"{done}: path {path}{protection}, new path in {took} ms")

    async def protect_deal(self, deal_id: int, protected: bool) -> str:
        """The buyer asked: its live deal gets a link-disjoint backup path with fast
        failover (or gives it up), moved make-before-break. Returns the paths in words;
        FailedPrecondition naming why it cannot."""

        async def protect() -> str:
            old, (deal, agreement) = await self._live_path(deal_id)
            if bool(old.backup_links) == protected:
                return _paths(old)
            moved = await self._move(deal, agreement, old, protected, drain=True, required=True)
            if isinstance(moved, str):
                raise FailedPrecondition("deal_id", f"deal {deal_id} cannot be protected: {moved}")
            return _paths(moved[0])

        return await self._in_turn(deal_id, protect)

    async def change_rate(self, deal_id: int, rate_kbps: int) -> str:
        """Both parties agreed a new committed rate: admitted on every port and link of the
        path (moved where it no longer fits), meters modified in place, make-before-break.
        Returns the path in words; FailedPrecondition naming why the network cannot."""

        async def rerate() -> str:
            old, (deal, agreement) = await self._live_path(deal_id)
            if old.router_services:
                raise FailedPrecondition("capacity_kbps", "a path through a router-type node is not changed yet")
            resized = dataclasses.replace(deal, capacity_kbps=rate_kbps // deal.circuits)
            protect = bool(old.backup_links)
            moved = await self._move(resized, agreement, old, protect, drain=True, required=protect)
            if isinstance(moved, str):
                raise FailedPrecondition("capacity_kbps", f"the network cannot carry {rate_kbps} kbit/s: {moved}")
            return _paths(moved[0])

        return await self._in_turn(deal_id, rerate)

    async def _in_turn(self, deal_id: int, work: Callable[[], Awaitable[str]]) -> str:
        """Run `work` in the deal's turn (after its other steps) and hand its answer back."""
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def step() -> None:
            try:
                answer.set_result(await work())
            except Exception as err:  # to the caller, whatever it is
                answer.set_exception(err)

        self._chain(deal_id, step())
        return await answer

    async def _live_path(self, deal_id: int) -> tuple[Intent, tuple[Deal, Agreement]]:
        old = self.intents.get(deal_id)
        found = await self._sequencer().run(lambda e, _now: _live(e, deal_id))
        if old is None or found is None:
            raise FailedPrecondition("deal_id", f"deal {deal_id} is not live in the network")
        return old, found

    async def _move(
        self, deal: Deal, agreement: Agreement, old: Intent, protect: bool, drain: bool, required: bool = False
    ) -> tuple[Intent, str] | str:
        """The deal's next path generation (with a backup when `protect`), installed
        make-before-break, the old generation retired. Returns the new intent and why it
        is not protected as asked (""), or why no new path was made. `required`: no
        backup, no move."""
        deal_id = deal.deal_id
        self.state.release(old)
        unprotected = ""
        try:
            new = compile_intent(deal, agreement, self.inventory, self.state, self._unavailable(), self._avoided(), old)
            if protect:
                try:
                    new = with_backup(new, deal, self.inventory, self.state, self._unavailable(), self._avoided())
                except NotAdmitted as err:
                    if required:
                        raise
                    unprotected = str(err)
        except NotAdmitted as err:
            self.state.hold(old)
            return str(err)
        if unprotected:
            self._unprotected.add(deal_id)
        else:
            self._unprotected.discard(deal_id)
        seq = self._sequencer()
        self.state.hold(new)
        self.intents[deal_id] = new
        await asyncio.to_thread(seq.store.save_intent, deal_id, intent_to_json(new), seq.now())
        deadline = time.monotonic() + self.settings.switch_wait_s
        for hop in install_order(new):  # the buyer's entry switch last
            await self._apply(new, hop, deadline)
        self._passing = time.monotonic()
        if drain:  # planned: frames in flight on the old path arrive first
            await asyncio.sleep(self.settings.drain_s)
        on_new = {h.node for h in new.hops()}
        for hop in old.hops():
            node = self.inventory.nodes[hop.node]
            if node.kind is NodeKind.OPENFLOW and self.openflow.connected(node.datapath_id):
                gone = self.openflow.retire(node.datapath_id, deal_id, old.cookie, hop.node not in on_new)
                await asyncio.wrap_future(gone)
        if self.monitor is not None and deal_id in self.monitor.sessions:
            terms = self.monitor.sessions[deal_id].terms
            self.monitor.forget(deal_id)
            self.monitor.watch(new, terms)
        return new, unprotected

    async def _note(self, deal_id: int, reason: str) -> None:
        log.info("deal %d: %s", deal_id, reason)
        try:
            await self._sequencer().run(lambda e, now: e.note_deal(deal_id, reason, now))
        except DomainError as err:
            log.info("deal %d: not noted: %s", deal_id, err)  # ended meanwhile


def install_order(intent: Intent) -> list[Hop]:
    """Make-before-break: the backup's own nodes, then the path from the seller's end back
    to the buyer's entry switch, whose flow for the buyer's traffic is replaced in place."""
    on_path = set(intent.nodes())
    return [*(h for h in intent.backup_path if h.node not in on_path), *reversed(intent.path)]


def _failed_over(intent: Intent, link: str, avoided: frozenset[str]) -> bool:
    """The deal's end switches see this failure (a primary link at either end) and its
    backup is intact: their fast-failover groups carry the traffic on."""
    ends = {intent.links[0], intent.links[-1]} if intent.links else set()
    return bool(intent.backup_links) and link in ends and not set(intent.backup_links) & avoided


def _paths(intent: Intent) -> str:
    path = " > ".join(intent.nodes())
    backup = " > ".join(h.node for h in intent.backup_path)
    return f"path {path}, backup {backup}" if backup else f"path {path}, unprotected"


def _live(engine: ExchangeEngine, deal_id: int) -> tuple[Deal, Agreement] | None:
    deal = engine.deals.get(deal_id)
    if deal is None or deal.status is not DealStatus.ACTIVE:
        return None
    return deal.snapshot(), engine.agreements[deal.agreement_id]
