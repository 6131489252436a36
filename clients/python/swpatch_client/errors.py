"""Exceptions raised by :class:`swpatch_client.SwPatchClient`.

Every failed RPC becomes a :class:`SwPatchError` that keeps the status code, the server's details
text, the method that failed and the controller's machine-readable ``reason`` (the
``swpatch-error-reason`` trailer, e.g. ``"PATCH_NOT_FOUND"``). The subclass is chosen by the reason
first (``RELEASE_NOT_FOUND`` -> :class:`ReleaseNotFoundError`, ...), then by the status code, as
the TypeScript SDK does (``clients/sdk/src/errors.ts``).
"""
from __future__ import annotations

import re
from typing import Any, Dict, Optional, Tuple, Type

import grpc

from .gen.swpatch.v1 import patch_service_pb2 as patches_pb

#: Trailer in which the controller sends the reason of every error status.
REASON_TRAILER = "swpatch-error-reason"
#: Trailer naming the reason's domain (``"swpatch.v1"``).
DOMAIN_TRAILER = "swpatch-error-domain"


class SwPatchError(Exception):
    """A failed sw-patch RPC.

    Attributes:
        code: the :class:`grpc.StatusCode` the controller answered.
        details: the controller's message (e.g. ``"Patch 999 does not exist"``).
        method: the RPC, e.g. ``"ApplyPatches"``.
        reason: the controller's machine-readable reason (e.g. ``"RELEASE_NOT_FOUND"``), or
            ``None`` when it sent none (an older controller, or a call that never reached it).
    """

    def __init__(self, code: grpc.StatusCode, details: str, method: str = "", reason: Optional[str] = None) -> None:
        self.code = code
        self.details = details
        self.method = method
        self.reason = reason
        where = f"{method}: " if method else ""
        super().__init__(f"{where}{code.name}: {details}")


class NotFoundError(SwPatchError):
    """NOT_FOUND: unknown patch, host, operation or release."""


class PatchNotFoundError(NotFoundError):
    """NOT_FOUND, reason PATCH_NOT_FOUND: an unknown patch ID."""


class ReleaseNotFoundError(NotFoundError):
    """NOT_FOUND, reason RELEASE_NOT_FOUND: an unknown release."""


class HostNotFoundError(NotFoundError):
    """NOT_FOUND, reason HOST_NOT_FOUND: an unknown host."""


class OperationNotFoundError(NotFoundError):
    """NOT_FOUND, reason OPERATION_NOT_FOUND: an unknown host-install operation ID."""


class StrategyNotFoundError(NotFoundError):
    """NOT_FOUND, reason STRATEGY_NOT_FOUND: there is no patch strategy."""


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


class InternalError(SwPatchError):
    """INTERNAL (or UNKNOWN): the controller failed unexpectedly; ``details`` holds its log reference."""


class ResourceExhaustedError(SwPatchError):
    """RESOURCE_EXHAUSTED: a limit of the controller was reached (the details name it and its flag)."""


class WatchStreamLimitError(ResourceExhaustedError):
    """RESOURCE_EXHAUSTED, reason WATCH_STREAM_LIMIT: too many watch streams open (per caller or in total)."""


class WatchFellBehindError(ResourceExhaustedError):
    """RESOURCE_EXHAUSTED, reason WATCH_FELL_BEHIND: the stream was read too slowly and the controller
    ended it; watch again from the last sequence received (or re-read the current state)."""


class OutOfRangeError(SwPatchError):
    """OUT_OF_RANGE."""


class EventsPrunedError(OutOfRangeError):
    """OUT_OF_RANGE, reason EVENTS_PRUNED: the history asked for is older than ``--event-retention``;
    ``oldest_sequence`` is the oldest event still held (``None`` if the details did not say)."""

    def __init__(self, code: grpc.StatusCode, details: str, method: str = "", reason: Optional[str] = None) -> None:
        super().__init__(code, details, method, reason)
        m = re.search(r"oldest event held is (\d+)", details or "")
        self.oldest_sequence: Optional[int] = int(m.group(1)) if m else None


#: Classes chosen by a reason that comes with a status other than NOT_FOUND (reason -> (status, class)).
_BY_REASON_AND_CODE: Dict[str, Tuple[grpc.StatusCode, Type[SwPatchError]]] = {
    "WATCH_STREAM_LIMIT": (grpc.StatusCode.RESOURCE_EXHAUSTED, WatchStreamLimitError),
    "WATCH_FELL_BEHIND": (grpc.StatusCode.RESOURCE_EXHAUSTED, WatchFellBehindError),
    "EVENTS_PRUNED": (grpc.StatusCode.OUT_OF_RANGE, EventsPrunedError),
}


_BY_CODE: Dict[grpc.StatusCode, Type[SwPatchError]] = {
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.OUT_OF_RANGE: OutOfRangeError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.FAILED_PRECONDITION: PreconditionError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.INTERNAL: InternalError,
    grpc.StatusCode.UNKNOWN: InternalError,
}

#: PatchService methods: a NOT_FOUND from them without a reason (an older controller) is a patch.
_PATCH_METHODS = frozenset(patches_pb.DESCRIPTOR.services_by_name["PatchService"].methods_by_name)
#: Texts grpc gives a connection torn down mid-stream (INTERNAL/UNKNOWN/CANCELLED).
_BROKEN_TRANSPORT = re.compile(r"RST_STREAM|Connection dropped|socket|ECONNRESET|Received HTTP status|Server shutting down|"
                               r"Connection reset|Socket closed|GOAWAY", re.I)


_BY_REASON: Dict[str, Type[SwPatchError]] = {
    "PATCH_NOT_FOUND": PatchNotFoundError,
    "RELEASE_NOT_FOUND": ReleaseNotFoundError,
    "HOST_NOT_FOUND": HostNotFoundError,
    "OPERATION_NOT_FOUND": OperationNotFoundError,
    "STRATEGY_NOT_FOUND": StrategyNotFoundError,
}


def reason_of(err: Any) -> Optional[str]:
    """The ``swpatch-error-reason`` trailer of a failed call (a grpc.Call), or ``None``."""
    try:
        trailers = err.trailing_metadata() if hasattr(err, "trailing_metadata") else None
    except Exception:  # a call that never got a status has no trailers
        return None
    for key, value in trailers or ():
        if key == REASON_TRAILER:
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            return text or None
    return None


def from_rpc_error(err: grpc.RpcError, method: str = "") -> SwPatchError:
    """The :class:`SwPatchError` subclass for a :class:`grpc.RpcError` (a grpc.Call): by the
    controller's reason first, then by the status code."""
    code: Optional[grpc.StatusCode] = err.code() if hasattr(err, "code") else None  # type: ignore[attr-defined]
    details: Optional[str] = err.details() if hasattr(err, "details") else None  # type: ignore[attr-defined]
    code = code or grpc.StatusCode.UNKNOWN
    reason = reason_of(err)
    cls = _BY_REASON.get(reason or "") if code == grpc.StatusCode.NOT_FOUND else None
    other = _BY_REASON_AND_CODE.get(reason or "")
    if cls is None and other is not None and other[0] == code:
        cls = other[1]
    if cls is None and reason is None and code == grpc.StatusCode.NOT_FOUND and method in _PATCH_METHODS:
        cls = PatchNotFoundError
    if cls is None:
        cls = _BY_CODE.get(code, SwPatchError)
    return cls(code, details or "", method, reason)


def is_transient(err: BaseException) -> bool:
    """True for errors worth retrying a stream on: the controller went away (UNAVAILABLE), the
    transport broke mid-stream (INTERNAL/UNKNOWN/CANCELLED with a connection text), or the
    controller ended the stream because the client read it too slowly (:class:`WatchFellBehindError`)."""
    if isinstance(err, WatchFellBehindError):
        return True
    if isinstance(err, SwPatchError):
        code, details = err.code, err.details
    elif isinstance(err, grpc.RpcError) and hasattr(err, "code"):
        code, details = err.code(), err.details() or ""  # type: ignore[attr-defined]
    else:
        return False
    if code == grpc.StatusCode.UNAVAILABLE:
        return True
    broken = code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.CANCELLED)
    return broken and bool(_BROKEN_TRANSPORT.search(details or ""))
