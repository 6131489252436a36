import { failedPrecondition } from "../errors.js";
import type { PatchRecord } from "./model.js";

/** Runs a patch-supplied semantic check script (the /bin/sh implementation: lib/shell-check-runner.ts). */
export interface SemanticCheckRunner {
  /** Exit code and combined output; rejects with the signal's reason when aborted. */
  run(scriptPath: string, args: readonly string[], opts: { signal?: AbortSignal }): Promise<{ code: number; output: string }>;
}

/** One check to run: the patch and its script's blob. */
export interface SemanticCheck {
  patchId: string;
  sha256: string;
}

/** The pre-apply/pre-remove scripts of `ids` (patches without one are skipped). */
export function checksFor(patches: ReadonlyMap<string, PatchRecord>, ids: readonly string[], action: "pre-apply" | "pre-remove"): SemanticCheck[] {
  const out: SemanticCheck[] = [];
  for (const id of ids) {
    const s = patches.get(id)?.semantics.find((x) => x.action === action);
    if (s) out.push({ patchId: id, sha256: s.sha256 });
  }
  return out;
}

/** The arguments every script gets: `-p id=state` per patch, in id order. */
export function checkArgs(all: readonly PatchRecord[]): string[] {
  const args: string[] = [];
  for (const p of all) args.push("-p", `${p.meta.id}=${p.patchState}`);
  return args;
}

/** Runs the checks in order; FAILED_PRECONDITION SEMANTIC_CHECK_FAILED at the first that fails. */
export async function runSemanticChecks(
  runner: SemanticCheckRunner,
  checks: readonly SemanticCheck[],
  args: readonly string[],
  fileOf: (sha256: string) => Promise<string>,
  signal?: AbortSignal,
): Promise<void> {
  for (const c of checks) {
    signal?.throwIfAborted();
    const out = await runner.run(await fileOf(c.sha256), args, signal ? { signal } : {});
    if (out.code !== 0) {
      throw failedPrecondition(`Semantic check failed for ${c.patchId}:\n${out.output}`.trimEnd(), { reason: "SEMANTIC_CHECK_FAILED", patchId: c.patchId });
    }
  }
}
