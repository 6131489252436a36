"""Python client for the sw-patch controller (gRPC): every RPC of PatchService, HostService,
OrchestrationService and AdminService as a method of :class:`SwPatchClient`, with exceptions
chosen by the controller's machine-readable reason.

    from swpatch_client import SwPatchClient, NotFoundError
"""
from .client import (
    CHUNK_SIZE,
    DEFAULT_ENDPOINT,
    DEFAULT_PORT,
    DEFAULT_TIMEOUT,
    SwPatchClient,
    normalize_endpoint,
    tls_credentials,
)
from .errors import (
    AlreadyExistsError,
    DeadlineExceededError,
    HostNotFoundError,
    InternalError,
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
    is_transient,
    reason_of,
)
from .labels import agent_state_name, patch_current_name, patch_state_name, phase_name, repo_state_name

__version__ = "0.1.0"

__all__ = [
    "SwPatchClient",
    "CHUNK_SIZE",
    "DEFAULT_ENDPOINT",
    "DEFAULT_PORT",
    "DEFAULT_TIMEOUT",
    "normalize_endpoint",
    "tls_credentials",
    "patch_state_name",
    "repo_state_name",
    "patch_current_name",
    "agent_state_name",
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
    "InternalError",
    "from_rpc_error",
    "is_transient",
    "reason_of",
]
