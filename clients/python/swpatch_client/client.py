"""A thin typed wrapper over the generated sw-patch gRPC stubs.

Results are the generated protobuf messages (see ``gen/swpatch/v1/*_pb2.pyi`` for their fields);
failures are :mod:`swpatch_client.errors` exceptions. Example::

    from swpatch_client import SwPatchClient

    with SwPatchClient("127.0.0.1:5490", token=open("data/admin.token").read().strip()) as c:
        print(c.upload("001.patch").messages.info)     # "001 is now available"
        c.apply(["001"])
        for p in c.host_install("controller-0"):
            print(p.phase, p.item, p.terminal)
"""
from __future__ import annotations

import os
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, TypeVar, Union

import grpc

from .errors import from_rpc_error
from .gen.swpatch.v1 import host_service_pb2 as hosts_pb
from .gen.swpatch.v1 import host_service_pb2_grpc as hosts_grpc
from .gen.swpatch.v1 import patch_service_pb2 as patches_pb
from .gen.swpatch.v1 import patch_service_pb2_grpc as patches_grpc
from .gen.swpatch.v1 import types_pb2 as types_pb

__all__ = [
    "SwPatchClient",
    "CHUNK_SIZE",
    "DEFAULT_ENDPOINT",
    "patch_state_name",
    "repo_state_name",
    "patch_current_name",
    "phase_name",
]

#: Upload chunk size (the controller accepts at most 4 MiB per message).
CHUNK_SIZE = 1 << 20
#: What the CLIs use when nothing else is given.
DEFAULT_ENDPOINT = "127.0.0.1:5490"

_FILTERS = {
    "all": patches_pb.QUERY_FILTER_ALL,
    "applied": patches_pb.QUERY_FILTER_APPLIED,
    "available": patches_pb.QUERY_FILTER_AVAILABLE,
    "committed": patches_pb.QUERY_FILTER_COMMITTED,
}

_PATCH_STATE_NAMES = {
    types_pb.PATCH_STATE_UNSPECIFIED: "",
    types_pb.PATCH_STATE_AVAILABLE: "Available",
    types_pb.PATCH_STATE_PARTIAL_APPLY: "Partial-Apply",
    types_pb.PATCH_STATE_APPLIED: "Applied",
    types_pb.PATCH_STATE_PARTIAL_REMOVE: "Partial-Remove",
    types_pb.PATCH_STATE_COMMITTED: "Committed",
    types_pb.PATCH_STATE_NA: "n/a",
}
_REPO_STATE_NAMES = {
    types_pb.REPO_STATE_UNSPECIFIED: "",
    types_pb.REPO_STATE_AVAILABLE: "Available",
    types_pb.REPO_STATE_APPLIED: "Applied",
    types_pb.REPO_STATE_COMMITTED: "Committed",
}
_PATCH_CURRENT_NAMES = {
    types_pb.PATCH_CURRENT_UNSPECIFIED: "",
    types_pb.PATCH_CURRENT_YES: "Yes",
    types_pb.PATCH_CURRENT_NO: "No",
    types_pb.PATCH_CURRENT_PENDING: "Pending",
    types_pb.PATCH_CURRENT_FAILED: "Failed",
}


def patch_state_name(state: int) -> str:
    """The CLI word for a PatchState ("Available", "Partial-Apply", "Applied", ...)."""
    return _PATCH_STATE_NAMES.get(state, str(state))


def repo_state_name(state: int) -> str:
    """The CLI word for a RepoState ("Available", "Applied", "Committed")."""
    return _REPO_STATE_NAMES.get(state, str(state))


def patch_current_name(value: int) -> str:
    """The query-hosts word for a PatchCurrent ("Yes", "No", "Pending", "Failed")."""
    return _PATCH_CURRENT_NAMES.get(value, str(value))


def phase_name(phase: int) -> str:
    """"done", "failed", "installing", ... for an InstallPhase."""
    name = types_pb.InstallPhase.Name(phase) if phase in types_pb.InstallPhase.values() else str(phase)
    return name.replace("INSTALL_PHASE_", "").lower()


T = TypeVar("T")
Filter = Union[str, int]


class SwPatchClient:
    """A connection to the sw-patch controller.

    Args:
        endpoint: ``HOST:PORT`` of the controller (default: ``$SWPATCH_ENDPOINT`` or 127.0.0.1:5490).
        token: bearer token sent as ``authorization: Bearer <token>`` on every call
            (default: ``$SWPATCH_TOKEN``; None and no variable = no authorization header).
        timeout: deadline in seconds of each unary call (streams have none unless given).
        credentials: :func:`grpc.ssl_channel_credentials` for a TLS controller; None = plaintext.
    """

    def __init__(
        self,
        endpoint: Optional[str] = None,
        token: Optional[str] = None,
        timeout: Optional[float] = 30.0,
        credentials: Optional[grpc.ChannelCredentials] = None,
    ) -> None:
        self.endpoint = endpoint or os.environ.get("SWPATCH_ENDPOINT") or DEFAULT_ENDPOINT
        token = token if token is not None else os.environ.get("SWPATCH_TOKEN")
        self.timeout = timeout
        self._metadata: Tuple[Tuple[str, str], ...] = (("authorization", f"Bearer {token}"),) if token else ()
        options = [("grpc.max_receive_message_length", 64 << 20)]
        if credentials is not None:
            self._channel = grpc.secure_channel(self.endpoint, credentials, options=options)
        else:
            self._channel = grpc.insecure_channel(self.endpoint, options=options)
        self._patches = patches_grpc.PatchServiceStub(self._channel)
        self._hosts = hosts_grpc.HostServiceStub(self._channel)

    # ------------------------------------------------------------------ plumbing

    def __enter__(self) -> "SwPatchClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the channel (cancelling any stream still open)."""
        self._channel.close()

    def _unary(self, method: str, fn, request, timeout: Optional[float] = None):
        try:
            return fn(request, timeout=timeout if timeout is not None else self.timeout, metadata=self._metadata)
        except grpc.RpcError as e:
            raise from_rpc_error(e, method) from None

    def _stream(self, method: str, call) -> Iterator:
        """Iterates a response stream, mapping errors; leaving the loop early cancels the call."""
        try:
            for item in call:
                yield item
        except grpc.RpcError as e:
            raise from_rpc_error(e, method) from None
        finally:
            call.cancel()

    # ------------------------------------------------------------------ patches

    def query(self, filter: Filter = "all", release: str = "") -> List[types_pb.Patch]:
        """`sw-patch query [all|applied|available|committed]`: patches sorted by id.

        Args:
            filter: "all", "applied", "available", "committed" or a QueryFilter value.
            release: only this release (sw_version); "" = every release.
        """
        f = _FILTERS.get(filter.lower()) if isinstance(filter, str) else filter
        if f is None:
            raise ValueError(f"unknown query filter {filter!r}; use one of {', '.join(_FILTERS)}")
        req = patches_pb.QueryPatchesRequest(filter=f, release=release)
        return list(self._unary("QueryPatches", self._patches.QueryPatches, req).patches)

    def show(self, ids: Sequence[str]) -> patches_pb.ShowPatchesResponse:
        """`sw-patch show`: ``.patches`` found and ``.unrecognized`` ids."""
        return self._unary("ShowPatches", self._patches.ShowPatches, patches_pb.ShowPatchesRequest(patch_ids=list(ids)))

    def upload(self, path: Union[str, "os.PathLike[str]"], timeout: Optional[float] = None) -> patches_pb.UploadPatchResponse:
        """`sw-patch upload FILE`: streams the file in 1 MiB chunks.

        The file must be named ``<patch id>.patch``. ``.messages.info`` holds e.g.
        "001 is now available". ``timeout`` defaults to none (large files take a while).
        """
        path = os.fspath(path)
        size = os.path.getsize(path)

        def requests() -> Iterator[patches_pb.UploadPatchRequest]:
            yield patches_pb.UploadPatchRequest(header=patches_pb.UploadHeader(file_name=os.path.basename(path), size_bytes=size))
            with open(path, "rb") as f:
                while True:
                    chunk = f.read(CHUNK_SIZE)
                    if not chunk:
                        return
                    yield patches_pb.UploadPatchRequest(chunk=chunk)

        try:
            return self._patches.UploadPatch(requests(), timeout=timeout, metadata=self._metadata)
        except grpc.RpcError as e:
            raise from_rpc_error(e, "UploadPatch") from None

    def apply(self, ids: Sequence[str] = (), all: bool = False, skip_semantic: bool = False) -> patches_pb.ApplyPatchesResponse:
        """`sw-patch apply`: ``.messages.info`` e.g. "001 is now in the repo", ``.applied`` ids."""
        req = patches_pb.ApplyPatchesRequest(patch_ids=list(ids), all=all, skip_semantic=skip_semantic)
        return self._unary("ApplyPatches", self._patches.ApplyPatches, req)

    def remove(self, ids: Sequence[str], skip_semantic: bool = False, skip_app_check: bool = False) -> patches_pb.RemovePatchesResponse:
        """`sw-patch remove`: ``.removed`` ids."""
        req = patches_pb.RemovePatchesRequest(patch_ids=list(ids), skip_semantic=skip_semantic, skip_app_check=skip_app_check)
        return self._unary("RemovePatches", self._patches.RemovePatches, req)

    def delete(self, ids: Sequence[str]) -> patches_pb.DeletePatchesResponse:
        """`sw-patch delete`: ``.deleted`` ids."""
        return self._unary("DeletePatches", self._patches.DeletePatches, patches_pb.DeletePatchesRequest(patch_ids=list(ids)))

    def del_release(self, release: str) -> patches_pb.DelReleaseResponse:
        """`sw-patch del-release`: deletes a release's patches and base feed (``.messages``).

        Raises :class:`~swpatch_client.errors.ReleaseNotFoundError` for an unknown release."""
        return self._unary("DelRelease", self._patches.DelRelease, patches_pb.DelReleaseRequest(release=release))

    def is_applied(self, ids: Sequence[str]) -> bool:
        """`sw-patch is-applied`."""
        return self._unary("IsApplied", self._patches.IsApplied, patches_pb.IsAppliedRequest(patch_ids=list(ids))).result

    def controller_info(self) -> patches_pb.GetControllerInfoResponse:
        """Running release, releases, trust labels, counts and ``last_event_sequence``."""
        return self._unary("GetControllerInfo", self._patches.GetControllerInfo, patches_pb.GetControllerInfoRequest())

    def watch_events(
        self,
        after_sequence: int = 0,
        kinds: Iterable[str] = (),
        patch_id: str = "",
        hostname: str = "",
        timeout: Optional[float] = None,
    ) -> Iterator[types_pb.Event]:
        """Every event after ``after_sequence`` (0 = from the start), then live ones; never ends
        by itself. Break out of the loop (or close()) to stop; with ``timeout`` the stream ends
        with DeadlineExceededError after that many seconds."""
        req = patches_pb.WatchEventsRequest(after_sequence=after_sequence, kinds=list(kinds), patch_id=patch_id, hostname=hostname)
        call = self._patches.WatchEvents(req, timeout=timeout, metadata=self._metadata)
        for r in self._stream("WatchEvents", call):
            yield r.event

    # ------------------------------------------------------------------ hosts

    def list_hosts(self) -> List[types_pb.Host]:
        """`sw-patch query-hosts`: hosts sorted by hostname."""
        return list(self._unary("ListHosts", self._hosts.ListHosts, hosts_pb.ListHostsRequest()).hosts)

    def get_host(self, host: str) -> types_pb.Host:
        """One host by hostname or IP address."""
        return self._unary("GetHost", self._hosts.GetHost, hosts_pb.GetHostRequest(host=host)).host

    def host_install(self, host: str, force: bool = False, timeout: Optional[float] = None) -> Iterator[types_pb.InstallProgress]:
        """`sw-patch host-install HOST`: yields InstallProgress messages; the last one has
        ``terminal`` set and phase DONE, FAILED or REJECTED."""
        call = self._hosts.InstallHost(hosts_pb.InstallHostRequest(host=host, force=force), timeout=timeout, metadata=self._metadata)
        for r in self._stream("InstallHost", call):
            yield r.progress

    def host_install_async(self, host: str, force: bool = False) -> str:
        """`sw-patch host-install-async HOST`: starts the install and returns its operation id."""
        req = hosts_pb.InstallHostAsyncRequest(host=host, force=force)
        return self._unary("InstallHostAsync", self._hosts.InstallHostAsync, req).operation_id

    def get_operation(self, op_id: str) -> types_pb.InstallProgress:
        """The latest progress message of an operation."""
        return self._unary("GetOperation", self._hosts.GetOperation, hosts_pb.GetOperationRequest(operation_id=op_id)).progress

    def watch_operation(self, op_id: str, timeout: Optional[float] = None) -> Iterator[types_pb.InstallProgress]:
        """An operation's progress so far, then each new message, ending with the terminal one."""
        call = self._hosts.WatchOperation(hosts_pb.WatchOperationRequest(operation_id=op_id), timeout=timeout, metadata=self._metadata)
        for r in self._stream("WatchOperation", call):
            yield r.progress

    def lock_host(self, host: str, force: bool = False) -> types_pb.Host:
        return self._unary("LockHost", self._hosts.LockHost, hosts_pb.LockHostRequest(host=host, force=force)).host

    def unlock_host(self, host: str) -> hosts_pb.UnlockHostResponse:
        return self._unary("UnlockHost", self._hosts.UnlockHost, hosts_pb.UnlockHostRequest(host=host))


