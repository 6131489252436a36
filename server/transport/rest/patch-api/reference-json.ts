/** The reference's JSON shapes (spec 6.2): META of a patch, HOST of a host. */
import type { PatchManager } from "../../../domain/patches/patch-manager.js";
import type { PatchRecord } from "../../../domain/patches/model.js";
import type { HostStatus } from "../../../domain/hosts/host-manager.js";
import { compareEvr } from "../../../domain/patches/state.js";

const yn = (b: boolean) => (b ? "Y" : "N");

/** META of spec 6.2. */
export function metaOf(p: PatchRecord): Record<string, unknown> {
  const m: Record<string, unknown> = {
    repostate: p.repoState,
    patchstate: p.patchState,
    sw_version: p.meta.swVersion,
    status: p.meta.status,
    unremovable: yn(p.meta.unremovable),
    summary: p.meta.summary,
    description: p.meta.description,
    install_instructions: p.meta.installInstructions,
    warnings: p.meta.warnings,
    reboot_required: yn(p.meta.rebootRequired),
  };
  if (p.meta.applyActiveReleaseOnly) m.apply_active_release_only = "Y";
  m.requires = [...p.meta.requires].sort();
  for (const t of Object.keys(p.meta.personalities).sort()) m[`personality-${t}`] = [...(p.meta.personalities[t] ?? [])];
  return m;
}

const verStr = (k: { epoch: string; version: string; release: string; arch: string }) =>
  `${k.epoch && k.epoch !== "0" ? `${k.epoch}:` : ""}${k.version}-${k.release}@${k.arch}`;

/** HOST of spec 6.2, from the host manager's status and the desired package set. */
export function hostOf(h: HostStatus, patches: PatchManager, now = Date.now()): Record<string, unknown> {
  const installedMap = new Map<string, { epoch: string; version: string; release: string; arch: string }>();
  for (const k of h.installed) if (!installedMap.has(k.name)) installedMap.set(k.name, k);
  const desired = patches.desiredFor({
    hostname: h.hostname,
    release: h.release,
    personalityKey: h.subfunctions.join("-") || h.personality,
    installed: installedMap,
  });
  // As the reference agent reports: installed = packages that will change (current version),
  // missing_pkgs = packages to add, to_remove = packages to erase.
  const installed: Record<string, string> = {};
  const missing: string[] = [];
  for (const [name, want] of desired.packages) {
    const inst = installedMap.get(name);
    if (!inst) missing.push(name);
    else if (compareEvr(inst, want) !== 0) installed[name] = verStr(inst);
  }
  return {
    ip: h.ip,
    hostname: h.hostname,
    patch_current: h.pendingChanges === 0,
    secs_since_ack: Math.max(0, Math.floor((now - h.lastSeen.getTime()) / 1000)),
    patch_failed: h.patchFailed,
    stale_details: false,
    installed,
    to_remove: [...desired.erase].sort(),
    missing_pkgs: missing.sort(),
    duplicated_pkgs: {},
    nodetype: h.personality,
    subfunctions: [...h.subfunctions],
    sw_version: h.release,
    state: h.agentState,
    requires_reboot: h.requiresRebootShown,
    allow_insvc_patching: h.allowInsvcPatching,
    interim_state: h.interim,
  };
}
