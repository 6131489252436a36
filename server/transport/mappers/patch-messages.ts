import type { ApplyOutcome, CommitOutcome, DeleteOutcome, ReleaseOutcome, RemoveOutcome, UploadOutcome } from "../../domain/patches/patch-manager.js";
import { DomainError } from "../../domain/errors.js";

/** Outcome texts of an operation, reference style: newline-terminated lines (byte-identical to the reference). */
export interface OpMessages {
  info: string;
  warning: string;
}

function lines(items: readonly string[]): string {
  return items.map((l) => `${l}\n`).join("");
}

export function applyMessages(o: ApplyOutcome): OpMessages {
  if (o.noneAvailable) return { info: "There are no available patches to be applied.\n", warning: "" };
  return {
    info: lines(o.results.map((r) => (r.applied ? `${r.patchId} is now in the repo` : `${r.patchId} is already in the repo`))),
    warning: lines(
      (o.changesNoHost ?? []).map((n) =>
        n.hosts === 0
          ? `${n.patchId} changes no host: no host of release ${n.release} is known yet`
          : `${n.patchId} changes no host: none of the ${n.hosts} host(s) of release ${n.release} gets a package from it (a package without a personality, such as a bare RPM given to patch_build, only updates hosts that already have it installed)`,
      ),
    ),
  };
}

export function removeMessages(o: RemoveOutcome): OpMessages {
  return {
    info: lines(o.results.map((r) => (r.removed ? `${r.patchId} has been removed from the repo` : `${r.patchId} is not in the repo`))),
    warning: lines(o.unremovableRemoved.map((id) => `Unremovable patch ${id} being removed`)),
  };
}

export function deleteMessages(o: DeleteOutcome): OpMessages {
  return { info: lines(o.deleted.map((id) => `${id} has been deleted`)), warning: "" };
}

/** Commit texts end without a newline, as the reference's do (its client's print adds one). */
export function commitMessages(o: CommitOutcome): OpMessages {
  switch (o.kind) {
    case "nothing":
      return { info: `There are no ${o.release} patches to commit.`, warning: "" };
    case "dry-run":
      return { info: `This commit operation would free ${(o.freedBytes / 1048576).toFixed(2)} MiB`, warning: "" };
    case "committed":
      return { info: "The patches have been committed.", warning: "" };
  }
}

export function uploadMessages(o: { id: string; outcome: UploadOutcome }): OpMessages {
  switch (o.outcome) {
    case "imported":
      return { info: `${o.id} is now available\n`, warning: "" };
    case "metadata-updated":
      return { info: `${o.id} is already imported. Updated metadata only\n`, warning: "" };
    case "committed-unchanged":
      return { info: `${o.id} is committed. Metadata not updated\n`, warning: "" };
  }
}

export function releaseMessages(o: ReleaseOutcome): OpMessages {
  switch (o.change) {
    case "created":
      return { info: `Patch repository for ${o.release} has been created\n`, warning: "" };
    case "exists":
      return { info: `Patch repository for ${o.release} already exists\n`, warning: "" };
    case "deleted":
      return { info: `Release ${o.release} has been deleted\n`, warning: "" };
  }
}

/** Patch-file failures the reference reports as "Failed during patch extraction" (a tar, gzip or member problem). */
const EXTRACTION_REASONS = new Set([
  "PATCH_GZIP_INVALID",
  "PATCH_TAR_INVALID",
  "PATCH_MEMBER_MISSING",
  "PATCH_MEMBER_DUPLICATE",
  "PATCH_MEMBER_UNKNOWN",
  "PATCH_MEMBER_UNSAFE",
  "PATCH_TOO_LARGE",
]);
/** ... and as "Signature check failed". */
const SIGNATURE_REASONS = new Set(["PATCH_SIGNATURE_MISMATCH", "PATCH_SIGNATURE_UNTRUSTED"]);

/**
 * An upload refusal with the reference's line first ("Failed during patch extraction", "Signature
 * check failed"), so that scripts matching the reference's words still match, then our precise
 * reason on the next line. Other errors are returned as they are.
 */
export function withReferenceLine(e: DomainError): DomainError {
  const line = EXTRACTION_REASONS.has(e.reason) ? "Failed during patch extraction" : SIGNATURE_REASONS.has(e.reason) ? "Signature check failed" : undefined;
  if (!line || e.message.startsWith(line)) return e;
  return new DomainError(e.kind, `${line}\n${e.message}`, {
    reason: e.reason,
    ...(e.patchId !== undefined ? { patchId: e.patchId } : {}),
    ...(e.hostname !== undefined ? { hostname: e.hostname } : {}),
    cause: e,
  });
}
