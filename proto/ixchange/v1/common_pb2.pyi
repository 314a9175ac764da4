import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ServiceType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SERVICE_TYPE_UNSPECIFIED: _ClassVar[ServiceType]
    SERVICE_TYPE_ETHERNET_ELINE: _ClassVar[ServiceType]
    SERVICE_TYPE_IP_TRANSIT: _ClassVar[ServiceType]
    SERVICE_TYPE_VOICE_TERMINATION: _ClassVar[ServiceType]

class Side(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIDE_UNSPECIFIED: _ClassVar[Side]
    SIDE_OFFER: _ClassVar[Side]
    SIDE_REQUEST: _ClassVar[Side]

class OrderStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_STATUS_UNSPECIFIED: _ClassVar[OrderStatus]
    ORDER_STATUS_OPEN: _ClassVar[OrderStatus]
    ORDER_STATUS_PARTIALLY_FILLED: _ClassVar[OrderStatus]
    ORDER_STATUS_FILLED: _ClassVar[OrderStatus]
    ORDER_STATUS_CANCELLED: _ClassVar[OrderStatus]
    ORDER_STATUS_EXPIRED: _ClassVar[OrderStatus]
    ORDER_STATUS_PENDING_APPROVAL: _ClassVar[OrderStatus]
    ORDER_STATUS_SUPERSEDED: _ClassVar[OrderStatus]
    ORDER_STATUS_UNVERIFIED: _ClassVar[OrderStatus]

class TimeInForce(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIME_IN_FORCE_UNSPECIFIED: _ClassVar[TimeInForce]
    TIME_IN_FORCE_GOOD_TILL_CANCELLED: _ClassVar[TimeInForce]
    TIME_IN_FORCE_GOOD_TILL_DATE: _ClassVar[TimeInForce]
    TIME_IN_FORCE_IMMEDIATE_OR_CANCEL: _ClassVar[TimeInForce]
    TIME_IN_FORCE_FILL_OR_KILL: _ClassVar[TimeInForce]
    TIME_IN_FORCE_ALL_OR_NONE: _ClassVar[TimeInForce]

class RoutingPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROUTING_POLICY_UNSPECIFIED: _ClassVar[RoutingPolicy]
    ROUTING_POLICY_CHEAPEST_FIRST: _ClassVar[RoutingPolicy]
    ROUTING_POLICY_QUALITY_FIRST: _ClassVar[RoutingPolicy]

class ClassAssignment(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLASS_ASSIGNMENT_UNSPECIFIED: _ClassVar[ClassAssignment]
    CLASS_ASSIGNMENT_SELLER: _ClassVar[ClassAssignment]
    CLASS_ASSIGNMENT_BUYER: _ClassVar[ClassAssignment]
    CLASS_ASSIGNMENT_SERVER: _ClassVar[ClassAssignment]

class DealStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEAL_STATUS_UNSPECIFIED: _ClassVar[DealStatus]
    DEAL_STATUS_PENDING_AGREEMENT: _ClassVar[DealStatus]
    DEAL_STATUS_BROKERED: _ClassVar[DealStatus]
    DEAL_STATUS_PROVISIONING: _ClassVar[DealStatus]
    DEAL_STATUS_ACTIVE: _ClassVar[DealStatus]
    DEAL_STATUS_PROVISIONING_FAILED: _ClassVar[DealStatus]
    DEAL_STATUS_TERMINATING: _ClassVar[DealStatus]
    DEAL_STATUS_TERMINATED: _ClassVar[DealStatus]

class Verification(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERIFICATION_UNSPECIFIED: _ClassVar[Verification]
    VERIFICATION_PENDING: _ClassVar[Verification]
    VERIFICATION_VERIFIED: _ClassVar[Verification]
    VERIFICATION_WAIVED: _ClassVar[Verification]
    VERIFICATION_FAILED: _ClassVar[Verification]
    VERIFICATION_SUSPENDED: _ClassVar[Verification]
SERVICE_TYPE_UNSPECIFIED: ServiceType
SERVICE_TYPE_ETHERNET_ELINE: ServiceType
SERVICE_TYPE_IP_TRANSIT: ServiceType
SERVICE_TYPE_VOICE_TERMINATION: ServiceType
SIDE_UNSPECIFIED: Side
SIDE_OFFER: Side
SIDE_REQUEST: Side
ORDER_STATUS_UNSPECIFIED: OrderStatus
ORDER_STATUS_OPEN: OrderStatus
ORDER_STATUS_PARTIALLY_FILLED: OrderStatus
ORDER_STATUS_FILLED: OrderStatus
ORDER_STATUS_CANCELLED: OrderStatus
ORDER_STATUS_EXPIRED: OrderStatus
ORDER_STATUS_PENDING_APPROVAL: OrderStatus
ORDER_STATUS_SUPERSEDED: OrderStatus
ORDER_STATUS_UNVERIFIED: OrderStatus
TIME_IN_FORCE_UNSPECIFIED: TimeInForce
TIME_IN_FORCE_GOOD_TILL_CANCELLED: TimeInForce
TIME_IN_FORCE_GOOD_TILL_DATE: TimeInForce
TIME_IN_FORCE_IMMEDIATE_OR_CANCEL: TimeInForce
TIME_IN_FORCE_FILL_OR_KILL: TimeInForce
TIME_IN_FORCE_ALL_OR_NONE: TimeInForce
ROUTING_POLICY_UNSPECIFIED: RoutingPolicy
ROUTING_POLICY_CHEAPEST_FIRST: RoutingPolicy
ROUTING_POLICY_QUALITY_FIRST: RoutingPolicy
CLASS_ASSIGNMENT_UNSPECIFIED: ClassAssignment
CLASS_ASSIGNMENT_SELLER: ClassAssignment
CLASS_ASSIGNMENT_BUYER: ClassAssignment
CLASS_ASSIGNMENT_SERVER: ClassAssignment
DEAL_STATUS_UNSPECIFIED: DealStatus
DEAL_STATUS_PENDING_AGREEMENT: DealStatus
DEAL_STATUS_BROKERED: DealStatus
DEAL_STATUS_PROVISIONING: DealStatus
DEAL_STATUS_ACTIVE: DealStatus
DEAL_STATUS_PROVISIONING_FAILED: DealStatus
DEAL_STATUS_TERMINATING: DealStatus
DEAL_STATUS_TERMINATED: DealStatus
VERIFICATION_UNSPECIFIED: Verification
VERIFICATION_PENDING: Verification
VERIFICATION_VERIFIED: Verification
VERIFICATION_WAIVED: Verification
VERIFICATION_FAILED: Verification
VERIFICATION_SUSPENDED: Verification

class Route(_message.Message):
    __slots__ = ("a_end", "z_end")
    A_END_FIELD_NUMBER: _ClassVar[int]
    Z_END_FIELD_NUMBER: _ClassVar[int]
    a_end: str
    z_end: str
    def __init__(self, a_end: _Optional[str] = ..., z_end: _Optional[str] = ...) -> None: ...

class PriceUnit(_message.Message):
    __slots__ = ("currency", "exponent", "per")
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    EXPONENT_FIELD_NUMBER: _ClassVar[int]
    PER_FIELD_NUMBER: _ClassVar[int]
    currency: str
    exponent: int
    per: str
    def __init__(self, currency: _Optional[str] = ..., exponent: _Optional[int] = ..., per: _Optional[str] = ...) -> None: ...

class Order(_message.Message):
    __slots__ = ("order_id", "client_order_id", "participant", "side", "service_type", "route", "capacity_kbps", "circuits", "remaining_circuits", "values", "price", "class_scheme", "scheme_version", "grade", "assigned_by", "class_reason", "valid_from", "valid_until", "status", "priority", "created_at", "updated_at", "time_in_force", "routing_policy", "score", "rebid_of", "quote_id", "approve_by", "service_end", "price_unit", "seller_quality_ppm", "verification")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_KBPS_FIELD_NUMBER: _ClassVar[int]
    CIRCUITS_FIELD_NUMBER: _ClassVar[int]
    REMAINING_CIRCUITS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    CLASS_SCHEME_FIELD_NUMBER: _ClassVar[int]
    SCHEME_VERSION_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_BY_FIELD_NUMBER: _ClassVar[int]
    CLASS_REASON_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    TIME_IN_FORCE_FIELD_NUMBER: _ClassVar[int]
    ROUTING_POLICY_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    REBID_OF_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVE_BY_FIELD_NUMBER: _ClassVar[int]
    SERVICE_END_FIELD_NUMBER: _ClassVar[int]
    PRICE_UNIT_FIELD_NUMBER: _ClassVar[int]
    SELLER_QUALITY_PPM_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    order_id: int
    client_order_id: str
    participant: str
    side: Side
    service_type: ServiceType
    route: Route
    capacity_kbps: int
    circuits: int
    remaining_circuits: int
    values: _containers.ScalarMap[str, int]
    price: int
    class_scheme: str
    scheme_version: int
    grade: str
    assigned_by: ClassAssignment
    class_reason: str
    valid_from: _timestamp_pb2.Timestamp
    valid_until: _timestamp_pb2.Timestamp
    status: OrderStatus
    priority: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    time_in_force: TimeInForce
    routing_policy: RoutingPolicy
    score: int
    rebid_of: int
    quote_id: int
    approve_by: _timestamp_pb2.Timestamp
    service_end: _timestamp_pb2.Timestamp
    price_unit: PriceUnit
    seller_quality_ppm: int
    verification: Verification
    def __init__(self, order_id: _Optional[int] = ..., client_order_id: _Optional[str] = ..., participant: _Optional[str] = ..., side: _Optional[_Union[Side, str]] = ..., service_type: _Optional[_Union[ServiceType, str]] = ..., route: _Optional[_Union[Route, _Mapping]] = ..., capacity_kbps: _Optional[int] = ..., circuits: _Optional[int] = ..., remaining_circuits: _Optional[int] = ..., values: _Optional[_Mapping[str, int]] = ..., price: _Optional[int] = ..., class_scheme: _Optional[str] = ..., scheme_version: _Optional[int] = ..., grade: _Optional[str] = ..., assigned_by: _Optional[_Union[ClassAssignment, str]] = ..., class_reason: _Optional[str] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., priority: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., time_in_force: _Optional[_Union[TimeInForce, str]] = ..., routing_policy: _Optional[_Union[RoutingPolicy, str]] = ..., score: _Optional[int] = ..., rebid_of: _Optional[int] = ..., quote_id: _Optional[int] = ..., approve_by: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., service_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., price_unit: _Optional[_Union[PriceUnit, _Mapping]] = ..., seller_quality_ppm: _Optional[int] = ..., verification: _Optional[_Union[Verification, str]] = ...) -> None: ...

class Deal(_message.Message):
    __slots__ = ("deal_id", "offer_order_id", "request_order_id", "seller", "buyer", "service_type", "route", "capacity_kbps", "circuits", "price", "class_scheme", "scheme_version", "grade", "agreement_id", "status", "status_reason", "created_at", "updated_at", "ends_at", "price_unit", "delivered", "seller_verification", "replaces", "replaced_by", "protection_price")
    DEAL_ID_FIELD_NUMBER: _ClassVar[int]
    OFFER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SELLER_FIELD_NUMBER: _ClassVar[int]
    BUYER_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_KBPS_FIELD_NUMBER: _ClassVar[int]
    CIRCUITS_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    CLASS_SCHEME_FIELD_NUMBER: _ClassVar[int]
    SCHEME_VERSION_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    PRICE_UNIT_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    SELLER_VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    REPLACES_FIELD_NUMBER: _ClassVar[int]
    REPLACED_BY_FIELD_NUMBER: _ClassVar[int]
    PROTECTION_PRICE_FIELD_NUMBER: _ClassVar[int]
    deal_id: int
    offer_order_id: int
    request_order_id: int
    seller: str
    buyer: str
    service_type: ServiceType
    route: Route
    capacity_kbps: int
    circuits: int
    price: int
    class_scheme: str
    scheme_version: int
    grade: str
    agreement_id: int
    status: DealStatus
    status_reason: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    ends_at: _timestamp_pb2.Timestamp
    price_unit: PriceUnit
    delivered: DeliveredQuality
    seller_verification: Verification
    replaces: int
    replaced_by: int
    protection_price: int
    def __init__(self, deal_id: _Optional[int] = ..., offer_order_id: _Optional[int] = ..., request_order_id: _Optional[int] = ..., seller: _Optional[str] = ..., buyer: _Optional[str] = ..., service_type: _Optional[_Union[ServiceType, str]] = ..., route: _Optional[_Union[Route, _Mapping]] = ..., capacity_kbps: _Optional[int] = ..., circuits: _Optional[int] = ..., price: _Optional[int] = ..., class_scheme: _Optional[str] = ..., scheme_version: _Optional[int] = ..., grade: _Optional[str] = ..., agreement_id: _Optional[int] = ..., status: _Optional[_Union[DealStatus, str]] = ..., status_reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., price_unit: _Optional[_Union[PriceUnit, _Mapping]] = ..., delivered: _Optional[_Union[DeliveredQuality, _Mapping]] = ..., seller_verification: _Optional[_Union[Verification, str]] = ..., replaces: _Optional[int] = ..., replaced_by: _Optional[int] = ..., protection_price: _Optional[int] = ...) -> None: ...

class DeliveredQuality(_message.Message):
    __slots__ = ("deal_id", "grade", "delivered_grade", "degraded", "reason", "latency_us", "jitter_us", "loss_ppm", "availability_ppm", "probes", "answered", "windows", "updated_at", "seller", "buyer", "offer_order_id", "class_scheme", "score")
    DEAL_ID_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_GRADE_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    LATENCY_US_FIELD_NUMBER: _ClassVar[int]
    JITTER_US_FIELD_NUMBER: _ClassVar[int]
    LOSS_PPM_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_PPM_FIELD_NUMBER: _ClassVar[int]
    PROBES_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    SELLER_FIELD_NUMBER: _ClassVar[int]
    BUYER_FIELD_NUMBER: _ClassVar[int]
    OFFER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CLASS_SCHEME_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    deal_id: int
    grade: str
    delivered_grade: str
    degraded: bool
    reason: str
    latency_us: int
    jitter_us: int
    loss_ppm: int
    availability_ppm: int
    probes: int
    answered: int
    windows: int
    updated_at: _timestamp_pb2.Timestamp
    seller: str
    buyer: str
    offer_order_id: int
    class_scheme: str
    score: int
    def __init__(self, deal_id: _Optional[int] = ..., grade: _Optional[str] = ..., delivered_grade: _Optional[str] = ..., degraded: _Optional[bool] = ..., reason: _Optional[str] = ..., latency_us: _Optional[int] = ..., jitter_us: _Optional[int] = ..., loss_ppm: _Optional[int] = ..., availability_ppm: _Optional[int] = ..., probes: _Optional[int] = ..., answered: _Optional[int] = ..., windows: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., seller: _Optional[str] = ..., buyer: _Optional[str] = ..., offer_order_id: _Optional[int] = ..., class_scheme: _Optional[str] = ..., score: _Optional[int] = ...) -> None: ...

class QualitySample(_message.Message):
    __slots__ = ("deal_id", "offer_order_id", "time", "latency_us", "jitter_us", "loss_ppm", "availability_ppm", "probes", "answered", "delivered_grade", "at_class")
    DEAL_ID_FIELD_NUMBER: _ClassVar[int]
    OFFER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    LATENCY_US_FIELD_NUMBER: _ClassVar[int]
    JITTER_US_FIELD_NUMBER: _ClassVar[int]
    LOSS_PPM_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_PPM_FIELD_NUMBER: _ClassVar[int]
    PROBES_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_GRADE_FIELD_NUMBER: _ClassVar[int]
    AT_CLASS_FIELD_NUMBER: _ClassVar[int]
    deal_id: int
    offer_order_id: int
    time: _timestamp_pb2.Timestamp
    latency_us: int
    jitter_us: int
    loss_ppm: int
    availability_ppm: int
    probes: int
    answered: int
    delivered_grade: str
    at_class: bool
    def __init__(self, deal_id: _Optional[int] = ..., offer_order_id: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., latency_us: _Optional[int] = ..., jitter_us: _Optional[int] = ..., loss_ppm: _Optional[int] = ..., availability_ppm: _Optional[int] = ..., probes: _Optional[int] = ..., answered: _Optional[int] = ..., delivered_grade: _Optional[str] = ..., at_class: _Optional[bool] = ...) -> None: ...

class Penalty(_message.Message):
    __slots__ = ("penalty_id", "deal_id", "seller", "buyer", "time", "grade", "delivered_grade", "classes_below", "percent", "amount", "price_unit", "reason")
    PENALTY_ID_FIELD_NUMBER: _ClassVar[int]
    DEAL_ID_FIELD_NUMBER: _ClassVar[int]
    SELLER_FIELD_NUMBER: _ClassVar[int]
    BUYER_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_GRADE_FIELD_NUMBER: _ClassVar[int]
    CLASSES_BELOW_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PRICE_UNIT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    penalty_id: int
    deal_id: int
    seller: str
    buyer: str
    time: _timestamp_pb2.Timestamp
    grade: str
    delivered_grade: str
    classes_below: int
    percent: int
    amount: int
    price_unit: PriceUnit
    reason: str
    def __init__(self, penalty_id: _Optional[int] = ..., deal_id: _Optional[int] = ..., seller: _Optional[str] = ..., buyer: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., grade: _Optional[str] = ..., delivered_grade: _Optional[str] = ..., classes_below: _Optional[int] = ..., percent: _Optional[int] = ..., amount: _Optional[int] = ..., price_unit: _Optional[_Union[PriceUnit, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...
