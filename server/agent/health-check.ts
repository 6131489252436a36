/**
 * ROLLOUT (issue 20): the agent's `--health-check CMD`, run with `/bin/sh -c` after every install
 * and every `--health-interval` seconds (default 30). Exit 0 is healthy. Bounded: at most
 * HEALTH_CHECK_TIMEOUT_MS (then killed: unhealthy), at most HEALTH_OUTPUT_BYTES of output kept,
 * and the detail sent is its last HEALTH_DETAIL_CHARS characters. The host's root is in
 * `SWPATCH_HOST_ROOT` and its name in `SWPATCH_HOSTNAME`.
 *
 * INVARIANTS: at most one check runs at a time per host (a check asked for while one runs shares
 * its result); `stop()` ends the timer and kills a running check.
 */
import { execFile } from "node:child_process";

export const HEALTH_CHECK_TIMEOUT_MS = 10_000;
export const HEALTH_OUTPUT_BYTES = 64 * 1024;
export const HEALTH_DETAIL_CHARS = 200;
export const DEFAULT_HEALTH_INTERVAL_S = 30;

/** A check's outcome (AgentReport.health). */
export interface HealthResult {
  configured: boolean;
  healthy: boolean;
  detail: string;
  checkedAt: Date | undefined;
}

/** The health an agent without `--health-check` reports. */
export const UNCONFIGURED_HEALTH: HealthResult = Object.freeze({ configured: false, healthy: true, detail: "", checkedAt: undefined });

function clip(out: string): string {
  const t = out.replace(/\s+/g, " ").trim();
  return t.length > HEALTH_DETAIL_CHARS ? `…${t.slice(t.length - HEALTH_DETAIL_CHARS + 1)}` : t;
}

/** Runs `command` once; never rejects. */
export function runHealthCheck(command: string, env: Record<string, string>, signal?: AbortSignal): Promise<HealthResult> {
  return new Promise((resolve) => {
    execFile(
      "/bin/sh",
      ["-c", command],
      { timeout: HEALTH_CHECK_TIMEOUT_MS, maxBuffer: HEALTH_OUTPUT_BYTES, env: { ...process.env, ...env }, ...(signal ? { signal } : {}) },
      (err, stdout, stderr) => {
        const output = clip(`${stdout}${stderr}`);
        const checkedAt = new Date();
        if (!err) return resolve({ configured: true, healthy: true, detail: output, checkedAt });
        const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean; signal?: string };
        let why: string;
        if (e.killed || e.signal) why = e.code === "ERR_CHILD_PROCESS_STDIO_MAXBUFFER" ? "output too long" : `killed after ${HEALTH_CHECK_TIMEOUT_MS / 1000} s`;
        else if (typeof e.code === "number") why = `exit ${e.code}`;
        else why = `could not run: ${e.message}`;
        resolve({ configured: true, healthy: false, detail: output ? `${why}: ${output}` : why, checkedAt });
      },
    );
  });
}

/** Runs a host's health check on a timer and on request, and tells `onResult`. */
export class HealthChecker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<HealthResult> | undefined;
  private readonly ac = new AbortController();
  last: HealthResult;

  constructor(
    private readonly command: string,
    private readonly intervalMs: number,
    private readonly env: Record<string, string>,
    private readonly onResult: (r: HealthResult) => void,
  ) {
    this.last = { configured: true, healthy: true, detail: "not checked yet", checkedAt: undefined };
  }

  /** Checks now, then every interval. */
  start(): void {
    void this.check();
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  /** Runs the check now (or joins the one running) and reports it. */
  check(): Promise<HealthResult> {
    if (this.running) return this.running;
    this.running = runHealthCheck(this.command, this.env, this.ac.signal).then((r) => {
      this.running = undefined;
      if (this.ac.signal.aborted) return r;
      this.last = r;
      this.onResult(r);
      return r;
    });
    return this.running;
  }

  stop(): void {
    clearInterval(this.timer);
    this.ac.abort();
  }
}
