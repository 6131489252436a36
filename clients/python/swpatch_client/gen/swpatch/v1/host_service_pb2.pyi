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

class ListAlarmsRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListAlarmsResponse(_message.Message):
    __slots__ = ["alarms"]
    ALARMS_FIELD_NUMBER: _ClassVar[int]
    alarms: _containers.RepeatedCompositeFieldContainer[_types_pb2.Alarm]
    def __init__(self, alarms: _Optional[_Iterable[_Union[_types_pb2.Alarm, _Mapping]]] = ...) -> None: ...

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
