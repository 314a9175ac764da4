"""The provisioner: takes each brokered deal through the network and back out.

    BROKERED -> PROVISIONING -> (nodes changed, data-plane probe passes) -> ACTIVE
             -> TERMINATING -> (every node's share removed) -> TERMINATED
    any failure while provisioning -> every node already changed is rolled back
             -> PROVISIONING_FAILED with the reason

Nodes are changed from the seller's end towards the buyer's, so the buyer's traffic is
only admitted (at its edge, last) once the whole path exists; removal goes the other way.
The intent is stored before any node is touched, so after a crash the exchange knows what
it may have left behind and removes or reconciles it.

Runs on the exchange's asyncio loop. Switch work goes through the OpenFlowDriver's
futures; router work (blocking NAPALM/netmiko) runs in worker threads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from marketplace.agreements import alternatives
from marketplace.deals import Agreement, Deal, DealStatus
from marketplace.delivered import Delivered
from marketplace.errors import DomainError
from marketplace.orders import Order
from marketplace.provisioner import FabricStatus, LinkStatus, NodeStatus
from marketplace.store.leadership import Fenced
from provisioning.fabric_state import FabricState
from provisioning.intent import (
    Hop,
    Intent,
    NotAdmitted,
    compile_intent,
    intent_from_json,
    intent_to_json,
)
from provisioning.inventory import Inventory, Node, NodeKind, link_mismatches
from provisioning.monitor import DealMonitor, MeasurementTerms
from provisioning.openflow import OpenFlowDriver, SwitchError, SwitchGone
from provisioning.planner import FabricPlanner
from provisioning.restoration import Restoration, install_order
from provisioning.routers import RouterDrivers, RouterError
from provisioning.swap import HotSwap
from provisioning.telemetry import TRAFFIC_POLL_S, ProvisioningMetrics
from provisioning.verifier import OfferVerifier

if TYPE_CHECKING:
    from marketplace.api.sequencer import Sequencer
    from marketplace.engine import ExchangeEngine

log = logging.getLogger(__name__)

SWITCH_TIMEOUT_S = 10.0  # one change set on one switch, to its barrier
CLEANUP_EVERY_S = 15.0  # retry removing what unreachable nodes still hold
LINK_CHECK_EVERY_S = 10.0
ROUTER_CHECK_EVERY_S = 30.0  # router sessions: logged in at start, checked this often


class ProvisioningFailed(Exception):
    """A step failed; the message is the deal's PROVISIONING_FAILED reason."""


@dataclass(slots=True)
class ProvisioningSettings:
    probe_timeout_s: float = 1.0  # one probe attempt, each direction
    probe_attempts: int = 3
    switch_wait_s: float = 10.0  # how long a deal waits for its switches to (re)connect
    traffic_poll_s: float = TRAFFIC_POLL_S  # how often deal traffic counters are read
    # Delivered quality: measurement terms by agreement reference (none: nothing measured).
    measurement_terms: dict[str, MeasurementTerms] = field(default_factory=dict)
    probe_interval_s: float = 1.0
    # Verification of offers before listing (with measurement terms only).
    verify_offers: bool = True
    verification_s: float = 30.0
    reverify_s: float = 86_400.0
    # After a swap moved the entry switch: how long the old path stays for frames in flight.
    drain_s: float = 0.05


class FabricProvisioner(Restoration, HotSwap):
    """Provisions deals on the fabric described by `inventory`."""

    def __init__(
        self,
        inventory: Inventory,
        openflow: OpenFlowDriver,
        routers: RouterDrivers,
        settings: ProvisioningSettings | None = None,
    ) -> None:
        self.inventory = inventory
        self.openflow = openflow
        self.routers = routers
        self.settings = settings or ProvisioningSettings()
        self.state = FabricState()
        self._down: frozenset[str] = frozenset()
        self._down_as_of = -1  # openflow.switch_changes when _down was worked out
        self.intents: dict[int, Intent] = {}  # deals holding (or being given) a path
        # What the matcher asks before it strikes a deal; it shares `state`.
        self.planner = FabricPlanner(inventory, self.state, self._unavailable, self.intents.get, self._avoided)
        terms = self.settings.measurement_terms
        self.monitor = DealMonitor(openflow, inventory, self.settings.probe_interval_s) if terms else None
        self.verifier = (
            OfferVerifier(
                self.monitor,
                inventory,
                terms,
                self._sequencer,
                self.settings.verification_s,
                self.settings.reverify_s,
            )
            if self.monitor is not None and self.settings.verify_offers
            else None
        )
        self.link_problems: list[str] = []
        self.metrics: ProvisioningMetrics | None = None
        self._seq: Sequencer | None = None
        self._work: dict[int, asyncio.Task[None]] = {}  # per deal: its latest step, chained
        self._background: list[asyncio.Task[None]] = []

    # ----- Provisioner interface (called by the sequencer after each commit) -----------

    async def start(self, sequencer: Sequencer) -> None:
        """Pick up where the last run stopped: hold what stored intents hold, re-want
        active deals' flows (reconciliation installs them as switches connect), finish
        what was in flight, and remove what ended while we were away."""
        self._seq = sequencer
        self._init_restoration(asyncio.get_running_loop())
        sequencer.engine.deliverability = self.planner
        sequencer.engine.verifying = self.verifier is not None
        self.metrics = ProvisioningMetrics(sequencer.metrics.registry)
        self.metrics.watch(self.intents, self.inventory, self.openflow, self.monitor)
        stored = await asyncio.to_thread(sequencer.store.intents)
        live: dict[int, Deal] = await sequencer.run(_live_deals)
        references: dict[int, str] = await sequencer.run(_agreement_references)
        for deal_id, text in sorted(stored.items()):
            intent = intent_from_json(text)
            self.intents[deal_id] = intent
            self.state.hold(intent)
            deal = live.get(deal_id)
            if deal is None:
                self._chain(deal_id, self._clean_up(intent))  # ended; its removal did not finish
            elif deal.status is DealStatus.ACTIVE:
                self._want(intent)
                self._measure(intent, references.get(deal.agreement_id, ""))
        if sequencer.store.generation:  # high availability: this process leads now
            self._take_mastership(sequencer.store.generation)
        self.openflow.wants_known()  # switches that connected meanwhile reconcile now
        for deal in live.values():
            if deal.status in (DealStatus.BROKERED, DealStatus.PROVISIONING):
                self._chain(deal.deal_id, self._provision(deal))
            elif deal.status is DealStatus.TERMINATING:
                self._chain(deal.deal_id, self._terminate(deal))
        self._background = [
            asyncio.create_task(self._clean_up_forever(), name="provisioning-cleanup"),
            asyncio.create_task(self._check_links_forever(), name="lldp-check"),
            asyncio.create_task(self._poll_traffic_forever(), name="traffic-poll"),
            asyncio.create_task(self._keep_routers_ready_forever(), name="router-sessions"),
        ]
        if self.monitor is not None:
            self.monitor.on_window = self._delivered
            self._background.append(asyncio.create_task(self.monitor.run_forever(), name="deal-measurement"))
        if self.verifier is not None:
            self._background.append(asyncio.create_task(self.verifier.run_forever(), name="offer-verification"))

    async def stop(self) -> None:
        for task in [*self._background, *self._work.values()]:
            task.cancel()
        await asyncio.gather(*self._background, *self._work.values(), return_exceptions=True)
        await asyncio.to_thread(self.routers.close)

    def standing_by(self, leader_generation: int) -> None:
        """A standby: its controller is every switch's slave, under the leader's generation
        (a slave request older than the newest the switch has seen is refused as stale)."""
        self.openflow.set_role("slave", leader_generation)

    def _take_mastership(self, generation: int) -> None:
        """The leader: MASTER of every switch with its lease's generation, asked before the
        reconciliation's first message (a switch handles a connection's messages in order).
        A switch that later names another master, or refuses this generation as stale,
        means a newer leader exists: this one stops, like a fenced commit."""
        loop = asyncio.get_running_loop()
        sequencer = self._sequencer()

        def superseded(why: str) -> None:
            log.critical("OpenFlow: %s", why)
            sequencer.fail(Fenced(generation, None))

        def on_switch_thread(_dpid: int, why: str) -> None:
            loop.call_soon_threadsafe(superseded, why)

        self.openflow.superseded_sink = on_switch_thread
        self.openflow.set_role("master", generation)

    def deal_brokered(self, deal: Deal) -> None:
        self._chain(deal.deal_id, self._provision(deal))

    def deal_ending(self, deal: Deal) -> None:
        self._chain(deal.deal_id, self._terminate(deal))

    def offer_unverified(self, order: Order) -> None:
        if self.verifier is not None:
            self.verifier.offer_unverified(order)

    async def idle(self) -> None:
        """Wait until no deal is being worked on (tests, benchmarks)."""
        while any(not t.done() for t in self._work.values()):
            await asyncio.gather(*self._work.values(), return_exceptions=True)

    # ----- the lifecycle ------------------------------------------------------------

    def _chain(self, deal_id: int, step: Coroutine[Any, Any, None]) -> None:
        """Steps for one deal run one after another; different deals run concurrently."""
        before = self._work.get(deal_id)

        async def run() -> None:
            if before is not None:
                await asyncio.gather(before, return_exceptions=True)
            try:
                await step
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("deal %d: provisioning step failed unexpectedly", deal_id)

        task = asyncio.create_task(run(), name=f"deal-{deal_id}")
        self._work[deal_id] = task
        task.add_done_callback(lambda t: self._work.pop(deal_id, None) if self._work.get(deal_id) is t else None)

    async def _provision(self, deal: Deal) -> None:
        if deal.replaces:  # a seller swap: the buyer's service moves, make-before-break
            await self._swap(deal)
            return
        started = time.monotonic()
        seq = self._sequencer()
        deal_id = deal.deal_id
        try:
            agreements, no_room = await seq.run(lambda e, now: _begin(e, deal_id, now))
        except DomainError:
            return  # terminated before we got to it
        self.planner.release(deal_id)  # what the match reserved: compiled for real below
        old = self.intents.pop(deal_id, None)
        if old is not None:  # a restart interrupted it: start over from nothing
            await self._remove(old, list(old.hops()))
            self.state.release(old)
        done: list[Hop] = []
        intent: Intent | None = None
        try:
            intent, agreement = self._compile_any(deal, agreements, no_room)
            if agreement is not agreements[0]:
                chosen = agreement.agreement_id
                await seq.run(lambda e, now: e.rebind_agreement(deal_id, chosen, now))
            self.intents[deal_id] = intent
            self.state.hold(intent)
            await asyncio.to_thread(seq.store.save_intent, deal_id, intent_to_json(intent), seq.now())
            deadline = time.monotonic() + self.settings.switch_wait_s
            await self._wait_for_switches(intent, deadline)
            for hop in install_order(intent):
                switch = self.inventory.nodes[hop.node].kind is NodeKind.OPENFLOW
                if switch:  # a refused change set may be half applied: it is removed too
                    done.append(hop)
                await self._apply(intent, hop, deadline)
                if not switch:  # a failed router commit was rolled back by its driver
                    done.append(hop)
            probe_ms = await self._probe(intent)
        except (ProvisioningFailed, NotAdmitted, SwitchError, RouterError) as err:
            reason = str(err)
            if intent is not None:
                leftovers = await self._remove(intent, list(reversed(done)))
                self._forget(intent)
                if leftovers:
                    reason += f"; {leftovers}"
                else:
                    await asyncio.to_thread(seq.store.delete_intent, deal_id)
            if self.metrics:
                self.metrics.failed.inc()
            log.warning("deal %d: provisioning failed: %s", deal_id, reason)
            await self._void(deal_id, reason)
            return
        summary = f"{describe(intent)}; probe {probe_ms:.1f} ms"
        if await self._set(deal_id, DealStatus.ACTIVE, summary):
            self.planner.took(time.monotonic() - started)
            self._measure(intent, agreement.reference)
            if self.metrics:
                self.metrics.to_active.observe(time.monotonic() - started)
            log.info("deal %d active: %s", deal_id, summary)
        # Not set: the deal is TERMINATING meanwhile; its termination step follows this one.

    async def _terminate(self, deal: Deal) -> None:
        """Remove the deal from its path, buyer's edge first; the final reason keeps why it
        ended (`deal` is as it became TERMINATING)."""
        intent = self.intents.get(deal.deal_id)
        done = "nothing was configured"
        if intent is not None:
            leftovers = await self._remove(intent, list(intent.hops()))
            self._forget(intent)
            done = leftovers or f"removed from {', '.join(intent.nodes())}"
            if not leftovers:
                await asyncio.to_thread(self._sequencer().store.delete_intent, deal.deal_id)
        await self._set(deal.deal_id, DealStatus.TERMINATED, f"{deal.status_reason}; {done}")

    async def _clean_up(self, intent: Intent) -> None:
        """A deal that ended while part of it may still be in the network."""
        leftovers = await self._remove(intent, list(intent.hops()))
        if not leftovers:
            self._forget(intent)
            await asyncio.to_thread(self._sequencer().store.delete_intent, intent.deal_id)

    async def _clean_up_forever(self) -> None:
        while True:
            await asyncio.sleep(CLEANUP_EVERY_S)
            idle = [deal_id for deal_id in self.intents if deal_id not in self._work]
            if not idle:
                continue  # the common case: no sequencer command at all
            ended = await self._sequencer().run(partial(_ended, deal_ids=idle))
            for deal_id in ended:
                intent = self.intents.get(deal_id)
                if intent is not None and deal_id not in self._work:
                    self._chain(deal_id, self._clean_up(intent))

    # ----- steps ----------------------------------------------------------------------

    def _compile_any(self, deal: Deal, agreements: list[Agreement], no_room: list[str]) -> tuple[Intent, Agreement]:
        """The intent under the first agreement that can carry the deal in the network (a
        free VLAN at both hand-offs, a path with room); NotAdmitted saying what ruled out
        each one when none can."""
        down = self._unavailable()
        reasons = []
        for agreement in agreements:
            try:
                intent = compile_intent(deal, agreement, self.inventory, self.state, down, self._avoided())
                return intent, agreement
            except NotAdmitted as err:
                if len(agreements) == 1 and not no_room:
                    raise  # the parties have one agreement: its reason is the reason
                reasons.append(f"agreement {agreement.reference}: {err}")
        raise NotAdmitted(
            f"no agreement between {deal.buyer} and {deal.seller} can carry it: {'; '.join([*reasons, *no_room])}"
        )

    def _unavailable(self) -> frozenset[str]:
        """Switches not connected now: paths go around them where the fabric allows. (The
        matcher asks for every deal: worked out again only when a switch came or went.)"""
        changes = self.openflow.switch_changes
        if changes != self._down_as_of:
            connected = self.openflow.connected_switches()
            switches = (n for n in self.inventory.nodes.values() if n.kind is NodeKind.OPENFLOW)
            self._down = frozenset(n.name for n in switches if n.datapath_id not in connected)
            self._down_as_of = changes
        return self._down

    async def _wait_for_switches(self, intent: Intent, deadline: float) -> None:
        for hop in intent.hops():
            node = self.inventory.nodes[hop.node]
            if node.kind is NodeKind.OPENFLOW:
                await self._wait_for(node, deadline)

    async def _wait_for(self, node: Node, deadline: float) -> None:
        """Until the switch is connected and reconciled, or IXCHANGE_SWITCH_WAIT_S is up."""
        while not self._ready(node):
            if time.monotonic() > deadline:
                wait = self.settings.switch_wait_s
                raise ProvisioningFailed(
                    f"switch {node.name} ({node.datapath_id:#x}) is not connected (waited {wait:g} s)"
                )
            await asyncio.sleep(0.05)

    def _ready(self, node: Node) -> bool:
        event = self.openflow.reconciled.get(node.datapath_id)
        return self.openflow.connected(node.datapath_id) and event is not None and event.is_set()

    async def _apply(self, intent: Intent, hop: Hop, deadline: float) -> None:
        node = self.inventory.nodes[hop.node]
        if node.kind is NodeKind.OPENFLOW:
            flows = [f for f in intent.flows if f.node == hop.node]
            setup = intent.setup_on(hop.node)
            try:
                await self._switch(node, self.openflow.install(node.datapath_id, intent.deal_id, flows, setup))
            except SwitchGone as err:
                # Not refused: the connection went. The driver holds the deal as wanted on
                # that switch, so the reconciliation when it comes back installs it; the
                # probe afterwards shows whether it did.
                log.info("deal %d: %s; waiting for it to reconnect", intent.deal_id, err)
                await self._wait_for(node, deadline)
        else:
            service = next(s for s in intent.router_services if s.node == hop.node)
            await asyncio.to_thread(self.routers.apply, node, service)

    async def _switch(self, node: Node, change: Any) -> None:
        try:
            await asyncio.wait_for(asyncio.wrap_future(change), SWITCH_TIMEOUT_S)
        except TimeoutError:
            raise SwitchError(f"switch {node.name} did not confirm within {SWITCH_TIMEOUT_S:.0f} s") from None
        except SwitchError as err:
            raise type(err)(f"switch {node.name}: {err}") from None  # SwitchGone stays SwitchGone

    async def _remove(self, intent: Intent, hops: list[Hop]) -> str:
        """Take the deal off `hops` (in that order). Returns "" when all of it is gone, else
        what is left and when it goes. A switch that cannot be reached now loses the
        deal's flows when it reconnects (reconciliation)."""
        left = []
        for hop in hops:
            node = self.inventory.nodes[hop.node]
            try:
                if node.kind is NodeKind.OPENFLOW:
                    await self._switch(node, self.openflow.remove(node.datapath_id, intent.deal_id))
                else:
                    service = next(s for s in intent.router_services if s.node == hop.node)
                    await asyncio.to_thread(self.routers.remove, node, service)
            except SwitchError as err:
                log.warning("deal %d: %s; its flows go when it reconnects", intent.deal_id, err)
            except RouterError as err:
                left.append(f"{hop.node} still holds it ({err}); removal is retried")
        return "; ".join(left)

    def _want(self, intent: Intent) -> None:
        """Make the OpenFlow driver want an active deal's flows again (after a restart);
        switches get them when they connect and reconcile."""
        for node in {f.node for f in intent.flows}:
            dpid = self.inventory.nodes[node].datapath_id
            flows = [f for f in intent.flows if f.node == node]
            self.openflow.want(dpid, intent.deal_id, flows, intent.setup_on(node))

    def _forget(self, intent: Intent) -> None:
        if self.monitor is not None:
            self.monitor.forget(intent.deal_id)
        if self.intents.get(intent.deal_id) is intent:
            del self.intents[intent.deal_id]
            self.state.release(intent)

    def _measure(self, intent: Intent, agreement_reference: str) -> None:
        """Start measuring a live deal's delivered quality, when its agreement has terms for it."""
        terms = self.settings.measurement_terms.get(agreement_reference)
        if self.monitor is not None and terms is not None and not self.monitor.watch(intent, terms):
            log.info("deal %d: not measured (its buyer's hand-off is not on a switch)", intent.deal_id)

    async def _probe(self, intent: Intent, before_entry: bool = False) -> float:
        """Send a probe from the buyer's side to the seller's and one back, through the
        deal's own flows, between the first and last switch of the path. Returns the
        round trip in ms. Router-type nodes were checked by their driver (interfaces up).
        `before_entry`: the entry switch does not have the deal yet (a swap, before the
        move): towards the seller from the next switch, back to the entry switch's port."""
        switches = [i for i, hop in enumerate(intent.path) if self.inventory.nodes[hop.node].kind is NodeKind.OPENFLOW]
        if not switches or (before_entry and len(switches) == 1):
            return 0.0
        first, last = switches[0], switches[-1]
        start = switches[1] if before_entry else first
        started = time.monotonic()
        towards_seller = (self._point(intent, start, "buyer"), self._point(intent, last, "buyer"))
        towards_buyer = (self._point(intent, last, "seller"), self._point(intent, first, "seller"))
        for (send_node, send_port, send_vlan), (trap_node, trap_port, trap_vlan) in (towards_seller, towards_buyer):
            trap = self.inventory.nodes[trap_node]
            sender = self.inventory.nodes[send_node]
            trap_added = self.openflow.add_probe_trap(trap.datapath_id, intent.deal_id, trap_port, trap_vlan)
            await self._switch(trap, trap_added)
            try:
                for attempt in range(1, self.settings.probe_attempts + 1):
                    echo = self.openflow.send_probe(sender.datapath_id, send_port, send_vlan)
                    try:
                        await asyncio.wait_for(asyncio.wrap_future(echo), self.settings.probe_timeout_s)
                        break
                    except TimeoutError:
                        echo.cancel()
                        if attempt == self.settings.probe_attempts:
                            raise ProvisioningFailed(
                                f"data-plane probe from {send_node} did not reach {trap_node} "
                                f"({self.settings.probe_attempts} tries)"
                            ) from None
            finally:
                removal = self.openflow.remove_probe_trap(trap.datapath_id, intent.deal_id, trap_port, trap_vlan)
                removal.add_done_callback(_ignore)
        return (time.monotonic() - started) * 1000

    def _point(self, intent: Intent, index: int, side: str) -> tuple[str, int, int]:
        """Where traffic from `side` enters path[index]: node, OpenFlow port, VLAN."""
        hop = intent.path[index]
        node = self.inventory.nodes[hop.node]
        buyer_side, seller_side = intent.side_vlans(index)
        if side == "buyer":
            port, vlan = hop.buyer_side_port, buyer_side
        else:
            port, vlan = hop.seller_side_port, seller_side
        found = node.port(port)
        assert found is not None
        return hop.node, found.number, vlan

    async def _void(self, deal_id: int, reason: str) -> None:
        """The deal could not be delivered: PROVISIONING_FAILED, void, its circuits back to
        its orders (the request may trade again at once: those deals come back brokered)."""
        try:
            await self._sequencer().run(lambda e, now: e.void_deal(deal_id, reason, now))
        except DomainError as err:
            log.info("deal %d: not void: %s", deal_id, err)  # terminated meanwhile

    def _delivered(self, deal_id: int, window: Delivered) -> None:
        """A measured window of a deal: to the engine, which reclassifies (in order with
        every other command; the measurement loop does not wait for the commit)."""
        done = asyncio.ensure_future(self._record(deal_id, window))
        done.add_done_callback(_ignore)

    async def _record(self, deal_id: int, window: Delivered) -> None:
        try:
            await self._sequencer().run(lambda e, now: e.record_delivered(deal_id, window, now))
        except DomainError as err:
            log.debug("deal %d: window not recorded: %s", deal_id, err)  # ended meanwhile

    async def _set(self, deal_id: int, status: DealStatus, reason: str) -> bool:
        try:
            await self._sequencer().run(lambda e, now: e.set_deal_status(deal_id, status, reason, now))
        except DomainError as err:
            log.info("deal %d: not %s: %s", deal_id, status.name, err)
            return False
        return True

    def _sequencer(self) -> Sequencer:
        assert self._seq is not None, "start() first"
        return self._seq

    def fabric_status(self) -> FabricStatus:
        connected = self.openflow.connected_switches()
        sessions = self.routers.open_sessions()
        nodes = []
        for node in self.inventory.nodes.values():
            if node.kind is NodeKind.OPENFLOW:
                up, address = node.datapath_id in connected, f"dpid {node.datapath_id:#x}"
            else:
                up, address = node.name in sessions, f"{node.driver} at {node.host}"
            since = self.openflow.switch_changed_us.get(node.datapath_id, 0) if node.kind is NodeKind.OPENFLOW else 0
            nodes.append(NodeStatus(node.name, node.kind.value, up, address, since))
        seen = {frozenset({(a, b), (c, d)}) for a, b, c, d in self.openflow.links_seen}
        links = []
        for link in self.inventory.links:
            a, z = self.inventory.nodes[link.a_node], self.inventory.nodes[link.z_node]
            a_port, z_port = a.port(link.a_port), z.port(link.z_port)
            assert a_port is not None and z_port is not None
            ends = frozenset({(a.datapath_id, a_port.number), (z.datapath_id, z_port.number)})
            on_it = [i for i in self.intents.values() if link.key in i.links]
            links.append(
                LinkStatus(
                    link.key,
                    link.capacity_kbps,
                    self.state.link_load(link.key),
                    len(on_it),
                    ends in seen,
                    link.untagged,
                    self.openflow.link_changed_us.get(ends, 0),
                )
            )
        as_of = time.time_ns() // 1000
        return FabricStatus(tuple(nodes), tuple(links), tuple(self.link_problems), len(self.intents), as_of)

    async def _keep_routers_ready_forever(self) -> None:
        """Sessions to router-type nodes opened at start and checked every so often, so the
        first deal through a router does not pay for the login."""
        routers = [n for n in self.inventory.nodes.values() if n.kind is NodeKind.ROUTER]
        while routers:
            await asyncio.to_thread(self.routers.keep_ready, routers)
            await asyncio.sleep(ROUTER_CHECK_EVERY_S)

    async def _poll_traffic_forever(self) -> None:
        while True:
            self.openflow.poll_traffic()
            await asyncio.sleep(self.settings.traffic_poll_s)

    # ----- LLDP cross-check -----------------------------------------------------------

    async def _check_links_forever(self) -> None:
        while True:
            await asyncio.sleep(LINK_CHECK_EVERY_S)
            self.check_links()

    def check_links(self) -> list[str]:
        seen = set(self.openflow.links_seen)
        problems = link_mismatches(self.inventory, seen, self.openflow.connected_switches())
        for problem in set(problems) - set(self.link_problems):
            log.warning("topology check: %s", problem)
        self.link_problems = problems
        if self.metrics:
            self.metrics.mismatches.set(len(problems))
            self.metrics.links_seen.set(len({frozenset({(a, b), (c, d)}) for a, b, c, d in seen}))
        return problems


def describe(intent: Intent) -> str:
    """The deal's path in words, for its ACTIVE status reason."""
    path = " > ".join(intent.nodes())
    vlans = f"VLAN {intent.buyer_vlan or 'untagged'} at the buyer, {intent.seller_vlan or 'untagged'} at the seller"
    fabric = f", fabric VLAN {intent.fabric_vlan}" if intent.fabric_vlan else ""
    return f"path {path}; {vlans}{fabric}; {intent.rate_kbps} kbit/s"


def _begin(engine: ExchangeEngine, deal_id: int, now: int) -> tuple[list[Agreement], list[str]]:
    """The deal is PROVISIONING; the agreements that may carry it, its own first, then the
    parties' others with room for its rate; and why each other one has none."""
    deal = engine.deals.get(deal_id)
    if deal is None or deal.status is not DealStatus.PROVISIONING:  # PROVISIONING: resumed after a restart
        deal = engine.set_deal_status(deal_id, DealStatus.PROVISIONING, "finding a path", now)
    own = engine.agreements[deal.agreement_id]
    others, no_room = alternatives(deal, engine.agreements_of(deal.buyer, deal.seller), engine.agreement_use())
    return [own, *others], no_room


def _ended(engine: ExchangeEngine, _now: int, deal_ids: list[int]) -> list[int]:
    """Which of these deals are no longer live (final)."""
    return [d for d in deal_ids if d not in engine.deals]


def _live_deals(engine: ExchangeEngine, _now: int) -> dict[int, Deal]:
    return {d.deal_id: d.snapshot() for d in engine.deals.values()}


def _agreement_references(engine: ExchangeEngine, _now: int) -> dict[int, str]:
    return {a.agreement_id: a.reference for a in engine.agreements.values()}


def _ignore(future: Any) -> None:
    if not future.cancelled():
        future.exception()  # read it, so it is not reported as never retrieved
