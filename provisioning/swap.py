"""Seller swaps in the network (issue 13, claim 64): the engine struck a deal that takes a
live deal's service over from another seller (marketplace.swap); this moves the traffic
make-before-break, keeping the buyer's hand-off (port and VLAN):

  1. the new deal's path compiled with the buyer's hand-off of the old one (its capacity
     and VLAN pass to the new deal; the rest of the old path stays held until removed);
  2. every node but the buyer's entry switch, from the seller's end back: meters first
     (they cannot go in a bundle), each switch's flows in one atomic, ordered bundle;
     router-type nodes through their NAPALM lifecycle;
  3. the data-plane probe on the new path (towards the seller from the next switch, and
     back to the entry switch's port), with the buyer's traffic still on the old path;
  4. the entry switch in one bundle: its flow for the buyer's port and VLAN is replaced in
     place, so the buyer's next frame takes the new path (the move);
  5. a drain interval (IXCHANGE_SWAP_DRAIN_MS) for frames in flight on the old path, then
     the old deal's flows removed by its cookie (the entry flow now carries the new
     deal's), its meters and router services;
  6. the new deal ACTIVE, the old one TERMINATED "swapped to deal N".

A failure before the move removes what the new deal installed and leaves the old deal as it
was (its reason says why). A buyer's hand-off on a router-type node is not swapped yet.
Also here: a seller's hand-off port going down asks the engine for a swap. A mixin of
FabricProvisioner."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from marketplace.agreements import alternatives
from marketplace.deals import Agreement, Deal, DealStatus
from marketplace.errors import DomainError
from provisioning.intent import Hop, Intent, NotAdmitted, compile_intent, intent_to_json
from provisioning.inventory import NodeKind
from provisioning.protection import with_backup
from provisioning.restoration import install_order

if TYPE_CHECKING:
    from marketplace.api.sequencer import Sequencer
    from marketplace.engine import ExchangeEngine
    from provisioning.fabric_state import FabricState
    from provisioning.inventory import Inventory
    from provisioning.monitor import DealMonitor
    from provisioning.planner import FabricPlanner
    from provisioning.service import ProvisioningSettings

log = logging.getLogger(__name__)


class HotSwap:
    if TYPE_CHECKING:  # what it uses of FabricProvisioner
        inventory: Inventory
        state: FabricState
        planner: FabricPlanner
        intents: dict[int, Intent]
        monitor: DealMonitor | None
        settings: ProvisioningSettings

        def _sequencer(self) -> Sequencer: ...
        def _chain(self, deal_id: int, step: Any) -> None: ...
        def _unavailable(self) -> frozenset[str]: ...
        def _avoided(self) -> frozenset[str]: ...
        def _forget(self, intent: Intent) -> None: ...
        def _measure(self, intent: Intent, agreement_reference: str) -> None: ...
        async def _apply(self, intent: Intent, hop: Hop, deadline: float) -> None: ...
        async def _wait_for_switches(self, intent: Intent, deadline: float) -> None: ...
        async def _probe(self, intent: Intent, before_entry: bool = False) -> float: ...
        async def _remove(self, intent: Intent, hops: list[Hop]) -> str: ...

    async def _swap(self, deal: Deal) -> None:
        seq = self._sequencer()
        new_id, old_id = deal.deal_id, deal.replaces
        try:
            agreements = await seq.run(lambda e, now: _begin_swap(e, new_id, now))
        except DomainError:
            return  # ended before we got to it
        self.planner.release(new_id)  # what the match reserved: compiled for real below
        stale = self.intents.pop(new_id, None)
        if stale is not None:  # a restart interrupted it: the switches were reconciled to the old path
            self.state.release(stale)
        old = self.intents.get(old_id)
        if old is None:
            await self._swap_failed(new_id, f"deal {old_id} has no path in the network to move from")
            return
        entry = old.path[0]
        if self.inventory.nodes[entry.node].kind is not NodeKind.OPENFLOW:
            why = f"the buyer's hand-off is on router-type node {entry.node}: not swapped yet"
            await self._swap_failed(new_id, why)
            return
        rest = self.state.beyond_buyer_end(old)  # the old path, less the hand-off the new deal takes
        self.state.release(old)
        self.state.take(rest)
        try:
            new, agreement = self._compile_swap(deal, agreements, (entry.node, entry.buyer_side_port, old.buyer_vlan))
        except NotAdmitted as err:
            self.state.give_back(rest)
            self.state.hold(old)
            await self._swap_failed(new_id, str(err))
            return
        if agreement.agreement_id != deal.agreement_id:
            chosen = agreement.agreement_id
            await seq.run(lambda e, now: e.rebind_agreement(new_id, chosen, now))
        self.state.hold(new)
        self.intents[new_id] = new
        await asyncio.to_thread(seq.store.save_intent, new_id, intent_to_json(new), seq.now())
        done: list[Hop] = []
        deadline = time.monotonic() + self.settings.switch_wait_s
        try:
            await self._wait_for_switches(new, deadline)
            for hop in install_order(new):  # the entry switch last: the move
                if hop is new.path[0]:
                    probe_ms = await self._probe(new, before_entry=True)
                done.append(hop)
                await self._apply(new, hop, deadline)
        except Exception as err:  # a refused switch, a router, a failed probe: the old path stays
            await self._remove(new, list(reversed(done)))
            self._forget(new)
            self.state.give_back(rest)
            self.state.hold(old)
            await asyncio.to_thread(seq.store.delete_intent, new_id)
            await self._swap_failed(new_id, str(err) or type(err).__name__)
            return
        await asyncio.sleep(self.settings.drain_s)  # frames in flight on the old path
        left = await self._remove(old, list(old.hops()))
        self.state.give_back(rest)
        if self.monitor is not None:
            self.monitor.forget(old_id)
        if self.intents.get(old_id) is old:
            del self.intents[old_id]
        if not left:
            await asyncio.to_thread(seq.store.delete_intent, old_id)
        took_ms = (seq.now() - deal.created_at) / 1000
        path = " > ".join(new.nodes()) + (
            f", backup {' > '.join(h.node for h in new.backup_path)}" if new.backup_path else ""
        )
        summary = (
            f"path {path}; VLAN {new.buyer_vlan} at the buyer (kept), {new.seller_vlan or 'untagged'} at the seller; "
            f"{new.rate_kbps} kbit/s; took over deal {old_id} in {took_ms:.0f} ms (decision to old path removed); "
            f"probe {probe_ms:.1f} ms"
        )
        try:
            await seq.run(lambda e, now: e.finish_swap(new_id, summary, now))
        except DomainError as err:
            log.info("deal %d: swap not finished: %s", new_id, err)  # terminated meanwhile: its removal follows
            return
        self._measure(new, agreement.reference)
        log.info("deal %d took over deal %d: %s", new_id, old_id, summary)

    def _compile_swap(
        self, deal: Deal, agreements: list[Agreement], buyer_end: tuple[str, str, int]
    ) -> tuple[Intent, Agreement]:
        avoid = self._avoided()
        reasons = []
        for agreement in agreements:
            try:
                intent = compile_intent(
                    deal, agreement, self.inventory, self.state, self._unavailable(), avoid, buyer_end=buyer_end
                )
            except NotAdmitted as err:
                reasons.append(str(err))
                continue
            if deal.protection_price:  # the deal it replaces was protected: so is this one, where it can be
                with contextlib.suppress(NotAdmitted):
                    intent = with_backup(intent, deal, self.inventory, self.state, self._unavailable(), avoid)
            return intent, agreement
        raise NotAdmitted(f"the new seller's path cannot be built: {'; '.join(reasons)}")

    async def _swap_failed(self, deal_id: int, reason: str) -> None:
        log.warning("deal %d: swap failed: %s", deal_id, reason)
        try:
            await self._sequencer().run(lambda e, now: e.fail_swap(deal_id, reason, now))
        except DomainError as err:
            log.info("deal %d: %s", deal_id, err)

    def _attachment_down(self, node: str, port: str) -> None:
        """A seller's hand-off port went down: each live deal handed off there moves to
        another seller where one can take it over."""
        for deal_id, intent in list(self.intents.items()):
            last = intent.path[-1]
            if (last.node, last.seller_side_port) == (node, port):
                why = f"the seller's hand-off {node}:{port} is down"
                self._chain(deal_id, self._ask_swap(deal_id, why))

    async def _ask_swap(self, deal_id: int, why: str) -> None:
        try:
            await self._sequencer().run(lambda e, now: e.swap_for_outage(deal_id, why, now))
        except DomainError as err:
            log.info("deal %d: no swap: %s", deal_id, err)


def _begin_swap(engine: ExchangeEngine, deal_id: int, now: int) -> list[Agreement]:
    """The swap deal is PROVISIONING; the agreements that may carry it, its own first."""
    deal = engine.deals.get(deal_id)
    if deal is None or deal.status is not DealStatus.PROVISIONING:
        deal = engine.set_deal_status(deal_id, DealStatus.PROVISIONING, "moving the buyer's traffic", now)
    own = engine.agreements[deal.agreement_id]
    others, _ = alternatives(deal, engine.agreements_of(deal.buyer, deal.seller), engine.agreement_use())
    return [own, *others]
