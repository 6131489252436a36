/**
 * The plan hash (issue 20): `sha256` over the canonical plan — options, stages, steps and hosts in
 * their order — and what it was built from (host inventory and states, patch states, active
 * alarms). `apply --plan-hash H` refuses when the strategy's hash is not H or the cluster drifted
 * since the build, naming the drift. The canonical form is documented in docs/orchestration.md
 * ("Plan hash, windows, rehearsal") so that another tool can recompute the hash.
 */
import { createHash } from "node:crypto";
import type { Strategy } from "./model.js";
import type { ClusterSnapshot } from "./ports.js";

/** A host as the plan saw it. */
export interface PlanBasisHost {
  hostname: string;
  personality: string;
  subfunctions: string[];
  /** admin-operational-availability, e.g. "unlocked-enabled-available". */
  state: string;
  patch_current: boolean;
  requires_reboot: boolean;
  interim: boolean;
  patch_failed: boolean;
  instances: number;
}

/** What a plan was built from; every list sorted, so that the order the cluster lists them in does not matter. */
export interface PlanBasis {
  hosts: PlanBasisHost[];
  patches: { id: string; state: string }[];
  alarms: { alarm_id: string; entity_instance_id: string; severity: string; mgmt_affecting: boolean }[];
}

/**
 * A basis as the strategy document keeps it: hosts as tuples (the document is saved after every
 * step change, and a 10,000-host basis as objects would be ~2.1 MB of it, as tuples ~0.9 MB).
 */
export interface StoredPlanBasis {
  /** [hostname, personality, subfunctions, state, patch_current, requires_reboot, interim, patch_failed, instances] */
  hosts: [string, string, string[], string, boolean, boolean, boolean, boolean, number][];
  patches: PlanBasis["patches"];
  alarms: PlanBasis["alarms"];
}

/** The stored form of a basis. */
export function storeBasis(b: PlanBasis): StoredPlanBasis {
  return {
    hosts: b.hosts.map((h) => [h.hostname, h.personality, h.subfunctions, h.state, h.patch_current, h.requires_reboot, h.interim, h.patch_failed, h.instances]),
    patches: b.patches,
    alarms: b.alarms,
  };
}

/** A basis from its stored form. */
export function loadBasis(b: StoredPlanBasis): PlanBasis {
  return {
    hosts: b.hosts.map(([hostname, personality, subfunctions, state, patch_current, requires_reboot, interim, patch_failed, instances]) => ({
      hostname,
      personality,
      subfunctions,
      state,
      patch_current,
      requires_reboot,
      interim,
      patch_failed,
      instances,
    })),
    patches: b.patches,
    alarms: b.alarms,
  };
}

/** The entity of the orchestration's own alarms (900.10x): raised by the strategy itself, so not part of the basis. */
const ORCHESTRATION_ENTITY = "orchestration=sw-patch";

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The basis of a plan from a cluster snapshot. */
export function planBasis(snap: ClusterSnapshot): PlanBasis {
  return {
    hosts: snap.hosts
      .map((h) => ({
        hostname: h.hostname,
        personality: h.personality,
        subfunctions: [...h.subfunctions],
        state: `${h.adminState}-${h.operationalState}-${h.availability}`,
        patch_current: h.patchCurrent,
        requires_reboot: h.requiresReboot,
        interim: h.interim,
        patch_failed: h.patchFailed,
        instances: h.instances.length,
      }))
      .sort((a, b) => byText(a.hostname, b.hostname)),
    patches: snap.patches.map((p) => ({ id: p.id, state: p.patchState })).sort((a, b) => byText(a.id, b.id)),
    alarms: snap.alarms
      .filter((a) => a.entityInstanceId !== ORCHESTRATION_ENTITY)
      .map((a) => ({ alarm_id: a.alarmId, entity_instance_id: a.entityInstanceId, severity: a.severity, mgmt_affecting: a.mgmtAffecting }))
      .sort((a, b) => byText(alarmKey(a), alarmKey(b))),
  };
}

const alarmKey = (a: { alarm_id: string; entity_instance_id: string }) => `${a.alarm_id} (${a.entity_instance_id})`;

/** Option fields of the plan, in canonical (proto) names, with the strategy property they come from. Absent values are left out. */
const OPTION_FIELDS: readonly [string, string][] = [
  ["controller_apply_type", "controllerApplyType"],
  ["storage_apply_type", "storageApplyType"],
  ["worker_apply_type", "workerApplyType"],
  ["swift_apply_type", "swiftApplyType"],
  ["max_parallel_worker_hosts", "maxParallelWorkerHosts"],
  ["default_instance_action", "defaultInstanceAction"],
  ["alarm_restrictions", "alarmRestrictions"],
  // Windows (this feature).
  ["windows", "windows"],
  ["window_tz", "windowTz"],
  ["cutoff_minutes", "cutoffMinutes"],
  // The error budget, canary, gate and on-failure options (ROLLOUT), when the strategy has them.
  ["max_failures", "maxFailures"],
  ["min_executed", "minExecuted"],
  ["canary", "canary"],
  ["canary_hosts", "canaryHosts"],
  ["soak_seconds", "soakSeconds"],
  ["health_gate", "healthGate"],
  ["on_failure", "onFailure"],
];

/** The canonical plan document the hash is taken over (before serialisation). */
export function canonicalPlan(s: Strategy, basis: PlanBasis): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  // ROLLOUT's options live in the strategy's rollout block (rollout-options.ts).
  const src = { ...(s.rollout ?? {}), ...s } as unknown as Record<string, unknown>;
  for (const [key, prop] of OPTION_FIELDS) {
    const v = src[prop];
    if (v !== undefined && v !== null) options[key] = v;
  }
  if (options.window_tz === undefined && Array.isArray(options.windows) && options.windows.length > 0) options.window_tz = "UTC";
  return {
    version: 1,
    strategy: s.name,
    options,
    stages: s.applyPhase.stages.map((st) => ({
      stage_id: st.stageId,
      stage_name: st.name,
      steps: st.steps.map((step) => ({ step_name: step.name, entity_type: step.entityType, entity_names: [...step.entityNames], timeout: step.timeout })),
    })),
    basis,
  };
}

/** JSON with object keys sorted (code-point order) at every level and no whitespace; arrays keep their order. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? "null" : canonicalJson(x))).join(",")}]`;
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort(byText);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}

/** sha256 (lowercase hex) of the canonical JSON (UTF-8) of the plan of `s` over `basis`. */
export function planHash(s: Strategy, basis: PlanBasis): string {
  return createHash("sha256")
    .update(canonicalJson(canonicalPlan(s, basis)), "utf8")
    .digest("hex");
}

/** Records the basis and the hash on a strategy just built from `snap` (the caller persists). */
export function sealPlan(s: Strategy, snap: ClusterSnapshot): void {
  const basis = planBasis(snap);
  s.planBasis = storeBasis(basis);
  s.planHash = planHash(s, basis);
}

/**
 * What changed between the basis a plan was built from and `now`, in words: hosts added, removed
 * or changed (state, patch state, …), patch states, alarms raised or cleared. Hosts in `skip` (those
 * the strategy itself has already worked on) are not compared. Empty when nothing drifted.
 */
export function planDrift(before: PlanBasis, now: PlanBasis, skip: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  const was = new Map(before.hosts.map((h) => [h.hostname, h]));
  const is = new Map(now.hosts.map((h) => [h.hostname, h]));
  for (const [name, h] of is) {
    const b = was.get(name);
    if (!b) {
      out.push(`host ${name} added`);
      continue;
    }
    if (skip.has(name)) continue;
    if (b.state !== h.state) out.push(`host ${name} changed state ${b.state} -> ${h.state}`);
    if (b.patch_current !== h.patch_current || b.patch_failed !== h.patch_failed || b.interim !== h.interim) {
      out.push(`host ${name} patch current ${patchCurrent(b)} -> ${patchCurrent(h)}`);
    }
    if (b.requires_reboot !== h.requires_reboot) out.push(`host ${name} reboot required ${b.requires_reboot} -> ${h.requires_reboot}`);
    if (b.personality !== h.personality || canonicalJson(b.subfunctions) !== canonicalJson(h.subfunctions)) out.push(`host ${name} personality changed`);
    if (b.instances !== h.instances) out.push(`host ${name} instances ${b.instances} -> ${h.instances}`);
  }
  for (const name of was.keys()) if (!is.has(name)) out.push(`host ${name} removed`);
  const pWas = new Map(before.patches.map((p) => [p.id, p.state]));
  const pIs = new Map(now.patches.map((p) => [p.id, p.state]));
  for (const [id, state] of pIs) {
    const b = pWas.get(id);
    if (b === undefined) out.push(`patch ${id} added (${state})`);
    else if (b !== state) out.push(`patch ${id} state ${b} -> ${state}`);
  }
  for (const id of pWas.keys()) if (!pIs.has(id)) out.push(`patch ${id} removed`);
  const aWas = new Set(before.alarms.map((a) => canonicalJson(a)));
  const aIs = new Set(now.alarms.map((a) => canonicalJson(a)));
  for (const a of now.alarms) if (!aWas.has(canonicalJson(a))) out.push(`new alarm ${alarmKey(a)}`);
  for (const a of before.alarms) if (!aIs.has(canonicalJson(a))) out.push(`alarm ${alarmKey(a)} cleared`);
  return out;
}

function patchCurrent(h: PlanBasisHost): string {
  return h.interim ? "Pending" : h.patch_failed ? "Failed" : h.patch_current ? "Yes" : "No";
}

/**
 * Why `apply --plan-hash hash` is refused for `s` with the cluster now at `snap`; undefined when
 * the plan still holds. Hosts in stages the apply has already started are not compared (the
 * strategy changed them itself).
 */
export function planHashRejection(s: Strategy, hash: string, snap: ClusterSnapshot): string | undefined {
  const want = hash.trim().toLowerCase();
  if (!s.planHash || !s.planBasis) return "the strategy has no plan hash";
  if (want !== s.planHash) return `plan hash ${want} does not match the strategy's plan hash ${s.planHash}`;
  const touched = new Set<string>();
  const phase = s.applyPhase;
  for (const stage of phase.stages) {
    if (stage.stageId < phase.currentStage || stage.inprogress || stage.result !== "initial") for (const step of stage.steps) for (const h of step.hosts) touched.add(h);
  }
  const drift = planDrift(loadBasis(s.planBasis), planBasis(snap), touched);
  if (drift.length === 0) return undefined;
  return `cluster drifted since the plan was built: ${drift.join("; ")}`;
}
