from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

ALARM_RESTRICTIONS_RELAXED: AlarmRestrictions
ALARM_RESTRICTIONS_STRICT: AlarmRestrictions
ALARM_RESTRICTIONS_UNSPECIFIED: AlarmRestrictions
APPLY_TYPE_IGNORE: ApplyType
APPLY_TYPE_PARALLEL: ApplyType
APPLY_TYPE_SERIAL: ApplyType
APPLY_TYPE_UNSPECIFIED: ApplyType
DESCRIPTOR: _descriptor.FileDescriptor
INSTANCE_ACTION_MIGRATE: InstanceAction
INSTANCE_ACTION_STOP_START: InstanceAction
INSTANCE_ACTION_UNSPECIFIED: InstanceAction

class AbortStrategyRequest(_message.Message):
    __slots__ = ["stage_id"]
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    stage_id: int
    def __init__(self, stage_id: _Optional[int] = ...) -> None: ...

class AbortStrategyResponse(_message.Message):
    __slots__ = ["strategy"]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    strategy: Strategy
    def __init__(self, strategy: _Optional[_Union[Strategy, _Mapping]] = ...) -> None: ...

class ApplyStrategyRequest(_message.Message):
    __slots__ = ["plan_hash", "stage_id"]
    PLAN_HASH_FIELD_NUMBER: _ClassVar[int]
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    plan_hash: str
    stage_id: int
    def __init__(self, stage_id: _Optional[int] = ..., plan_hash: _Optional[str] = ...) -> None: ...

class ApplyStrategyResponse(_message.Message):
    __slots__ = ["strategy"]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    strategy: Strategy
    def __init__(self, strategy: _Optional[_Union[Strategy, _Mapping]] = ...) -> None: ...

class CreateStrategyRequest(_message.Message):
    __slots__ = ["alarm_restrictions", "canary", "canary_hosts", "controller_apply_type", "cutoff_minutes", "default_instance_action_apply_type", "health_gate", "instance_action", "max_failures", "max_parallel_worker_hosts", "min_executed", "on_failure", "soak_seconds", "storage_apply_type", "swift_apply_type", "window_tz", "windows", "worker_apply_type"]
    ALARM_RESTRICTIONS_FIELD_NUMBER: _ClassVar[int]
    CANARY_FIELD_NUMBER: _ClassVar[int]
    CANARY_HOSTS_FIELD_NUMBER: _ClassVar[int]
    CONTROLLER_APPLY_TYPE_FIELD_NUMBER: _ClassVar[int]
    CUTOFF_MINUTES_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_INSTANCE_ACTION_APPLY_TYPE_FIELD_NUMBER: _ClassVar[int]
    HEALTH_GATE_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ACTION_FIELD_NUMBER: _ClassVar[int]
    MAX_FAILURES_FIELD_NUMBER: _ClassVar[int]
    MAX_PARALLEL_WORKER_HOSTS_FIELD_NUMBER: _ClassVar[int]
    MIN_EXECUTED_FIELD_NUMBER: _ClassVar[int]
    ON_FAILURE_FIELD_NUMBER: _ClassVar[int]
    SOAK_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STORAGE_APPLY_TYPE_FIELD_NUMBER: _ClassVar[int]
    SWIFT_APPLY_TYPE_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_TZ_FIELD_NUMBER: _ClassVar[int]
    WORKER_APPLY_TYPE_FIELD_NUMBER: _ClassVar[int]
    alarm_restrictions: AlarmRestrictions
    canary: int
    canary_hosts: _containers.RepeatedScalarFieldContainer[str]
    controller_apply_type: ApplyType
    cutoff_minutes: int
    default_instance_action_apply_type: ApplyType
    health_gate: str
    instance_action: InstanceAction
    max_failures: str
    max_parallel_worker_hosts: int
    min_executed: int
    on_failure: str
    soak_seconds: int
    storage_apply_type: ApplyType
    swift_apply_type: ApplyType
    window_tz: str
    windows: _containers.RepeatedScalarFieldContainer[str]
    worker_apply_type: ApplyType
    def __init__(self, controller_apply_type: _Optional[_Union[ApplyType, str]] = ..., storage_apply_type: _Optional[_Union[ApplyType, str]] = ..., worker_apply_type: _Optional[_Union[ApplyType, str]] = ..., max_parallel_worker_hosts: _Optional[int] = ..., instance_action: _Optional[_Union[InstanceAction, str]] = ..., alarm_restrictions: _Optional[_Union[AlarmRestrictions, str]] = ..., swift_apply_type: _Optional[_Union[ApplyType, str]] = ..., default_instance_action_apply_type: _Optional[_Union[ApplyType, str]] = ..., windows: _Optional[_Iterable[str]] = ..., window_tz: _Optional[str] = ..., cutoff_minutes: _Optional[int] = ..., max_failures: _Optional[str] = ..., min_executed: _Optional[int] = ..., canary: _Optional[int] = ..., canary_hosts: _Optional[_Iterable[str]] = ..., soak_seconds: _Optional[int] = ..., health_gate: _Optional[str] = ..., on_failure: _Optional[str] = ...) -> None: ...

class CreateStrategyResponse(_message.Message):
    __slots__ = ["strategy"]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    strategy: Strategy
    def __init__(self, strategy: _Optional[_Union[Strategy, _Mapping]] = ...) -> None: ...

class DeleteStrategyRequest(_message.Message):
    __slots__ = ["force"]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    force: bool
    def __init__(self, force: bool = ...) -> None: ...

class DeleteStrategyResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetStrategyRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetStrategyResponse(_message.Message):
    __slots__ = ["strategy"]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    strategy: Strategy
    def __init__(self, strategy: _Optional[_Union[Strategy, _Mapping]] = ...) -> None: ...

class PauseStrategyRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class PauseStrategyResponse(_message.Message):
    __slots__ = ["strategy"]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    strategy: Strategy
    def __init__(self, strategy: _Optional[_Union[Strategy, _Mapping]] = ...) -> None: ...

class RehearseOutcomeCount(_message.Message):
    __slots__ = ["runs", "state"]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    runs: int
    state: str
    def __init__(self, state: _Optional[str] = ..., runs: _Optional[int] = ...) -> None: ...

class RehearseStageCount(_message.Message):
    __slots__ = ["runs", "stage_id", "stage_name"]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_NAME_FIELD_NUMBER: _ClassVar[int]
    runs: int
    stage_id: int
    stage_name: str
    def __init__(self, stage_id: _Optional[int] = ..., stage_name: _Optional[str] = ..., runs: _Optional[int] = ...) -> None: ...

class RehearseStrategyRequest(_message.Message):
    __slots__ = ["fail_rate", "runs", "seed"]
    FAIL_RATE_FIELD_NUMBER: _ClassVar[int]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    fail_rate: float
    runs: int
    seed: int
    def __init__(self, fail_rate: _Optional[float] = ..., runs: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class RehearseStrategyResponse(_message.Message):
    __slots__ = ["budget_exhausted_runs", "budget_exhausted_stages", "fail_rate", "failure_budget", "failures", "hosts", "max_duration_seconds", "mean_duration_seconds", "min_duration_seconds", "on_failure", "on_failure_effect", "outcomes", "runs", "runs_with_failures", "seed", "stages"]
    BUDGET_EXHAUSTED_RUNS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_EXHAUSTED_STAGES_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    FAILURE_BUDGET_FIELD_NUMBER: _ClassVar[int]
    FAIL_RATE_FIELD_NUMBER: _ClassVar[int]
    HOSTS_FIELD_NUMBER: _ClassVar[int]
    MAX_DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MEAN_DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MIN_DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ON_FAILURE_EFFECT_FIELD_NUMBER: _ClassVar[int]
    ON_FAILURE_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    RUNS_WITH_FAILURES_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    budget_exhausted_runs: int
    budget_exhausted_stages: _containers.RepeatedCompositeFieldContainer[RehearseStageCount]
    fail_rate: float
    failure_budget: int
    failures: int
    hosts: int
    max_duration_seconds: float
    mean_duration_seconds: float
    min_duration_seconds: float
    on_failure: str
    on_failure_effect: str
    outcomes: _containers.RepeatedCompositeFieldContainer[RehearseOutcomeCount]
    runs: int
    runs_with_failures: int
    seed: int
    stages: int
    def __init__(self, runs: _Optional[int] = ..., fail_rate: _Optional[float] = ..., seed: _Optional[int] = ..., hosts: _Optional[int] = ..., stages: _Optional[int] = ..., mean_duration_seconds: _Optional[float] = ..., min_duration_seconds: _Optional[float] = ..., max_duration_seconds: _Optional[float] = ..., failures: _Optional[int] = ..., runs_with_failures: _Optional[int] = ..., failure_budget: _Optional[int] = ..., budget_exhausted_runs: _Optional[int] = ..., budget_exhausted_stages: _Optional[_Iterable[_Union[RehearseStageCount, _Mapping]]] = ..., on_failure: _Optional[str] = ..., on_failure_effect: _Optional[str] = ..., outcomes: _Optional[_Iterable[_Union[RehearseOutcomeCount, _Mapping]]] = ...) -> None: ...

class ResumeStrategyRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ResumeStrategyResponse(_message.Message):
    __slots__ = ["strategy"]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    strategy: Strategy
    def __init__(self, strategy: _Optional[_Union[Strategy, _Mapping]] = ...) -> None: ...

class Strategy(_message.Message):
    __slots__ = ["abort_phase", "alarm_restrictions", "apply_phase", "build_phase", "canary", "canary_hosts", "canary_stages", "controller_apply_type", "current_phase", "current_phase_completion_percentage", "cutoff_minutes", "default_instance_action", "executed", "failure_budget", "failures", "gate_verdicts", "health_gate", "hosts_total", "max_failures", "max_parallel_worker_hosts", "min_executed", "name", "next_window_start", "on_failure", "paused", "plan_hash", "rollback_phase", "soak_seconds", "state", "stop_reason", "storage_apply_type", "swift_apply_type", "uuid", "window_state", "window_tz", "windows", "worker_apply_type"]
    ABORT_PHASE_FIELD_NUMBER: _ClassVar[int]
    ALARM_RESTRICTIONS_FIELD_NUMBER: _ClassVar[int]
    APPLY_PHASE_FIELD_NUMBER: _ClassVar[int]
    BUILD_PHASE_FIELD_NUMBER: _ClassVar[int]
    CANARY_FIELD_NUMBER: _ClassVar[int]
    CANARY_HOSTS_FIELD_NUMBER: _ClassVar[int]
    CANARY_STAGES_FIELD_NUMBER: _ClassVar[int]
    CONTROLLER_APPLY_TYPE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PHASE_COMPLETION_PERCENTAGE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PHASE_FIELD_NUMBER: _ClassVar[int]
    CUTOFF_MINUTES_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_INSTANCE_ACTION_FIELD_NUMBER: _ClassVar[int]
    EXECUTED_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    FAILURE_BUDGET_FIELD_NUMBER: _ClassVar[int]
    GATE_VERDICTS_FIELD_NUMBER: _ClassVar[int]
    HEALTH_GATE_FIELD_NUMBER: _ClassVar[int]
    HOSTS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    MAX_FAILURES_FIELD_NUMBER: _ClassVar[int]
    MAX_PARALLEL_WORKER_HOSTS_FIELD_NUMBER: _ClassVar[int]
    MIN_EXECUTED_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NEXT_WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    ON_FAILURE_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    PLAN_HASH_FIELD_NUMBER: _ClassVar[int]
    ROLLBACK_PHASE_FIELD_NUMBER: _ClassVar[int]
    SOAK_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    STORAGE_APPLY_TYPE_FIELD_NUMBER: _ClassVar[int]
    SWIFT_APPLY_TYPE_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_STATE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_TZ_FIELD_NUMBER: _ClassVar[int]
    WORKER_APPLY_TYPE_FIELD_NUMBER: _ClassVar[int]
    abort_phase: StrategyPhase
    alarm_restrictions: str
    apply_phase: StrategyPhase
    build_phase: StrategyPhase
    canary: int
    canary_hosts: _containers.RepeatedScalarFieldContainer[str]
    canary_stages: int
    controller_apply_type: str
    current_phase: str
    current_phase_completion_percentage: int
    cutoff_minutes: int
    default_instance_action: str
    executed: int
    failure_budget: int
    failures: int
    gate_verdicts: _containers.RepeatedCompositeFieldContainer[StrategyGateVerdict]
    health_gate: str
    hosts_total: int
    max_failures: str
    max_parallel_worker_hosts: int
    min_executed: int
    name: str
    next_window_start: _timestamp_pb2.Timestamp
    on_failure: str
    paused: bool
    plan_hash: str
    rollback_phase: StrategyPhase
    soak_seconds: int
    state: str
    stop_reason: str
    storage_apply_type: str
    swift_apply_type: str
    uuid: str
    window_state: str
    window_tz: str
    windows: _containers.RepeatedScalarFieldContainer[str]
    worker_apply_type: str
    def __init__(self, uuid: _Optional[str] = ..., name: _Optional[str] = ..., controller_apply_type: _Optional[str] = ..., storage_apply_type: _Optional[str] = ..., worker_apply_type: _Optional[str] = ..., max_parallel_worker_hosts: _Optional[int] = ..., default_instance_action: _Optional[str] = ..., alarm_restrictions: _Optional[str] = ..., state: _Optional[str] = ..., current_phase: _Optional[str] = ..., current_phase_completion_percentage: _Optional[int] = ..., build_phase: _Optional[_Union[StrategyPhase, _Mapping]] = ..., apply_phase: _Optional[_Union[StrategyPhase, _Mapping]] = ..., abort_phase: _Optional[_Union[StrategyPhase, _Mapping]] = ..., swift_apply_type: _Optional[str] = ..., plan_hash: _Optional[str] = ..., windows: _Optional[_Iterable[str]] = ..., window_tz: _Optional[str] = ..., cutoff_minutes: _Optional[int] = ..., window_state: _Optional[str] = ..., next_window_start: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., max_failures: _Optional[str] = ..., min_executed: _Optional[int] = ..., failure_budget: _Optional[int] = ..., failures: _Optional[int] = ..., executed: _Optional[int] = ..., canary_hosts: _Optional[_Iterable[str]] = ..., soak_seconds: _Optional[int] = ..., health_gate: _Optional[str] = ..., on_failure: _Optional[str] = ..., gate_verdicts: _Optional[_Iterable[_Union[StrategyGateVerdict, _Mapping]]] = ..., rollback_phase: _Optional[_Union[StrategyPhase, _Mapping]] = ..., paused: bool = ..., stop_reason: _Optional[str] = ..., canary: _Optional[int] = ..., canary_stages: _Optional[int] = ..., hosts_total: _Optional[int] = ...) -> None: ...

class StrategyGateVerdict(_message.Message):
    __slots__ = ["at", "evidence", "gate", "stage_id", "verdict"]
    AT_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    GATE_FIELD_NUMBER: _ClassVar[int]
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    evidence: str
    gate: str
    stage_id: int
    verdict: str
    def __init__(self, at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., gate: _Optional[str] = ..., verdict: _Optional[str] = ..., evidence: _Optional[str] = ..., stage_id: _Optional[int] = ...) -> None: ...

class StrategyPhase(_message.Message):
    __slots__ = ["completion_percentage", "current_stage", "end_date", "inprogress", "name", "reason", "result", "stages", "start_date", "state", "stop_at_stage", "timeout", "total_stages"]
    COMPLETION_PERCENTAGE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_STAGE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    INPROGRESS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STOP_AT_STAGE_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STAGES_FIELD_NUMBER: _ClassVar[int]
    completion_percentage: int
    current_stage: int
    end_date: _timestamp_pb2.Timestamp
    inprogress: bool
    name: str
    reason: str
    result: str
    stages: _containers.RepeatedCompositeFieldContainer[StrategyStage]
    start_date: _timestamp_pb2.Timestamp
    state: str
    stop_at_stage: int
    timeout: int
    total_stages: int
    def __init__(self, name: _Optional[str] = ..., state: _Optional[str] = ..., result: _Optional[str] = ..., reason: _Optional[str] = ..., timeout: _Optional[int] = ..., start_date: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_date: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., current_stage: _Optional[int] = ..., total_stages: _Optional[int] = ..., stop_at_stage: _Optional[int] = ..., completion_percentage: _Optional[int] = ..., inprogress: bool = ..., stages: _Optional[_Iterable[_Union[StrategyStage, _Mapping]]] = ...) -> None: ...

class StrategyStage(_message.Message):
    __slots__ = ["current_step", "end_date", "inprogress", "name", "reason", "result", "stage_id", "start_date", "state", "steps", "timeout", "total_steps"]
    CURRENT_STEP_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    INPROGRESS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    current_step: int
    end_date: _timestamp_pb2.Timestamp
    inprogress: bool
    name: str
    reason: str
    result: str
    stage_id: int
    start_date: _timestamp_pb2.Timestamp
    state: str
    steps: _containers.RepeatedCompositeFieldContainer[StrategyStep]
    timeout: int
    total_steps: int
    def __init__(self, stage_id: _Optional[int] = ..., name: _Optional[str] = ..., state: _Optional[str] = ..., result: _Optional[str] = ..., reason: _Optional[str] = ..., timeout: _Optional[int] = ..., start_date: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_date: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., current_step: _Optional[int] = ..., total_steps: _Optional[int] = ..., inprogress: bool = ..., steps: _Optional[_Iterable[_Union[StrategyStep, _Mapping]]] = ...) -> None: ...

class StrategyStep(_message.Message):
    __slots__ = ["end_date", "entity_names", "entity_type", "entity_uuids", "name", "reason", "result", "start_date", "state", "step_id", "timeout"]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    ENTITY_NAMES_FIELD_NUMBER: _ClassVar[int]
    ENTITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    ENTITY_UUIDS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    end_date: _timestamp_pb2.Timestamp
    entity_names: _containers.RepeatedScalarFieldContainer[str]
    entity_type: str
    entity_uuids: _containers.RepeatedScalarFieldContainer[str]
    name: str
    reason: str
    result: str
    start_date: _timestamp_pb2.Timestamp
    state: str
    step_id: int
    timeout: int
    def __init__(self, step_id: _Optional[int] = ..., name: _Optional[str] = ..., entity_type: _Optional[str] = ..., entity_names: _Optional[_Iterable[str]] = ..., entity_uuids: _Optional[_Iterable[str]] = ..., state: _Optional[str] = ..., result: _Optional[str] = ..., reason: _Optional[str] = ..., timeout: _Optional[int] = ..., start_date: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_date: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WatchStrategyRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class WatchStrategyResponse(_message.Message):
    __slots__ = ["strategy"]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    strategy: Strategy
    def __init__(self, strategy: _Optional[_Union[Strategy, _Mapping]] = ...) -> None: ...

class ApplyType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class InstanceAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class AlarmRestrictions(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
