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

class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DIRECTION_UNSPECIFIED: _ClassVar[Direction]
    DIRECTION_HIGHER_IS_BETTER: _ClassVar[Direction]
    DIRECTION_LOWER_IS_BETTER: _ClassVar[Direction]
DIRECTION_UNSPECIFIED: Direction
DIRECTION_HIGHER_IS_BETTER: Direction
DIRECTION_LOWER_IS_BETTER: Direction

class Parameter(_message.Message):
    __slots__ = ("name", "unit", "direction", "description", "min_value", "max_value", "score_worst", "score_best")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    MIN_VALUE_FIELD_NUMBER: _ClassVar[int]
    MAX_VALUE_FIELD_NUMBER: _ClassVar[int]
    SCORE_WORST_FIELD_NUMBER: _ClassVar[int]
    SCORE_BEST_FIELD_NUMBER: _ClassVar[int]
    name: str
    unit: str
    direction: Direction
    description: str
    min_value: int
    max_value: int
    score_worst: int
    score_best: int
    def __init__(self, name: _Optional[str] = ..., unit: _Optional[str] = ..., direction: _Optional[_Union[Direction, str]] = ..., description: _Optional[str] = ..., min_value: _Optional[int] = ..., max_value: _Optional[int] = ..., score_worst: _Optional[int] = ..., score_best: _Optional[int] = ...) -> None: ...

class MedianBound(_message.Message):
    __slots__ = ("permille", "initial")
    PERMILLE_FIELD_NUMBER: _ClassVar[int]
    INITIAL_FIELD_NUMBER: _ClassVar[int]
    permille: int
    initial: int
    def __init__(self, permille: _Optional[int] = ..., initial: _Optional[int] = ...) -> None: ...

class Band(_message.Message):
    __slots__ = ("parameter", "fixed", "median", "effective")
    PARAMETER_FIELD_NUMBER: _ClassVar[int]
    FIXED_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FIELD_NUMBER: _ClassVar[int]
    parameter: str
    fixed: int
    median: MedianBound
    effective: int
    def __init__(self, parameter: _Optional[str] = ..., fixed: _Optional[int] = ..., median: _Optional[_Union[MedianBound, _Mapping]] = ..., effective: _Optional[int] = ...) -> None: ...

class Grade(_message.Message):
    __slots__ = ("name", "bands", "min_score")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BANDS_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    name: str
    bands: _containers.RepeatedCompositeFieldContainer[Band]
    min_score: int
    def __init__(self, name: _Optional[str] = ..., bands: _Optional[_Iterable[_Union[Band, _Mapping]]] = ..., min_score: _Optional[int] = ...) -> None: ...

class ClassScheme(_message.Message):
    __slots__ = ("name", "version", "service_types", "grades", "weights", "created_at")
    class WeightsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TYPES_FIELD_NUMBER: _ClassVar[int]
    GRADES_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    service_types: _containers.RepeatedScalarFieldContainer[_common_pb2.ServiceType]
    grades: _containers.RepeatedCompositeFieldContainer[Grade]
    weights: _containers.ScalarMap[str, int]
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ..., service_types: _Optional[_Iterable[_Union[_common_pb2.ServiceType, str]]] = ..., grades: _Optional[_Iterable[_Union[Grade, _Mapping]]] = ..., weights: _Optional[_Mapping[str, int]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DefineParameterRequest(_message.Message):
    __slots__ = ("parameter",)
    PARAMETER_FIELD_NUMBER: _ClassVar[int]
    parameter: Parameter
    def __init__(self, parameter: _Optional[_Union[Parameter, _Mapping]] = ...) -> None: ...

class DefineParameterResponse(_message.Message):
    __slots__ = ("parameter",)
    PARAMETER_FIELD_NUMBER: _ClassVar[int]
    parameter: Parameter
    def __init__(self, parameter: _Optional[_Union[Parameter, _Mapping]] = ...) -> None: ...

class ListParametersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListParametersResponse(_message.Message):
    __slots__ = ("parameters",)
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    parameters: _containers.RepeatedCompositeFieldContainer[Parameter]
    def __init__(self, parameters: _Optional[_Iterable[_Union[Parameter, _Mapping]]] = ...) -> None: ...

class DefineClassSchemeRequest(_message.Message):
    __slots__ = ("scheme",)
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    scheme: ClassScheme
    def __init__(self, scheme: _Optional[_Union[ClassScheme, _Mapping]] = ...) -> None: ...

class DefineClassSchemeResponse(_message.Message):
    __slots__ = ("scheme",)
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    scheme: ClassScheme
    def __init__(self, scheme: _Optional[_Union[ClassScheme, _Mapping]] = ...) -> None: ...

class ListClassSchemesRequest(_message.Message):
    __slots__ = ("all_versions",)
    ALL_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    all_versions: bool
    def __init__(self, all_versions: _Optional[bool] = ...) -> None: ...

class ListClassSchemesResponse(_message.Message):
    __slots__ = ("schemes",)
    SCHEMES_FIELD_NUMBER: _ClassVar[int]
    schemes: _containers.RepeatedCompositeFieldContainer[ClassScheme]
    def __init__(self, schemes: _Optional[_Iterable[_Union[ClassScheme, _Mapping]]] = ...) -> None: ...

class ClassifyRequest(_message.Message):
    __slots__ = ("service_type", "class_scheme", "values")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    SERVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    CLASS_SCHEME_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    service_type: _common_pb2.ServiceType
    class_scheme: str
    values: _containers.ScalarMap[str, int]
    def __init__(self, service_type: _Optional[_Union[_common_pb2.ServiceType, str]] = ..., class_scheme: _Optional[str] = ..., values: _Optional[_Mapping[str, int]] = ...) -> None: ...

class BandCheck(_message.Message):
    __slots__ = ("parameter", "value", "bound", "passed", "rule")
    PARAMETER_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    BOUND_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    parameter: str
    value: int
    bound: int
    passed: bool
    rule: str
    def __init__(self, parameter: _Optional[str] = ..., value: _Optional[int] = ..., bound: _Optional[int] = ..., passed: _Optional[bool] = ..., rule: _Optional[str] = ...) -> None: ...

class GradeVerdict(_message.Message):
    __slots__ = ("grade", "qualifies", "score", "min_score", "checks")
    GRADE_FIELD_NUMBER: _ClassVar[int]
    QUALIFIES_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    grade: str
    qualifies: bool
    score: int
    min_score: int
    checks: _containers.RepeatedCompositeFieldContainer[BandCheck]
    def __init__(self, grade: _Optional[str] = ..., qualifies: _Optional[bool] = ..., score: _Optional[int] = ..., min_score: _Optional[int] = ..., checks: _Optional[_Iterable[_Union[BandCheck, _Mapping]]] = ...) -> None: ...

class ClassifyResponse(_message.Message):
    __slots__ = ("class_scheme", "scheme_version", "grade", "score", "verdicts", "explanation")
    CLASS_SCHEME_FIELD_NUMBER: _ClassVar[int]
    SCHEME_VERSION_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    VERDICTS_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    class_scheme: str
    scheme_version: int
    grade: str
    score: int
    verdicts: _containers.RepeatedCompositeFieldContainer[GradeVerdict]
    explanation: str
    def __init__(self, class_scheme: _Optional[str] = ..., scheme_version: _Optional[int] = ..., grade: _Optional[str] = ..., score: _Optional[int] = ..., verdicts: _Optional[_Iterable[_Union[GradeVerdict, _Mapping]]] = ..., explanation: _Optional[str] = ...) -> None: ...
