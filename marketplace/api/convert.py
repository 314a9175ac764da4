"""Conversions between ixchange.v1 messages and domain objects."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp
from ixchange.v1 import classes_pb2, common_pb2, exchange_pb2, participants_pb2

from marketplace.classing import Band, Classification, ClassScheme, Grade
from marketplace.deals import Agreement, Deal, Interconnect, Party
from marketplace.errors import InvalidArgument
from marketplace.events import Event
from marketplace.orders import Order, ServiceType
from marketplace.parameters import Direction, Parameter
from marketplace.participants import Participant, Role


def ts(micros: int) -> Timestamp | None:
    """Microseconds since the epoch -> Timestamp; 0 (unset) -> None."""
    if not micros:
        return None
    return Timestamp(seconds=micros // 1_000_000, nanos=(micros % 1_000_000) * 1000)


def micros(msg: object, field: str) -> int:
    """A Timestamp field of `msg` in microseconds; 0 when unset."""
    if not msg.HasField(field):  # type: ignore[attr-defined]
        return 0
    stamp: Timestamp = getattr(msg, field)
    if stamp.seconds < 0 or not 0 <= stamp.nanos < 1_000_000_000:
        raise InvalidArgument(field, "must be a valid time after 1970")
    return stamp.seconds * 1_000_000 + stamp.nanos // 1000


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
    )


def deal_msg(d: Deal) -> common_pb2.Deal:
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
        class_scheme=d.class_scheme,
        scheme_version=d.scheme_version,
        grade=d.grade,
        agreement_id=d.agreement_id,
        status=int(d.status),
        status_reason=d.status_reason,
        created_at=ts(d.created_at),
        updated_at=ts(d.updated_at),
    )


def event_msg(e: Event) -> exchange_pb2.WatchEventsResponse:
    msg = exchange_pb2.WatchEventsResponse(sequence=e.sequence, time=ts(e.time), kind=int(e.kind))
    if e.order is not None:
        msg.order.CopyFrom(order_msg(e.order))
    if e.deal is not None:
        msg.deal.CopyFrom(deal_msg(e.deal))
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
    )


def participant_from(msg: participants_pb2.Participant, now: int) -> Participant:
    roles = set()
    for i, r in enumerate(msg.roles):
        try:
            roles.add(Role(r))
        except ValueError:
            raise InvalidArgument(f"participant.roles[{i}]", "must be SELLER, BUYER or OPERATOR") from None
    return Participant(msg.name, frozenset(roles), msg.carrier, msg.display_name, now)


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
