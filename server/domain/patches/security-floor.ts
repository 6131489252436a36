/**
 * FLOOR (issue 21): the anti-rollback floor of each release (docs/security.md, "Anti-rollback floor
 * and install receipts").
 *
 * A patch may carry a security counter (`patch_build --security-counter N`, metadata element
 * `security_counter`; absent = 0). Per release the controller keeps the floor: the highest counter
 * among the release's applied and committed patches, stored (migration 11) so that it never goes
 * down by itself (a re-upload that changes an applied patch's metadata does not lower it). It
 * refuses to apply a patch whose counter is below the floor, and to remove a patch that sets it
 * (no other applied or committed patch of the release carries as high a counter), unless an admin
 * passes `--allow-downgrade`; a forced removal lowers the floor to what the remaining patches carry.
 */
import { failedPrecondition } from "../errors.js";
import type { PatchRecord } from "./model.js";

/** One release's floor as stored. */
export interface SecurityFloorRecord {
  release: string;
  /** 0 = no floor. */
  floor: number;
  /** The applied or committed patch that set it ("" when none). */
  patchId: string;
  /** ISO-8601 of the last change. */
  updatedAt: string;
}

/** A patch's security counter (0 when it has none). */
export function counterOf(p: PatchRecord): number {
  return p.meta.securityCounter ?? 0;
}

/** The applied or committed patch with the highest counter of `release` among `records` (undefined: none above 0). */
function highest(records: Iterable<PatchRecord>, release: string): PatchRecord | undefined {
  let best: PatchRecord | undefined;
  for (const p of records) {
    if (p.meta.swVersion !== release || p.repoState === "Available" || counterOf(p) === 0) continue;
    if (!best || counterOf(p) > counterOf(best) || (counterOf(p) === counterOf(best) && p.meta.id < best.meta.id)) best = p;
  }
  return best;
}

/** The counter of the package set a host of `release` is sent: the highest counter of its applied and committed patches. */
export function setCounterOf(records: Iterable<PatchRecord>, release: string): number {
  const h = highest(records, release);
  return h ? counterOf(h) : 0;
}

/**
 * Refuses (FAILED_PRECONDITION SECURITY_FLOOR) to apply patches below their release's floor, unless
 * `allowDowngrade`. `list` are the patches to apply (those already applied are not checked).
 */
export function checkApplyFloor(floors: ReadonlyMap<string, SecurityFloorRecord>, list: readonly PatchRecord[], allowDowngrade: boolean): void {
  if (allowDowngrade) return;
  const below = list
    .filter((p) => p.repoState === "Available")
    .flatMap((p) => {
      const f = floors.get(p.meta.swVersion);
      return f && counterOf(p) < f.floor
        ? [
            `${p.meta.id} has security counter ${counterOf(p)}, below the security floor ${f.floor} of release ${p.meta.swVersion} (set by ${f.patchId || "an earlier patch"})`,
          ]
        : [];
    });
  if (below.length) throw failedPrecondition(`${below.join("\n")}\nAn admin may apply it with --allow-downgrade`, { reason: "SECURITY_FLOOR" });
}

/**
 * Refuses (FAILED_PRECONDITION SECURITY_FLOOR) to remove patches when that would lower a release's
 * floor (no applied or committed patch left carries as high a counter), unless `allowDowngrade`.
 * @param all every patch record (current repository states)
 */
export function checkRemoveFloor(
  floors: ReadonlyMap<string, SecurityFloorRecord>,
  all: Iterable<PatchRecord>,
  list: readonly PatchRecord[],
  allowDowngrade: boolean,
): void {
  if (allowDowngrade) return;
  const removing = new Set(list.filter((p) => p.repoState !== "Available").map((p) => p.meta.id));
  const remaining = [...all].filter((p) => !removing.has(p.meta.id));
  const errors: string[] = [];
  for (const p of list) {
    if (!removing.has(p.meta.id)) continue;
    const f = floors.get(p.meta.swVersion);
    if (!f || f.floor === 0 || counterOf(p) < f.floor) continue;
    if (setCounterOf(remaining, p.meta.swVersion) >= f.floor) continue;
    errors.push(`${p.meta.id} sets the security floor ${f.floor} of release ${p.meta.swVersion}: removing it would roll the release back`);
  }
  if (errors.length) throw failedPrecondition(`${errors.join("\n")}\nAn admin may remove it with --allow-downgrade`, { reason: "SECURITY_FLOOR" });
}

/**
 * The floors that change when `changed` (new repository states) replace their records in `all`:
 * an apply raises a floor to the highest counter applied; a removal (only ever forced past the
 * floor) sets it to what the remaining applied and committed patches carry.
 */
export function floorsAfter(
  floors: ReadonlyMap<string, SecurityFloorRecord>,
  all: Iterable<PatchRecord>,
  changed: readonly PatchRecord[],
  at: Date,
): SecurityFloorRecord[] {
  const next = new Map<string, PatchRecord>();
  for (const p of all) next.set(p.meta.id, p);
  for (const p of changed) next.set(p.meta.id, p);
  const out: SecurityFloorRecord[] = [];
  for (const release of new Set(changed.map((p) => p.meta.swVersion))) {
    const cur = floors.get(release) ?? { release, floor: 0, patchId: "", updatedAt: "" };
    const h = highest(next.values(), release);
    const top = h ? counterOf(h) : 0;
    // Only removing a patch at (or above) the floor lowers it, to what is left (checkRemoveFloor
    // refused that unless forced); anything else only raises it.
    const lowered = cur.floor > 0 && changed.some((p) => p.meta.swVersion === release && p.repoState === "Available" && counterOf(p) >= cur.floor);
    const floor = lowered ? top : Math.max(cur.floor, top);
    const patchId = floor === 0 ? "" : top === floor ? h!.meta.id : cur.patchId;
    if (floor !== cur.floor || patchId !== cur.patchId) out.push({ release, floor, patchId, updatedAt: at.toISOString() });
  }
  return out;
}
