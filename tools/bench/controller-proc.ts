import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as os from "node:os";
import { createWriteStream, readdirSync, readFileSync } from "node:fs";
import { Metadata } from "nice-grpc";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../../..");

export interface BenchController {
  endpoint: string;
  /** Call options carrying the controller's admin token (written at first start). */
  auth: { "*": { metadata: Metadata } };
  /** The controller's admin token. */
  token: string;
  proc: ChildProcess;
  /** Peak resident set (VmHWM) of the controller process so far, bytes. */
  peakRss(): number;
  /** User+system CPU seconds used by the controller so far. */
  cpuSeconds(): number;
  /** User and system CPU seconds, separately. */
  cpuSplit(): { user: number; sys: number };
  /** CPU seconds of the main (JavaScript) thread alone; the rest is sqlite/fs/zlib pool, JIT and GC threads. */
  cpuMainThread(): number;
  /** CPU seconds so far per thread id of the controller process. */
  cpuByThread(): Map<string, number>;
  stop(): Promise<void>;
}

/** Starts the built controller (dist) as its own process for a benchmark. */
export async function startBenchController(
  dataDir: string,
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
  opts: { cpus?: string; root?: string } = {},
): Promise<BenchController> {
  const trust = path.join(ROOT, "test/fixtures/starlingx");
  const pinned = opts.cpus !== undefined && canPin();
  const proc = spawn(
    pinned ? "taskset" : process.execPath,
    [
      ...(pinned ? ["-c", opts.cpus!, process.execPath] : []),
      // e.g. BENCH_CONTROLLER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the controller.
      ...(process.env.BENCH_CONTROLLER_NODE_ARGS ? process.env.BENCH_CONTROLLER_NODE_ARGS.split(" ") : []),
      // `root`: another checkout's build (a baseline measured in the same run).
      path.join(opts.root ?? ROOT, "bin/sw-patch-controller"),
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
    // BENCH_CONTROLLER_STDOUT=FILE: a copy of the controller's stdout (e.g. V8 --trace-* output).
    const tee = process.env.BENCH_CONTROLLER_STDOUT ? createWriteStream(process.env.BENCH_CONTROLLER_STDOUT) : undefined;
    proc.stdout!.on("data", (d: Buffer) => {
      tee?.write(d);
      if (out.length > 65536) return;
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
    token,
    proc,
    peakRss: () => Number(/VmHWM:\s+(\d+) kB/.exec(status())?.[1] ?? 0) * 1024,
    cpuSeconds: () => {
      const { user, sys } = cpuSplit();
      return user + sys;
    },
    cpuSplit,
    cpuByThread: () => {
      const m = new Map<string, number>();
      for (const t of readdirSync(`/proc/${proc.pid}/task`)) {
        const f = readFileSync(`/proc/${proc.pid}/task/${t}/stat`, "utf8").split(") ")[1]!.split(" ");
        m.set(t, (Number(f[11]) + Number(f[12])) / 100);
      }
      return m;
    },
    cpuMainThread: () => {
      const f = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      return (Number(f[11]) + Number(f[12])) / 100;
    },
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill("SIGTERM");
      await new Promise((r) => proc.once("exit", r));
    },
  };
}

/** Whether processes can be pinned to CPUs here (taskset present, at least two CPUs). */
export function canPin(): boolean {
  if (os.cpus().length < 2) return false;
  try {
    execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Pins this process (and the threads it starts from now on) to `cpus`, e.g. "1". */
export function pinSelf(cpus: string): boolean {
  if (!canPin()) return false;
  execFileSync("taskset", ["-a", "-p", "-c", cpus, String(process.pid)], { stdio: "ignore" });
  return true;
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
