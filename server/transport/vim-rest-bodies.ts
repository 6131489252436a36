/**
 * The request bodies of the VIM REST API (vim-rest.ts): the create body (the reference's hyphenated keys, spec
 * orchestration §3.1, and our snake_case ones beside them), the actions' stage-id and plan_hash, the rehearse body.
 * Each refusal is a 400 naming the key.
 */
import type { PlanOptions, RolloutOptions, StrategyOptions } from "../domain/orchestration/model.js";
import { HttpError } from "./http/errors.js";

const APPLY = ["serial", "parallel", "ignore"];

/** Validates the create body (spec §3.1) → engine options; 400 naming the key. */
export function parseCreateBody(b: unknown): Partial<StrategyOptions> & PlanOptions {
  if (!b || typeof b !== "object" || Array.isArray(b)) throw new HttpError(400, "request body must be a JSON object");
  const r = b as Record<string, unknown>;
  const choice = (key: string, allowed: string[], required: boolean): string | undefined => {
    const v = r[key];
    if (v === undefined) {
      if (required) throw new HttpError(400, `Mandatory field missing: ${key}`);
      return undefined;
    }
    if (typeof v !== "string" || !allowed.includes(v)) throw new HttpError(400, `Invalid value for ${key}`);
    return v;
  };
  const out: Partial<StrategyOptions> & PlanOptions = {
    controllerApplyType: choice("controller-apply-type", APPLY, true) as StrategyOptions["controllerApplyType"],
    storageApplyType: choice("storage-apply-type", APPLY, true) as StrategyOptions["storageApplyType"],
    workerApplyType: choice("worker-apply-type", APPLY, true) as StrategyOptions["workerApplyType"],
    defaultInstanceAction: choice("default-instance-action", ["migrate", "stop-start"], true) as StrategyOptions["defaultInstanceAction"],
  };
  const swift = choice("swift-apply-type", APPLY, false);
  if (swift) out.swiftApplyType = swift as StrategyOptions["swiftApplyType"];
  const alarms = choice("alarm-restrictions", ["strict", "relaxed"], false);
  if (alarms) out.alarmRestrictions = alarms as StrategyOptions["alarmRestrictions"];
  const max = r["max-parallel-worker-hosts"];
  if (max !== undefined && max !== null) {
    const n = typeof max === "string" && /^\d+$/.test(max) ? Number(max) : max;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 2 || n > 100) throw new HttpError(400, "Invalid value for max-parallel-worker-hosts");
    out.maxParallelWorkerHosts = n;
  }
  // PLAN: maintenance windows (snake_case keys beside the reference's).
  const windows = r.windows;
  if (windows !== undefined && windows !== null) {
    if (!Array.isArray(windows) || !windows.every((w) => typeof w === "string")) throw new HttpError(400, "Invalid value for windows");
    out.windows = windows as string[];
  }
  if (r.window_tz !== undefined && r.window_tz !== null) {
    if (typeof r.window_tz !== "string") throw new HttpError(400, "Invalid value for window_tz");
    out.windowTz = r.window_tz;
  }
  if (r.cutoff_minutes !== undefined && r.cutoff_minutes !== null) {
    if (typeof r.cutoff_minutes !== "number" || !Number.isInteger(r.cutoff_minutes) || r.cutoff_minutes < 0) throw new HttpError(400, "Invalid value for cutoff_minutes");
    out.cutoffMinutes = r.cutoff_minutes;
  }
  return out;
}

/** stage-id: an int, a decimal string (the CLI sends a string), null or absent. */
export function parseStageId(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === "string" && /^\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) throw new HttpError(400, "Invalid value for stage-id");
  return n;
}

/** ROLLOUT (issue 20): the safer-rollout keys of the create body (snake_case, beside the reference's); the engine checks the values. */
export function parseRolloutBody(b: unknown): Partial<RolloutOptions> {
  const r = b as Record<string, unknown>;
  const str = (k: string): string => {
    const v = r[k];
    if (v === undefined || v === null) return "";
    if (typeof v === "number") return String(v);
    if (typeof v !== "string") throw new HttpError(400, `Invalid value for ${k}`);
    return v;
  };
  const int = (k: string): number => {
    const v = r[k];
    if (v === undefined || v === null) return 0;
    const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0) throw new HttpError(400, `Invalid value for ${k}`);
    return n;
  };
  const hosts = r.canary_hosts;
  if (hosts !== undefined && hosts !== null && (!Array.isArray(hosts) || hosts.some((h) => typeof h !== "string")))
    throw new HttpError(400, "Invalid value for canary_hosts");
  return {
    maxFailures: str("max_failures"),
    minExecuted: int("min_executed"),
    canary: int("canary"),
    canaryHosts: (hosts as string[] | undefined) ?? [],
    soakSeconds: int("soak_seconds"),
    healthGate: str("health_gate") as RolloutOptions["healthGate"],
    onFailure: str("on_failure") as RolloutOptions["onFailure"],
  };
}

/** PLAN: `plan_hash` of an apply action: a hex sha256, or absent. */
export function parsePlanHash(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || !/^[0-9a-fA-F]{64}$/.test(v)) throw new HttpError(400, "Invalid value for plan_hash");
  return v;
}

/** PLAN: the rehearse body: {"fail_rate": 0..1, "runs": 1..1000, "seed": uint32}, every key optional. */
export function parseRehearseBody(b: unknown): { failRate: number; runs?: number; seed?: number } {
  if (b === undefined) return { failRate: 0 };
  if (!b || typeof b !== "object" || Array.isArray(b)) throw new HttpError(400, "request body must be a JSON object");
  const r = b as Record<string, unknown>;
  const out: { failRate: number; runs?: number; seed?: number } = { failRate: 0 };
  if (r.fail_rate !== undefined) {
    if (typeof r.fail_rate !== "number") throw new HttpError(400, "Invalid value for fail_rate");
    out.failRate = r.fail_rate;
  }
  if (r.runs !== undefined) {
    if (typeof r.runs !== "number") throw new HttpError(400, "Invalid value for runs");
    out.runs = r.runs;
  }
  if (r.seed !== undefined) {
    if (typeof r.seed !== "number" || !Number.isInteger(r.seed) || r.seed < 0 || r.seed > 0xffffffff) throw new HttpError(400, "Invalid value for seed");
    out.seed = r.seed;
  }
  return out;
}
