from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AddTrustedKeyRequest(_message.Message):
    __slots__ = ["label", "pem"]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    PEM_FIELD_NUMBER: _ClassVar[int]
    label: str
    pem: str
    def __init__(self, label: _Optional[str] = ..., pem: _Optional[str] = ...) -> None: ...

class AddTrustedKeyResponse(_message.Message):
    __slots__ = ["key"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: TrustedKey
    def __init__(self, key: _Optional[_Union[TrustedKey, _Mapping]] = ...) -> None: ...

class AuditChainVerifyRequest(_message.Message):
    __slots__ = ["checkpoint_first", "trusted_key_ids"]
    CHECKPOINT_FIRST_FIELD_NUMBER: _ClassVar[int]
    TRUSTED_KEY_IDS_FIELD_NUMBER: _ClassVar[int]
    checkpoint_first: bool
    trusted_key_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, trusted_key_ids: _Optional[_Iterable[str]] = ..., checkpoint_first: bool = ...) -> None: ...

class AuditChainVerifyResponse(_message.Message):
    __slots__ = ["bad_row_id", "bad_seq", "checkpoints", "key", "latest_checkpoint", "ok", "pruned_through", "reason", "registered_keys", "rows"]
    BAD_ROW_ID_FIELD_NUMBER: _ClassVar[int]
    BAD_SEQ_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    LATEST_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    PRUNED_THROUGH_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_KEYS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    bad_row_id: int
    bad_seq: int
    checkpoints: int
    key: AuditCheckpointKey
    latest_checkpoint: AuditCheckpointInfo
    ok: bool
    pruned_through: int
    reason: str
    registered_keys: _containers.RepeatedCompositeFieldContainer[AuditCheckpointKey]
    rows: int
    def __init__(self, ok: bool = ..., rows: _Optional[int] = ..., checkpoints: _Optional[int] = ..., bad_row_id: _Optional[int] = ..., bad_seq: _Optional[int] = ..., reason: _Optional[str] = ..., key: _Optional[_Union[AuditCheckpointKey, _Mapping]] = ..., registered_keys: _Optional[_Iterable[_Union[AuditCheckpointKey, _Mapping]]] = ..., latest_checkpoint: _Optional[_Union[AuditCheckpointInfo, _Mapping]] = ..., pruned_through: _Optional[int] = ...) -> None: ...

class AuditCheckpointInfo(_message.Message):
    __slots__ = ["key_id", "root_hash", "signature", "time", "tree_size"]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    ROOT_HASH_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    root_hash: str
    signature: str
    time: _timestamp_pb2.Timestamp
    tree_size: int
    def __init__(self, tree_size: _Optional[int] = ..., root_hash: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., key_id: _Optional[str] = ..., signature: _Optional[str] = ...) -> None: ...

class AuditCheckpointKey(_message.Message):
    __slots__ = ["key_id", "public_key_pem"]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_PEM_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    public_key_pem: str
    def __init__(self, key_id: _Optional[str] = ..., public_key_pem: _Optional[str] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ["action", "actor", "detail", "id", "outcome", "role", "target", "time"]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    action: str
    actor: str
    detail: str
    id: int
    outcome: str
    role: str
    target: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., role: _Optional[str] = ..., action: _Optional[str] = ..., target: _Optional[str] = ..., outcome: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class CreateTokenRequest(_message.Message):
    __slots__ = ["description", "hostname", "role"]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    description: str
    hostname: str
    role: str
    def __init__(self, role: _Optional[str] = ..., hostname: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class CreateTokenResponse(_message.Message):
    __slots__ = ["info", "token"]
    INFO_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    info: TokenInfo
    token: str
    def __init__(self, info: _Optional[_Union[TokenInfo, _Mapping]] = ..., token: _Optional[str] = ...) -> None: ...

class ListAuditLogRequest(_message.Message):
    __slots__ = ["after_id", "limit"]
    AFTER_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    after_id: int
    limit: int
    def __init__(self, after_id: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class ListAuditLogResponse(_message.Message):
    __slots__ = ["entries"]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ...) -> None: ...

class ListTokensRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListTokensResponse(_message.Message):
    __slots__ = ["tokens"]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    tokens: _containers.RepeatedCompositeFieldContainer[TokenInfo]
    def __init__(self, tokens: _Optional[_Iterable[_Union[TokenInfo, _Mapping]]] = ...) -> None: ...

class ListTrustedKeysRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListTrustedKeysResponse(_message.Message):
    __slots__ = ["keys"]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[TrustedKey]
    def __init__(self, keys: _Optional[_Iterable[_Union[TrustedKey, _Mapping]]] = ...) -> None: ...

class RemoveTrustedKeyRequest(_message.Message):
    __slots__ = ["label"]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    label: str
    def __init__(self, label: _Optional[str] = ...) -> None: ...

class RemoveTrustedKeyResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class RevokeTokenRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class RevokeTokenResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class TokenInfo(_message.Message):
    __slots__ = ["created_at", "description", "hostname", "id", "personality", "revoked", "role"]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    PERSONALITY_FIELD_NUMBER: _ClassVar[int]
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    created_at: _timestamp_pb2.Timestamp
    description: str
    hostname: str
    id: str
    personality: str
    revoked: bool
    role: str
    def __init__(self, id: _Optional[str] = ..., role: _Optional[str] = ..., hostname: _Optional[str] = ..., description: _Optional[str] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., revoked: bool = ..., personality: _Optional[str] = ...) -> None: ...

class TrustRootGetRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class TrustRootGetResponse(_message.Message):
    __slots__ = ["trust_root"]
    TRUST_ROOT_FIELD_NUMBER: _ClassVar[int]
    trust_root: TrustRootInfo
    def __init__(self, trust_root: _Optional[_Union[TrustRootInfo, _Mapping]] = ...) -> None: ...

class TrustRootInfo(_message.Message):
    __slots__ = ["document", "expired", "expires", "installed_at", "installed_by", "roles", "sha256", "signed_by", "version"]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_FIELD_NUMBER: _ClassVar[int]
    INSTALLED_AT_FIELD_NUMBER: _ClassVar[int]
    INSTALLED_BY_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIGNED_BY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    document: str
    expired: bool
    expires: str
    installed_at: _timestamp_pb2.Timestamp
    installed_by: str
    roles: _containers.RepeatedCompositeFieldContainer[TrustRootRole]
    sha256: str
    signed_by: _containers.RepeatedScalarFieldContainer[str]
    version: int
    def __init__(self, version: _Optional[int] = ..., expires: _Optional[str] = ..., expired: bool = ..., document: _Optional[str] = ..., sha256: _Optional[str] = ..., installed_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., installed_by: _Optional[str] = ..., roles: _Optional[_Iterable[_Union[TrustRootRole, _Mapping]]] = ..., signed_by: _Optional[_Iterable[str]] = ...) -> None: ...

class TrustRootRole(_message.Message):
    __slots__ = ["keyids", "name", "threshold"]
    KEYIDS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    keyids: _containers.RepeatedScalarFieldContainer[str]
    name: str
    threshold: int
    def __init__(self, name: _Optional[str] = ..., keyids: _Optional[_Iterable[str]] = ..., threshold: _Optional[int] = ...) -> None: ...

class TrustRootRotateRequest(_message.Message):
    __slots__ = ["document"]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    document: str
    def __init__(self, document: _Optional[str] = ...) -> None: ...

class TrustRootRotateResponse(_message.Message):
    __slots__ = ["trust_root"]
    TRUST_ROOT_FIELD_NUMBER: _ClassVar[int]
    trust_root: TrustRootInfo
    def __init__(self, trust_root: _Optional[_Union[TrustRootInfo, _Mapping]] = ...) -> None: ...

class TrustRootSetRequest(_message.Message):
    __slots__ = ["document"]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    document: str
    def __init__(self, document: _Optional[str] = ...) -> None: ...

class TrustRootSetResponse(_message.Message):
    __slots__ = ["trust_root"]
    TRUST_ROOT_FIELD_NUMBER: _ClassVar[int]
    trust_root: TrustRootInfo
    def __init__(self, trust_root: _Optional[_Union[TrustRootInfo, _Mapping]] = ...) -> None: ...

class TrustedKey(_message.Message):
    __slots__ = ["fingerprint_sha256", "label", "pem"]
    FINGERPRINT_SHA256_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    PEM_FIELD_NUMBER: _ClassVar[int]
    fingerprint_sha256: str
    label: str
    pem: str
    def __init__(self, label: _Optional[str] = ..., pem: _Optional[str] = ..., fingerprint_sha256: _Optional[str] = ...) -> None: ...
