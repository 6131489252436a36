from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

ADMIN_STATE_LOCKED: AdminState
ADMIN_STATE_UNLOCKED: AdminState
ADMIN_STATE_UNSPECIFIED: AdminState
AGENT_STATE_IDLE: AgentState
AGENT_STATE_INSTALLING: AgentState
AGENT_STATE_INSTALL_FAILED: AgentState
AGENT_STATE_INSTALL_REJECTED: AgentState
AGENT_STATE_UNKNOWN: AgentState
AGENT_STATE_UNSPECIFIED: AgentState
AVAILABILITY_AVAILABLE: Availability
AVAILABILITY_DEGRADED: Availability
AVAILABILITY_OFFLINE: Availability
AVAILABILITY_REBOOTING: Availability
AVAILABILITY_UNSPECIFIED: Availability
DESCRIPTOR: _descriptor.FileDescriptor
INSTALL_PHASE_DONE: InstallPhase
INSTALL_PHASE_DOWNLOADING: InstallPhase
INSTALL_PHASE_FAILED: InstallPhase
INSTALL_PHASE_INSTALLING: InstallPhase
INSTALL_PHASE_QUEUED: InstallPhase
INSTALL_PHASE_REJECTED: InstallPhase
INSTALL_PHASE_RUNNING_SCRIPTS: InstallPhase
INSTALL_PHASE_UNSPECIFIED: InstallPhase
OPERATIONAL_STATE_DISABLED: OperationalState
OPERATIONAL_STATE_ENABLED: OperationalState
OPERATIONAL_STATE_UNSPECIFIED: OperationalState
PATCH_CURRENT_FAILED: PatchCurrent
PATCH_CURRENT_NO: PatchCurrent
PATCH_CURRENT_PENDING: PatchCurrent
PATCH_CURRENT_UNSPECIFIED: PatchCurrent
PATCH_CURRENT_YES: PatchCurrent
PATCH_STATE_APPLIED: PatchState
PATCH_STATE_AVAILABLE: PatchState
PATCH_STATE_COMMITTED: PatchState
PATCH_STATE_NA: PatchState
PATCH_STATE_PARTIAL_APPLY: PatchState
PATCH_STATE_PARTIAL_REMOVE: PatchState
PATCH_STATE_UNSPECIFIED: PatchState
REPO_STATE_APPLIED: RepoState
REPO_STATE_AVAILABLE: RepoState
REPO_STATE_COMMITTED: RepoState
REPO_STATE_UNSPECIFIED: RepoState

class Alarm(_message.Message):
    __slots__ = ["alarm_id", "entity_instance_id", "mgmt_affecting", "proposed_repair_action", "reason_text", "severity", "time", "uuid"]
    ALARM_ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    MGMT_AFFECTING_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_REPAIR_ACTION_FIELD_NUMBER: _ClassVar[int]
    REASON_TEXT_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    alarm_id: str
    entity_instance_id: str
    mgmt_affecting: bool
    proposed_repair_action: str
    reason_text: str
    severity: str
    time: _timestamp_pb2.Timestamp
    uuid: str
    def __init__(self, uuid: _Optional[str] = ..., alarm_id: _Optional[str] = ..., entity_instance_id: _Optional[str] = ..., severity: _Optional[str] = ..., reason_text: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., mgmt_affecting: bool = ..., proposed_repair_action: _Optional[str] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ["hostname", "kind", "message", "new_state", "old_state", "operation_id", "patch_id", "progress", "sequence", "time"]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NEW_STATE_FIELD_NUMBER: _ClassVar[int]
    OLD_STATE_FIELD_NUMBER: _ClassVar[int]
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    PATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    hostname: str
    kind: str
    message: str
    new_state: str
    old_state: str
    operation_id: str
    patch_id: str
    progress: InstallProgress
    sequence: int
    time: _timestamp_pb2.Timestamp
    def __init__(self, sequence: _Optional[int] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[str] = ..., patch_id: _Optional[str] = ..., hostname: _Optional[str] = ..., old_state: _Optional[str] = ..., new_state: _Optional[str] = ..., message: _Optional[str] = ..., operation_id: _Optional[str] = ..., progress: _Optional[_Union[InstallProgress, _Mapping]] = ...) -> None: ...

class Host(_message.Message):
    __slots__ = ["active_controller", "admin_state", "agent_state", "allow_insvc_patching", "availability", "connected", "hostname", "install_reason", "instances", "interim_state", "ip", "last_seen", "operational_state", "patch_current", "patch_failed", "pending_changes", "personality", "release", "requires_reboot", "subfunctions"]
    ACTIVE_CONTROLLER_FIELD_NUMBER: _ClassVar[int]
    ADMIN_STATE_FIELD_NUMBER: _ClassVar[int]
    AGENT_STATE_FIELD_NUMBER: _ClassVar[int]
    ALLOW_INSVC_PATCHING_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    INSTALL_REASON_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    INTERIM_STATE_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    OPERATIONAL_STATE_FIELD_NUMBER: _ClassVar[int]
    PATCH_CURRENT_FIELD_NUMBER: _ClassVar[int]
    PATCH_FAILED_FIELD_NUMBER: _ClassVar[int]
    PENDING_CHANGES_FIELD_NUMBER: _ClassVar[int]
    PERSONALITY_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_REBOOT_FIELD_NUMBER: _ClassVar[int]
    SUBFUNCTIONS_FIELD_NUMBER: _ClassVar[int]
    active_controller: bool
    admin_state: AdminState
    agent_state: AgentState
    allow_insvc_patching: bool
    availability: Availability
    connected: bool
    hostname: str
    install_reason: str
    instances: _containers.RepeatedCompositeFieldContainer[Instance]
    interim_state: bool
    ip: str
    last_seen: _timestamp_pb2.Timestamp
    operational_state: OperationalState
    patch_current: PatchCurrent
    patch_failed: bool
    pending_changes: int
    personality: str
    release: str
    requires_reboot: bool
    subfunctions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, hostname: _Optional[str] = ..., ip: _Optional[str] = ..., personality: _Optional[str] = ..., subfunctions: _Optional[_Iterable[str]] = ..., admin_state: _Optional[_Union[AdminState, str]] = ..., operational_state: _Optional[_Union[OperationalState, str]] = ..., availability: _Optional[_Union[Availability, str]] = ..., patch_current: _Optional[_Union[PatchCurrent, str]] = ..., requires_reboot: bool = ..., release: _Optional[str] = ..., agent_state: _Optional[_Union[AgentState, str]] = ..., install_reason: _Optional[str] = ..., connected: bool = ..., last_seen: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., active_controller: bool = ..., pending_changes: _Optional[int] = ..., patch_failed: bool = ..., interim_state: bool = ..., instances: _Optional[_Iterable[_Union[Instance, _Mapping]]] = ..., allow_insvc_patching: bool = ...) -> None: ...

class InstallProgress(_message.Message):
    __slots__ = ["bytes_done", "bytes_total", "current", "hostname", "item", "message", "operation_id", "phase", "terminal", "time", "total"]
    BYTES_DONE_FIELD_NUMBER: _ClassVar[int]
    BYTES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    bytes_done: int
    bytes_total: int
    current: int
    hostname: str
    item: str
    message: str
    operation_id: str
    phase: InstallPhase
    terminal: bool
    time: _timestamp_pb2.Timestamp
    total: int
    def __init__(self, operation_id: _Optional[str] = ..., hostname: _Optional[str] = ..., phase: _Optional[_Union[InstallPhase, str]] = ..., current: _Optional[int] = ..., total: _Optional[int] = ..., bytes_done: _Optional[int] = ..., bytes_total: _Optional[int] = ..., item: _Optional[str] = ..., message: _Optional[str] = ..., terminal: bool = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Instance(_message.Message):
    __slots__ = ["name", "state", "uuid"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: str
    uuid: str
    def __init__(self, uuid: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[str] = ...) -> None: ...

class OperationMessages(_message.Message):
    __slots__ = ["info", "warning"]
    INFO_FIELD_NUMBER: _ClassVar[int]
    WARNING_FIELD_NUMBER: _ClassVar[int]
    info: str
    warning: str
    def __init__(self, info: _Optional[str] = ..., warning: _Optional[str] = ...) -> None: ...

class Patch(_message.Message):
    __slots__ = ["apply_active_release_only", "contents", "description", "id", "install_instructions", "packages", "patch_state", "personalities", "reboot_required", "repo_state", "requires", "security_counter", "semantics", "signer", "status", "summary", "sw_version", "unremovable", "uploaded_at", "warnings"]
    APPLY_ACTIVE_RELEASE_ONLY_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    INSTALL_INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    PACKAGES_FIELD_NUMBER: _ClassVar[int]
    PATCH_STATE_FIELD_NUMBER: _ClassVar[int]
    PERSONALITIES_FIELD_NUMBER: _ClassVar[int]
    REBOOT_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    REPO_STATE_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_FIELD_NUMBER: _ClassVar[int]
    SECURITY_COUNTER_FIELD_NUMBER: _ClassVar[int]
    SEMANTICS_FIELD_NUMBER: _ClassVar[int]
    SIGNER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    SW_VERSION_FIELD_NUMBER: _ClassVar[int]
    UNREMOVABLE_FIELD_NUMBER: _ClassVar[int]
    UPLOADED_AT_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    apply_active_release_only: bool
    contents: _containers.RepeatedScalarFieldContainer[str]
    description: str
    id: str
    install_instructions: str
    packages: _containers.RepeatedCompositeFieldContainer[PatchPackage]
    patch_state: PatchState
    personalities: _containers.RepeatedCompositeFieldContainer[PersonalityPackages]
    reboot_required: bool
    repo_state: RepoState
    requires: _containers.RepeatedScalarFieldContainer[str]
    security_counter: int
    semantics: _containers.RepeatedScalarFieldContainer[str]
    signer: str
    status: str
    summary: str
    sw_version: str
    unremovable: bool
    uploaded_at: _timestamp_pb2.Timestamp
    warnings: str
    def __init__(self, id: _Optional[str] = ..., sw_version: _Optional[str] = ..., repo_state: _Optional[_Union[RepoState, str]] = ..., patch_state: _Optional[_Union[PatchState, str]] = ..., status: _Optional[str] = ..., summary: _Optional[str] = ..., description: _Optional[str] = ..., install_instructions: _Optional[str] = ..., warnings: _Optional[str] = ..., reboot_required: bool = ..., unremovable: bool = ..., apply_active_release_only: bool = ..., requires: _Optional[_Iterable[str]] = ..., contents: _Optional[_Iterable[str]] = ..., personalities: _Optional[_Iterable[_Union[PersonalityPackages, _Mapping]]] = ..., semantics: _Optional[_Iterable[str]] = ..., signer: _Optional[str] = ..., uploaded_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., packages: _Optional[_Iterable[_Union[PatchPackage, _Mapping]]] = ..., security_counter: _Optional[int] = ...) -> None: ...

class PatchPackage(_message.Message):
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
    def __init__(self, file_name: _Optional[str] = ..., name: _Optional[str] = ..., epoch: _Optional[str] = ..., version: _Optional[str] = ..., release: _Optional[str] = ..., arch: _Optional[str] = ..., sha256: _Optional[str] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class PersonalityPackages(_message.Message):
    __slots__ = ["packages", "personality"]
    PACKAGES_FIELD_NUMBER: _ClassVar[int]
    PERSONALITY_FIELD_NUMBER: _ClassVar[int]
    packages: _containers.RepeatedScalarFieldContainer[str]
    personality: str
    def __init__(self, personality: _Optional[str] = ..., packages: _Optional[_Iterable[str]] = ...) -> None: ...

class RepoState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class PatchState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class AgentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class AdminState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class OperationalState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Availability(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class PatchCurrent(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class InstallPhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
