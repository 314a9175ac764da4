import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from ixchange.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChangeDealRequest(_message.Message):
    __slots__ = ("deal_id", "capacity_kbps", "ends_at")
    DEAL_ID_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_KBPS_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    deal_id: int
    capacity_kbps: int
    ends_at: _timestamp_pb2.Timestamp
    def __init__(self, deal_id: _Optional[int] = ..., capacity_kbps: _Optional[int] = ..., ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ChangeDealResponse(_message.Message):
    __slots__ = ("deal", "applied", "waiting_for")
    DEAL_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    WAITING_FOR_FIELD_NUMBER: _ClassVar[int]
    deal: _common_pb2.Deal
    applied: bool
    waiting_for: str
    def __init__(self, deal: _Optional[_Union[_common_pb2.Deal, _Mapping]] = ..., applied: _Optional[bool] = ..., waiting_for: _Optional[str] = ...) -> None: ...

class ProtectDealRequest(_message.Message):
    __slots__ = ("deal_id", "protected")
    DEAL_ID_FIELD_NUMBER: _ClassVar[int]
    PROTECTED_FIELD_NUMBER: _ClassVar[int]
    deal_id: int
    protected: bool
    def __init__(self, deal_id: _Optional[int] = ..., protected: _Optional[bool] = ...) -> None: ...

class ProtectDealResponse(_message.Message):
    __slots__ = ("deal",)
    DEAL_FIELD_NUMBER: _ClassVar[int]
    deal: _common_pb2.Deal
    def __init__(self, deal: _Optional[_Union[_common_pb2.Deal, _Mapping]] = ...) -> None: ...

class SwapSellerRequest(_message.Message):
    __slots__ = ("deal_id", "better_class", "max_price", "reason")
    DEAL_ID_FIELD_NUMBER: _ClassVar[int]
    BETTER_CLASS_FIELD_NUMBER: _ClassVar[int]
    MAX_PRICE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    deal_id: int
    better_class: bool
    max_price: int
    reason: str
    def __init__(self, deal_id: _Optional[int] = ..., better_class: _Optional[bool] = ..., max_price: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class SwapSellerResponse(_message.Message):
    __slots__ = ("deal",)
    DEAL_FIELD_NUMBER: _ClassVar[int]
    deal: _common_pb2.Deal
    def __init__(self, deal: _Optional[_Union[_common_pb2.Deal, _Mapping]] = ...) -> None: ...

class DrainLinkRequest(_message.Message):
    __slots__ = ("link", "drained")
    LINK_FIELD_NUMBER: _ClassVar[int]
    DRAINED_FIELD_NUMBER: _ClassVar[int]
    link: str
    drained: bool
    def __init__(self, link: _Optional[str] = ..., drained: _Optional[bool] = ...) -> None: ...

class DrainLinkResponse(_message.Message):
    __slots__ = ("moved", "stuck")
    MOVED_FIELD_NUMBER: _ClassVar[int]
    STUCK_FIELD_NUMBER: _ClassVar[int]
    moved: _containers.RepeatedCompositeFieldContainer[DrainedDeal]
    stuck: _containers.RepeatedCompositeFieldContainer[DrainedDeal]
    def __init__(self, moved: _Optional[_Iterable[_Union[DrainedDeal, _Mapping]]] = ..., stuck: _Optional[_Iterable[_Union[DrainedDeal, _Mapping]]] = ...) -> None: ...

class DrainedDeal(_message.Message):
    __slots__ = ("deal_id", "detail")
    DEAL_ID_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    deal_id: int
    detail: str
    def __init__(self, deal_id: _Optional[int] = ..., detail: _Optional[str] = ...) -> None: ...
