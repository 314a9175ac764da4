import datetime

from google.protobuf import any_pb2 as _any_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from ixchange.v1 import common_pb2 as _common_pb2
from ixchange.v1 import market_pb2 as _market_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_KIND_UNSPECIFIED: _ClassVar[EventKind]
    EVENT_KIND_ORDER_ACCEPTED: _ClassVar[EventKind]
    EVENT_KIND_ORDER_FILLED: _ClassVar[EventKind]
    EVENT_KIND_ORDER_CANCELLED: _ClassVar[EventKind]
    EVENT_KIND_ORDER_REPLACED: _ClassVar[EventKind]
    EVENT_KIND_ORDER_EXPIRED: _ClassVar[EventKind]
    EVENT_KIND_DEAL_CREATED: _ClassVar[EventKind]
    EVENT_KIND_DEAL_STATUS_CHANGED: _ClassVar[EventKind]
    EVENT_KIND_QUOTE_ISSUED: _ClassVar[EventKind]
    EVENT_KIND_ORDER_CLASS_APPROVED: _ClassVar[EventKind]
    EVENT_KIND_ORDER_CLASS_REJECTED: _ClassVar[EventKind]
    EVENT_KIND_ORDER_REBID: _ClassVar[EventKind]
    EVENT_KIND_ALTERNATES_PROPOSED: _ClassVar[EventKind]
    EVENT_KIND_HEARTBEAT: _ClassVar[EventKind]
    EVENT_KIND_ORDER_RESTORED: _ClassVar[EventKind]
    EVENT_KIND_QUALITY: _ClassVar[EventKind]
    EVENT_KIND_PENALTY_ASSESSED: _ClassVar[EventKind]
    EVENT_KIND_ORDER_RECLASSIFIED: _ClassVar[EventKind]
    EVENT_KIND_ORDER_UNVERIFIED: _ClassVar[EventKind]
    EVENT_KIND_ORDER_VERIFIED: _ClassVar[EventKind]
    EVENT_KIND_ORDER_VERIFICATION_FAILED: _ClassVar[EventKind]
EVENT_KIND_UNSPECIFIED: EventKind
EVENT_KIND_ORDER_ACCEPTED: EventKind
EVENT_KIND_ORDER_FILLED: EventKind
EVENT_KIND_ORDER_CANCELLED: EventKind
EVENT_KIND_ORDER_REPLACED: EventKind
EVENT_KIND_ORDER_EXPIRED: EventKind
EVENT_KIND_DEAL_CREATED: EventKind
EVENT_KIND_DEAL_STATUS_CHANGED: EventKind
EVENT_KIND_QUOTE_ISSUED: EventKind
EVENT_KIND_ORDER_CLASS_APPROVED: EventKind
EVENT_KIND_ORDER_CLASS_REJECTED: EventKind
EVENT_KIND_ORDER_REBID: EventKind
EVENT_KIND_ALTERNATES_PROPOSED: EventKind
EVENT_KIND_HEARTBEAT: EventKind
EVENT_KIND_ORDER_RESTORED: EventKind
EVENT_KIND_QUALITY: EventKind
EVENT_KIND_PENALTY_ASSESSED: EventKind
EVENT_KIND_ORDER_RECLASSIFIED: EventKind
EVENT_KIND_ORDER_UNVERIFIED: EventKind
EVENT_KIND_ORDER_VERIFIED: EventKind
EVENT_KIND_ORDER_VERIFICATION_FAILED: EventKind

class TradeCommand(_message.Message):
    __slots__ = ("submit_offer", "submit_request", "cancel_order", "replace_order")
    SUBMIT_OFFER_FIELD_NUMBER: _ClassVar[int]
    SUBMIT_REQUEST_FIELD_NUMBER: _ClassVar[int]
    CANCEL_ORDER_FIELD_NUMBER: _ClassVar[int]
    REPLACE_ORDER_FIELD_NUMBER: _ClassVar[int]
    submit_offer: SubmitOfferRequest
    submit_request: SubmitRequestRequest
    cancel_order: CancelOrderRequest
    replace_order: ReplaceOrderRequest
    def __init__(self, submit_offer: _Optional[_Union[SubmitOfferRequest, _Mapping]] = ..., submit_request: _Optional[_Union[SubmitRequestRequest, _Mapping]] = ..., cancel_order: _Optional[_Union[CancelOrderRequest, _Mapping]] = ..., replace_order: _Optional[_Union[ReplaceOrderRequest, _Mapping]] = ...) -> None: ...

class TradeStreamRequest(_message.Message):
    __slots__ = ("batch_id", "commands")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    batch_id: int
    commands: _containers.RepeatedCompositeFieldContainer[TradeCommand]
    def __init__(self, batch_id: _Optional[int] = ..., commands: _Optional[_Iterable[_Union[TradeCommand, _Mapping]]] = ...) -> None: ...

class CommandStatus(_message.Message):
    __slots__ = ("code", "message", "details")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    details: _containers.RepeatedCompositeFieldContainer[_any_pb2.Any]
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., details: _Optional[_Iterable[_Union[_any_pb2.Any, _Mapping]]] = ...) -> None: ...

class TradeResult(_message.Message):
    __slots__ = ("submit_offer", "submit_request", "cancel_order", "replace_order", "error")
    SUBMIT_OFFER_FIELD_NUMBER: _ClassVar[int]
    SUBMIT_REQUEST_FIELD_NUMBER: _ClassVar[int]
    CANCEL_ORDER_FIELD_NUMBER: _ClassVar[int]
    REPLACE_ORDER_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    submit_offer: SubmitOfferResponse
    submit_request: SubmitRequestResponse
    cancel_order: CancelOrderResponse
    replace_order: ReplaceOrderResponse
    error: CommandStatus
    def __init__(self, submit_offer: _Optional[_Union[SubmitOfferResponse, _Mapping]] = ..., submit_request: _Optional[_Union[SubmitRequestResponse, _Mapping]] = ..., cancel_order: _Optional[_Union[CancelOrderResponse, _Mapping]] = ..., replace_order: _Optional[_Union[ReplaceOrderResponse, _Mapping]] = ..., error: _Optional[_Union[CommandStatus, _Mapping]] = ...) -> None: ...

class TradeStreamResponse(_message.Message):
    __slots__ = ("batch_id", "results")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    batch_id: int
    results: _containers.RepeatedCompositeFieldContainer[TradeResult]
    def __init__(self, batch_id: _Optional[int] = ..., results: _Optional[_Iterable[_Union[TradeResult, _Mapping]]] = ...) -> None: ...

class SubmitOfferRequest(_message.Message):
    __slots__ = ("client_order_id", "service_type", "route", "capacity_kbps", "circuits", "values", "price", "grade", "class_scheme", "valid_from", "valid_until", "time_in_force")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_KBPS_FIELD_NUMBER: _ClassVar[int]
    CIRCUITS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    CLASS_SCHEME_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    TIME_IN_FORCE_FIELD_NUMBER: _ClassVar[int]
    client_order_id: str
    service_type: _common_pb2.ServiceType
    route: _common_pb2.Route
    capacity_kbps: int
    circuits: int
    values: _containers.ScalarMap[str, int]
    price: int
    grade: str
    class_scheme: str
    valid_from: _timestamp_pb2.Timestamp
    valid_until: _timestamp_pb2.Timestamp
    time_in_force: _common_pb2.TimeInForce
    def __init__(self, client_order_id: _Optional[str] = ..., service_type: _Optional[_Union[_common_pb2.ServiceType, str]] = ..., route: _Optional[_Union[_common_pb2.Route, _Mapping]] = ..., capacity_kbps: _Optional[int] = ..., circuits: _Optional[int] = ..., values: _Optional[_Mapping[str, int]] = ..., price: _Optional[int] = ..., grade: _Optional[str] = ..., class_scheme: _Optional[str] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., time_in_force: _Optional[_Union[_common_pb2.TimeInForce, str]] = ...) -> None: ...

class SubmitOfferResponse(_message.Message):
    __slots__ = ("order", "deals", "duplicate")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    DEALS_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    order: _common_pb2.Order
    deals: _containers.RepeatedCompositeFieldContainer[_common_pb2.Deal]
    duplicate: bool
    def __init__(self, order: _Optional[_Union[_common_pb2.Order, _Mapping]] = ..., deals: _Optional[_Iterable[_Union[_common_pb2.Deal, _Mapping]]] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class SubmitRequestRequest(_message.Message):
    __slots__ = ("client_order_id", "service_type", "route", "capacity_kbps", "circuits", "grade", "requirements", "limit_price", "class_scheme", "valid_from", "valid_until", "time_in_force", "routing_policy", "propose_class", "quote_id", "rebid_of", "service_end")
    class RequirementsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_KBPS_FIELD_NUMBER: _ClassVar[int]
    CIRCUITS_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    CLASS_SCHEME_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    TIME_IN_FORCE_FIELD_NUMBER: _ClassVar[int]
    ROUTING_POLICY_FIELD_NUMBER: _ClassVar[int]
    PROPOSE_CLASS_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    REBID_OF_FIELD_NUMBER: _ClassVar[int]
    SERVICE_END_FIELD_NUMBER: _ClassVar[int]
    client_order_id: str
    service_type: _common_pb2.ServiceType
    route: _common_pb2.Route
    capacity_kbps: int
    circuits: int
    grade: str
    requirements: _containers.ScalarMap[str, int]
    limit_price: int
    class_scheme: str
    valid_from: _timestamp_pb2.Timestamp
    valid_until: _timestamp_pb2.Timestamp
    time_in_force: _common_pb2.TimeInForce
    routing_policy: _common_pb2.RoutingPolicy
    propose_class: bool
    quote_id: int
    rebid_of: int
    service_end: _timestamp_pb2.Timestamp
    def __init__(self, client_order_id: _Optional[str] = ..., service_type: _Optional[_Union[_common_pb2.ServiceType, str]] = ..., route: _Optional[_Union[_common_pb2.Route, _Mapping]] = ..., capacity_kbps: _Optional[int] = ..., circuits: _Optional[int] = ..., grade: _Optional[str] = ..., requirements: _Optional[_Mapping[str, int]] = ..., limit_price: _Optional[int] = ..., class_scheme: _Optional[str] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., time_in_force: _Optional[_Union[_common_pb2.TimeInForce, str]] = ..., routing_policy: _Optional[_Union[_common_pb2.RoutingPolicy, str]] = ..., propose_class: _Optional[bool] = ..., quote_id: _Optional[int] = ..., rebid_of: _Optional[int] = ..., service_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SubmitRequestResponse(_message.Message):
    __slots__ = ("order", "deals", "duplicate", "alternates")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    DEALS_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    ALTERNATES_FIELD_NUMBER: _ClassVar[int]
    order: _common_pb2.Order
    deals: _containers.RepeatedCompositeFieldContainer[_common_pb2.Deal]
    duplicate: bool
    alternates: _containers.RepeatedCompositeFieldContainer[_market_pb2.Alternate]
    def __init__(self, order: _Optional[_Union[_common_pb2.Order, _Mapping]] = ..., deals: _Optional[_Iterable[_Union[_common_pb2.Deal, _Mapping]]] = ..., duplicate: _Optional[bool] = ..., alternates: _Optional[_Iterable[_Union[_market_pb2.Alternate, _Mapping]]] = ...) -> None: ...

class ApproveClassRequest(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: int
    def __init__(self, order_id: _Optional[int] = ...) -> None: ...

class ApproveClassResponse(_message.Message):
    __slots__ = ("order", "deals", "alternates")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    DEALS_FIELD_NUMBER: _ClassVar[int]
    ALTERNATES_FIELD_NUMBER: _ClassVar[int]
    order: _common_pb2.Order
    deals: _containers.RepeatedCompositeFieldContainer[_common_pb2.Deal]
    alternates: _containers.RepeatedCompositeFieldContainer[_market_pb2.Alternate]
    def __init__(self, order: _Optional[_Union[_common_pb2.Order, _Mapping]] = ..., deals: _Optional[_Iterable[_Union[_common_pb2.Deal, _Mapping]]] = ..., alternates: _Optional[_Iterable[_Union[_market_pb2.Alternate, _Mapping]]] = ...) -> None: ...

class RejectClassRequest(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: int
    def __init__(self, order_id: _Optional[int] = ...) -> None: ...

class RejectClassResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: _common_pb2.Order
    def __init__(self, order: _Optional[_Union[_common_pb2.Order, _Mapping]] = ...) -> None: ...

class CancelOrderRequest(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: int
    def __init__(self, order_id: _Optional[int] = ...) -> None: ...

class CancelOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: _common_pb2.Order
    def __init__(self, order: _Optional[_Union[_common_pb2.Order, _Mapping]] = ...) -> None: ...

class ReplaceOrderRequest(_message.Message):
    __slots__ = ("order_id", "price", "remaining_circuits")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    REMAINING_CIRCUITS_FIELD_NUMBER: _ClassVar[int]
    order_id: int
    price: int
    remaining_circuits: int
    def __init__(self, order_id: _Optional[int] = ..., price: _Optional[int] = ..., remaining_circuits: _Optional[int] = ...) -> None: ...

class ReplaceOrderResponse(_message.Message):
    __slots__ = ("order", "deals")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    DEALS_FIELD_NUMBER: _ClassVar[int]
    order: _common_pb2.Order
    deals: _containers.RepeatedCompositeFieldContainer[_common_pb2.Deal]
    def __init__(self, order: _Optional[_Union[_common_pb2.Order, _Mapping]] = ..., deals: _Optional[_Iterable[_Union[_common_pb2.Deal, _Mapping]]] = ...) -> None: ...

class GetOrderRequest(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: int
    def __init__(self, order_id: _Optional[int] = ...) -> None: ...

class GetOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: _common_pb2.Order
    def __init__(self, order: _Optional[_Union[_common_pb2.Order, _Mapping]] = ...) -> None: ...

class ListOrdersRequest(_message.Message):
    __slots__ = ("open_only", "page_size", "page_token")
    OPEN_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    open_only: bool
    page_size: int
    page_token: str
    def __init__(self, open_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListOrdersResponse(_message.Message):
    __slots__ = ("orders", "next_page_token")
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[_common_pb2.Order]
    next_page_token: str
    def __init__(self, orders: _Optional[_Iterable[_Union[_common_pb2.Order, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetBookRequest(_message.Message):
    __slots__ = ("service_type", "route", "grade", "depth", "page_size", "page_token")
    SERVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    service_type: _common_pb2.ServiceType
    route: _common_pb2.Route
    grade: str
    depth: int
    page_size: int
    page_token: str
    def __init__(self, service_type: _Optional[_Union[_common_pb2.ServiceType, str]] = ..., route: _Optional[_Union[_common_pb2.Route, _Mapping]] = ..., grade: _Optional[str] = ..., depth: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class PriceLevel(_message.Message):
    __slots__ = ("price", "circuits", "orders")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    CIRCUITS_FIELD_NUMBER: _ClassVar[int]
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    price: int
    circuits: int
    orders: int
    def __init__(self, price: _Optional[int] = ..., circuits: _Optional[int] = ..., orders: _Optional[int] = ...) -> None: ...

class BookDepth(_message.Message):
    __slots__ = ("class_scheme", "grade", "service_type", "route", "capacity_kbps", "offers", "requests")
    CLASS_SCHEME_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_KBPS_FIELD_NUMBER: _ClassVar[int]
    OFFERS_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    class_scheme: str
    grade: str
    service_type: _common_pb2.ServiceType
    route: _common_pb2.Route
    capacity_kbps: int
    offers: _containers.RepeatedCompositeFieldContainer[PriceLevel]
    requests: _containers.RepeatedCompositeFieldContainer[PriceLevel]
    def __init__(self, class_scheme: _Optional[str] = ..., grade: _Optional[str] = ..., service_type: _Optional[_Union[_common_pb2.ServiceType, str]] = ..., route: _Optional[_Union[_common_pb2.Route, _Mapping]] = ..., capacity_kbps: _Optional[int] = ..., offers: _Optional[_Iterable[_Union[PriceLevel, _Mapping]]] = ..., requests: _Optional[_Iterable[_Union[PriceLevel, _Mapping]]] = ...) -> None: ...

class GetBookResponse(_message.Message):
    __slots__ = ("books", "next_page_token")
    BOOKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    books: _containers.RepeatedCompositeFieldContainer[BookDepth]
    next_page_token: str
    def __init__(self, books: _Optional[_Iterable[_Union[BookDepth, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListDealsRequest(_message.Message):
    __slots__ = ("status", "page_size", "page_token")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    status: _common_pb2.DealStatus
    page_size: int
    page_token: str
    def __init__(self, status: _Optional[_Union[_common_pb2.DealStatus, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDealsResponse(_message.Message):
    __slots__ = ("deals", "next_page_token")
    DEALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    deals: _containers.RepeatedCompositeFieldContainer[_common_pb2.Deal]
    next_page_token: str
    def __init__(self, deals: _Optional[_Iterable[_Union[_common_pb2.Deal, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetDealRequest(_message.Message):
    __slots__ = ("deal_id",)
    DEAL_ID_FIELD_NUMBER: _ClassVar[int]
    deal_id: int
    def __init__(self, deal_id: _Optional[int] = ...) -> None: ...

class TerminateDealRequest(_message.Message):
    __slots__ = ("deal_id", "reason")
    DEAL_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    deal_id: int
    reason: str
    def __init__(self, deal_id: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class TerminateDealResponse(_message.Message):
    __slots__ = ("deal",)
    DEAL_FIELD_NUMBER: _ClassVar[int]
    deal: _common_pb2.Deal
    def __init__(self, deal: _Optional[_Union[_common_pb2.Deal, _Mapping]] = ...) -> None: ...

class GetDealResponse(_message.Message):
    __slots__ = ("deal",)
    DEAL_FIELD_NUMBER: _ClassVar[int]
    deal: _common_pb2.Deal
    def __init__(self, deal: _Optional[_Union[_common_pb2.Deal, _Mapping]] = ...) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ("after_sequence", "from_now")
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    FROM_NOW_FIELD_NUMBER: _ClassVar[int]
    after_sequence: int
    from_now: bool
    def __init__(self, after_sequence: _Optional[int] = ..., from_now: _Optional[bool] = ...) -> None: ...

class WatchEventsResponse(_message.Message):
    __slots__ = ("sequence", "time", "kind", "order", "deal", "quote", "recommendation", "quality", "penalty")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    DEAL_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDATION_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    PENALTY_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    time: _timestamp_pb2.Timestamp
    kind: EventKind
    order: _common_pb2.Order
    deal: _common_pb2.Deal
    quote: _market_pb2.Quote
    recommendation: _market_pb2.Recommendation
    quality: _common_pb2.DeliveredQuality
    penalty: _common_pb2.Penalty
    def __init__(self, sequence: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[_Union[EventKind, str]] = ..., order: _Optional[_Union[_common_pb2.Order, _Mapping]] = ..., deal: _Optional[_Union[_common_pb2.Deal, _Mapping]] = ..., quote: _Optional[_Union[_market_pb2.Quote, _Mapping]] = ..., recommendation: _Optional[_Union[_market_pb2.Recommendation, _Mapping]] = ..., quality: _Optional[_Union[_common_pb2.DeliveredQuality, _Mapping]] = ..., penalty: _Optional[_Union[_common_pb2.Penalty, _Mapping]] = ...) -> None: ...
