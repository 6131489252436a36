import { spawn } from "node:child_process";
import * as path from "node:path";
import { REPO_ROOT } from "./controller-harness.js";

export interface CliResult {
  rc: number;
  stdout: string;
  stderr: string;
}

/** Runs a real bin/<command> process (built dist) with SWPATCH_ENDPOINT set. */
export function runCli(command: string, args: string[], opts: { endpoint?: string; token?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(REPO_ROOT, "bin", command), ...args], {
      env: { ...process.env, ...(opts.endpoint ? { SWPATCH_ENDPOINT: opts.endpoint } : {}), ...(opts.token ? { SWPATCH_TOKEN: opts.token } : {}), ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.stdin.end(opts.input ?? "");
    const t = setTimeout(() => p.kill("SIGKILL"), 120_000);
    p.on("error", reject);
    p.on("close", (code) => {
      clearTimeout(t);
      resolve({ rc: code ?? -1, stdout, stderr });
    });
  });
}
