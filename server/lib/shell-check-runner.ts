import { execFile } from "node:child_process";

/**
 * Semantic checks as `/bin/sh script args...` with a 300 s timeout and 1 MiB of output; the
 * signal kills the script. A script that cannot run counts as exit code 1. (Implements the
 * domain's SemanticCheckRunner port structurally: server/lib imports no domain code.)
 */
export function createShellCheckRunner(opts: { timeoutMs?: number } = {}): {
  run(scriptPath: string, args: readonly string[], o: { signal?: AbortSignal }): Promise<{ code: number; output: string }>;
} {
  return {
    run(scriptPath, args, { signal }) {
      return new Promise((resolve, reject) => {
        execFile("/bin/sh", [scriptPath, ...args], { timeout: opts.timeoutMs ?? 300_000, maxBuffer: 1 << 20, ...(signal ? { signal } : {}) }, (err, stdout, stderr) => {
          if (signal?.aborted) return reject(signal.reason ?? new Error("aborted"));
          const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
          resolve({ code, output: `${stdout}${stderr}` });
        });
      });
    },
  };
}
