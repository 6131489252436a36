from google.protobuf import timestamp_pb2 as _timestamp_pb2
from swpatch_client.gen.swpatch.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
QUERY_FILTER_ALL: QueryFilter
QUERY_FILTER_APPLIED: QueryFilter
QUERY_FILTER_AVAILABLE: QueryFilter
QUERY_FILTER_COMMITTED: QueryFilter
QUERY_FILTER_UNSPECIFIED: QueryFilter
UPLOAD_OUTCOME_COMMITTED_UNCHANGED: UploadOutcome
UPLOAD_OUTCOME_IMPORTED: UploadOutcome
UPLOAD_OUTCOME_METADATA_UPDATED: UploadOutcome
UPLOAD_OUTCOME_UNSPECIFIED: UploadOutcome

class AppDependency(_message.Message):
    __slots__ = ["app", "patch_ids"]
    APP_FIELD_NUMBER: _ClassVar[int]
    PATCH_IDS_FIELD_NUMBER: _ClassVar[int]
    app: str
    patch_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, app: _Optional[str] = ..., patch_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ApplyPatchesRequest(_message.Message):
    __slots__ = ["all", "allow_downgrade", "patch_ids", "skip_semantic"]
    ALLOW_DOWNGRADE_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    PATCH_IDS_FIELD_NUMBER: _ClassVar[int]
    SKIP_SEMANTIC_FIELD_NUMBER: _ClassVar[int]
    all: bool
    allow_downgrade: bool
    patch_ids: _containers.RepeatedScalarFieldContainer[str]
    skip_semantic: bool
    def __init__(self, patch_ids: _Optional[_Iterable[str]] = ..., all: bool = ..., skip_semantic: bool = ..., allow_downgrade: bool = ...) -> None: ...

class ApplyPatchesResponse(_message.Message):
    __slots__ = ["applied", "messages"]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    applied: _containers.RepeatedScalarFieldContainer[str]
    messages: _types_pb2.OperationMessages
    def __init__(self, messages: _Optional[_Union[_types_pb2.OperationMessages, _Mapping]] = ..., applied: _Optional[_Iterable[str]] = ...) -> None: ...

class BasePackage(_message.Message):
    __slots__ = ["imported_at", "imported_by", "package", "release", "signer"]
    IMPORTED_AT_FIELD_NUMBER: _ClassVar[int]
    IMPORTED_BY_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    SIGNER_FIELD_NUMBER: _ClassVar[int]
    imported_at: _timestamp_pb2.Timestamp
    imported_by: str
    package: _types_pb2.PatchPackage
    release: str
    signer: str
    def __init__(self, release: _Optional[str] = ..., package: _Optional[_Union[_types_pb2.PatchPackage, _Mapping]] = ..., signer: _Optional[str] = ..., imported_by: _Optional[str] = ..., imported_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BasePackageHeader(_message.Message):
    __slots__ = ["file_name", "release", "signature", "size_bytes"]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    file_name: str
    release: str
    signature: bytes
    size_bytes: int
    def __init__(self, release: _Optional[str] = ..., file_name: _Optional[str] = ..., size_bytes: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class CommitPatchesRequest(_message.Message):
    __slots__ = ["all", "dry_run", "patch_ids", "release"]
    ALL_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    PATCH_IDS_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    all: bool
    dry_run: bool
    patch_ids: _containers.RepeatedScalarFieldContainer[str]
    release: str
    def __init__(self, patch_ids: _Optional[_Iterable[str]] = ..., all: bool = ..., release: _Optional[str] = ..., dry_run: bool = ...) -> None: ...

class CommitPatchesResponse(_message.Message):
    __slots__ = ["freed_bytes", "messages", "patch_ids"]
    FREED_BYTES_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    PATCH_IDS_FIELD_NUMBER: _ClassVar[int]
    freed_bytes: int
    messages: _types_pb2.OperationMessages
    patch_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, messages: _Optional[_Union[_types_pb2.OperationMessages, _Mapping]] = ..., patch_ids: _Optional[_Iterable[str]] = ..., freed_bytes: _Optional[int] = ...) -> None: ...

class DelReleaseRequest(_message.Message):
    __slots__ = ["release"]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    release: str
    def __init__(self, release: _Optional[str] = ...) -> None: ...

class DelReleaseResponse(_message.Message):
    __slots__ = ["messages"]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _types_pb2.OperationMessages
    def __init__(self, messages: _Optional[_Union[_types_pb2.OperationMessages, _Mapping]] = ...) -> None: ...

class DeletePatchesRequest(_message.Message):
    __slots__ = ["patch_ids"]
    PATCH_IDS_FIELD_NUMBER: _ClassVar[int]
    patch_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, patch_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class DeletePatchesResponse(_message.Message):
    __slots__ = ["deleted", "messages"]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    deleted: _containers.RepeatedScalarFieldContainer[str]
    messages: _types_pb2.OperationMessages
    def __init__(self, messages: _Optional[_Union[_types_pb2.OperationMessages, _Mapping]] = ..., deleted: _Optional[_Iterable[str]] = ...) -> None: ...

class GetControllerInfoRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetControllerInfoResponse(_message.Message):
    __slots__ = ["active_address", "active_controller_id", "advertise_address", "controller_id", "epoch", "host_count", "last_event_sequence", "patch_count", "releases", "role", "running_release", "trust_labels", "version"]
    ACTIVE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_CONTROLLER_ID_FIELD_NUMBER: _ClassVar[int]
    ADVERTISE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CONTROLLER_ID_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    HOST_COUNT_FIELD_NUMBER: _ClassVar[int]
    LAST_EVENT_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PATCH_COUNT_FIELD_NUMBER: _ClassVar[int]
    RELEASES_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    RUNNING_RELEASE_FIELD_NUMBER: _ClassVar[int]
    TRUST_LABELS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    active_address: str
    active_controller_id: str
    advertise_address: str
    controller_id: str
    epoch: int
    host_count: int
    last_event_sequence: int
    patch_count: int
    releases: _containers.RepeatedScalarFieldContainer[str]
    role: str
    running_release: str
    trust_labels: _containers.RepeatedScalarFieldContainer[str]
    version: str
    def __init__(self, running_release: _Optional[str] = ..., releases: _Optional[_Iterable[str]] = ..., trust_labels: _Optional[_Iterable[str]] = ..., patch_count: _Optional[int] = ..., host_count: _Optional[int] = ..., last_event_sequence: _Optional[int] = ..., version: _Optional[str] = ..., role: _Optional[str] = ..., epoch: _Optional[int] = ..., controller_id: _Optional[str] = ..., advertise_address: _Optional[str] = ..., active_controller_id: _Optional[str] = ..., active_address: _Optional[str] = ...) -> None: ...

class ImportBasePackageRequest(_message.Message):
    __slots__ = ["chunk", "header"]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    chunk: bytes
    header: BasePackageHeader
    def __init__(self, header: _Optional[_Union[BasePackageHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class ImportBasePackageResponse(_message.Message):
    __slots__ = ["added", "package"]
    ADDED_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_FIELD_NUMBER: _ClassVar[int]
    added: bool
    package: _types_pb2.PatchPackage
    def __init__(self, package: _Optional[_Union[_types_pb2.PatchPackage, _Mapping]] = ..., added: bool = ...) -> None: ...

class InitReleaseRequest(_message.Message):
    __slots__ = ["release"]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    release: str
    def __init__(self, release: _Optional[str] = ...) -> None: ...

class InitReleaseResponse(_message.Message):
    __slots__ = ["messages"]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _types_pb2.OperationMessages
    def __init__(self, messages: _Optional[_Union[_types_pb2.OperationMessages, _Mapping]] = ...) -> None: ...

class IsAppliedRequest(_message.Message):
    __slots__ = ["patch_ids"]
    PATCH_IDS_FIELD_NUMBER: _ClassVar[int]
    patch_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, patch_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class IsAppliedResponse(_message.Message):
    __slots__ = ["result"]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: bool
    def __init__(self, result: bool = ...) -> None: ...

class IsAvailableRequest(_message.Message):
    __slots__ = ["patch_ids"]
    PATCH_IDS_FIELD_NUMBER: _ClassVar[int]
    patch_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, patch_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class IsAvailableResponse(_message.Message):
    __slots__ = ["result"]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: bool
    def __init__(self, result: bool = ...) -> None: ...

class ListBasePackagesRequest(_message.Message):
    __slots__ = ["release"]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    release: str
    def __init__(self, release: _Optional[str] = ...) -> None: ...

class ListBasePackagesResponse(_message.Message):
    __slots__ = ["packages"]
    PACKAGES_FIELD_NUMBER: _ClassVar[int]
    packages: _containers.RepeatedCompositeFieldContainer[BasePackage]
    def __init__(self, packages: _Optional[_Iterable[_Union[BasePackage, _Mapping]]] = ...) -> None: ...

class QueryAppDependenciesRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class QueryAppDependenciesResponse(_message.Message):
    __slots__ = ["dependencies"]
    DEPENDENCIES_FIELD_NUMBER: _ClassVar[int]
    dependencies: _containers.RepeatedCompositeFieldContainer[AppDependency]
    def __init__(self, dependencies: _Optional[_Iterable[_Union[AppDependency, _Mapping]]] = ...) -> None: ...

class QueryDependenciesRequest(_message.Message):
    __slots__ = ["patch_ids", "recursive"]
    PATCH_IDS_FIELD_NUMBER: _ClassVar[int]
    RECURSIVE_FIELD_NUMBER: _ClassVar[int]
    patch_ids: _containers.RepeatedScalarFieldContainer[str]
    recursive: bool
    def __init__(self, patch_ids: _Optional[_Iterable[str]] = ..., recursive: bool = ...) -> None: ...

class QueryDependenciesResponse(_message.Message):
    __slots__ = ["patch_ids"]
    PATCH_IDS_FIELD_NUMBER: _ClassVar[int]
    patch_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, patch_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class QueryPatchesRequest(_message.Message):
    __slots__ = ["filter", "release"]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    filter: QueryFilter
    release: str
    def __init__(self, filter: _Optional[_Union[QueryFilter, str]] = ..., release: _Optional[str] = ...) -> None: ...

class QueryPatchesResponse(_message.Message):
    __slots__ = ["patches"]
    PATCHES_FIELD_NUMBER: _ClassVar[int]
    patches: _containers.RepeatedCompositeFieldContainer[_types_pb2.Patch]
    def __init__(self, patches: _Optional[_Iterable[_Union[_types_pb2.Patch, _Mapping]]] = ...) -> None: ...

class RemovePatchesRequest(_message.Message):
    __slots__ = ["allow_downgrade", "patch_ids", "remove_unremovable", "skip_app_check", "skip_semantic"]
    ALLOW_DOWNGRADE_FIELD_NUMBER: _ClassVar[int]
    PATCH_IDS_FIELD_NUMBER: _ClassVar[int]
    REMOVE_UNREMOVABLE_FIELD_NUMBER: _ClassVar[int]
    SKIP_APP_CHECK_FIELD_NUMBER: _ClassVar[int]
    SKIP_SEMANTIC_FIELD_NUMBER: _ClassVar[int]
    allow_downgrade: bool
    patch_ids: _containers.RepeatedScalarFieldContainer[str]
    remove_unremovable: bool
    skip_app_check: bool
    skip_semantic: bool
    def __init__(self, patch_ids: _Optional[_Iterable[str]] = ..., skip_semantic: bool = ..., skip_app_check: bool = ..., remove_unremovable: bool = ..., allow_downgrade: bool = ...) -> None: ...

class RemovePatchesResponse(_message.Message):
    __slots__ = ["messages", "removed"]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    messages: _types_pb2.OperationMessages
    removed: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, messages: _Optional[_Union[_types_pb2.OperationMessages, _Mapping]] = ..., removed: _Optional[_Iterable[str]] = ...) -> None: ...

class ReportAppDependenciesRequest(_message.Message):
    __slots__ = ["app", "patch_ids"]
    APP_FIELD_NUMBER: _ClassVar[int]
    PATCH_IDS_FIELD_NUMBER: _ClassVar[int]
    app: str
    patch_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, app: _Optional[str] = ..., patch_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ReportAppDependenciesResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class Requirement(_message.Message):
    __slots__ = ["patch_id", "required_by"]
    PATCH_ID_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_BY_FIELD_NUMBER: _ClassVar[int]
    patch_id: str
    required_by: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, patch_id: _Optional[str] = ..., required_by: _Optional[_Iterable[str]] = ...) -> None: ...

class SecurityFloorEntry(_message.Message):
    __slots__ = ["floor", "patch_id", "release", "updated_at"]
    FLOOR_FIELD_NUMBER: _ClassVar[int]
    PATCH_ID_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    floor: int
    patch_id: str
    release: str
    updated_at: str
    def __init__(self, release: _Optional[str] = ..., floor: _Optional[int] = ..., patch_id: _Optional[str] = ..., updated_at: _Optional[str] = ...) -> None: ...

class SecurityFloorListRequest(_message.Message):
    __slots__ = ["release"]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    release: str
    def __init__(self, release: _Optional[str] = ...) -> None: ...

class SecurityFloorListResponse(_message.Message):
    __slots__ = ["floors"]
    FLOORS_FIELD_NUMBER: _ClassVar[int]
    floors: _containers.RepeatedCompositeFieldContainer[SecurityFloorEntry]
    def __init__(self, floors: _Optional[_Iterable[_Union[SecurityFloorEntry, _Mapping]]] = ...) -> None: ...

class ShowPatchesRequest(_message.Message):
    __slots__ = ["patch_ids"]
    PATCH_IDS_FIELD_NUMBER: _ClassVar[int]
    patch_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, patch_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ShowPatchesResponse(_message.Message):
    __slots__ = ["patches", "unrecognized"]
    PATCHES_FIELD_NUMBER: _ClassVar[int]
    UNRECOGNIZED_FIELD_NUMBER: _ClassVar[int]
    patches: _containers.RepeatedCompositeFieldContainer[_types_pb2.Patch]
    unrecognized: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, patches: _Optional[_Iterable[_Union[_types_pb2.Patch, _Mapping]]] = ..., unrecognized: _Optional[_Iterable[str]] = ...) -> None: ...

class UploadHeader(_message.Message):
    __slots__ = ["file_name", "size_bytes"]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    file_name: str
    size_bytes: int
    def __init__(self, file_name: _Optional[str] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class UploadPatchRequest(_message.Message):
    __slots__ = ["chunk", "header"]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    chunk: bytes
    header: UploadHeader
    def __init__(self, header: _Optional[_Union[UploadHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class UploadPatchResponse(_message.Message):
    __slots__ = ["messages", "outcome", "patch", "patch_id"]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    PATCH_FIELD_NUMBER: _ClassVar[int]
    PATCH_ID_FIELD_NUMBER: _ClassVar[int]
    messages: _types_pb2.OperationMessages
    outcome: UploadOutcome
    patch: _types_pb2.Patch
    patch_id: str
    def __init__(self, patch_id: _Optional[str] = ..., outcome: _Optional[_Union[UploadOutcome, str]] = ..., messages: _Optional[_Union[_types_pb2.OperationMessages, _Mapping]] = ..., patch: _Optional[_Union[_types_pb2.Patch, _Mapping]] = ...) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ["after_sequence", "hostname", "kinds", "operation_id", "patch_id"]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    PATCH_ID_FIELD_NUMBER: _ClassVar[int]
    after_sequence: int
    hostname: str
    kinds: _containers.RepeatedScalarFieldContainer[str]
    operation_id: str
    patch_id: str
    def __init__(self, after_sequence: _Optional[int] = ..., kinds: _Optional[_Iterable[str]] = ..., patch_id: _Optional[str] = ..., hostname: _Optional[str] = ..., operation_id: _Optional[str] = ...) -> None: ...

class WatchEventsResponse(_message.Message):
    __slots__ = ["event"]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: _types_pb2.Event
    def __init__(self, event: _Optional[_Union[_types_pb2.Event, _Mapping]] = ...) -> None: ...

class WhatRequiresRequest(_message.Message):
    __slots__ = ["patch_ids"]
    PATCH_IDS_FIELD_NUMBER: _ClassVar[int]
    patch_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, patch_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class WhatRequiresResponse(_message.Message):
    __slots__ = ["requirements"]
    REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    requirements: _containers.RepeatedCompositeFieldContainer[Requirement]
    def __init__(self, requirements: _Optional[_Iterable[_Union[Requirement, _Mapping]]] = ...) -> None: ...

class UploadOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class QueryFilter(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
