import { Patch, PatchState, RepoState, type Event } from "../../../clients/sdk/src/gen/swpatch/v1/types.js";
import { toProtoProgress } from "./agent.js";
import type { PatchRecord, PatchStateName, RepoState as DomainRepoState } from "../../domain/patches/model.js";
import type { DomainEvent } from "../../domain/events/event-log.js";
import { invalidArgument } from "../../domain/errors.js";

const PATCH_STATE: Record<PatchStateName, PatchState> = {
  Available: PatchState.PATCH_STATE_AVAILABLE,
  "Partial-Apply": PatchState.PATCH_STATE_PARTIAL_APPLY,
  Applied: PatchState.PATCH_STATE_APPLIED,
  "Partial-Remove": PatchState.PATCH_STATE_PARTIAL_REMOVE,
  Committed: PatchState.PATCH_STATE_COMMITTED,
  "n/a": PatchState.PATCH_STATE_NA,
};

const REPO_STATE: Record<DomainRepoState, RepoState> = {
  Available: RepoState.REPO_STATE_AVAILABLE,
  Applied: RepoState.REPO_STATE_APPLIED,
  Committed: RepoState.REPO_STATE_COMMITTED,
};

export function toProtoPatch(p: PatchRecord): Patch {
  return Patch.fromPartial({
    id: p.meta.id,
    swVersion: p.meta.swVersion,
    repoState: REPO_STATE[p.repoState],
    patchState: PATCH_STATE[p.patchState],
    status: p.meta.status,
    summary: p.meta.summary,
    description: p.meta.description,
    installInstructions: p.meta.installInstructions,
    warnings: p.meta.warnings,
    rebootRequired: p.meta.rebootRequired,
    unremovable: p.meta.unremovable,
    applyActiveReleaseOnly: p.meta.applyActiveReleaseOnly,
    securityCounter: p.meta.securityCounter ?? 0,
    requires: [...p.meta.requires].sort(),
    contents: [...p.meta.contents].sort(),
    personalities: Object.keys(p.meta.personalities)
      .sort()
      .map((personality) => ({ personality, packages: [...(p.meta.personalities[personality] ?? [])].sort() })),
    semantics: [...p.meta.semantics].sort(),
    signer: p.signer,
    uploadedAt: p.uploadedAt,
    packages: p.packages.map((k) => ({
      fileName: k.fileName,
      name: k.name,
      epoch: k.epoch,
      version: k.version,
      release: k.release,
      arch: k.arch,
      sha256: k.sha256,
      sizeBytes: k.size,
    })),
  });
}

export function toProtoEvent(e: DomainEvent): Event {
  return {
    sequence: e.seq,
    time: e.time,
    kind: e.kind,
    patchId: e.patchId,
    hostname: e.hostname,
    oldState: e.oldState,
    newState: e.newState,
    message: e.message,
    operationId: e.operationId,
    // Stored as JSON: fromJSON turns the time string back into a Date for the encoder.
    progress: e.progress ? toProtoProgress(e.progress) : undefined,
  };
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Validates a list of patch ids from a request; names the field in the error. */
export function patchIds(ids: readonly string[], field = "patch_ids", opts: { allowEmpty?: boolean } = {}): string[] {
  if (!opts.allowEmpty && ids.length === 0) throw invalidArgument(`${field}: at least one patch id is required`);
  if (ids.length > 10_000) throw invalidArgument(`${field}: too many ids (${ids.length} > 10000)`);
  for (const id of ids) {
    if (!ID_RE.test(id)) throw invalidArgument(`${field}: invalid patch id "${id}"`);
  }
  return [...ids];
}
