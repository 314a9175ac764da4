"""Conversions between ixchange.v1 messages and domain objects."""

from __future__ import annotations

from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from ixchange.v1 import classes_pb2, common_pb2, exchange_pb2, market_pb2, participants_pb2

from marketplace import limits
from marketplace.classing import Band, Classification, ClassScheme, Grade
from marketplace.deals import Agreement, Deal, Interconnect, Party
from marketplace.errors import InvalidArgument
from marketplace.events import Event
from marketplace.orders import Order, OrderInput, OrderStatus, Route, ServiceType, Side
from marketplace.parameters import Direction, Parameter
from marketplace.participants import Participant, Role, TokenInfo
from marketplace.quality import Penalty, QualityRecord, QualitySample
from marketplace.quotes import Alternate, Quote, Recommendation
from marketplace.report import MarketRow

# The exchange's currency: one per exchange, set once when the server starts
# (IXCHANGE_CURRENCY, IXCHANGE_CURRENCY_EXPONENT).
_MONEY: dict[str, Any] = {"currency": "EUR", "exponent": 2}


def configure_money(currency: str, exponent: int) -> None:
    _MONEY.update(currency=currency, exponent=exponent)


def price_unit(service: ServiceType | int, per: str = "") -> common_pb2.PriceUnit:
    per = per or ("minute" if service == ServiceType.VOICE_TERMINATION else "circuit-month")
    return common_pb2.PriceUnit(currency=_MONEY["currency"], exponent=_MONEY["exponent"], per=per)


def ts(micros: int) -> Timestamp | None:
    """Microseconds since the epoch -> Timestamp; 0 (unset) -> None."""
    if not micros:
        return None
    return stamp(micros)


def stamp(micros: int) -> Timestamp:
    """Microseconds since the epoch -> Timestamp, 0 included."""
    return Timestamp(seconds=micros // 1_000_000, nanos=(micros % 1_000_000) * 1000)


def micros(msg: object, field: str) -> int:
    """A Timestamp field of `msg` in microseconds; 0 when unset. Only times a Timestamp
    may hold (years 1970-9999 here) pass, so every time fits a BIGINT column."""
    if not msg.HasField(field):  # type: ignore[attr-defined]
        return 0
    value: Timestamp = getattr(msg, field)
    if not 0 <= value.seconds <= limits.MAX_TIME_S or not 0 <= value.nanos < 1_000_000_000:
        raise InvalidArgument(field, "must be a valid time between 1970 and the end of year 9999")
    return value.seconds * 1_000_000 + value.nanos // 1000


def order_msg(o: Order) -> common_pb2.Order:
    return common_pb2.Order(
        order_id=o.order_id,
        client_order_id=o.client_order_id,
        participant=o.participant,
        side=int(o.side),
        service_type=int(o.service_type),
        route=common_pb2.Route(a_end=o.route.a_end, z_end=o.route.z_end),
        capacity_kbps=o.capacity_kbps,
        circuits=o.circuits,
        remaining_circuits=o.remaining,
        values=o.values,
        price=o.price,
        price_unit=price_unit(o.service_type),
        class_scheme=o.class_scheme,
        scheme_version=o.scheme_version,
        grade=o.grade,
        assigned_by=int(o.assigned_by),
        class_reason=o.class_reason,
        valid_from=ts(o.valid_from),
        valid_until=ts(o.valid_until),
        status=int(o.status),
        priority=o.priority,
        created_at=ts(o.created_at),
        updated_at=ts(o.updated_at),
        time_in_force=int(o.time_in_force),
        routing_policy=int(o.routing) if o.side is Side.REQUEST else 0,
        score=o.score,
        rebid_of=o.rebid_of,
        quote_id=o.quote_id,
        approve_by=ts(o.approve_by) if o.status is OrderStatus.PENDING_APPROVAL else None,
        service_end=ts(o.service_end) if o.service_end else None,
    )


def deal_msg(d: Deal, quality: QualityRecord | None = None, seller_verification: int = 0) -> common_pb2.Deal:
    return common_pb2.Deal(
        deal_id=d.deal_id,
        offer_order_id=d.offer_order_id,
        request_order_id=d.request_order_id,
        seller=d.seller,
        buyer=d.buyer,
        service_type=int(d.service_type),
        route=common_pb2.Route(a_end=d.route.a_end, z_end=d.route.z_end),
        capacity_kbps=d.capacity_kbps,
        circuits=d.circuits,
        price=d.price,
        price_unit=price_unit(d.service_type),
        class_scheme=d.class_scheme,
        scheme_version=d.scheme_version,
        grade=d.grade,
        agreement_id=d.agreement_id,
        status=int(d.status),
        status_reason=d.status_reason,
        created_at=ts(d.created_at),
        updated_at=ts(d.updated_at),
        ends_at=ts(d.ends_at) if d.ends_at else None,
        delivered=quality_msg(quality) if quality is not None else None,
        seller_verification=int(seller_verification),
        replaces=d.replaces,
        replaced_by=d.replaced_by,
        protection_price=d.protection_price,
    )


def quality_msg(q: QualityRecord) -> common_pb2.DeliveredQuality:
    return common_pb2.DeliveredQuality(
        deal_id=q.deal_id,
        grade=q.grade,
        delivered_grade=q.delivered_grade,
        degraded=q.degraded,
        reason=q.reason,
        latency_us=q.latency_us,
        jitter_us=q.jitter_us,
        loss_ppm=q.loss_ppm,
        availability_ppm=q.availability_ppm,
        probes=q.probes,
        answered=q.answered,
        windows=q.windows,
        updated_at=ts(q.updated_at),
        seller=q.seller,
        buyer=q.buyer,
        offer_order_id=q.offer_order_id,
        class_scheme=q.class_scheme,
        score=q.score,
    )


def sample_msg(s: QualitySample) -> common_pb2.QualitySample:
    return common_pb2.QualitySample(
        deal_id=s.deal_id,
        offer_order_id=s.offer_order_id,
        time=ts(s.at),
        latency_us=s.latency_us,
        jitter_us=s.jitter_us,
        loss_ppm=s.loss_ppm,
        availability_ppm=s.availability_ppm,
        probes=s.probes,
        answered=s.answered,
        delivered_grade=s.delivered_grade,
        at_class=s.at_class,
    )


def penalty_msg(p: Penalty) -> common_pb2.Penalty:
    return common_pb2.Penalty(
        penalty_id=p.penalty_id,
        deal_id=p.deal_id,
        seller=p.seller,
        buyer=p.buyer,
        time=ts(p.at),
        grade=p.grade,
        delivered_grade=p.delivered_grade,
        classes_below=p.classes_below,
        percent=p.percent,
        amount=p.amount,
        price_unit=price_unit(0, per="credit"),
        reason=p.reason,
    )


def event_msg(e: Event) -> exchange_pb2.WatchEventsResponse:
    msg = exchange_pb2.WatchEventsResponse(sequence=e.sequence, time=ts(e.time), kind=int(e.kind))
    if e.order is not None:
        msg.order.CopyFrom(order_msg(e.order))
    if e.deal is not None:
        msg.deal.CopyFrom(deal_msg(e.deal))
    if e.quote is not None:
        msg.quote.CopyFrom(quote_msg(e.quote))
    if e.recommendation is not None:
        msg.recommendation.CopyFrom(recommendation_msg(e.recommendation))
    if e.quality is not None:
        msg.quality.CopyFrom(quality_msg(e.quality))
    if e.penalty is not None:
        msg.penalty.CopyFrom(penalty_msg(e.penalty))
    return msg


def route_msg(r: Route) -> common_pb2.Route:
    return common_pb2.Route(a_end=r.a_end, z_end=r.z_end)


def spec_from(msg: market_pb2.RequestSpec, participant: str) -> OrderInput:
    """A prospective request (quotes, alternates). Its client id and limit are unused."""
    return OrderInput(
        participant,
        "spec",
        Side.REQUEST,
        msg.service_type,
        msg.route.a_end,
        msg.route.z_end,
        msg.capacity_kbps,
        msg.circuits,
        dict(msg.requirements),
        1,
        msg.grade,
        msg.class_scheme,
        routing_policy=msg.routing_policy,
    )


def fills_msg(fills: tuple[tuple[int, int], ...]) -> list[market_pb2.Fill]:
    return [market_pb2.Fill(price=p, circuits=c) for p, c in fills]


def quote_msg(q: Quote) -> market_pb2.Quote:
    return market_pb2.Quote(
        quote_id=q.quote_id,
        participant=q.participant,
        service_type=int(q.service_type),
        route=route_msg(q.route),
        capacity_kbps=q.capacity_kbps,
        circuits=q.circuits,
        requirements=q.requirements,
        class_scheme=q.class_scheme,
        scheme_version=q.scheme_version,
        grade=q.grade,
        class_reason=q.class_reason,
        routing_policy=int(q.routing),
        fills=fills_msg(q.fills),
        fillable_circuits=q.fillable,
        full=q.full,
        price=q.price,
        price_unit=price_unit(q.service_type),
        total_value=q.total_value,
        created_at=ts(q.created_at),
        expires_at=ts(q.expires_at),
        provisioning_p50_ms=q.provisioning_p50_ms,
    )


def alternate_msg(a: Alternate) -> market_pb2.Alternate:
    return market_pb2.Alternate(
        kind=int(a.kind),
        class_scheme=a.class_scheme,
        grade=a.grade,
        service_type=int(a.service_type),
        route=route_msg(a.route),
        capacity_kbps=a.capacity_kbps,
        circuits=a.circuits,
        available_circuits=a.available,
        full=a.full,
        fills=fills_msg(a.fills),
        price=a.price,
        total_value=a.total_value,
        differences=[
            market_pb2.ParameterDifference(parameter=d.parameter, asked=d.asked, offered=d.offered, meets=d.meets)
            for d in a.differences
        ],
        note=a.note,
    )


def recommendation_msg(r: Recommendation) -> market_pb2.Recommendation:
    return market_pb2.Recommendation(
        participant=r.participant,
        order_id=r.order_id,
        service_type=int(r.service_type),
        route=route_msg(r.route),
        capacity_kbps=r.capacity_kbps,
        circuits=r.circuits,
        class_scheme=r.class_scheme,
        grade=r.grade,
        alternates=[alternate_msg(a) for a in r.alternates],
        created_at=ts(r.created_at),
    )


def report_row_msg(r: MarketRow) -> market_pb2.MarketReportRow:
    """Totals that outgrow int64 show its largest value, flagged as capped (the wire
    cannot carry them, and a report that fails for everyone helps nobody)."""
    totals = (r.circuits, r.volume_kbps, r.total_value)
    capped = max(totals) > limits.INT64_MAX or r.deals > limits.INT32_MAX
    msg = market_pb2.MarketReportRow(
        class_scheme=r.class_scheme,
        grade=r.grade,
        service_type=int(r.service_type),
        route=route_msg(r.route),
        capacity_kbps=r.capacity_kbps,
        deals=min(r.deals, limits.INT32_MAX),
        circuits=min(r.circuits, limits.INT64_MAX),
        volume_kbps=min(r.volume_kbps, limits.INT64_MAX),
        vwap=r.vwap,
        min_price=r.min_price,
        max_price=r.max_price,
        price_unit=price_unit(r.service_type),
        total_value=min(r.total_value, limits.INT64_MAX),
        capped=capped,
    )
    if r.median_quality is not None:
        msg.median_quality = r.median_quality
    return msg


def parameter_msg(p: Parameter) -> classes_pb2.Parameter:
    return classes_pb2.Parameter(
        name=p.name,
        unit=p.unit,
        direction=int(p.direction),
        description=p.description,
        min_value=p.min_value,
        max_value=p.max_value,
        score_worst=p.score_worst,
        score_best=p.score_best,
    )


def parameter_from(msg: classes_pb2.Parameter) -> Parameter:
    if msg.direction not in (1, 2):
        raise InvalidArgument("parameter.direction", "must be HIGHER_IS_BETTER or LOWER_IS_BETTER")
    return Parameter(
        msg.name,
        msg.unit,
        Direction(msg.direction),
        msg.description,
        msg.min_value,
        msg.max_value,
        msg.score_worst,
        msg.score_best,
    )


def service_types_from(values: list[int], field: str) -> tuple[ServiceType, ...]:
    out = []
    for i, v in enumerate(values):
        try:
            out.append(ServiceType(v))
        except ValueError:
            raise InvalidArgument(f"{field}[{i}]", "must be ETHERNET_ELINE, IP_TRANSIT or VOICE_TERMINATION") from None
    return tuple(out)


def scheme_from(msg: classes_pb2.ClassScheme) -> ClassScheme:
    grades = []
    for g in msg.grades:
        bands = []
        for b in g.bands:
            kind = b.WhichOneof("bound")
            if kind == "fixed":
                bands.append(Band(b.parameter, fixed=b.fixed))
            elif kind == "median":
                bands.append(Band(b.parameter, median_permille=b.median.permille, initial=b.median.initial))
            else:
                bands.append(Band(b.parameter))  # refused by validate_scheme, naming the band
        grades.append(Grade(g.name, tuple(bands), g.min_score))
    return ClassScheme(
        msg.name,
        0,
        service_types_from(list(msg.service_types), "scheme.service_types"),
        tuple(grades),
        dict(msg.weights),
    )


def scheme_msg(s: ClassScheme, bounds: dict[tuple[str, str], int] | None = None) -> classes_pb2.ClassScheme:
    msg = classes_pb2.ClassScheme(
        name=s.name,
        version=s.version,
        service_types=[int(x) for x in s.service_types],
        weights=s.weights,
        created_at=ts(s.created_at),
    )
    for g in s.grades:
        gm = msg.grades.add(name=g.name, min_score=g.min_score)
        for b in g.bands:
            bm = gm.bands.add(parameter=b.parameter)
            if b.fixed is not None:
                bm.fixed = b.fixed
            else:
                bm.median.permille = b.median_permille or 0
                bm.median.initial = b.initial
            if bounds is not None:
                bm.effective = bounds[(g.name, b.parameter)]
    return msg


def classification_msg(c: Classification) -> classes_pb2.ClassifyResponse:
    msg = classes_pb2.ClassifyResponse(
        class_scheme=c.scheme, scheme_version=c.version, grade=c.grade, score=c.score, explanation=c.reason()
    )
    for v in c.verdicts:
        vm = msg.verdicts.add(grade=v.grade, qualifies=v.qualifies, score=v.score, min_score=v.min_score)
        for chk in v.checks:
            vm.checks.add(
                parameter=chk.parameter, value=chk.value or 0, bound=chk.bound, passed=chk.passed, rule=chk.rule
            )
    return msg


def participant_msg(p: Participant) -> participants_pb2.Participant:
    return participants_pb2.Participant(
        name=p.name,
        roles=[int(r) for r in sorted(p.roles)],
        carrier=p.carrier,
        display_name=p.display_name,
        created_at=ts(p.created_at),
        cert_subject=p.cert_subject,
    )


def token_info_msg(t: TokenInfo) -> participants_pb2.TokenInfo:
    return participants_pb2.TokenInfo(
        token_id=t.token_id,
        participant=t.participant,
        label=t.label,
        created_at=ts(t.created_at),
        expires_at=ts(t.expires_at),
        revoked_at=ts(t.revoked_at),
    )


def participant_from(msg: participants_pb2.Participant, now: int) -> Participant:
    roles = set()
    for i, r in enumerate(msg.roles):
        try:
            roles.add(Role(r))
        except ValueError:
            raise InvalidArgument(f"participant.roles[{i}]", "must be SELLER, BUYER or OPERATOR") from None
    return Participant(msg.name, frozenset(roles), msg.carrier, msg.display_name, now, msg.cert_subject)


def agreement_from(msg: participants_pb2.Agreement) -> Agreement:
    ics = []
    for i, ic in enumerate(msg.interconnects):
        try:
            party = Party(ic.party)
        except ValueError:
            raise InvalidArgument(f"agreement.interconnects[{i}].party", "must be BUYER or SELLER") from None
        ics.append(Interconnect(party, ic.node, ic.port, ic.vlan_min, ic.vlan_max))
    return Agreement(0, msg.reference, msg.buyer, msg.seller, tuple(ics), msg.max_rate_kbps, msg.terms, 0)


def agreement_msg(a: Agreement) -> participants_pb2.Agreement:
    return participants_pb2.Agreement(
        agreement_id=a.agreement_id,
        reference=a.reference,
        buyer=a.buyer,
        seller=a.seller,
        interconnects=[
            participants_pb2.Interconnect(
                party=int(i.party), node=i.node, port=i.port, vlan_min=i.vlan_min, vlan_max=i.vlan_max
            )
            for i in a.interconnects
        ],
        max_rate_kbps=a.max_rate_kbps,
        terms=a.terms,
        created_at=ts(a.created_at),
    )
