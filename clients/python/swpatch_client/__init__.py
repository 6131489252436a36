"""Python client for the sw-patch controller (gRPC).

    from swpatch_client import SwPatchClient, NotFoundError
"""
from .client import (
    CHUNK_SIZE,
    DEFAULT_ENDPOINT,
    SwPatchClient,
    patch_current_name,
    patch_state_name,
    phase_name,
    repo_state_name,
)
from .errors import (
    AlreadyExistsError,
    DeadlineExceededError,
    HostNotFoundError,
    InvalidArgumentError,
    NotFoundError,
    OperationNotFoundError,
    PatchNotFoundError,
    PermissionDeniedError,
    PreconditionError,
    ReleaseNotFoundError,
    StrategyNotFoundError,
    SwPatchError,
    UnauthenticatedError,
    UnavailableError,
    from_rpc_error,
    reason_of,
)

__all__ = [
    "SwPatchClient",
    "CHUNK_SIZE",
    "DEFAULT_ENDPOINT",
    "patch_state_name",
    "repo_state_name",
    "patch_current_name",
    "phase_name",
    "SwPatchError",
    "NotFoundError",
    "PatchNotFoundError",
    "ReleaseNotFoundError",
    "HostNotFoundError",
    "OperationNotFoundError",
    "StrategyNotFoundError",
    "PreconditionError",
    "InvalidArgumentError",
    "AlreadyExistsError",
    "PermissionDeniedError",
    "UnauthenticatedError",
    "UnavailableError",
    "DeadlineExceededError",
    "from_rpc_error",
    "reason_of",
]
