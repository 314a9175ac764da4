import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from ixchange.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AlternateKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALTERNATE_KIND_UNSPECIFIED: _ClassVar[AlternateKind]
    ALTERNATE_KIND_BETTER_CLASS: _ClassVar[AlternateKind]
    ALTERNATE_KIND_CAPACITY_SPLIT: _ClassVar[AlternateKind]
    ALTERNATE_KIND_NEARBY_ROUTE: _ClassVar[AlternateKind]
    ALTERNATE_KIND_WORSE_CLASS: _ClassVar[AlternateKind]
ALTERNATE_KIND_UNSPECIFIED: AlternateKind
ALTERNATE_KIND_BETTER_CLASS: AlternateKind
ALTERNATE_KIND_CAPACITY_SPLIT: AlternateKind
ALTERNATE_KIND_NEARBY_ROUTE: AlternateKind
ALTERNATE_KIND_WORSE_CLASS: AlternateKind

class RequestSpec(_message.Message):
    __slots__ = ("service_type", "route", "capacity_kbps", "circuits", "grade", "requirements", "class_scheme", "routing_policy")
    class RequirementsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    SERVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_KBPS_FIELD_NUMBER: _ClassVar[int]
    CIRCUITS_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    CLASS_SCHEME_FIELD_NUMBER: _ClassVar[int]
    ROUTING_POLICY_FIELD_NUMBER: _ClassVar[int]
    service_type: _common_pb2.ServiceType
    route: _common_pb2.Route
    capacity_kbps: int
    circuits: int
    grade: str
    requirements: _containers.ScalarMap[str, int]
    class_scheme: str
    routing_policy: _common_pb2.RoutingPolicy
    def __init__(self, service_type: _Optional[_Union[_common_pb2.ServiceType, str]] = ..., route: _Optional[_Union[_common_pb2.Route, _Mapping]] = ..., capacity_kbps: _Optional[int] = ..., circuits: _Optional[int] = ..., grade: _Optional[str] = ..., requirements: _Optional[_Mapping[str, int]] = ..., class_scheme: _Optional[str] = ..., routing_policy: _Optional[_Union[_common_pb2.RoutingPolicy, str]] = ...) -> None: ...

class Fill(_message.Message):
    __slots__ = ("price", "circuits")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    CIRCUITS_FIELD_NUMBER: _ClassVar[int]
    price: int
    circuits: int
    def __init__(self, price: _Optional[int] = ..., circuits: _Optional[int] = ...) -> None: ...

class Quote(_message.Message):
    __slots__ = ("quote_id", "participant", "service_type", "route", "capacity_kbps", "circuits", "requirements", "class_scheme", "scheme_version", "grade", "class_reason", "routing_policy", "fills", "fillable_circuits", "full", "price", "total_value", "created_at", "expires_at", "price_unit", "provisioning_p50_ms")
    class RequirementsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_KBPS_FIELD_NUMBER: _ClassVar[int]
    CIRCUITS_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    CLASS_SCHEME_FIELD_NUMBER: _ClassVar[int]
    SCHEME_VERSION_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    CLASS_REASON_FIELD_NUMBER: _ClassVar[int]
    ROUTING_POLICY_FIELD_NUMBER: _ClassVar[int]
    FILLS_FIELD_NUMBER: _ClassVar[int]
    FILLABLE_CIRCUITS_FIELD_NUMBER: _ClassVar[int]
    FULL_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_VALUE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    PRICE_UNIT_FIELD_NUMBER: _ClassVar[int]
    PROVISIONING_P50_MS_FIELD_NUMBER: _ClassVar[int]
    quote_id: int
    participant: str
    service_type: _common_pb2.ServiceType
    route: _common_pb2.Route
    capacity_kbps: int
    circuits: int
    requirements: _containers.ScalarMap[str, int]
    class_scheme: str
    scheme_version: int
    grade: str
    class_reason: str
    routing_policy: _common_pb2.RoutingPolicy
    fills: _containers.RepeatedCompositeFieldContainer[Fill]
    fillable_circuits: int
    full: bool
    price: int
    total_value: int
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    price_unit: _common_pb2.PriceUnit
    provisioning_p50_ms: int
    def __init__(self, quote_id: _Optional[int] = ..., participant: _Optional[str] = ..., service_type: _Optional[_Union[_common_pb2.ServiceType, str]] = ..., route: _Optional[_Union[_common_pb2.Route, _Mapping]] = ..., capacity_kbps: _Optional[int] = ..., circuits: _Optional[int] = ..., requirements: _Optional[_Mapping[str, int]] = ..., class_scheme: _Optional[str] = ..., scheme_version: _Optional[int] = ..., grade: _Optional[str] = ..., class_reason: _Optional[str] = ..., routing_policy: _Optional[_Union[_common_pb2.RoutingPolicy, str]] = ..., fills: _Optional[_Iterable[_Union[Fill, _Mapping]]] = ..., fillable_circuits: _Optional[int] = ..., full: _Optional[bool] = ..., price: _Optional[int] = ..., total_value: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., price_unit: _Optional[_Union[_common_pb2.PriceUnit, _Mapping]] = ..., provisioning_p50_ms: _Optional[int] = ...) -> None: ...

class GetQuoteRequest(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: RequestSpec
    def __init__(self, request: _Optional[_Union[RequestSpec, _Mapping]] = ...) -> None: ...

class GetQuoteResponse(_message.Message):
    __slots__ = ("quote",)
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    quote: Quote
    def __init__(self, quote: _Optional[_Union[Quote, _Mapping]] = ...) -> None: ...

class ParameterDifference(_message.Message):
    __slots__ = ("parameter", "asked", "offered", "meets")
    PARAMETER_FIELD_NUMBER: _ClassVar[int]
    ASKED_FIELD_NUMBER: _ClassVar[int]
    OFFERED_FIELD_NUMBER: _ClassVar[int]
    MEETS_FIELD_NUMBER: _ClassVar[int]
    parameter: str
    asked: int
    offered: int
    meets: bool
    def __init__(self, parameter: _Optional[str] = ..., asked: _Optional[int] = ..., offered: _Optional[int] = ..., meets: _Optional[bool] = ...) -> None: ...

class Alternate(_message.Message):
    __slots__ = ("kind", "class_scheme", "grade", "service_type", "route", "capacity_kbps", "circuits", "available_circuits", "full", "fills", "price", "total_value", "differences", "note")
    KIND_FIELD_NUMBER: _ClassVar[int]
    CLASS_SCHEME_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_KBPS_FIELD_NUMBER: _ClassVar[int]
    CIRCUITS_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_CIRCUITS_FIELD_NUMBER: _ClassVar[int]
    FULL_FIELD_NUMBER: _ClassVar[int]
    FILLS_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_VALUE_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCES_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    kind: AlternateKind
    class_scheme: str
    grade: str
    service_type: _common_pb2.ServiceType
    route: _common_pb2.Route
    capacity_kbps: int
    circuits: int
    available_circuits: int
    full: bool
    fills: _containers.RepeatedCompositeFieldContainer[Fill]
    price: int
    total_value: int
    differences: _containers.RepeatedCompositeFieldContainer[ParameterDifference]
    note: str
    def __init__(self, kind: _Optional[_Union[AlternateKind, str]] = ..., class_scheme: _Optional[str] = ..., grade: _Optional[str] = ..., service_type: _Optional[_Union[_common_pb2.ServiceType, str]] = ..., route: _Optional[_Union[_common_pb2.Route, _Mapping]] = ..., capacity_kbps: _Optional[int] = ..., circuits: _Optional[int] = ..., available_circuits: _Optional[int] = ..., full: _Optional[bool] = ..., fills: _Optional[_Iterable[_Union[Fill, _Mapping]]] = ..., price: _Optional[int] = ..., total_value: _Optional[int] = ..., differences: _Optional[_Iterable[_Union[ParameterDifference, _Mapping]]] = ..., note: _Optional[str] = ...) -> None: ...

class Recommendation(_message.Message):
    __slots__ = ("participant", "order_id", "service_type", "route", "capacity_kbps", "circuits", "class_scheme", "grade", "alternates", "created_at")
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_KBPS_FIELD_NUMBER: _ClassVar[int]
    CIRCUITS_FIELD_NUMBER: _ClassVar[int]
    CLASS_SCHEME_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    ALTERNATES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    participant: str
    order_id: int
    service_type: _common_pb2.ServiceType
    route: _common_pb2.Route
    capacity_kbps: int
    circuits: int
    class_scheme: str
    grade: str
    alternates: _containers.RepeatedCompositeFieldContainer[Alternate]
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, participant: _Optional[str] = ..., order_id: _Optional[int] = ..., service_type: _Optional[_Union[_common_pb2.ServiceType, str]] = ..., route: _Optional[_Union[_common_pb2.Route, _Mapping]] = ..., capacity_kbps: _Optional[int] = ..., circuits: _Optional[int] = ..., class_scheme: _Optional[str] = ..., grade: _Optional[str] = ..., alternates: _Optional[_Iterable[_Union[Alternate, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecommendRequest(_message.Message):
    __slots__ = ("order_id", "request")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    order_id: int
    request: RequestSpec
    def __init__(self, order_id: _Optional[int] = ..., request: _Optional[_Union[RequestSpec, _Mapping]] = ...) -> None: ...

class RecommendResponse(_message.Message):
    __slots__ = ("recommendation",)
    RECOMMENDATION_FIELD_NUMBER: _ClassVar[int]
    recommendation: Recommendation
    def __init__(self, recommendation: _Optional[_Union[Recommendation, _Mapping]] = ...) -> None: ...

class GetMarketReportRequest(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MarketReportRow(_message.Message):
    __slots__ = ("class_scheme", "grade", "service_type", "route", "capacity_kbps", "deals", "circuits", "volume_kbps", "vwap", "min_price", "max_price", "total_value", "median_quality", "capped", "price_unit")
    CLASS_SCHEME_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_KBPS_FIELD_NUMBER: _ClassVar[int]
    DEALS_FIELD_NUMBER: _ClassVar[int]
    CIRCUITS_FIELD_NUMBER: _ClassVar[int]
    VOLUME_KBPS_FIELD_NUMBER: _ClassVar[int]
    VWAP_FIELD_NUMBER: _ClassVar[int]
    MIN_PRICE_FIELD_NUMBER: _ClassVar[int]
    MAX_PRICE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_VALUE_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_QUALITY_FIELD_NUMBER: _ClassVar[int]
    CAPPED_FIELD_NUMBER: _ClassVar[int]
    PRICE_UNIT_FIELD_NUMBER: _ClassVar[int]
    class_scheme: str
    grade: str
    service_type: _common_pb2.ServiceType
    route: _common_pb2.Route
    capacity_kbps: int
    deals: int
    circuits: int
    volume_kbps: int
    vwap: int
    min_price: int
    max_price: int
    total_value: int
    median_quality: int
    capped: bool
    price_unit: _common_pb2.PriceUnit
    def __init__(self, class_scheme: _Optional[str] = ..., grade: _Optional[str] = ..., service_type: _Optional[_Union[_common_pb2.ServiceType, str]] = ..., route: _Optional[_Union[_common_pb2.Route, _Mapping]] = ..., capacity_kbps: _Optional[int] = ..., deals: _Optional[int] = ..., circuits: _Optional[int] = ..., volume_kbps: _Optional[int] = ..., vwap: _Optional[int] = ..., min_price: _Optional[int] = ..., max_price: _Optional[int] = ..., total_value: _Optional[int] = ..., median_quality: _Optional[int] = ..., capped: _Optional[bool] = ..., price_unit: _Optional[_Union[_common_pb2.PriceUnit, _Mapping]] = ...) -> None: ...

class GetMarketReportResponse(_message.Message):
    __slots__ = ("start", "end", "rows")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    rows: _containers.RepeatedCompositeFieldContainer[MarketReportRow]
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rows: _Optional[_Iterable[_Union[MarketReportRow, _Mapping]]] = ...) -> None: ...

class SetNeighboursRequest(_message.Message):
    __slots__ = ("pop", "neighbours")
    POP_FIELD_NUMBER: _ClassVar[int]
    NEIGHBOURS_FIELD_NUMBER: _ClassVar[int]
    pop: str
    neighbours: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, pop: _Optional[str] = ..., neighbours: _Optional[_Iterable[str]] = ...) -> None: ...

class SetNeighboursResponse(_message.Message):
    __slots__ = ("pop", "neighbours")
    POP_FIELD_NUMBER: _ClassVar[int]
    NEIGHBOURS_FIELD_NUMBER: _ClassVar[int]
    pop: str
    neighbours: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, pop: _Optional[str] = ..., neighbours: _Optional[_Iterable[str]] = ...) -> None: ...

class ListNeighboursRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PopNeighbours(_message.Message):
    __slots__ = ("pop", "neighbours")
    POP_FIELD_NUMBER: _ClassVar[int]
    NEIGHBOURS_FIELD_NUMBER: _ClassVar[int]
    pop: str
    neighbours: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, pop: _Optional[str] = ..., neighbours: _Optional[_Iterable[str]] = ...) -> None: ...

class ListNeighboursResponse(_message.Message):
    __slots__ = ("pops",)
    POPS_FIELD_NUMBER: _ClassVar[int]
    pops: _containers.RepeatedCompositeFieldContainer[PopNeighbours]
    def __init__(self, pops: _Optional[_Iterable[_Union[PopNeighbours, _Mapping]]] = ...) -> None: ...
