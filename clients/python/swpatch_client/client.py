"""A typed wrapper over the generated sw-patch gRPC stubs: one method per RPC.

Results are the generated protobuf messages (see ``gen/swpatch/v1/*_pb2.pyi`` for their fields);
failures are :mod:`swpatch_client.errors` exceptions chosen by the controller's reason. Example::

    from swpatch_client import SwPatchClient

    with SwPatchClient("127.0.0.1:5490", token=open("data/admin.token").read().strip()) as c:
        print(c.upload("001.patch").messages.info)     # "001 is now available"
        c.apply(["001"])
        for p in c.host_install("controller-0"):
            print(p.phase, p.item, p.terminal)

Every unary call has a deadline: the client's ``timeout`` (30 s by default, like the TypeScript
SDK's ``defaultDeadlineMs``), or the call's own ``timeout=`` keyword (``0`` = no deadline).
Streams (uploads, watches, installs) have none unless ``timeout=`` is given.
"""
from __future__ import annotations

import ipaddress
import os
import threading
import time
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import grpc

from .errors import DeadlineExceededError, from_rpc_error, is_transient
from .gen.swpatch.v1 import admin_service_pb2 as admin_pb
from .gen.swpatch.v1 import admin_service_pb2_grpc as admin_grpc
from .gen.swpatch.v1 import agent_service_pb2 as agent_pb
from .gen.swpatch.v1 import agent_service_pb2_grpc as agent_grpc
from .gen.swpatch.v1 import host_service_pb2 as hosts_pb
from .gen.swpatch.v1 import host_service_pb2_grpc as hosts_grpc
from .gen.swpatch.v1 import orchestration_service_pb2 as orch_pb
from .gen.swpatch.v1 import orchestration_service_pb2_grpc as orch_grpc
from .gen.swpatch.v1 import patch_service_pb2 as patches_pb
from .gen.swpatch.v1 import patch_service_pb2_grpc as patches_grpc
from .gen.swpatch.v1 import types_pb2 as types_pb
from .labels import agent_state_name, patch_current_name, patch_state_name, phase_name, repo_state_name

__all__ = [
    "SwPatchClient",
    "CHUNK_SIZE",
    "DEFAULT_ENDPOINT",
    "DEFAULT_PORT",
    "DEFAULT_TIMEOUT",
    "normalize_endpoint",
    "tls_credentials",
    "InsecureTransportError",
    "is_loopback_host",
    "patch_state_name",
    "repo_state_name",
    "patch_current_name",
    "agent_state_name",
    "phase_name",
]

#: Upload chunk size (the controller accepts at most 4 MiB per message).
CHUNK_SIZE = 1 << 20
#: Default port of the controller's gRPC API.
DEFAULT_PORT = 5490
#: What the CLIs use when nothing else is given.
DEFAULT_ENDPOINT = f"127.0.0.1:{DEFAULT_PORT}"
#: Default deadline of unary calls, in seconds (the TypeScript SDK's DEFAULT_DEADLINE_MS).
DEFAULT_TIMEOUT = 30.0

_FILTERS = {
    "all": patches_pb.QUERY_FILTER_ALL,
    "applied": patches_pb.QUERY_FILTER_APPLIED,
    "available": patches_pb.QUERY_FILTER_AVAILABLE,
    "committed": patches_pb.QUERY_FILTER_COMMITTED,
}
_APPLY_TYPES = {
    "serial": orch_pb.APPLY_TYPE_SERIAL,
    "parallel": orch_pb.APPLY_TYPE_PARALLEL,
    "ignore": orch_pb.APPLY_TYPE_IGNORE,
}
_INSTANCE_ACTIONS = {"migrate": orch_pb.INSTANCE_ACTION_MIGRATE, "stop-start": orch_pb.INSTANCE_ACTION_STOP_START}
_ALARM_RESTRICTIONS = {"strict": orch_pb.ALARM_RESTRICTIONS_STRICT, "relaxed": orch_pb.ALARM_RESTRICTIONS_RELAXED}

Choice = Union[str, int, None]
PathLike = Union[str, "os.PathLike[str]"]
#: ``on_progress(bytes_sent, total_bytes)`` of uploads.
ProgressCallback = Callable[[int, int], None]
#: ``on_reconnect(attempt, delay_seconds, after_sequence, error)`` of :meth:`SwPatchClient.watch_events`.
ReconnectCallback = Callable[[int, float, int, BaseException], None]


def _choice(value: Choice, table: Dict[str, int], field: str) -> int:
    """An enum value from its CLI word ("serial"), an int, or None (= unspecified: server default)."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    v = table.get(value.lower())
    if v is None:
        raise ValueError(f"{field}: unknown value {value!r}; use one of {', '.join(table)}")
    return v


def normalize_endpoint(endpoint: str) -> str:
    """``host:port`` for grpc: accepts ``host``, ``host:port``, ``[::1]:port``, a bare IPv6 address
    and a ``grpc://``/``http(s)://`` prefix (the port defaults to 5490), like the TypeScript SDK."""
    e = endpoint.strip()
    for prefix in ("grpcs://", "grpc://", "https://", "http://"):
        if e.startswith(prefix):
            e = e[len(prefix):]
            break
    if not e:
        raise ValueError("endpoint must not be empty")
    if e.startswith("["):
        return e if "]:" in e else f"{e}:{DEFAULT_PORT}"
    colons = e.count(":")
    if colons > 1:
        return f"[{e}]:{DEFAULT_PORT}"
    return e if colons == 1 else f"{e}:{DEFAULT_PORT}"


class InsecureTransportError(Exception):
    """Plaintext to a controller that is not on loopback, without ``allow_insecure=True``."""


def _uses_tls_scheme(endpoint: str) -> bool:
    e = endpoint.strip().lower()
    return e.startswith("https://") or e.startswith("grpcs://")


def _endpoint_host(target: str) -> str:
    if target.startswith("["):
        return target[1:target.index("]")]
    return target.rsplit(":", 1)[0]


def is_loopback_host(host: str) -> bool:
    """True for 127.0.0.0/8, ::1, ::ffff:127.x and ``localhost``."""
    h = host.strip("[]").lower()
    if h == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(h)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def tls_credentials(ca: Optional[PathLike] = None, cert: Optional[PathLike] = None, key: Optional[PathLike] = None) -> grpc.ChannelCredentials:
    """Channel credentials for a TLS controller from PEM files: ``ca`` to trust (default: the
    system roots), ``cert`` and ``key`` to authenticate the client (mTLS)."""

    def read(p: Optional[PathLike]) -> Optional[bytes]:
        if p is None:
            return None
        with open(p, "rb") as f:
            return f.read()

    return grpc.ssl_channel_credentials(root_certificates=read(ca), private_key=read(key), certificate_chain=read(cert))


def _file_chunks(path: str, chunk_size: int, on_progress: Optional[ProgressCallback], total: int) -> Iterator[bytes]:
    """The file's bytes read from disk ``chunk_size`` at a time (memory stays flat)."""
    sent = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(chunk_size)
            if not chunk:
                return
            yield chunk
            sent += len(chunk)
            if on_progress is not None:
                on_progress(sent, total)


ACTIVE_CONTROLLER_TRAILER = "swpatch-active"
"""Trailer in which a standby controller names the active one, ``ID@HOST:PORT``."""
FOLLOW_TIMEOUT = 15.0
"""Seconds a client given several endpoints keeps re-sending a call that did not run."""
_NOT_CONNECTED = ("failed to connect", "connection refused", "dns resolution failed", "no connection established")


def _trailer(error: grpc.RpcError, key: str) -> Optional[str]:
    try:
        for k, v in error.trailing_metadata() or ():  # type: ignore[attr-defined]
            if k == key:
                return v if isinstance(v, str) else v.decode()
    except Exception:  # noqa: BLE001 - an error without trailers (never reached a server)
        return None
    return None


def _not_executed(error: grpc.RpcError) -> bool:
    """Whether the call never ran: a standby's answer, or no connection to the controller at all."""
    try:
        if error.code() != grpc.StatusCode.UNAVAILABLE:  # type: ignore[attr-defined]
            return False
        details = (error.details() or "").lower()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001
        return False
    reason = _trailer(error, "swpatch-error-reason")
    if reason == "STANDBY":
        return True
    return reason is None and any(t in details for t in _NOT_CONNECTED)


class _Target:
    """One controller's channel and stubs."""

    def __init__(self, endpoint: str, credentials: Optional[grpc.ChannelCredentials], opts) -> None:
        self.endpoint = endpoint
        self.channel = grpc.secure_channel(endpoint, credentials, options=opts) if credentials is not None else grpc.insecure_channel(endpoint, options=opts)
        self.patches = patches_grpc.PatchServiceStub(self.channel)
        self.hosts = hosts_grpc.HostServiceStub(self.channel)
        self.orch = orch_grpc.OrchestrationServiceStub(self.channel)
        self.admin = admin_grpc.AdminServiceStub(self.channel)
        self.agent = agent_grpc.AgentServiceStub(self.channel)


class _Following:
    """A stub whose methods resolve to the current target's at call time (a controller pair)."""

    def __init__(self, client: "SwPatchClient", service: str) -> None:
        self._client, self._service = client, service

    def __getattr__(self, name: str):
        def call(*args, **kwargs):
            target = self._client._targets[self._client._current]
            return getattr(getattr(target, self._service), name)(*args, **kwargs)

        return call


class SwPatchClient:
    """A connection to the sw-patch controller; every RPC of its four client services.

    Args:
        endpoint: ``HOST:PORT`` of the controller (default: ``$SWPATCH_ENDPOINT`` or 127.0.0.1:5490). A
            controller pair: both, comma-separated (``"a:5490,b:5490"``): calls follow the active one
            (a call a standby refused, or that found no connection, is sent again to the controller the
            standby names, or the next one, with backoff).
        token: bearer token sent as ``authorization: Bearer <token>`` on every call
            (default: ``$SWPATCH_TOKEN``; None and no variable = no authorization header).
        timeout: deadline in seconds of each unary call (default 30; None or 0 = none). A call's
            own ``timeout=`` wins. Streams have none unless given.
        credentials: :func:`tls_credentials` (or :func:`grpc.ssl_channel_credentials`) for a TLS
            controller. None: TLS from ``$SWPATCH_TLS_CA`` (CA to trust) and ``$SWPATCH_TLS_CERT`` +
            ``$SWPATCH_TLS_KEY`` (mutual TLS) when set, or with the system CAs for an ``https://``
            (``grpcs://``) endpoint; plaintext otherwise.
        allow_insecure: allow plaintext to a host that is not loopback (the token travels in
            cleartext); without it such a client raises :class:`InsecureTransportError`.
        options: extra grpc channel options, e.g. ``[("grpc.keepalive_time_ms", 10000)]``.

    Closing the client (``close()`` or leaving the ``with`` block) cancels the streams still open;
    an iteration of :meth:`watch_events` or :meth:`watch_strategy` then simply ends.
    """

    def __init__(
        self,
        endpoint: Optional[str] = None,
        token: Optional[str] = None,
        timeout: Optional[float] = DEFAULT_TIMEOUT,
        credentials: Optional[grpc.ChannelCredentials] = None,
        options: Sequence[Tuple[str, object]] = (),
        allow_insecure: bool = False,
    ) -> None:
        raw = endpoint or os.environ.get("SWPATCH_ENDPOINT") or DEFAULT_ENDPOINT
        endpoints = [normalize_endpoint(e) for e in raw.split(",") if e.strip()] or [normalize_endpoint(raw)]
        if credentials is None:
            ca, cert, key = (os.environ.get(f"SWPATCH_TLS_{k}") or None for k in ("CA", "CERT", "KEY"))
            if (cert is None) != (key is None):
                raise ValueError("SWPATCH_TLS_CERT and SWPATCH_TLS_KEY go together (mutual TLS)")
            if ca or cert or _uses_tls_scheme(raw):
                credentials = tls_credentials(ca, cert, key)
        remote = [e for e in endpoints if not is_loopback_host(_endpoint_host(e))]
        if credentials is None and not allow_insecure and remote:
            raise InsecureTransportError(
                f"refusing to connect to {remote[0]} in plaintext (the token would travel in cleartext): "
                "use TLS (an https:// endpoint, SWPATCH_TLS_CA or credentials=tls_credentials(...)), or allow_insecure=True"
            )
        token = token if token is not None else os.environ.get("SWPATCH_TOKEN")
        self.timeout = timeout
        self._metadata: Tuple[Tuple[str, str], ...] = (("authorization", f"Bearer {token}"),) if token else ()
        opts = [("grpc.max_receive_message_length", 64 << 20), *options]
        self._closed = threading.Event()
        self._targets = [_Target(e, credentials, opts) for e in endpoints]
        self._current = 0
        self._channel = self._targets[0].channel
        if len(self._targets) == 1:
            t = self._targets[0]
            self._patches, self._hosts, self._orch, self._admin, self._agent = t.patches, t.hosts, t.orch, t.admin, t.agent
        else:
            self._patches, self._hosts, self._orch, self._admin, self._agent = (_Following(self, n) for n in ("patches", "hosts", "orch", "admin", "agent"))

    @property
    def endpoint(self) -> str:
        """``host:port`` calls go to now (with several endpoints: the controller believed active)."""
        return self._targets[self._current].endpoint

    def _follow(self, failed: int, error: grpc.RpcError) -> None:
        """After a call on target ``failed`` did not run: the named active controller, else the next one."""
        if failed != self._current:
            return
        active = _trailer(error, ACTIVE_CONTROLLER_TRAILER)
        address = active.split("@", 1)[1] if active and "@" in active else None
        named = next((i for i, t in enumerate(self._targets) if t.endpoint == address), -1)
        self._current = named if named >= 0 and named != failed else (failed + 1) % len(self._targets)

    def _resend(self, attempt: int, started: float, failed: int, error: grpc.RpcError) -> bool:
        """Whether to send a call again after ``error`` (and after the backoff): only when it did not run."""
        if len(self._targets) < 2 or not _not_executed(error) or self._closed.is_set():
            return False
        self._follow(failed, error)
        if time.monotonic() - started > FOLLOW_TIMEOUT:
            return False
        time.sleep(min(1.0, 0.1 * 2 ** (attempt - 1)))
        return True

    # ------------------------------------------------------------------ plumbing

    def __enter__(self) -> "SwPatchClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the channel(s) (cancelling any stream still open)."""
        self._closed.set()
        for t in self._targets:
            t.channel.close()

    def _deadline(self, timeout: Optional[float], unary: bool) -> Optional[float]:
        t = timeout if timeout is not None else (self.timeout if unary else None)
        return t if t else None

    def _unary(self, method: str, fn, request, timeout: Optional[float] = None):
        started, attempt = time.monotonic(), 0
        while True:
            target, attempt = self._current, attempt + 1
            try:
                return fn(request, timeout=self._deadline(timeout, True), metadata=self._metadata)
            except grpc.RpcError as e:
                if self._resend(attempt, started, target, e):
                    continue
                raise from_rpc_error(e, method) from None

    def _stream(self, method: str, fn, request, timeout: Optional[float]) -> Iterator:
        """Iterates a response stream, mapping errors; leaving the loop early cancels the call."""
        started, attempt = time.monotonic(), 0
        while True:
            target, attempt, delivered = self._current, attempt + 1, False
            call = fn(request, timeout=self._deadline(timeout, False), metadata=self._metadata)
            try:
                for item in call:
                    delivered = True
                    yield item
                return
            except grpc.RpcError as e:
                if self._closed.is_set() and e.code() == grpc.StatusCode.CANCELLED:  # type: ignore[attr-defined]
                    return
                if not delivered and self._resend(attempt, started, target, e):
                    continue
                if delivered and _not_executed(e):
                    self._follow(target, e)
                raise from_rpc_error(e, method) from None
            finally:
                call.cancel()

    def _upload(self, method: str, fn, header: Callable[[int], object], body: Callable[[bytes], object], path: PathLike,
                chunk_size: int, on_progress: Optional[ProgressCallback], timeout: Optional[float]):
        path = os.fspath(path)
        if os.path.isdir(path):
            raise IsADirectoryError(path)
        size = os.path.getsize(path)
        if not 0 < chunk_size <= 4 << 20:
            raise ValueError("chunk_size: 1 byte to 4 MiB")

        def requests() -> Iterator[object]:
            yield header(size)
            for chunk in _file_chunks(path, chunk_size, on_progress, size):
                yield body(chunk)

        started, attempt = time.monotonic(), 0
        while True:
            target, attempt = self._current, attempt + 1
            try:
                # A fresh request stream per attempt: a call refused by a standby read none of it.
                return fn(requests(), timeout=self._deadline(timeout, False), metadata=self._metadata)
            except grpc.RpcError as e:
                if self._resend(attempt, started, target, e):
                    continue
                raise from_rpc_error(e, method) from None

    # ------------------------------------------------------------------ PatchService

    def upload(self, path: PathLike, *, file_name: Optional[str] = None, chunk_size: int = CHUNK_SIZE,
               on_progress: Optional[ProgressCallback] = None, timeout: Optional[float] = None) -> patches_pb.UploadPatchResponse:
        """`sw-patch upload FILE`: streams the file from disk in 1 MiB chunks.

        The announced name (default: the file's base name) must be ``<patch id>.patch``.
        ``.messages.info`` holds e.g. "001 is now available"; ``.outcome`` says whether it was
        imported or only its metadata updated. ``on_progress(bytes_sent, total)`` runs after each
        chunk. No deadline unless ``timeout`` (large files take a while).
        """
        name = file_name if file_name is not None else os.path.basename(os.fspath(path))
        return self._upload(
            "UploadPatch", self._patches.UploadPatch,
            lambda size: patches_pb.UploadPatchRequest(header=patches_pb.UploadHeader(file_name=name, size_bytes=size)),
            lambda chunk: patches_pb.UploadPatchRequest(chunk=chunk),
            path, chunk_size, on_progress, timeout,
        )

    def query(self, filter: Union[str, int] = "all", release: str = "", *, timeout: Optional[float] = None) -> List[types_pb.Patch]:
        """`sw-patch query [all|applied|available|committed]`: patches sorted by id.

        Args:
            filter: "all", "applied", "available", "committed" or a QueryFilter value.
            release: only this release (sw_version); "" = every release.
        """
        f = _FILTERS.get(filter.lower()) if isinstance(filter, str) else filter
        if f is None:
            raise ValueError(f"unknown query filter {filter!r}; use one of {', '.join(_FILTERS)}")
        req = patches_pb.QueryPatchesRequest(filter=f, release=release)
        return list(self._unary("QueryPatches", self._patches.QueryPatches, req, timeout).patches)

    def show(self, ids: Sequence[str], *, timeout: Optional[float] = None) -> patches_pb.ShowPatchesResponse:
        """`sw-patch show`: ``.patches`` found and ``.unrecognized`` ids."""
        return self._unary("ShowPatches", self._patches.ShowPatches, patches_pb.ShowPatchesRequest(patch_ids=list(ids)), timeout)

    def apply(self, ids: Sequence[str] = (), all: bool = False, skip_semantic: bool = False, *,
              allow_downgrade: bool = False, timeout: Optional[float] = None) -> patches_pb.ApplyPatchesResponse:
        """`sw-patch apply [--all]`: ``.messages.info`` e.g. "001 is now in the repo", ``.applied`` ids.

        Raises PreconditionError (reason REQUIREMENT_NOT_APPLIED) when a required patch is not applied,
        (SECURITY_FLOOR) for a patch below its release's security floor unless ``allow_downgrade`` (admin)."""
        req = patches_pb.ApplyPatchesRequest(patch_ids=list(ids), all=all, skip_semantic=skip_semantic, allow_downgrade=allow_downgrade)
        return self._unary("ApplyPatches", self._patches.ApplyPatches, req, timeout)

    def remove(self, ids: Sequence[str], skip_semantic: bool = False, skip_app_check: bool = False,
               remove_unremovable: bool = False, *, allow_downgrade: bool = False,
               timeout: Optional[float] = None) -> patches_pb.RemovePatchesResponse:
        """`sw-patch remove`: ``.removed`` ids. PreconditionError (REQUIRED_BY_APPLIED,
        NOT_REMOVABLE, SECURITY_FLOOR, ...) when an applied patch requires one of them or one sets its
        release's security floor (``allow_downgrade``: admin only)."""
        req = patches_pb.RemovePatchesRequest(patch_ids=list(ids), skip_semantic=skip_semantic,
                                              skip_app_check=skip_app_check, remove_unremovable=remove_unremovable,
                                              allow_downgrade=allow_downgrade)
        return self._unary("RemovePatches", self._patches.RemovePatches, req, timeout)

    def delete(self, ids: Sequence[str], *, timeout: Optional[float] = None) -> patches_pb.DeletePatchesResponse:
        """`sw-patch delete`: ``.deleted`` ids (only Available patches can be deleted)."""
        return self._unary("DeletePatches", self._patches.DeletePatches, patches_pb.DeletePatchesRequest(patch_ids=list(ids)), timeout)

    def commit(self, ids: Sequence[str] = (), *, all: bool = False, release: str = "", dry_run: bool = False,
               timeout: Optional[float] = None) -> patches_pb.CommitPatchesResponse:
        """`sw-patch commit [--all [--release R]] [--dry-run]`: ``.patch_ids`` committed (or that
        would be), ``.freed_bytes``, ``.messages.info``. The patches' requirements are included."""
        req = patches_pb.CommitPatchesRequest(patch_ids=list(ids), all=all, release=release, dry_run=dry_run)
        return self._unary("CommitPatches", self._patches.CommitPatches, req, timeout)

    def what_requires(self, ids: Sequence[str], *, timeout: Optional[float] = None) -> List[patches_pb.Requirement]:
        """`sw-patch what-requires`: for each id (sorted), ``.patch_id`` and the ``.required_by`` ids."""
        req = patches_pb.WhatRequiresRequest(patch_ids=list(ids))
        return list(self._unary("WhatRequires", self._patches.WhatRequires, req, timeout).requirements)

    def query_dependencies(self, ids: Sequence[str], recursive: bool = False, *, timeout: Optional[float] = None) -> List[str]:
        """`sw-patch query-dependencies [--recursive]`: the ids the patches require (with
        ``recursive``, their requirements too). PreconditionError (REQUIRED_PATCH_MISSING) when a
        required patch was never uploaded."""
        req = patches_pb.QueryDependenciesRequest(patch_ids=list(ids), recursive=recursive)
        return list(self._unary("QueryDependencies", self._patches.QueryDependencies, req, timeout).patch_ids)

    def is_applied(self, ids: Sequence[str], *, timeout: Optional[float] = None) -> bool:
        """`sw-patch is-applied`: True when every patch is Applied."""
        return self._unary("IsApplied", self._patches.IsApplied, patches_pb.IsAppliedRequest(patch_ids=list(ids)), timeout).result

    def is_available(self, ids: Sequence[str], *, timeout: Optional[float] = None) -> bool:
        """`sw-patch is-available`: True when every patch is Available."""
        return self._unary("IsAvailable", self._patches.IsAvailable, patches_pb.IsAvailableRequest(patch_ids=list(ids)), timeout).result

    def report_app_dependencies(self, app: str, ids: Sequence[str], *, timeout: Optional[float] = None) -> None:
        """`sw-patch report-app-dependencies`: records that ``app`` needs these patches (none = forget it)."""
        req = patches_pb.ReportAppDependenciesRequest(app=app, patch_ids=list(ids))
        self._unary("ReportAppDependencies", self._patches.ReportAppDependencies, req, timeout)

    def query_app_dependencies(self, *, timeout: Optional[float] = None) -> Dict[str, List[str]]:
        """`sw-patch query-app-dependencies`: ``{app: [patch ids]}``."""
        r = self._unary("QueryAppDependencies", self._patches.QueryAppDependencies, patches_pb.QueryAppDependenciesRequest(), timeout)
        return {d.app: list(d.patch_ids) for d in r.dependencies}

    def init_release(self, release: str, *, timeout: Optional[float] = None) -> patches_pb.InitReleaseResponse:
        """`sw-patch init-release`: creates an empty release (``.messages``)."""
        return self._unary("InitRelease", self._patches.InitRelease, patches_pb.InitReleaseRequest(release=release), timeout)

    def del_release(self, release: str, *, timeout: Optional[float] = None) -> patches_pb.DelReleaseResponse:
        """`sw-patch del-release`: deletes a release's patches and base feed (``.messages``).

        Raises :class:`~swpatch_client.errors.ReleaseNotFoundError` for an unknown release."""
        return self._unary("DelRelease", self._patches.DelRelease, patches_pb.DelReleaseRequest(release=release), timeout)

    def import_base_package(self, path: PathLike, release: str, *, file_name: Optional[str] = None, chunk_size: int = CHUNK_SIZE,
                            on_progress: Optional[ProgressCallback] = None,
                            timeout: Optional[float] = None, signature: bytes = b"") -> patches_pb.ImportBasePackageResponse:
        """Adds an RPM to a release's base feed, streamed from disk like :meth:`upload`:
        ``.package`` and ``.added`` (False when it was already there). ``signature``: by a trusted
        key over the base statement (docs/security.md); without one only an admin token is accepted."""
        name = file_name if file_name is not None else os.path.basename(os.fspath(path))
        return self._upload(
            "ImportBasePackage", self._patches.ImportBasePackage,
            lambda size: patches_pb.ImportBasePackageRequest(
                header=patches_pb.BasePackageHeader(release=release, file_name=name, size_bytes=size, signature=signature)),
            lambda chunk: patches_pb.ImportBasePackageRequest(chunk=chunk),
            path, chunk_size, on_progress, timeout,
        )

    def list_base_packages(self, release: str = "", *, timeout: Optional[float] = None) -> List[patches_pb.BasePackage]:
        """A release's base feed (every release's when empty), each package with ``signer`` ("" when
        unsigned), ``imported_by`` and ``imported_at``."""
        return list(self._unary("ListBasePackages", self._patches.ListBasePackages, patches_pb.ListBasePackagesRequest(release=release), timeout).packages)

    def security_floor_list(self, release: str = "", *, timeout: Optional[float] = None) -> List[patches_pb.SecurityFloorEntry]:
        """`sw-patch security-floor [RELEASE]`: each release's anti-rollback floor (``floor``, the
        ``patch_id`` that set it, ``updated_at``); 0 for a release without one."""
        req = patches_pb.SecurityFloorListRequest(release=release)
        return list(self._unary("SecurityFloorList", self._patches.SecurityFloorList, req, timeout).floors)

    def controller_info(self, *, timeout: Optional[float] = None) -> patches_pb.GetControllerInfoResponse:
        """Running release, releases, trust labels, counts, ``last_event_sequence`` and ``version``."""
        return self._unary("GetControllerInfo", self._patches.GetControllerInfo, patches_pb.GetControllerInfoRequest(), timeout)

    def watch_events(
        self,
        after_sequence: int = 0,
        kinds: Iterable[str] = (),
        patch_id: str = "",
        hostname: str = "",
        operation_id: str = "",
        *,
        timeout: Optional[float] = None,
        resume: bool = True,
        initial_backoff: float = 0.2,
        max_backoff: float = 5.0,
        on_reconnect: Optional[ReconnectCallback] = None,
    ) -> Iterator[types_pb.Event]:
        """Every event after ``after_sequence`` (0 = from the start of the log), then live ones;
        never ends by itself. Break out of the loop (or close() the client) to stop.

        When the controller goes away (UNAVAILABLE or a broken transport) the watch reconnects
        with exponential backoff (``initial_backoff`` doubled up to ``max_backoff`` seconds) and
        resumes after the last sequence it delivered, so no event is lost or repeated, like the
        TypeScript SDK's ``watchEvents``; ``on_reconnect(attempt, delay, after_sequence, error)``
        runs before each retry. Other errors end the iteration. ``resume=False`` raises
        UnavailableError instead. With ``timeout`` the whole watch ends with DeadlineExceededError
        after that many seconds.
        """
        last = after_sequence
        attempt = 0
        until = time.monotonic() + timeout if timeout else None
        kinds = list(kinds)
        while True:
            left = None
            if until is not None:
                left = until - time.monotonic()
                if left <= 0:
                    raise DeadlineExceededError(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded", "WatchEvents")
            req = patches_pb.WatchEventsRequest(after_sequence=last, kinds=kinds, patch_id=patch_id, hostname=hostname, operation_id=operation_id)
            error: BaseException
            try:
                for r in self._stream("WatchEvents", self._patches.WatchEvents, req, left):
                    ev = r.event
                    if not r.HasField("event") or ev.sequence <= last:
                        continue
                    last = ev.sequence
                    attempt = 0
                    yield ev
                if self._closed.is_set():
                    return
                error = EOFError("event stream ended")
            except Exception as e:  # SwPatchError from _stream
                if not resume or not is_transient(e):
                    raise
                error = e
            if self._closed.is_set():
                return
            attempt += 1
            delay = min(max_backoff, initial_backoff * 2 ** (attempt - 1))
            if on_reconnect is not None:
                on_reconnect(attempt, delay, last, error)
            if self._closed.wait(delay):
                return

    # ------------------------------------------------------------------ HostService

    def list_hosts(self, *, timeout: Optional[float] = None) -> List[types_pb.Host]:
        """`sw-patch query-hosts`: hosts sorted by hostname."""
        return list(self._unary("ListHosts", self._hosts.ListHosts, hosts_pb.ListHostsRequest(), timeout).hosts)

    def get_host(self, host: str, *, timeout: Optional[float] = None) -> types_pb.Host:
        """One host by hostname or IP address (HostNotFoundError if unknown)."""
        return self._unary("GetHost", self._hosts.GetHost, hosts_pb.GetHostRequest(host=host), timeout).host

    def lock_host(self, host: str, force: bool = False, *, timeout: Optional[float] = None) -> types_pb.Host:
        """`system host-lock`: the host, now locked."""
        return self._unary("LockHost", self._hosts.LockHost, hosts_pb.LockHostRequest(host=host, force=force), timeout).host

    def unlock_host(self, host: str, *, timeout: Optional[float] = None) -> hosts_pb.UnlockHostResponse:
        """`system host-unlock`: ``.host`` and ``.rebooting`` (True when the unlock reboots it)."""
        return self._unary("UnlockHost", self._hosts.UnlockHost, hosts_pb.UnlockHostRequest(host=host), timeout)

    def swact_host(self, host: str, *, timeout: Optional[float] = None) -> str:
        """`system host-swact`: moves the active controller away from ``host``; returns the new active one."""
        return self._unary("SwactHost", self._hosts.SwactHost, hosts_pb.SwactHostRequest(host=host), timeout).active_controller

    def drop_host(self, host: str, *, timeout: Optional[float] = None) -> hosts_pb.DropHostResponse:
        """`sw-patch drop-host`: forgets a host (``.messages``)."""
        return self._unary("DropHost", self._hosts.DropHost, hosts_pb.DropHostRequest(host=host), timeout)

    def enroll_host(self, hostname: str, personality: str, expires_seconds: int = 0, *,
                    timeout: Optional[float] = None) -> hosts_pb.EnrollHostResponse:
        """`sw-patch host-enroll HOST --personality P`: ``.enroll_token`` (one-time, shown only now;
        the agent exchanges it with ``--enroll-token-file``), ``.enrollment`` (id, expiry) and
        ``.replaced_enrollment_ids``. ``expires_seconds`` 0 = one hour; at most 7 days. Operator."""
        req = hosts_pb.EnrollHostRequest(hostname=hostname, personality=personality, expires_seconds=expires_seconds)
        return self._unary("EnrollHost", self._hosts.EnrollHost, req, timeout)

    def revoke_host(self, hostname: str, *, timeout: Optional[float] = None) -> hosts_pb.RevokeHostResponse:
        """`sw-patch host-revoke HOST`: revokes the host's credentials and pending enrolments; its
        agent stream ends at once (``.revoked_token_ids``, ``.revoked_enrollment_ids``). NotFoundError
        when no credential or enrolment ever named the host. Operator."""
        return self._unary("RevokeHost", self._hosts.RevokeHost, hosts_pb.RevokeHostRequest(hostname=hostname), timeout)

    def list_enrollments(self, *, timeout: Optional[float] = None) -> List[hosts_pb.Enrollment]:
        """`sw-patch host-enrollments`: every enrolment (never its token), oldest first, with its state
        (pending, spent, expired, replaced or revoked)."""
        return list(self._unary("ListEnrollments", self._hosts.ListEnrollments, hosts_pb.ListEnrollmentsRequest(), timeout).enrollments)

    def install_receipt_list(self, hostname: str, *, timeout: Optional[float] = None) -> hosts_pb.InstallReceiptListResponse:
        """`sw-patch host-receipts HOST`: ``.enrolled`` (False: no receipt key, the agent sends no
        receipts), ``.keys`` (the host's receipt keys) and ``.receipts`` (DSSE envelopes, by counter)."""
        req = hosts_pb.InstallReceiptListRequest(hostname=hostname)
        return self._unary("InstallReceiptList", self._hosts.InstallReceiptList, req, timeout)

    def host_install(self, host: str, force: bool = False, *, timeout: Optional[float] = None) -> Iterator[types_pb.InstallProgress]:
        """`sw-patch host-install HOST`: yields InstallProgress messages; the last one has
        ``terminal`` set and phase DONE, FAILED or REJECTED."""
        req = hosts_pb.InstallHostRequest(host=host, force=force)
        for r in self._stream("InstallHost", self._hosts.InstallHost, req, timeout):
            yield r.progress

    def host_install_async(self, host: str, force: bool = False, *, timeout: Optional[float] = None) -> str:
        """`sw-patch host-install-async HOST`: starts the install and returns its operation id."""
        req = hosts_pb.InstallHostAsyncRequest(host=host, force=force)
        return self._unary("InstallHostAsync", self._hosts.InstallHostAsync, req, timeout).operation_id

    def get_operation(self, operation_id: str, *, timeout: Optional[float] = None) -> types_pb.InstallProgress:
        """The latest progress message of an operation (OperationNotFoundError if unknown)."""
        req = hosts_pb.GetOperationRequest(operation_id=operation_id)
        return self._unary("GetOperation", self._hosts.GetOperation, req, timeout).progress

    def watch_operation(self, operation_id: str, *, timeout: Optional[float] = None) -> Iterator[types_pb.InstallProgress]:
        """An operation's progress so far, then each new message, ending after the terminal one."""
        req = hosts_pb.WatchOperationRequest(operation_id=operation_id)
        for r in self._stream("WatchOperation", self._hosts.WatchOperation, req, timeout):
            if not r.HasField("progress"):
                continue
            yield r.progress
            if r.progress.terminal:
                return

    def list_alarms(self, *, timeout: Optional[float] = None) -> List[types_pb.Alarm]:
        """`fm alarm-list`: the active alarms."""
        return list(self._unary("ListAlarms", self._hosts.ListAlarms, hosts_pb.ListAlarmsRequest(), timeout).alarms)

    def get_alarm(self, uuid: str, *, timeout: Optional[float] = None) -> types_pb.Alarm:
        """`fm alarm-show UUID`."""
        return self._unary("GetAlarm", self._hosts.GetAlarm, hosts_pb.GetAlarmRequest(uuid=uuid), timeout).alarm

    def raise_alarm(self, alarm_id: str, entity_instance_id: str, severity: str, reason_text: str = "",
                    mgmt_affecting: bool = False, proposed_repair_action: str = "", *,
                    timeout: Optional[float] = None) -> types_pb.Alarm:
        """`fm alarm-raise`: raises an alarm (severity "critical", "major", "minor" or "warning"); returns it with its uuid."""
        req = hosts_pb.RaiseAlarmRequest(alarm_id=alarm_id, entity_instance_id=entity_instance_id, severity=severity,
                                         reason_text=reason_text, mgmt_affecting=mgmt_affecting,
                                         proposed_repair_action=proposed_repair_action)
        return self._unary("RaiseAlarm", self._hosts.RaiseAlarm, req, timeout).alarm

    def clear_alarm(self, uuid: str, *, timeout: Optional[float] = None) -> None:
        """`fm alarm-delete UUID`."""
        self._unary("ClearAlarm", self._hosts.ClearAlarm, hosts_pb.ClearAlarmRequest(uuid=uuid), timeout)

    # ------------------------------------------------------------------ OrchestrationService

    def create_strategy(
        self,
        controller_apply_type: Choice = None,
        storage_apply_type: Choice = None,
        worker_apply_type: Choice = None,
        max_parallel_worker_hosts: int = 0,
        instance_action: Choice = None,
        alarm_restrictions: Choice = None,
        swift_apply_type: Choice = None,
        default_instance_action_apply_type: Choice = None,
        *,
        max_failures: str = "",
        min_executed: int = 0,
        canary: int = 0,
        canary_hosts: Sequence[str] = (),
        soak_seconds: int = 0,
        health_gate: str = "",
        on_failure: str = "",
        timeout: Optional[float] = None,
    ) -> orch_pb.Strategy:
        """`sw-manager patch-strategy create`: the new strategy (state "building"; it builds in the
        background, see :meth:`watch_strategy`).

        Apply types are "serial", "parallel" or "ignore"; ``instance_action`` "migrate" or
        "stop-start"; ``alarm_restrictions`` "strict" or "relaxed"; enum ints are accepted too.
        None (and 0 for ``max_parallel_worker_hosts``) leaves the controller's default.
        Safer rollouts (docs/orchestration.md): ``max_failures`` "N" or "P%", ``min_executed``,
        ``canary`` N or ``canary_hosts``, ``soak_seconds``, ``health_gate`` "alarms", "agents" or
        "both", ``on_failure`` "pause", "abort" or "rollback"; empty/0 leaves the default.
        AlreadyExistsError when a strategy exists."""
        req = orch_pb.CreateStrategyRequest(
            controller_apply_type=_choice(controller_apply_type, _APPLY_TYPES, "controller_apply_type"),
            storage_apply_type=_choice(storage_apply_type, _APPLY_TYPES, "storage_apply_type"),
            worker_apply_type=_choice(worker_apply_type, _APPLY_TYPES, "worker_apply_type"),
            max_parallel_worker_hosts=max_parallel_worker_hosts,
            instance_action=_choice(instance_action, _INSTANCE_ACTIONS, "instance_action"),
            alarm_restrictions=_choice(alarm_restrictions, _ALARM_RESTRICTIONS, "alarm_restrictions"),
            swift_apply_type=_choice(swift_apply_type, _APPLY_TYPES, "swift_apply_type"),
            default_instance_action_apply_type=_choice(default_instance_action_apply_type, _APPLY_TYPES,
                                                       "default_instance_action_apply_type"),
            max_failures=max_failures,
            min_executed=min_executed,
            canary=canary,
            canary_hosts=list(canary_hosts),
            soak_seconds=soak_seconds,
            health_gate=health_gate,
            on_failure=on_failure,
        )
        return self._unary("CreateStrategy", self._orch.CreateStrategy, req, timeout).strategy

    def pause_strategy(self, *, timeout: Optional[float] = None) -> orch_pb.Strategy:
        """`sw-manager patch-strategy pause`: stops at the next stage boundary (state "paused")."""
        return self._unary("PauseStrategy", self._orch.PauseStrategy, orch_pb.PauseStrategyRequest(), timeout).strategy

    def resume_strategy(self, *, timeout: Optional[float] = None) -> orch_pb.Strategy:
        """`sw-manager patch-strategy resume`: carries on with a paused strategy."""
        return self._unary("ResumeStrategy", self._orch.ResumeStrategy, orch_pb.ResumeStrategyRequest(), timeout).strategy

    def rehearse_strategy(
        self, fail_rate: float = 0.0, runs: int = 1, seed: Optional[int] = None, *, timeout: Optional[float] = None
    ) -> orch_pb.RehearseStrategyResponse:
        """`sw-manager patch-strategy rehearse`: runs the built strategy ``runs`` times against simulated
        copies of the inventory (no real host is touched) and reports durations, failures and budget runs."""
        req = orch_pb.RehearseStrategyRequest(fail_rate=fail_rate, runs=runs)
        if seed is not None:
            req.seed = seed
        return self._unary("RehearseStrategy", self._orch.RehearseStrategy, req, timeout)

    def get_strategy(self, *, timeout: Optional[float] = None) -> orch_pb.Strategy:
        """`sw-manager patch-strategy show`: the strategy. StrategyNotFoundError when there is none."""
        return self._unary("GetStrategy", self._orch.GetStrategy, orch_pb.GetStrategyRequest(), timeout).strategy

    def apply_strategy(self, stage_id: Optional[int] = None, *, timeout: Optional[float] = None) -> orch_pb.Strategy:
        """`sw-manager patch-strategy apply [--stage-id N]`: applies every stage, or only the next
        one (stage ``stage_id``), after which the strategy waits in "applying" for the next apply
        or an abort. PreconditionError (APPLY_REJECTED) in the wrong state."""
        req = orch_pb.ApplyStrategyRequest() if stage_id is None else orch_pb.ApplyStrategyRequest(stage_id=stage_id)
        return self._unary("ApplyStrategy", self._orch.ApplyStrategy, req, timeout).strategy

    def abort_strategy(self, stage_id: Optional[int] = None, *, timeout: Optional[float] = None) -> orch_pb.Strategy:
        """`sw-manager patch-strategy abort [--stage-id N]`: state "aborting" (or "aborted" at once
        when paused between stages). PreconditionError (ABORT_REJECTED) when nothing is applying."""
        req = orch_pb.AbortStrategyRequest() if stage_id is None else orch_pb.AbortStrategyRequest(stage_id=stage_id)
        return self._unary("AbortStrategy", self._orch.AbortStrategy, req, timeout).strategy

    def delete_strategy(self, force: bool = False, *, timeout: Optional[float] = None) -> None:
        """`sw-manager patch-strategy delete [--force]`. StrategyNotFoundError when there is none,
        PreconditionError (STRATEGY_IN_PROGRESS) while it runs unless ``force``."""
        self._unary("DeleteStrategy", self._orch.DeleteStrategy, orch_pb.DeleteStrategyRequest(force=force), timeout)

    def watch_strategy(self, *, timeout: Optional[float] = None) -> Iterator[orch_pb.Strategy]:
        """The current strategy, then a snapshot after every change; never ends by itself (break
        out of the loop, or ``timeout``). Moments without a strategy (deleted) are skipped."""
        for r in self._stream("WatchStrategy", self._orch.WatchStrategy, orch_pb.WatchStrategyRequest(), timeout):
            if r.HasField("strategy"):
                yield r.strategy

    # ------------------------------------------------------------------ AdminService

    def create_token(self, role: str, hostname: str = "", description: str = "", *,
                     timeout: Optional[float] = None) -> admin_pb.CreateTokenResponse:
        """`sw-patch token-create`: ``.token`` (the secret, shown only now) and ``.info``.
        ``role`` is "reader", "operator", "admin" or "agent" (with ``hostname``)."""
        req = admin_pb.CreateTokenRequest(role=role, hostname=hostname, description=description)
        return self._unary("CreateToken", self._admin.CreateToken, req, timeout)

    def list_tokens(self, *, timeout: Optional[float] = None) -> List[admin_pb.TokenInfo]:
        """`sw-patch token-list`: every token's id, role, hostname, description and revoked flag."""
        return list(self._unary("ListTokens", self._admin.ListTokens, admin_pb.ListTokensRequest(), timeout).tokens)

    def revoke_token(self, token_id: str, *, timeout: Optional[float] = None) -> None:
        """`sw-patch token-revoke ID`: the token stops working at once."""
        self._unary("RevokeToken", self._admin.RevokeToken, admin_pb.RevokeTokenRequest(id=token_id), timeout)

    def list_trusted_keys(self, *, timeout: Optional[float] = None) -> List[admin_pb.TrustedKey]:
        """`sw-patch trust-list`: ``--trust`` keys first, then the ones added at run time."""
        return list(self._unary("ListTrustedKeys", self._admin.ListTrustedKeys, admin_pb.ListTrustedKeysRequest(), timeout).keys)

    def add_trusted_key(self, label: str, pem: Union[str, bytes], *, timeout: Optional[float] = None) -> admin_pb.TrustedKey:
        """`sw-patch trust-add`: trusts a certificate or public key (PEM text) for patch
        signatures. AlreadyExistsError when the label or the key is already trusted."""
        text = pem.decode("utf-8") if isinstance(pem, bytes) else pem
        return self._unary("AddTrustedKey", self._admin.AddTrustedKey, admin_pb.AddTrustedKeyRequest(label=label, pem=text), timeout).key

    def remove_trusted_key(self, label: str, *, timeout: Optional[float] = None) -> None:
        """`sw-patch trust-remove`: NotFoundError when no such key, PreconditionError for a ``--trust`` key."""
        self._unary("RemoveTrustedKey", self._admin.RemoveTrustedKey, admin_pb.RemoveTrustedKeyRequest(label=label), timeout)

    def list_audit_log(self, after_id: int = 0, limit: int = 0, *, timeout: Optional[float] = None) -> List[admin_pb.AuditEntry]:
        """`sw-patch audit-log`: audit entries with id > ``after_id``, oldest first, at most ``limit``
        (0 = the controller's default of 100; at most 1000); page on with ``after_id=entries[-1].id``."""
        req = admin_pb.ListAuditLogRequest(after_id=after_id, limit=limit)
        return list(self._unary("ListAuditLog", self._admin.ListAuditLog, req, timeout).entries)

    def audit_chain_verify(
        self, trusted_key_ids: Sequence[str] = (), checkpoint_first: bool = False, *, timeout: Optional[float] = None
    ) -> admin_pb.AuditChainVerifyResponse:
        """`sw-patch audit-verify`: walks the audit log's hash chain and signed checkpoints; ``ok``,
        or the first row that does not verify (``bad_row_id``, ``bad_seq``) and ``reason``. Only
        checkpoints signed by ``trusted_key_ids`` count when given; ``checkpoint_first`` signs one first."""
        req = admin_pb.AuditChainVerifyRequest(trusted_key_ids=list(trusted_key_ids), checkpoint_first=checkpoint_first)
        return self._unary("AuditChainVerify", self._admin.AuditChainVerify, req, timeout)
    # ---- issue 21 (TRUSTROOT): the root of trust for patch signatures (docs/security.md) ----

    def trust_root_get(self, *, timeout: Optional[float] = None) -> Optional[admin_pb.TrustRootInfo]:
        """`sw-patch trust-root show`: the installed root of trust, or None when none is."""
        r = self._unary("TrustRootGet", self._admin.TrustRootGet, admin_pb.TrustRootGetRequest(), timeout)
        return r.trust_root if r.HasField("trust_root") else None

    def trust_root_set(self, document: Union[str, bytes], *, timeout: Optional[float] = None) -> admin_pb.TrustRootInfo:
        """`sw-patch trust-root set`: installs the first root (a signed document, made and signed
        offline). PreconditionError when one is installed or too few of its root keys signed it."""
        text = document.decode("utf-8") if isinstance(document, bytes) else document
        return self._unary("TrustRootSet", self._admin.TrustRootSet, admin_pb.TrustRootSetRequest(document=text), timeout).trust_root

    def trust_root_rotate(self, document: Union[str, bytes], *, timeout: Optional[float] = None) -> admin_pb.TrustRootInfo:
        """`sw-patch trust-root rotate`: installs version N+1, signed by a threshold of version N's
        root keys and of its own. PreconditionError otherwise."""
        text = document.decode("utf-8") if isinstance(document, bytes) else document
        return self._unary("TrustRootRotate", self._admin.TrustRootRotate, admin_pb.TrustRootRotateRequest(document=text), timeout).trust_root

    # ------------------------------------------------------------------ AgentService

    def fetch_package(self, sha256: str, *, timeout: Optional[float] = None) -> Iterator[bytes]:
        """The chunks of a patch RPM by its sha256 (as agents download it; needs an agent or
        admin token). ``AgentService.Connect`` and ``AgentService.Enroll`` are the agents' own
        protocol and have no method here."""
        req = agent_pb.FetchPackageRequest(sha256=sha256)
        for r in self._stream("FetchPackage", self._agent.FetchPackage, req, timeout):
            yield r.chunk
