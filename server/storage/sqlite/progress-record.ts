import type { InstallPhase, InstallProgress } from "../../domain/hosts/agent-types.js";

/**
 * The stored form of an install progress message (operations.last_progress_json,
 * events.progress_json): a versioned record of the domain type, `time` as ISO text.
 * Version 1: `{"v":1,"operationId","hostname","phase":"done",...,"time":"2026-...Z"}`.
 */
export interface ProgressRecordV1 {
  v: 1;
  operationId: string;
  hostname: string;
  phase: InstallPhase;
  current: number;
  total: number;
  bytesDone: number;
  bytesTotal: number;
  item: string;
  message: string;
  terminal: boolean;
  time: string;
}

/** Phase names by the numbers rows written before migration 0005 held (proto enum values). */
export const LEGACY_PHASES: readonly InstallPhase[] = ["unspecified", "queued", "downloading", "installing", "running-scripts", "done", "failed", "rejected"];

const PHASES = new Set<string>(LEGACY_PHASES);

/** The JSON text stored for a progress message. */
export function encodeProgress(p: InstallProgress): string {
  const r: ProgressRecordV1 = {
    v: 1,
    operationId: p.operationId,
    hostname: p.hostname,
    phase: p.phase,
    current: p.current,
    total: p.total,
    bytesDone: p.bytesDone,
    bytesTotal: p.bytesTotal,
    item: p.item,
    message: p.message,
    terminal: p.terminal,
    time: p.time.toISOString(),
  };
  return JSON.stringify(r);
}

/** A stored progress record back as the domain type (unknown fields default; bad time -> epoch). */
export function decodeProgress(json: string): InstallProgress {
  const r = JSON.parse(json) as Partial<Record<keyof ProgressRecordV1, unknown>>;
  if (r.v !== undefined && r.v !== 1) throw new Error(`unsupported progress record version ${String(r.v)}`);
  const num = (x: unknown) => (typeof x === "number" && Number.isFinite(x) ? x : 0);
  const str = (x: unknown) => (typeof x === "string" ? x : "");
  // A row the migration did not see (written by an older controller after it ran) may still hold the enum number.
  const phase: InstallPhase =
    typeof r.phase === "number" ? (LEGACY_PHASES[r.phase] ?? "unspecified") : PHASES.has(str(r.phase)) ? (r.phase as InstallPhase) : "unspecified";
  const t = new Date(str(r.time));
  return {
    operationId: str(r.operationId),
    hostname: str(r.hostname),
    phase,
    current: num(r.current),
    total: num(r.total),
    bytesDone: num(r.bytesDone),
    bytesTotal: num(r.bytesTotal),
    item: str(r.item),
    message: str(r.message),
    terminal: r.terminal === true,
    time: Number.isNaN(t.getTime()) ? new Date(0) : t,
  };
}
