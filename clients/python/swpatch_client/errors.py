"""Exceptions raised by :class:`swpatch_client.SwPatchClient`.

Every failed RPC becomes a :class:`SwPatchError` (or a subclass chosen by the gRPC status code)
that keeps the status code, the server's details text and the method that failed.
"""
from __future__ import annotations

from typing import Dict, Optional, Type

import grpc


class SwPatchError(Exception):
    """A failed sw-patch RPC.

    Attributes:
        code: the :class:`grpc.StatusCode` the controller answered.
        details: the controller's message (e.g. ``"Patch 999 does not exist"``).
        method: the RPC, e.g. ``"ApplyPatches"``.
    """

    def __init__(self, code: grpc.StatusCode, details: str, method: str = "") -> None:
        self.code = code
        self.details = details
        self.method = method
        where = f"{method}: " if method else ""
        super().__init__(f"{where}{code.name}: {details}")


class NotFoundError(SwPatchError):
    """NOT_FOUND: unknown patch, host, operation or release."""


class PreconditionError(SwPatchError):
    """FAILED_PRECONDITION: the system is not in a state that allows the request."""


class InvalidArgumentError(SwPatchError):
    """INVALID_ARGUMENT: a malformed request (bad file name, missing ids, ...)."""


class AlreadyExistsError(SwPatchError):
    """ALREADY_EXISTS."""


class PermissionDeniedError(SwPatchError):
    """PERMISSION_DENIED: the token's role may not call this method."""


class UnauthenticatedError(SwPatchError):
    """UNAUTHENTICATED: missing, invalid or revoked token."""


class UnavailableError(SwPatchError):
    """UNAVAILABLE: the controller cannot be reached (or is shutting down)."""


class DeadlineExceededError(SwPatchError):
    """DEADLINE_EXCEEDED: the call's timeout expired."""


_BY_CODE: Dict[grpc.StatusCode, Type[SwPatchError]] = {
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.FAILED_PRECONDITION: PreconditionError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
}


def from_rpc_error(err: grpc.RpcError, method: str = "") -> SwPatchError:
    """The :class:`SwPatchError` subclass for a :class:`grpc.RpcError` (a grpc.Call)."""
    code: Optional[grpc.StatusCode] = err.code() if hasattr(err, "code") else None  # type: ignore[attr-defined]
    details: Optional[str] = err.details() if hasattr(err, "details") else None  # type: ignore[attr-defined]
    code = code or grpc.StatusCode.UNKNOWN
    cls = _BY_CODE.get(code, SwPatchError)
    return cls(code, details or "", method)
