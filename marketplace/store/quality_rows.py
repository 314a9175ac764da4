"""The store's part of service assurance: deals' delivered quality, the measured windows
and the SLA credit ledger — written with the engine batch that made them, read for the
API, and loaded back into the engine on start. A mixin of Store."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Integer, cast, func, or_, select, update

from marketplace import limits
from marketplace.changes import Changes
from marketplace.deals import FINAL
from marketplace.orders import Route, ServiceType
from marketplace.quality import Penalty, QualityRecord, QualitySample, month_of
from marketplace.store import tables as t
from marketplace.verification import OfferCheck, VerificationState

if TYPE_CHECKING:
    from marketplace.engine import ExchangeEngine
    from marketplace.orders import Order

_RECORD_FIELDS = tuple(QualityRecord.__dataclass_fields__)
_SAMPLE_FIELDS = tuple(QualitySample.__dataclass_fields__)
_FINAL = [int(s) for s in FINAL]
_CHECK_FIELDS = tuple(OfferCheck.__dataclass_fields__)
_PENALTY_FIELDS = tuple(f for f in Penalty.__dataclass_fields__ if f != "penalty_id")


def _record_row(r: QualityRecord) -> dict[str, Any]:
    return {name: getattr(r, name) for name in _RECORD_FIELDS}


def _record(row: Any) -> QualityRecord:
    return QualityRecord(**{name: getattr(row, name) for name in _RECORD_FIELDS})


def _sample(row: Any) -> QualitySample:
    return QualitySample(**{name: getattr(row, name) for name in _SAMPLE_FIELDS})


def _check_row(c: OfferCheck) -> dict[str, Any]:
    row = {name: getattr(c, name) for name in _CHECK_FIELDS}
    row["state"] = int(c.state)
    return row


def _check(row: Any) -> OfferCheck:
    values = {name: getattr(row, name) for name in _CHECK_FIELDS}
    values["state"] = VerificationState(values["state"])
    return OfferCheck(**values)


def _penalty(row: Any) -> Penalty:
    return Penalty(row.id, **{name: getattr(row, name) for name in _PENALTY_FIELDS})


class QualityRows:
    if TYPE_CHECKING:
        engine: Engine

    def _write_quality(self, conn: Connection, changes: Changes) -> None:
        if changes.quality:
            fresh = [_record_row(r) for r in changes.quality.values() if r.deal_id in changes.new_quality]
            if fresh:
                conn.execute(t.deal_quality.insert(), fresh)
            for record in changes.quality.values():
                if record.deal_id not in changes.new_quality:
                    row = _record_row(record)
                    conn.execute(update(t.deal_quality).where(t.deal_quality.c.deal_id == row.pop("deal_id")), row)
        if changes.samples:
            samples = [{n: getattr(s, n) for n in _SAMPLE_FIELDS} for s in changes.samples]
            conn.execute(t.quality_samples.insert(), samples)
        if changes.penalties:
            rows = [{"id": p.penalty_id, **{n: getattr(p, n) for n in _PENALTY_FIELDS}} for p in changes.penalties]
            conn.execute(t.penalties.insert(), rows)
        if changes.checks:
            ids = list(changes.checks)
            conn.execute(t.offer_verification.delete().where(t.offer_verification.c.order_id.in_(ids)))
            conn.execute(t.offer_verification.insert(), [_check_row(c) for c in changes.checks.values()])
        for order in changes.regraded:
            conn.execute(
                update(t.orders).where(t.orders.c.id == order.order_id),
                {"grade": order.grade, "class_reason": order.class_reason},
            )

    def _restore_quality(self, conn: Connection, engine: ExchangeEngine, now: int, held: list[Order]) -> None:
        """Live deals' records, this month's credits, the sellers' records, the waivers, and
        the offers' verifications (read whole and matched here: live orders can be too many
        for one IN list)."""
        q, d = t.deal_quality.c, t.deals.c
        live_deals = select(t.deal_quality).join(t.deals, d.id == q.deal_id).where(d.status.not_in(_FINAL))
        records = [_record(r) for r in conn.execute(live_deals)]
        month = month_of(now)
        moment = datetime.fromtimestamp(now / 1_000_000, UTC)
        month_start = int(datetime(moment.year, moment.month, 1, tzinfo=UTC).timestamp()) * 1_000_000
        credited: dict[int, tuple[int, int]] = {}
        p = t.penalties.c
        for r in conn.execute(select(p.deal_id, p.percent).where(p.at >= month_start)):
            credited[r.deal_id] = (month, max(credited.get(r.deal_id, (0, 0))[1], r.percent))
        s = t.quality_samples.c
        by_seller = select(s.seller, func.count().label("windows"), func.sum(cast(s.at_class, Integer)).label("ok"))
        sellers = {r.seller: [int(r.windows), int(r.ok or 0)] for r in conn.execute(by_seller.group_by(s.seller))}
        engine.counters.penalty_id = conn.scalar(select(func.coalesce(func.max(p.id), 0))) or 0
        engine.restore_assurance(records, credited, sellers)
        waived = set(conn.scalars(select(t.participants.c.name).where(t.participants.c.verification_waived)))
        live = {o.order_id for o in held} | set(engine.orders)
        checks = [c for r in conn.execute(select(t.offer_verification)) if (c := _check(r)).order_id in live]
        engine.restore_verification(waived, checks, held)

    # ----- reads ----------------------------------------------------------------------

    def deal_quality(self, deal_ids: Iterable[int]) -> dict[int, QualityRecord]:
        ids = [i for i in deal_ids if limits.fits_id(i)]
        if not ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.deal_quality).where(t.deal_quality.c.deal_id.in_(ids)))
            return {r.deal_id: _record(r) for r in rows}

    def offer_quality(self, offer_order_id: int) -> list[QualityRecord]:
        """The records of the deals struck from one offer, newest deal first (at most 100)."""
        if not limits.fits_id(offer_order_id):
            return []
        c = t.deal_quality.c
        q = select(t.deal_quality).where(c.offer_order_id == offer_order_id).order_by(c.deal_id.desc()).limit(100)
        with self.engine.connect() as conn:
            return [_record(r) for r in conn.execute(q)]

    def quality_samples(
        self, deal_id: int, offer_order_id: int, participant: str | None, after_id: int, since: int, limit: int
    ) -> list[tuple[int, QualitySample]]:
        """A deal's (or an offer's deals') windows in time order, after the row id
        `after_id` and at or after `since`, seen by `participant` (None: everyone)."""
        if after_id >= limits.MAX_ID or not limits.fits_id(deal_id or offer_order_id):
            return []
        c = t.quality_samples.c
        which = c.deal_id == deal_id if deal_id else c.offer_order_id == offer_order_id
        q = select(t.quality_samples).where(which, c.id > after_id, c.at >= since).order_by(c.id).limit(limit)
        if participant is not None:
            q = q.where(or_(c.seller == participant, c.buyer == participant))
        with self.engine.connect() as conn:
            return [(r.id, _sample(r)) for r in conn.execute(q)]

    def penalties(self, participant: str | None, deal_id: int, after_id: int, limit: int) -> list[Penalty]:
        if after_id >= limits.MAX_ID or (deal_id and not limits.fits_id(deal_id)):
            return []
        c = t.penalties.c
        q = select(t.penalties).where(c.id > after_id).order_by(c.id).limit(limit)
        if participant is not None:
            q = q.where(or_(c.seller == participant, c.buyer == participant))
        if deal_id:
            q = q.where(c.deal_id == deal_id)
        with self.engine.connect() as conn:
            return [_penalty(r) for r in conn.execute(q)]

    def delivered_scores(self, conn: Connection, start: int, end: int) -> dict[tuple[Any, ...], list[int]]:
        """The latest delivered score of each measured deal struck in [start, end), by the
        market report's row key (scheme, grade, service, route, capacity)."""
        d, q = t.deals.c, t.deal_quality.c
        found = conn.execute(
            select(d.class_scheme, d.grade, d.service_type, d.a_end, d.z_end, d.capacity_kbps, q.score)
            .join(t.deal_quality, q.deal_id == d.id)
            .where(d.created_at >= start, d.created_at < end)
        )
        scores: dict[tuple[Any, ...], list[int]] = {}
        for r in found:
            key = (r.class_scheme, r.grade, ServiceType(r.service_type), Route(r.a_end, r.z_end), r.capacity_kbps)
            scores.setdefault(key, []).append(r.score)
        return scores

    def verifications(self, order_ids: Iterable[int]) -> dict[int, VerificationState]:
        ids = [i for i in order_ids if limits.fits_id(i)]
        if not ids:
            return {}
        v = t.offer_verification.c
        with self.engine.connect() as conn:
            return {
                r.order_id: VerificationState(r.state)
                for r in conn.execute(select(v.order_id, v.state).where(v.order_id.in_(ids)))
            }

    def set_verification_waived(self, name: str, waived: bool) -> bool:
        """False: no such participant."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(t.participants).where(t.participants.c.name == name).values(verification_waived=waived)
            )
            return bool(done.rowcount)
