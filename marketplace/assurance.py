"""Service assurance in the engine (issue 12): each measured window of a live deal moves
its delivered class by the reclassification rule, records the window, flags the deal
DEGRADED below what was bought, assesses the SLA credit, and reclassifies the offer the
deal came from.

The offer follows its deal's delivered class while it still has circuits for sale: down
into the lower class's book keeping its time priority (it entered the market then; the
class is its penalty), up again only as far as the class it had when the deal was struck,
and then with fresh time priority (an improvement loses priority, as a better price
does). A deal delivering no class at all leaves its offer where it is (written down as
missing: the offer is not suspended). Quality-first requests rank an offer by its deals'
latest delivered score once there is one, not by the values its seller asserted.

A mixin of ExchangeEngine, kept apart so the engine module stays readable."""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from marketplace.classing import MedianTracker
from marketplace.deals import Deal, DealStatus
from marketplace.delivered import Delivered
from marketplace.errors import FailedPrecondition
from marketplace.events import EventKind, Subject
from marketplace.orders import OrderStatus, ServiceType, Side
from marketplace.quality import (
    Penalty,
    QualityRecord,
    QualitySample,
    credit_due,
    credit_percent,
    credit_tiers,
    month_of,
)
from marketplace.reclassification import SCORE, Policy, Standing, described, limits_of, misses, step, with_score
from marketplace.verification import Verification

if TYPE_CHECKING:
    from marketplace.book import Book, BookKey
    from marketplace.changes import Changes, Counters, Struck
    from marketplace.classing import ClassScheme
    from marketplace.deals import Agreement
    from marketplace.deliverability import Deliverability
    from marketplace.orders import Order
    from marketplace.parameters import Parameter

SECOND = 1_000_000


@dataclass(frozen=True, slots=True)
class AssuranceTerms:
    """The reclassification policy and how measured windows are rolled (IXCHANGE_* settings)."""

    policy: Policy = field(default_factory=Policy)
    horizon_windows: int = 60  # loss and availability over the last 60 windows (10 min at 1 probe/s)
    event_every_us: int = 60 * SECOND  # a QUALITY event at least this often per deal, besides moves


@dataclass(slots=True)
class _Tracked:
    record: QualityRecord
    standing: Standing
    purchased: int  # index of the bought grade
    recent: deque[Delivered]
    last_event_at: int = 0
    month: int = 0  # the month `credited_percent` counts in
    credited_percent: int = 0


class Assurance(Verification):
    if TYPE_CHECKING:  # what it uses of ExchangeEngine
        deals: dict[int, Deal]
        orders: dict[int, Order]
        books: dict[BookKey, Book]
        agreements: dict[int, Agreement]
        parameters: dict[str, Parameter]
        scheme_versions: dict[tuple[str, int], ClassScheme]
        deliverability: Deliverability | None
        counters: Counters
        _changes: Changes
        _median_params: dict[str, set[str]]

        def _key(self, order: Order) -> BookKey: ...
        def _drop_book(self, key: BookKey) -> None: ...
        def _touch(self, order: Order) -> None: ...
        def _match(self, incoming: Order, now: int) -> Struck: ...
        def _emit(self, now: int, kind: EventKind, subject: Subject) -> None: ...
        def _degraded(self, deal: Deal, reason: str, now: int) -> str: ...

    def _init_assurance(self) -> None:
        self._init_verification()
        self.assurance = AssuranceTerms()
        self.delivered_medians = MedianTracker()  # class medians of *delivered* values (claim 48)
        self._tracked: dict[int, _Tracked] = {}
        self.seller_record: dict[str, list[int]] = {}  # seller -> [windows measured, windows at class]

    def _deal_final(self, deal: Deal) -> None:
        del self.deals[deal.deal_id]
        self._tracked.pop(deal.deal_id, None)
        if self.deliverability is not None:
            self.deliverability.release(deal.deal_id)

    def quality_of(self, deal_id: int) -> QualityRecord | None:
        tracked = self._tracked.get(deal_id)
        return tracked.record if tracked is not None else None

    def seller_quality_ppm(self, seller: str) -> int | None:
        """The seller's record: the share of its deals' measured windows delivered at the
        bought class or better; None before anything was measured."""
        windows, at_class = self.seller_record.get(seller, (0, 0))
        return at_class * 1_000_000 // windows if windows else None

    def record_delivered(self, deal_id: int, window: Delivered, now: int) -> QualityRecord:
        """One measured window of a live deal (the measurement point's command)."""
        deal = self.deals.get(deal_id)
        if deal is None or deal.status is not DealStatus.ACTIVE:
            raise FailedPrecondition("deal_id", f"deal {deal_id} is not active")
        window.check()
        tracked = self._tracked.get(deal_id)
        if tracked is None:  # the deal's first window: its record is new to the store
            tracked = self._track(deal, now)
            self._changes.new_quality.add(deal_id)
        tracked.recent.append(window)
        probes = sum(w.probes for w in tracked.recent)
        answered = sum(w.answered for w in tracked.recent)
        intervals = sum(w.intervals for w in tracked.recent)
        up = sum(w.up_intervals for w in tracked.recent)
        values = {
            "loss_ppm": (probes - answered) * 1_000_000 // probes if probes else 0,
            "availability_ppm": up * 1_000_000 // intervals if intervals else 0,
        }
        if window.latency_us is not None and window.jitter_us is not None:
            values["latency_us"], values["jitter_us"] = window.latency_us, window.jitter_us
        scheme = self.scheme_versions[(deal.class_scheme, deal.scheme_version)]
        grades = limits_of(scheme, self.parameters, self.delivered_medians)
        values = with_score(values, scheme, self.parameters)
        policy = self.assurance.policy.at_resolution(probes, intervals)
        before = tracked.standing.grade
        tracked.standing = step(tracked.standing, grades, values, policy, ceiling=tracked.purchased)
        after = tracked.standing.grade
        names = [g.name for g in scheme.grades]
        delivered = names[after] if after < len(names) else ""
        degraded = after > tracked.purchased
        if degraded:
            missed = described(misses(grades[tracked.purchased], values, policy.threshold_permille, policy), values)
            reason = f"delivering {delivered or 'no class'}, below {deal.grade}: {missed}"
            if after > before:  # a new fall: another seller, where one can take it over (the event says)
                reason += self._degraded(deal, reason, now)
        elif before > tracked.purchased:
            reason = f"back to {deal.grade}: {policy.hold} windows within its bands"
        else:
            reason = tracked.record.reason
        record = tracked.record = dataclasses.replace(
            tracked.record,
            delivered_grade=delivered,
            degraded=degraded,
            reason=reason,
            latency_us=values.get("latency_us"),
            jitter_us=values.get("jitter_us"),
            loss_ppm=values["loss_ppm"],
            availability_ppm=values["availability_ppm"],
            probes=probes,
            answered=answered,
            windows=tracked.record.windows + 1,
            updated_at=now,
            score=values[SCORE],
        )
        self._changes.quality[deal_id] = record
        self._changes.samples.append(
            QualitySample(
                deal_id,
                deal.offer_order_id,
                deal.seller,
                deal.buyer,
                now,
                window.latency_us,
                window.jitter_us,
                window.loss_ppm,
                window.availability_ppm,
                window.probes,
                window.answered,
                delivered,
                not degraded,
            )
        )
        seller = self.seller_record.setdefault(deal.seller, [0, 0])
        seller[0] += 1
        seller[1] += 0 if degraded else 1
        if delivered:
            self.delivered_medians.add(scheme.name, delivered, values, self._median_params.get(scheme.name, set()))
        if after != before or now - tracked.last_event_at >= self.assurance.event_every_us:
            tracked.last_event_at = now
            self._emit(now, EventKind.QUALITY, record)
        if after > before and degraded:
            self._assess(deal, tracked, after - tracked.purchased, now)
        if after != before and delivered:
            self._reclassify_offer(deal, delivered, after < before, reason, now)
        self._rank_offer(deal.offer_order_id, record.score)
        return record

    def _track(self, deal: Deal, now: int) -> _Tracked:
        scheme = self.scheme_versions[(deal.class_scheme, deal.scheme_version)]
        purchased = [g.name for g in scheme.grades].index(deal.grade)
        record = QualityRecord(
            deal.deal_id,
            deal.offer_order_id,
            deal.seller,
            deal.buyer,
            deal.class_scheme,
            deal.scheme_version,
            deal.grade,
            deal.grade,
            False,
            "",
            None,
            None,
            0,
            0,
            0,
            0,
            0,
            now,
        )
        recent: deque[Delivered] = deque(maxlen=self.assurance.horizon_windows)
        tracked = _Tracked(record, Standing(purchased, purchased), purchased, recent)
        self._tracked[deal.deal_id] = tracked
        return tracked

    def _assess(self, deal: Deal, tracked: _Tracked, classes_below: int, now: int) -> None:
        """The SLA credit for a fall to `classes_below` classes under the bought one."""
        agreement = self.agreements.get(deal.agreement_id)
        percent = credit_percent(classes_below, credit_tiers(agreement.terms if agreement else ""))
        month = month_of(now)
        if month != tracked.month:
            tracked.month, tracked.credited_percent = month, 0
        # Voice is priced per minute: no monthly charge to take a share of (the percent is recorded).
        monthly = deal.price * deal.circuits if deal.service_type is not ServiceType.VOICE_TERMINATION else 0
        month_percent, amount = credit_due(monthly, percent, tracked.credited_percent)
        if month_percent == tracked.credited_percent:
            return  # this month's credit already covers this tier
        tracked.credited_percent = month_percent
        self.counters.penalty_id += 1
        penalty = Penalty(
            self.counters.penalty_id,
            deal.deal_id,
            deal.seller,
            deal.buyer,
            now,
            deal.grade,
            tracked.record.delivered_grade,
            classes_below,
            month_percent,
            amount,
            tracked.record.reason,
        )
        self._changes.penalties.append(penalty)
        self._emit(now, EventKind.PENALTY_ASSESSED, penalty)

    def _rank_offer(self, offer_id: int, score: int) -> None:
        """Quality-first routing ranks an offer by what its deals deliver, once measured
        (in memory: the stored score stays the asserted one; a restart ranks by the
        latest delivered score again)."""
        order = self.orders.get(offer_id)
        if order is None or order.score == score:
            return
        order.score = score
        book = self.books.get(self._key(order))
        if book is not None:  # the side's top score is "at least the best": raise it if needed
            book.offers.top_score = max(book.offers.top_score, score)

    def _reclassify_offer(self, deal: Deal, grade: str, promoted: bool, reason: str, now: int) -> None:
        order = self.orders.get(deal.offer_order_id)
        if order is None or order.side is not Side.OFFER or order.grade == grade:
            return
        if order.status not in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
            return  # off the book (waiting for verification)
        self._move_offer(
            order, grade, promoted, f"reclassified by delivered quality of deal {deal.deal_id}: {reason}", now
        )

    def _move_offer(self, order: Order, grade: str, promoted: bool, reason: str, now: int) -> Struck:
        """An offer into another class's book: down keeps its time priority, up takes fresh."""
        listed = order.valid_from <= now  # else it waits for its start, off the book
        if listed:
            self._unbook(order)
        order.grade, order.class_reason, order.updated_at = grade, reason, now
        if promoted:
            self.counters.priority += 1
            order.priority = self.counters.priority
        self._touch(order)
        self._changes.regraded.append(order)
        self._emit(now, EventKind.ORDER_RECLASSIFIED, order)
        return self._match(order, now) if listed else []  # rests in its new book, or trades there at once

    def restore_assurance(
        self, records: list[QualityRecord], credited: dict[int, tuple[int, int]], sellers: dict[str, list[int]]
    ) -> None:
        """Live deals' records as stored (their rolling windows start again empty),
        this month's credits per deal (month, percent), the sellers' records."""
        for record in records:
            deal = self.deals.get(record.deal_id)
            if deal is None:
                continue
            tracked = self._track(deal, record.updated_at)
            names = [g.name for g in self.scheme_versions[(deal.class_scheme, deal.scheme_version)].grades]
            grade = names.index(record.delivered_grade) if record.delivered_grade in names else len(names)
            tracked.record, tracked.standing = record, Standing(grade, grade)
            tracked.month, tracked.credited_percent = credited.get(record.deal_id, (0, 0))
            self._rank_offer(record.offer_order_id, record.score)
        self.seller_record.update(sellers)
