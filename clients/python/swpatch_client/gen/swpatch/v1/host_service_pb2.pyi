from google.protobuf import timestamp_pb2 as _timestamp_pb2
from swpatch_client.gen.swpatch.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ClearAlarmRequest(_message.Message):
    __slots__ = ["uuid"]
    UUID_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    def __init__(self, uuid: _Optional[str] = ...) -> None: ...

class ClearAlarmResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class DropHostRequest(_message.Message):
    __slots__ = ["host"]
    HOST_FIELD_NUMBER: _ClassVar[int]
    host: str
    def __init__(self, host: _Optional[str] = ...) -> None: ...

class DropHostResponse(_message.Message):
    __slots__ = ["messages"]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _types_pb2.OperationMessages
    def __init__(self, messages: _Optional[_Union[_types_pb2.OperationMessages, _Mapping]] = ...) -> None: ...

class EnrollHostRequest(_message.Message):
    __slots__ = ["expires_seconds", "hostname", "personality"]
    EXPIRES_SECONDS_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    PERSONALITY_FIELD_NUMBER: _ClassVar[int]
    expires_seconds: int
    hostname: str
    personality: str
    def __init__(self, hostname: _Optional[str] = ..., personality: _Optional[str] = ..., expires_seconds: _Optional[int] = ...) -> None: ...

class EnrollHostResponse(_message.Message):
    __slots__ = ["enroll_token", "enrollment", "replaced_enrollment_ids"]
    ENROLLMENT_FIELD_NUMBER: _ClassVar[int]
    ENROLL_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REPLACED_ENROLLMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    enroll_token: str
    enrollment: Enrollment
    replaced_enrollment_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, enrollment: _Optional[_Union[Enrollment, _Mapping]] = ..., enroll_token: _Optional[str] = ..., replaced_enrollment_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class Enrollment(_message.Message):
    __slots__ = ["created_at", "created_by", "credential_id", "expires_at", "hostname", "id", "personality", "state"]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    PERSONALITY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    created_at: _timestamp_pb2.Timestamp
    created_by: str
    credential_id: str
    expires_at: _timestamp_pb2.Timestamp
    hostname: str
    id: str
    personality: str
    state: str
    def __init__(self, id: _Optional[str] = ..., hostname: _Optional[str] = ..., personality: _Optional[str] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[str] = ..., created_by: _Optional[str] = ..., credential_id: _Optional[str] = ...) -> None: ...

class GetAlarmRequest(_message.Message):
    __slots__ = ["uuid"]
    UUID_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    def __init__(self, uuid: _Optional[str] = ...) -> None: ...

class GetAlarmResponse(_message.Message):
    __slots__ = ["alarm"]
    ALARM_FIELD_NUMBER: _ClassVar[int]
    alarm: _types_pb2.Alarm
    def __init__(self, alarm: _Optional[_Union[_types_pb2.Alarm, _Mapping]] = ...) -> None: ...

class GetHostRequest(_message.Message):
    __slots__ = ["host"]
    HOST_FIELD_NUMBER: _ClassVar[int]
    host: str
    def __init__(self, host: _Optional[str] = ...) -> None: ...

class GetHostResponse(_message.Message):
    __slots__ = ["host"]
    HOST_FIELD_NUMBER: _ClassVar[int]
    host: _types_pb2.Host
    def __init__(self, host: _Optional[_Union[_types_pb2.Host, _Mapping]] = ...) -> None: ...

class GetOperationRequest(_message.Message):
    __slots__ = ["operation_id"]
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    operation_id: str
    def __init__(self, operation_id: _Optional[str] = ...) -> None: ...

class GetOperationResponse(_message.Message):
    __slots__ = ["progress"]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    progress: _types_pb2.InstallProgress
    def __init__(self, progress: _Optional[_Union[_types_pb2.InstallProgress, _Mapping]] = ...) -> None: ...

class InstallHostAsyncRequest(_message.Message):
    __slots__ = ["force", "host"]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    force: bool
    host: str
    def __init__(self, host: _Optional[str] = ..., force: bool = ...) -> None: ...

class InstallHostAsyncResponse(_message.Message):
    __slots__ = ["messages", "operation_id"]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    messages: _types_pb2.OperationMessages
    operation_id: str
    def __init__(self, operation_id: _Optional[str] = ..., messages: _Optional[_Union[_types_pb2.OperationMessages, _Mapping]] = ...) -> None: ...

class InstallHostRequest(_message.Message):
    __slots__ = ["force", "host"]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    force: bool
    host: str
    def __init__(self, host: _Optional[str] = ..., force: bool = ...) -> None: ...

class InstallHostResponse(_message.Message):
    __slots__ = ["progress"]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    progress: _types_pb2.InstallProgress
    def __init__(self, progress: _Optional[_Union[_types_pb2.InstallProgress, _Mapping]] = ...) -> None: ...

class InstallReceipt(_message.Message):
    __slots__ = ["counter", "envelope", "key_id", "operation", "operation_id", "received_at", "result"]
    COUNTER_FIELD_NUMBER: _ClassVar[int]
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    counter: int
    envelope: str
    key_id: str
    operation: str
    operation_id: str
    received_at: str
    result: str
    def __init__(self, counter: _Optional[int] = ..., key_id: _Optional[str] = ..., operation_id: _Optional[str] = ..., operation: _Optional[str] = ..., result: _Optional[str] = ..., received_at: _Optional[str] = ..., envelope: _Optional[str] = ...) -> None: ...

class InstallReceiptKey(_message.Message):
    __slots__ = ["credential_id", "key_id", "public_key", "registered_at"]
    CREDENTIAL_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_FIELD_NUMBER: _ClassVar[int]
    credential_id: str
    key_id: str
    public_key: str
    registered_at: str
    def __init__(self, key_id: _Optional[str] = ..., public_key: _Optional[str] = ..., credential_id: _Optional[str] = ..., registered_at: _Optional[str] = ...) -> None: ...

class InstallReceiptListRequest(_message.Message):
    __slots__ = ["hostname"]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    hostname: str
    def __init__(self, hostname: _Optional[str] = ...) -> None: ...

class InstallReceiptListResponse(_message.Message):
    __slots__ = ["enrolled", "hostname", "keys", "receipts"]
    ENROLLED_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    enrolled: bool
    hostname: str
    keys: _containers.RepeatedCompositeFieldContainer[InstallReceiptKey]
    receipts: _containers.RepeatedCompositeFieldContainer[InstallReceipt]
    def __init__(self, hostname: _Optional[str] = ..., enrolled: bool = ..., keys: _Optional[_Iterable[_Union[InstallReceiptKey, _Mapping]]] = ..., receipts: _Optional[_Iterable[_Union[InstallReceipt, _Mapping]]] = ...) -> None: ...

class ListAlarmsRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListAlarmsResponse(_message.Message):
    __slots__ = ["alarms"]
    ALARMS_FIELD_NUMBER: _ClassVar[int]
    alarms: _containers.RepeatedCompositeFieldContainer[_types_pb2.Alarm]
    def __init__(self, alarms: _Optional[_Iterable[_Union[_types_pb2.Alarm, _Mapping]]] = ...) -> None: ...

class ListEnrollmentsRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListEnrollmentsResponse(_message.Message):
    __slots__ = ["enrollments"]
    ENROLLMENTS_FIELD_NUMBER: _ClassVar[int]
    enrollments: _containers.RepeatedCompositeFieldContainer[Enrollment]
    def __init__(self, enrollments: _Optional[_Iterable[_Union[Enrollment, _Mapping]]] = ...) -> None: ...

class ListHostsRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListHostsResponse(_message.Message):
    __slots__ = ["hosts"]
    HOSTS_FIELD_NUMBER: _ClassVar[int]
    hosts: _containers.RepeatedCompositeFieldContainer[_types_pb2.Host]
    def __init__(self, hosts: _Optional[_Iterable[_Union[_types_pb2.Host, _Mapping]]] = ...) -> None: ...

class LockHostRequest(_message.Message):
    __slots__ = ["force", "host"]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    force: bool
    host: str
    def __init__(self, host: _Optional[str] = ..., force: bool = ...) -> None: ...

class LockHostResponse(_message.Message):
    __slots__ = ["host"]
    HOST_FIELD_NUMBER: _ClassVar[int]
    host: _types_pb2.Host
    def __init__(self, host: _Optional[_Union[_types_pb2.Host, _Mapping]] = ...) -> None: ...

class RaiseAlarmRequest(_message.Message):
    __slots__ = ["alarm_id", "entity_instance_id", "mgmt_affecting", "proposed_repair_action", "reason_text", "severity"]
    ALARM_ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    MGMT_AFFECTING_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_REPAIR_ACTION_FIELD_NUMBER: _ClassVar[int]
    REASON_TEXT_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    alarm_id: str
    entity_instance_id: str
    mgmt_affecting: bool
    proposed_repair_action: str
    reason_text: str
    severity: str
    def __init__(self, alarm_id: _Optional[str] = ..., entity_instance_id: _Optional[str] = ..., severity: _Optional[str] = ..., reason_text: _Optional[str] = ..., mgmt_affecting: bool = ..., proposed_repair_action: _Optional[str] = ...) -> None: ...

class RaiseAlarmResponse(_message.Message):
    __slots__ = ["alarm"]
    ALARM_FIELD_NUMBER: _ClassVar[int]
    alarm: _types_pb2.Alarm
    def __init__(self, alarm: _Optional[_Union[_types_pb2.Alarm, _Mapping]] = ...) -> None: ...

class RevokeHostRequest(_message.Message):
    __slots__ = ["hostname"]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    hostname: str
    def __init__(self, hostname: _Optional[str] = ...) -> None: ...

class RevokeHostResponse(_message.Message):
    __slots__ = ["revoked_enrollment_ids", "revoked_token_ids"]
    REVOKED_ENROLLMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    REVOKED_TOKEN_IDS_FIELD_NUMBER: _ClassVar[int]
    revoked_enrollment_ids: _containers.RepeatedScalarFieldContainer[str]
    revoked_token_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, revoked_token_ids: _Optional[_Iterable[str]] = ..., revoked_enrollment_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class SwactHostRequest(_message.Message):
    __slots__ = ["host"]
    HOST_FIELD_NUMBER: _ClassVar[int]
    host: str
    def __init__(self, host: _Optional[str] = ...) -> None: ...

class SwactHostResponse(_message.Message):
    __slots__ = ["active_controller"]
    ACTIVE_CONTROLLER_FIELD_NUMBER: _ClassVar[int]
    active_controller: str
    def __init__(self, active_controller: _Optional[str] = ...) -> None: ...

class UnlockHostRequest(_message.Message):
    __slots__ = ["host"]
    HOST_FIELD_NUMBER: _ClassVar[int]
    host: str
    def __init__(self, host: _Optional[str] = ...) -> None: ...

class UnlockHostResponse(_message.Message):
    __slots__ = ["host", "rebooting"]
    HOST_FIELD_NUMBER: _ClassVar[int]
    REBOOTING_FIELD_NUMBER: _ClassVar[int]
    host: _types_pb2.Host
    rebooting: bool
    def __init__(self, host: _Optional[_Union[_types_pb2.Host, _Mapping]] = ..., rebooting: bool = ...) -> None: ...

class WatchOperationRequest(_message.Message):
    __slots__ = ["operation_id"]
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    operation_id: str
    def __init__(self, operation_id: _Optional[str] = ...) -> None: ...

class WatchOperationResponse(_message.Message):
    __slots__ = ["progress"]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    progress: _types_pb2.InstallProgress
    def __init__(self, progress: _Optional[_Union[_types_pb2.InstallProgress, _Mapping]] = ...) -> None: ...
