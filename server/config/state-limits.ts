/**
 * Controller flags of the audit log and the web console's sessions (one block of the controller's
 * options; controller-config.ts spreads it in): retention and refusal rate of the audit log,
 * session caps of the console.
 */
import { invalidArgument } from "../domain/errors.js";

/** Options (ControllerOptions fields). */
export interface StateLimitOptions {
  /** Audit rows older than this many days are pruned (hourly); 0 keeps them forever. Default 90. */
  auditRetentionDays?: number;
  /** Refused calls (UNAUTHENTICATED, PERMISSION_DENIED) written per source per minute; the rest are counted. Default 20. */
  auditRefusalsPerMinute?: number;
  /** Web console sessions in all; a sign-in beyond it is refused (503). Default 1000. */
  consoleMaxSessions?: number;
  /** Web console sessions per token; a sign-in beyond it closes that token's oldest. Default 20. */
  consoleMaxSessionsPerToken?: number;
  /** gRPC: streams (calls) one HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). Default 256. */
  grpcMaxConcurrentStreams?: number;
  /** AUDITCHAIN: a checkpoint is signed after this many audit rows. Default 1000. */
  auditCheckpointRows?: number;
  /** AUDITCHAIN: ...and every this many seconds when rows were added since the last one. Default 60. */
  auditCheckpointSeconds?: number;
}

/** Resolved limits (ControllerConfig.limits). */
export interface StateLimits {
  readonly auditRetentionDays: number;
  readonly auditRefusalsPerMinute: number;
  readonly consoleMaxSessions: number;
  readonly consoleMaxSessionsPerToken: number;
  readonly grpcMaxConcurrentStreams: number;
  readonly auditCheckpointRows: number;
  readonly auditCheckpointSeconds: number;
}

export const STATE_LIMIT_DEFAULTS: StateLimits = Object.freeze({
  auditRetentionDays: 90,
  auditRefusalsPerMinute: 20,
  consoleMaxSessions: 1000,
  consoleMaxSessionsPerToken: 20,
  grpcMaxConcurrentStreams: 256,
  auditCheckpointRows: 1000,
  auditCheckpointSeconds: 60,
});

const FLAGS = {
  auditRetentionDays: ["audit-retention-days", 0],
  auditRefusalsPerMinute: ["audit-refusals-per-minute", 1],
  consoleMaxSessions: ["console-max-sessions", 1],
  consoleMaxSessionsPerToken: ["console-max-sessions-per-token", 1],
  grpcMaxConcurrentStreams: ["grpc-max-concurrent-streams", 1],
  auditCheckpointRows: ["audit-checkpoint-rows", 1],
  auditCheckpointSeconds: ["audit-checkpoint-seconds", 1],
} as const;

/** The parseArgs entries of these flags. */
export const STATE_LIMIT_ARGS = Object.fromEntries(Object.values(FLAGS).map(([flag]) => [flag, { type: "string" as const }]));

/** The options these flags give (`values`: parseArgs' values). */
export function stateLimitOptions(values: Record<string, unknown>): StateLimitOptions {
  const out: StateLimitOptions = {};
  for (const [k, [flag]] of Object.entries(FLAGS)) {
    const v = values[flag];
    if (typeof v === "string") out[k as keyof StateLimitOptions] = Number(v);
  }
  return out;
}

/** Checks the options (whole numbers, at least each flag's minimum) and fills in the defaults. */
export function resolveStateLimits(o: StateLimitOptions): StateLimits {
  const out = { ...STATE_LIMIT_DEFAULTS };
  for (const [k, [flag, min]] of Object.entries(FLAGS)) {
    const v = o[k as keyof StateLimitOptions];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < min) throw invalidArgument(`--${flag}: expected a whole number >= ${min}, got ${v}`);
    out[k as keyof StateLimits] = v;
  }
  return Object.freeze(out);
}

export const STATE_LIMITS_USAGE = `  --audit-retention-days N       prune audit rows older than N days (default 90; 0 keeps them)
  --audit-refusals-per-minute N  refused calls audited per source per minute; the rest are
                                 counted in one row (default 20)
  --console-max-sessions N       web console sessions in all; more sign-ins are refused (default 1000)
  --console-max-sessions-per-token N  sessions per token; its oldest is closed (default 20)
  --grpc-max-concurrent-streams N  gRPC calls one connection may have open at once; a client
                                 opening more waits (HTTP/2 SETTINGS; default 256)
  --audit-checkpoint-rows N      sign an audit checkpoint every N audit rows (default 1000)
  --audit-checkpoint-seconds N   ...and every N seconds when rows were added (default 60)
`;
