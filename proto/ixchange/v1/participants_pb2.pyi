import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_SELLER: _ClassVar[Role]
    ROLE_BUYER: _ClassVar[Role]
    ROLE_OPERATOR: _ClassVar[Role]

class Party(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PARTY_UNSPECIFIED: _ClassVar[Party]
    PARTY_BUYER: _ClassVar[Party]
    PARTY_SELLER: _ClassVar[Party]
ROLE_UNSPECIFIED: Role
ROLE_SELLER: Role
ROLE_BUYER: Role
ROLE_OPERATOR: Role
PARTY_UNSPECIFIED: Party
PARTY_BUYER: Party
PARTY_SELLER: Party

class Participant(_message.Message):
    __slots__ = ("name", "roles", "carrier", "display_name", "created_at", "cert_subject")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CERT_SUBJECT_FIELD_NUMBER: _ClassVar[int]
    name: str
    roles: _containers.RepeatedScalarFieldContainer[Role]
    carrier: bool
    display_name: str
    created_at: _timestamp_pb2.Timestamp
    cert_subject: str
    def __init__(self, name: _Optional[str] = ..., roles: _Optional[_Iterable[_Union[Role, str]]] = ..., carrier: _Optional[bool] = ..., display_name: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cert_subject: _Optional[str] = ...) -> None: ...

class RegisterParticipantRequest(_message.Message):
    __slots__ = ("participant",)
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    participant: Participant
    def __init__(self, participant: _Optional[_Union[Participant, _Mapping]] = ...) -> None: ...

class RegisterParticipantResponse(_message.Message):
    __slots__ = ("participant",)
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    participant: Participant
    def __init__(self, participant: _Optional[_Union[Participant, _Mapping]] = ...) -> None: ...

class ListParticipantsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListParticipantsResponse(_message.Message):
    __slots__ = ("participants", "next_page_token")
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    participants: _containers.RepeatedCompositeFieldContainer[Participant]
    next_page_token: str
    def __init__(self, participants: _Optional[_Iterable[_Union[Participant, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class IssueTokenRequest(_message.Message):
    __slots__ = ("participant", "expires_at", "label")
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    participant: str
    expires_at: _timestamp_pb2.Timestamp
    label: str
    def __init__(self, participant: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., label: _Optional[str] = ...) -> None: ...

class IssueTokenResponse(_message.Message):
    __slots__ = ("participant", "token", "token_id", "expires_at")
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    participant: str
    token: str
    token_id: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, participant: _Optional[str] = ..., token: _Optional[str] = ..., token_id: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TokenInfo(_message.Message):
    __slots__ = ("token_id", "participant", "label", "created_at", "expires_at", "revoked_at")
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    token_id: str
    participant: str
    label: str
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    revoked_at: _timestamp_pb2.Timestamp
    def __init__(self, token_id: _Optional[str] = ..., participant: _Optional[str] = ..., label: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RevokeTokenRequest(_message.Message):
    __slots__ = ("token_id", "token")
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token_id: str
    token: str
    def __init__(self, token_id: _Optional[str] = ..., token: _Optional[str] = ...) -> None: ...

class RevokeTokenResponse(_message.Message):
    __slots__ = ("revoked",)
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    revoked: _containers.RepeatedCompositeFieldContainer[TokenInfo]
    def __init__(self, revoked: _Optional[_Iterable[_Union[TokenInfo, _Mapping]]] = ...) -> None: ...

class ListTokensRequest(_message.Message):
    __slots__ = ("participant",)
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    participant: str
    def __init__(self, participant: _Optional[str] = ...) -> None: ...

class ListTokensResponse(_message.Message):
    __slots__ = ("tokens",)
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    tokens: _containers.RepeatedCompositeFieldContainer[TokenInfo]
    def __init__(self, tokens: _Optional[_Iterable[_Union[TokenInfo, _Mapping]]] = ...) -> None: ...

class SetCertificateSubjectRequest(_message.Message):
    __slots__ = ("participant", "cert_subject")
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    CERT_SUBJECT_FIELD_NUMBER: _ClassVar[int]
    participant: str
    cert_subject: str
    def __init__(self, participant: _Optional[str] = ..., cert_subject: _Optional[str] = ...) -> None: ...

class SetCertificateSubjectResponse(_message.Message):
    __slots__ = ("participant",)
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    participant: Participant
    def __init__(self, participant: _Optional[_Union[Participant, _Mapping]] = ...) -> None: ...

class Interconnect(_message.Message):
    __slots__ = ("party", "node", "port", "vlan_min", "vlan_max")
    PARTY_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    VLAN_MIN_FIELD_NUMBER: _ClassVar[int]
    VLAN_MAX_FIELD_NUMBER: _ClassVar[int]
    party: Party
    node: str
    port: str
    vlan_min: int
    vlan_max: int
    def __init__(self, party: _Optional[_Union[Party, str]] = ..., node: _Optional[str] = ..., port: _Optional[str] = ..., vlan_min: _Optional[int] = ..., vlan_max: _Optional[int] = ...) -> None: ...

class Agreement(_message.Message):
    __slots__ = ("agreement_id", "reference", "buyer", "seller", "interconnects", "max_rate_kbps", "terms", "created_at")
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    BUYER_FIELD_NUMBER: _ClassVar[int]
    SELLER_FIELD_NUMBER: _ClassVar[int]
    INTERCONNECTS_FIELD_NUMBER: _ClassVar[int]
    MAX_RATE_KBPS_FIELD_NUMBER: _ClassVar[int]
    TERMS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    agreement_id: int
    reference: str
    buyer: str
    seller: str
    interconnects: _containers.RepeatedCompositeFieldContainer[Interconnect]
    max_rate_kbps: int
    terms: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, agreement_id: _Optional[int] = ..., reference: _Optional[str] = ..., buyer: _Optional[str] = ..., seller: _Optional[str] = ..., interconnects: _Optional[_Iterable[_Union[Interconnect, _Mapping]]] = ..., max_rate_kbps: _Optional[int] = ..., terms: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RegisterAgreementRequest(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: Agreement
    def __init__(self, agreement: _Optional[_Union[Agreement, _Mapping]] = ...) -> None: ...

class RegisterAgreementResponse(_message.Message):
    __slots__ = ("agreement", "released_deal_ids")
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    RELEASED_DEAL_IDS_FIELD_NUMBER: _ClassVar[int]
    agreement: Agreement
    released_deal_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, agreement: _Optional[_Union[Agreement, _Mapping]] = ..., released_deal_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class ListAgreementsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAgreementsResponse(_message.Message):
    __slots__ = ("agreements", "next_page_token")
    AGREEMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    agreements: _containers.RepeatedCompositeFieldContainer[Agreement]
    next_page_token: str
    def __init__(self, agreements: _Optional[_Iterable[_Union[Agreement, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
