from google.protobuf import timestamp_pb2 as _timestamp_pb2
from swpatch_client.gen.swpatch.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AgentHealth(_message.Message):
    __slots__ = ["checked_at", "configured", "detail", "healthy"]
    CHECKED_AT_FIELD_NUMBER: _ClassVar[int]
    CONFIGURED_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_FIELD_NUMBER: _ClassVar[int]
    checked_at: _timestamp_pb2.Timestamp
    configured: bool
    detail: str
    healthy: bool
    def __init__(self, healthy: bool = ..., detail: _Optional[str] = ..., checked_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., configured: bool = ...) -> None: ...

class AgentHello(_message.Message):
    __slots__ = ["agent_version", "hostname", "install_reason", "install_request", "instances", "interrupted_operation_id", "mgmt_ip", "packages", "personality", "provision", "release", "requires_reboot", "state", "subfunctions"]
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    INSTALL_REASON_FIELD_NUMBER: _ClassVar[int]
    INSTALL_REQUEST_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    INTERRUPTED_OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    MGMT_IP_FIELD_NUMBER: _ClassVar[int]
    PACKAGES_FIELD_NUMBER: _ClassVar[int]
    PERSONALITY_FIELD_NUMBER: _ClassVar[int]
    PROVISION_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_REBOOT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SUBFUNCTIONS_FIELD_NUMBER: _ClassVar[int]
    agent_version: str
    hostname: str
    install_reason: str
    install_request: bool
    instances: _containers.RepeatedCompositeFieldContainer[_types_pb2.Instance]
    interrupted_operation_id: str
    mgmt_ip: str
    packages: _containers.RepeatedCompositeFieldContainer[InstalledPackage]
    personality: str
    provision: bool
    release: str
    requires_reboot: bool
    state: _types_pb2.AgentState
    subfunctions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, hostname: _Optional[str] = ..., personality: _Optional[str] = ..., subfunctions: _Optional[_Iterable[str]] = ..., release: _Optional[str] = ..., mgmt_ip: _Optional[str] = ..., packages: _Optional[_Iterable[_Union[InstalledPackage, _Mapping]]] = ..., requires_reboot: bool = ..., state: _Optional[_Union[_types_pb2.AgentState, str]] = ..., install_reason: _Optional[str] = ..., instances: _Optional[_Iterable[_Union[_types_pb2.Instance, _Mapping]]] = ..., interrupted_operation_id: _Optional[str] = ..., agent_version: _Optional[str] = ..., provision: bool = ..., install_request: bool = ...) -> None: ...

class AgentReport(_message.Message):
    __slots__ = ["health", "install_reason", "instances", "packages", "requires_reboot", "state"]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    INSTALL_REASON_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    PACKAGES_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_REBOOT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    health: AgentHealth
    install_reason: str
    instances: _containers.RepeatedCompositeFieldContainer[_types_pb2.Instance]
    packages: _containers.RepeatedCompositeFieldContainer[InstalledPackage]
    requires_reboot: bool
    state: _types_pb2.AgentState
    def __init__(self, packages: _Optional[_Iterable[_Union[InstalledPackage, _Mapping]]] = ..., requires_reboot: bool = ..., state: _Optional[_Union[_types_pb2.AgentState, str]] = ..., install_reason: _Optional[str] = ..., instances: _Optional[_Iterable[_Union[_types_pb2.Instance, _Mapping]]] = ..., health: _Optional[_Union[AgentHealth, _Mapping]] = ...) -> None: ...

class ConnectRequest(_message.Message):
    __slots__ = ["hello", "install_result", "instance_action_result", "progress", "reboot_result", "report"]
    HELLO_FIELD_NUMBER: _ClassVar[int]
    INSTALL_RESULT_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ACTION_RESULT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    REBOOT_RESULT_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    hello: AgentHello
    install_result: InstallResult
    instance_action_result: InstanceActionResult
    progress: _types_pb2.InstallProgress
    reboot_result: RebootResult
    report: AgentReport
    def __init__(self, hello: _Optional[_Union[AgentHello, _Mapping]] = ..., report: _Optional[_Union[AgentReport, _Mapping]] = ..., progress: _Optional[_Union[_types_pb2.InstallProgress, _Mapping]] = ..., install_result: _Optional[_Union[InstallResult, _Mapping]] = ..., reboot_result: _Optional[_Union[RebootResult, _Mapping]] = ..., instance_action_result: _Optional[_Union[InstanceActionResult, _Mapping]] = ...) -> None: ...

class ConnectResponse(_message.Message):
    __slots__ = ["hello_ack", "install", "instance_action", "lock_state", "reboot", "report_request"]
    HELLO_ACK_FIELD_NUMBER: _ClassVar[int]
    INSTALL_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ACTION_FIELD_NUMBER: _ClassVar[int]
    LOCK_STATE_FIELD_NUMBER: _ClassVar[int]
    REBOOT_FIELD_NUMBER: _ClassVar[int]
    REPORT_REQUEST_FIELD_NUMBER: _ClassVar[int]
    hello_ack: HelloAck
    install: InstallCommand
    instance_action: InstanceActionCommand
    lock_state: LockStateCommand
    reboot: RebootCommand
    report_request: ReportRequest
    def __init__(self, hello_ack: _Optional[_Union[HelloAck, _Mapping]] = ..., install: _Optional[_Union[InstallCommand, _Mapping]] = ..., reboot: _Optional[_Union[RebootCommand, _Mapping]] = ..., lock_state: _Optional[_Union[LockStateCommand, _Mapping]] = ..., instance_action: _Optional[_Union[InstanceActionCommand, _Mapping]] = ..., report_request: _Optional[_Union[ReportRequest, _Mapping]] = ...) -> None: ...

class DesiredPackage(_message.Message):
    __slots__ = ["arch", "epoch", "file_name", "name", "release", "sha256", "size_bytes", "version"]
    ARCH_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    arch: str
    epoch: str
    file_name: str
    name: str
    release: str
    sha256: str
    size_bytes: int
    version: str
    def __init__(self, name: _Optional[str] = ..., epoch: _Optional[str] = ..., version: _Optional[str] = ..., release: _Optional[str] = ..., arch: _Optional[str] = ..., file_name: _Optional[str] = ..., sha256: _Optional[str] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class EnrollRequest(_message.Message):
    __slots__ = ["enroll_token", "hostname", "personality"]
    ENROLL_TOKEN_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    PERSONALITY_FIELD_NUMBER: _ClassVar[int]
    enroll_token: str
    hostname: str
    personality: str
    def __init__(self, enroll_token: _Optional[str] = ..., hostname: _Optional[str] = ..., personality: _Optional[str] = ...) -> None: ...

class EnrollResponse(_message.Message):
    __slots__ = ["hostname", "personality", "token", "token_id"]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    PERSONALITY_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    hostname: str
    personality: str
    token: str
    token_id: str
    def __init__(self, token: _Optional[str] = ..., token_id: _Optional[str] = ..., hostname: _Optional[str] = ..., personality: _Optional[str] = ...) -> None: ...

class FetchPackageRequest(_message.Message):
    __slots__ = ["sha256"]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    def __init__(self, sha256: _Optional[str] = ...) -> None: ...

class FetchPackageResponse(_message.Message):
    __slots__ = ["chunk"]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    chunk: bytes
    def __init__(self, chunk: _Optional[bytes] = ...) -> None: ...

class HelloAck(_message.Message):
    __slots__ = ["controller_release", "locked"]
    CONTROLLER_RELEASE_FIELD_NUMBER: _ClassVar[int]
    LOCKED_FIELD_NUMBER: _ClassVar[int]
    controller_release: str
    locked: bool
    def __init__(self, controller_release: _Optional[str] = ..., locked: bool = ...) -> None: ...

class InstallCommand(_message.Message):
    __slots__ = ["desired", "erase", "force", "locked", "operation_id", "reboot_required"]
    DESIRED_FIELD_NUMBER: _ClassVar[int]
    ERASE_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    LOCKED_FIELD_NUMBER: _ClassVar[int]
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    REBOOT_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    desired: _containers.RepeatedCompositeFieldContainer[DesiredPackage]
    erase: _containers.RepeatedScalarFieldContainer[str]
    force: bool
    locked: bool
    operation_id: str
    reboot_required: bool
    def __init__(self, operation_id: _Optional[str] = ..., force: bool = ..., desired: _Optional[_Iterable[_Union[DesiredPackage, _Mapping]]] = ..., erase: _Optional[_Iterable[str]] = ..., reboot_required: bool = ..., locked: bool = ...) -> None: ...

class InstallResult(_message.Message):
    __slots__ = ["operation_id", "reason", "rejected", "success"]
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    operation_id: str
    reason: str
    rejected: bool
    success: bool
    def __init__(self, operation_id: _Optional[str] = ..., success: bool = ..., rejected: bool = ..., reason: _Optional[str] = ...) -> None: ...

class InstalledPackage(_message.Message):
    __slots__ = ["arch", "epoch", "name", "release", "version"]
    ARCH_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    arch: str
    epoch: str
    name: str
    release: str
    version: str
    def __init__(self, name: _Optional[str] = ..., epoch: _Optional[str] = ..., version: _Optional[str] = ..., release: _Optional[str] = ..., arch: _Optional[str] = ...) -> None: ...

class InstanceActionCommand(_message.Message):
    __slots__ = ["action", "instance_uuids", "request_id"]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_UUIDS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    action: str
    instance_uuids: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ..., action: _Optional[str] = ..., instance_uuids: _Optional[_Iterable[str]] = ...) -> None: ...

class InstanceActionResult(_message.Message):
    __slots__ = ["reason", "request_id", "success"]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    reason: str
    request_id: str
    success: bool
    def __init__(self, request_id: _Optional[str] = ..., success: bool = ..., reason: _Optional[str] = ...) -> None: ...

class LockStateCommand(_message.Message):
    __slots__ = ["locked"]
    LOCKED_FIELD_NUMBER: _ClassVar[int]
    locked: bool
    def __init__(self, locked: bool = ...) -> None: ...

class RebootCommand(_message.Message):
    __slots__ = ["request_id"]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class RebootResult(_message.Message):
    __slots__ = ["reason", "request_id", "success"]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    reason: str
    request_id: str
    success: bool
    def __init__(self, request_id: _Optional[str] = ..., success: bool = ..., reason: _Optional[str] = ...) -> None: ...

class ReportRequest(_message.Message):
    __slots__ = ["patch_op_counter"]
    PATCH_OP_COUNTER_FIELD_NUMBER: _ClassVar[int]
    patch_op_counter: int
    def __init__(self, patch_op_counter: _Optional[int] = ...) -> None: ...
