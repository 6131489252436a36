"""The words the CLIs print for the API's enum values (``patch_state_name(3) == "Applied"``)."""
from __future__ import annotations

from .gen.swpatch.v1 import types_pb2 as types_pb

__all__ = ["patch_state_name", "repo_state_name", "patch_current_name", "agent_state_name", "phase_name"]

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
_AGENT_STATE_NAMES = {
    types_pb.AGENT_STATE_UNSPECIFIED: "unknown",
    types_pb.AGENT_STATE_UNKNOWN: "unknown",
    types_pb.AGENT_STATE_IDLE: "idle",
    types_pb.AGENT_STATE_INSTALLING: "installing",
    types_pb.AGENT_STATE_INSTALL_FAILED: "install-failed",
    types_pb.AGENT_STATE_INSTALL_REJECTED: "install-rejected",
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


def agent_state_name(state: int) -> str:
    """The query-hosts word for an AgentState ("idle", "installing", "install-failed", ...)."""
    return _AGENT_STATE_NAMES.get(state, str(state))


def phase_name(phase: int) -> str:
    """"done", "failed", "installing", ... for an InstallPhase."""
    name = types_pb.InstallPhase.Name(phase) if phase in types_pb.InstallPhase.values() else str(phase)
    return name.replace("INSTALL_PHASE_", "").lower()
