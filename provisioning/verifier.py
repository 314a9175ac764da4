"""Verification of offers before listing, measured from the seller's attachment (issue 12,
claims 49, 55, 56). There is no deal yet, so the measurement point probes the seller's
service from the exchange's side of the hand-off: STAMP probes leave by the seller's
port on the switch of one of its agreements, on the first VLAN of its range, to the
reflector of that agreement's measurement terms; the answers are trapped as they come
back in. That is the segment the seller asserts values for.

For IXCHANGE_VERIFICATION_S the windows are collected, then summarised as one
measurement (latency: the median of the windows' two-way delays; jitter: their mean;
loss and availability over every probe) and handed to the engine (`verify_offer`), which
lists, moves or refuses the offer. Listed offers are measured again every
IXCHANGE_REVERIFY_S; offers that could not be measured (no attachment with measurement
terms, no answer) stay UNVERIFIED with the reason, and are tried again then."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from marketplace.deals import Agreement, Party
from marketplace.delivered import Delivered
from marketplace.errors import DomainError
from marketplace.orders import Order
from provisioning.inventory import Inventory, NodeKind
from provisioning.monitor import DealMonitor, MeasurementTerms

if TYPE_CHECKING:
    from marketplace.api.sequencer import Sequencer
    from marketplace.engine import ExchangeEngine

log = logging.getLogger(__name__)
SECOND = 1_000_000
AT_ONCE = 8  # offers measured at the same time


@dataclass(frozen=True, slots=True)
class Attachment:
    """Where an offer's seller can be measured from."""

    dpid: int
    port: int
    vlan: int
    terms: MeasurementTerms


def attachment_for(
    seller: str, agreements: list[Agreement], terms: dict[str, MeasurementTerms], inventory: Inventory
) -> Attachment | str:
    """The seller's first agreement (by id) with measurement terms and a hand-off at an
    OpenFlow switch port; or why there is none."""
    for agreement in sorted(agreements, key=lambda a: a.agreement_id):
        found = terms.get(agreement.reference)
        if agreement.seller != seller or found is None:
            continue
        for end in agreement.interconnects:
            node = inventory.nodes.get(end.node)
            port = node.port(end.port) if node is not None else None
            if end.party is Party.SELLER and node is not None and node.kind is NodeKind.OPENFLOW and port:
                return Attachment(node.datapath_id, port.number, end.vlan_min, found)
    return f"no agreement of {seller} with measurement terms hands off at an OpenFlow switch port"


def combine(windows: list[Delivered]) -> Delivered:
    """Several windows as one measurement."""
    probes = sum(w.probes for w in windows)
    answered = sum(w.answered for w in windows)
    intervals = sum(w.intervals for w in windows)
    up = sum(w.up_intervals for w in windows)
    latencies = [w.latency_us for w in windows if w.latency_us is not None]
    jitters = [w.jitter_us for w in windows if w.jitter_us is not None]
    return Delivered(
        probes,
        answered,
        round(statistics.median(latencies)) if latencies else None,
        round(statistics.fmean(jitters)) if jitters else None,
        (probes - answered) * 1_000_000 // probes if probes else 0,
        up * 1_000_000 // intervals if intervals else 0,
        intervals,
        up,
    )


class OfferVerifier:
    def __init__(
        self,
        monitor: DealMonitor,
        inventory: Inventory,
        terms: dict[str, MeasurementTerms],
        sequencer: Callable[[], Sequencer],
        verification_s: float,
        reverify_s: float,
    ) -> None:
        self.monitor = monitor
        self.inventory = inventory
        self.terms = terms
        self._sequencer = sequencer
        self.verification_s = verification_s
        self.reverify_s = reverify_s
        self.running: dict[int, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(AT_ONCE)

    @property
    def windows(self) -> int:
        """Windows in one verification (at least one)."""
        return max(1, math.ceil(self.verification_s / (self.monitor.interval_s * self.monitor.window)))

    def offer_unverified(self, order: Order) -> None:
        if order.order_id not in self.running:
            task = asyncio.create_task(self._verify(order), name=f"verify-{order.order_id}")
            self.running[order.order_id] = task
            task.add_done_callback(partial(self._done, order.order_id))

    def _done(self, order_id: int, _task: asyncio.Task[None]) -> None:
        self.running.pop(order_id, None)

    async def run_forever(self) -> None:
        """Offers waiting (after a restart, suspended, not measurable before) and listed
        offers due for re-verification, every minute at most."""
        seq = self._sequencer()
        while True:
            older = seq.now() - int(self.reverify_s * SECOND)
            due: list[Order] = await seq.run(partial(_due, older=older))
            for order in due:
                self.offer_unverified(order)
            await asyncio.sleep(min(self.reverify_s, 60.0))

    async def _verify(self, order: Order) -> None:
        seq = self._sequencer()
        async with self._slots:
            agreements = await seq.run(lambda e, _now: _agreements_of(e, order.participant))
            where = attachment_for(order.participant, agreements, self.terms, self.inventory)
            if isinstance(where, str):
                await self._blocked(order.order_id, where)
                return
            # Twice the window's length, and the reflector's address resolved within it.
            timeout = 2 * self.verification_s + 30
            windows = await self.monitor.verify(
                order.order_id, where.dpid, where.port, where.vlan, where.terms, self.windows, timeout
            )
        if not windows:
            reflector = f"{where.terms.reflector}:{where.terms.reflector_port}"
            await self._blocked(order.order_id, f"no answer from the seller's reflector {reflector}")
            return
        measured = combine(windows)
        try:
            await seq.run(lambda e, now: e.verify_offer(order.order_id, measured, now))
        except DomainError as err:
            log.info("offer %d: verification not recorded: %s", order.order_id, err)  # cancelled meanwhile

    async def _blocked(self, order_id: int, reason: str) -> None:
        with contextlib.suppress(DomainError):  # listed (a re-verification), cancelled or waived meanwhile
            await self._sequencer().run(lambda e, now: e.verification_blocked(order_id, reason, now))


def _due(engine: ExchangeEngine, _now: int, older: int) -> list[Order]:
    return engine.unverified_offers() + engine.due_for_reverification(older)


def _agreements_of(engine: ExchangeEngine, seller: str) -> list[Agreement]:
    return [a for a in engine.agreements.values() if a.seller == seller]
