"""What one engine command did, and everything changed since the store last wrote:
the records the engine hands the sequencer, the store and the API."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from marketplace.classing import ClassScheme
from marketplace.deals import Agreement, Deal, DealStatus
from marketplace.events import Event
from marketplace.orders import Order, OrderStatus
from marketplace.parameters import Parameter
from marketplace.quality import Penalty, QualityRecord, QualitySample

if TYPE_CHECKING:
    from marketplace.verification import OfferCheck
from marketplace.quotes import Quote, Recommendation

DealState = tuple[int, DealStatus, str, int]
Struck = list[tuple[Deal, DealState]]


@dataclass(slots=True)
class Outcome:
    """What one command did: the order it was about and the deals it struck. It holds the
    live objects with their state at the end of the command; `order` and `deals` build the
    snapshots only when a reply needs them."""

    subject: Order | None = None
    subject_state: tuple[int, int, int, OrderStatus, int, int] | None = None
    struck: Struck = field(default_factory=list)
    duplicate: bool = False
    duplicate_order_id: int = 0
    recommendation: Recommendation | None = None  # alternates, when a request did not fill

    @property
    def order(self) -> Order | None:
        return self.subject.snapshot(self.subject_state) if self.subject is not None else None

    @property
    def deals(self) -> list[Deal]:
        return [deal.snapshot(state) for deal, state in self.struck]


@dataclass(slots=True)
class Changes:
    """Everything changed since the last drain, for the store to write in one transaction.
    Orders and deals are the live objects: write their state as it is at drain time."""

    new_orders: dict[int, Order] = field(default_factory=dict)
    updated_orders: dict[int, Order] = field(default_factory=dict)
    new_deals: dict[int, Deal] = field(default_factory=dict)
    updated_deals: dict[int, Deal] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    parameters: list[Parameter] = field(default_factory=list)
    schemes: list[ClassScheme] = field(default_factory=list)
    agreements: list[Agreement] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    neighbour_links: set[tuple[str, str]] | None = None  # the whole adjacency, when it changed
    released_deals: list[Deal] = field(default_factory=list)  # deals that became BROKERED
    ending_deals: list[Deal] = field(default_factory=list)  # deals that became TERMINATING
    quality: dict[int, QualityRecord] = field(default_factory=dict)  # by deal id: the latest record
    new_quality: set[int] = field(default_factory=set)  # deals whose record is new (to insert)
    samples: list[QualitySample] = field(default_factory=list)
    penalties: list[Penalty] = field(default_factory=list)
    regraded: list[Order] = field(default_factory=list)  # offers whose grade or class_reason changed
    checks: dict[int, OfferCheck] = field(default_factory=dict)  # offers' verifications, by order id
    unverified: list[Order] = field(default_factory=list)  # offers to measure (to provisioning)

    def __bool__(self) -> bool:
        return bool(
            self.new_orders
            or self.updated_orders
            or self.new_deals
            or self.updated_deals
            or self.events
            or self.parameters
            or self.schemes
            or self.agreements
            or self.quotes
            or self.neighbour_links is not None
            or self.samples
            or self.checks
        )

    def frozen(self) -> Changes:
        """A copy whose orders, deals, quotes, quality records and checks are copies as
        they are now: what the store writes on its own thread while the engine already
        changes the live objects for the next batch (their state then must not leak into
        this batch's commit)."""
        return replace(
            self,
            new_orders={k: o.snapshot() for k, o in self.new_orders.items()},
            updated_orders={k: o.snapshot() for k, o in self.updated_orders.items()},
            new_deals={k: d.snapshot() for k, d in self.new_deals.items()},
            updated_deals={k: d.snapshot() for k, d in self.updated_deals.items()},
            quotes=[copy.copy(q) for q in self.quotes],
            quality={k: copy.copy(r) for k, r in self.quality.items()},
            checks={k: copy.copy(c) for k, c in self.checks.items()},
            regraded=[o.snapshot() for o in self.regraded],
        )


@dataclass(slots=True)
class Counters:
    """The engine's id sequences; restored from the store's maxima on start."""

    order_id: int = 0
    deal_id: int = 0
    priority: int = 0
    sequence: int = 0
    agreement_id: int = 0
    quote_id: int = 0
    penalty_id: int = 0
