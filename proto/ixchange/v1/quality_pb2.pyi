import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from ixchange.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SetVerificationWaiverRequest(_message.Message):
    __slots__ = ("participant", "waived")
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    WAIVED_FIELD_NUMBER: _ClassVar[int]
    participant: str
    waived: bool
    def __init__(self, participant: _Optional[str] = ..., waived: _Optional[bool] = ...) -> None: ...

class SetVerificationWaiverResponse(_message.Message):
    __slots__ = ("listed_order_ids",)
    LISTED_ORDER_IDS_FIELD_NUMBER: _ClassVar[int]
    listed_order_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, listed_order_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class GetQualityRequest(_message.Message):
    __slots__ = ("deal_id", "offer_order_id", "since", "page_size", "page_token")
    DEAL_ID_FIELD_NUMBER: _ClassVar[int]
    OFFER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    deal_id: int
    offer_order_id: int
    since: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, deal_id: _Optional[int] = ..., offer_order_id: _Optional[int] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetQualityResponse(_message.Message):
    __slots__ = ("current", "samples", "next_page_token", "seller_quality_ppm")
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SELLER_QUALITY_PPM_FIELD_NUMBER: _ClassVar[int]
    current: _containers.RepeatedCompositeFieldContainer[_common_pb2.DeliveredQuality]
    samples: _containers.RepeatedCompositeFieldContainer[_common_pb2.QualitySample]
    next_page_token: str
    seller_quality_ppm: int
    def __init__(self, current: _Optional[_Iterable[_Union[_common_pb2.DeliveredQuality, _Mapping]]] = ..., samples: _Optional[_Iterable[_Union[_common_pb2.QualitySample, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., seller_quality_ppm: _Optional[int] = ...) -> None: ...

class ListPenaltiesRequest(_message.Message):
    __slots__ = ("deal_id", "page_size", "page_token")
    DEAL_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    deal_id: int
    page_size: int
    page_token: str
    def __init__(self, deal_id: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPenaltiesResponse(_message.Message):
    __slots__ = ("penalties", "next_page_token")
    PENALTIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    penalties: _containers.RepeatedCompositeFieldContainer[_common_pb2.Penalty]
    next_page_token: str
    def __init__(self, penalties: _Optional[_Iterable[_Union[_common_pb2.Penalty, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
