import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { Metadata } from "nice-grpc";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../../..");

export interface BenchController {
  endpoint: string;
  /** Call options carrying the controller's admin token (written at first start). */
  auth: { "*": { metadata: Metadata } };
  proc: ChildProcess;
  /** Peak resident set (VmHWM) of the controller process so far, bytes. */
  peakRss(): number;
  /** User+system CPU seconds used by the controller so far. */
  cpuSeconds(): number;
  /** User and system CPU seconds, separately. */
  cpuSplit(): { user: number; sys: number };
  stop(): Promise<void>;
}

/** Starts the built controller (dist) as its own process for a benchmark. */
export async function startBenchController(dataDir: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<BenchController> {
  const trust = path.join(ROOT, "test/fixtures/starlingx");
  const proc = spawn(
    process.execPath,
    [
      // e.g. BENCH_CONTROLLER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the controller.
      ...(process.env.BENCH_CONTROLLER_NODE_ARGS ? process.env.BENCH_CONTROLLER_NODE_ARGS.split(" ") : []),
      path.join(ROOT, "bin/sw-patch-controller"),
      "--data-dir",
      dataDir,
      "--listen",
      "127.0.0.1:0",
      "--release",
      "19.09",
      "--log-level",
      process.env.BENCH_CONTROLLER_LOG_LEVEL ?? "error",
      "--trust",
      `${trust}/dev-certificate.pem:dev`,
      "--trust",
      `${trust}/formal-certificate.pem:formal`,
      ...extra,
    ],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...env } },
  );
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = "";
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.once("exit", (c) => reject(new Error(`controller exited ${c}`)));
  });
  const status = () => readFileSync(`/proc/${proc.pid}/status`, "utf8");
  const token = readFileSync(path.join(dataDir, "admin.token"), "utf8").trim();
  const cpuSplit = () => {
    const f = readFileSync(`/proc/${proc.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return { user: Number(f[11]) / 100, sys: Number(f[12]) / 100 };
  };
  return {
    endpoint,
    auth: { "*": { metadata: Metadata({ authorization: `Bearer ${token}` }) } },
    proc,
    peakRss: () => Number(/VmHWM:\s+(\d+) kB/.exec(status())?.[1] ?? 0) * 1024,
    cpuSeconds: () => {
      const { user, sys } = cpuSplit();
      return user + sys;
    },
    cpuSplit,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill("SIGTERM");
      await new Promise((r) => proc.once("exit", r));
    },
  };
}

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}

export function fmtMB(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function verdict(ok: boolean): string {
  return ok ? "PASS" : "MISS";
}
