import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetFabricRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class FabricNode(_message.Message):
    __slots__ = ("name", "kind", "connected", "address", "since")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    connected: bool
    address: str
    since: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., connected: _Optional[bool] = ..., address: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FabricLink(_message.Message):
    __slots__ = ("name", "capacity_kbps", "load_kbps", "deals", "seen", "untagged", "since")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_KBPS_FIELD_NUMBER: _ClassVar[int]
    LOAD_KBPS_FIELD_NUMBER: _ClassVar[int]
    DEALS_FIELD_NUMBER: _ClassVar[int]
    SEEN_FIELD_NUMBER: _ClassVar[int]
    UNTAGGED_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    capacity_kbps: int
    load_kbps: int
    deals: int
    seen: bool
    untagged: bool
    since: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., capacity_kbps: _Optional[int] = ..., load_kbps: _Optional[int] = ..., deals: _Optional[int] = ..., seen: _Optional[bool] = ..., untagged: _Optional[bool] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetFabricResponse(_message.Message):
    __slots__ = ("enabled", "nodes", "links", "link_problems", "provisioned_deals", "as_of")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    LINKS_FIELD_NUMBER: _ClassVar[int]
    LINK_PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    PROVISIONED_DEALS_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    nodes: _containers.RepeatedCompositeFieldContainer[FabricNode]
    links: _containers.RepeatedCompositeFieldContainer[FabricLink]
    link_problems: _containers.RepeatedScalarFieldContainer[str]
    provisioned_deals: int
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, enabled: _Optional[bool] = ..., nodes: _Optional[_Iterable[_Union[FabricNode, _Mapping]]] = ..., links: _Optional[_Iterable[_Union[FabricLink, _Mapping]]] = ..., link_problems: _Optional[_Iterable[str]] = ..., provisioned_deals: _Optional[int] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
