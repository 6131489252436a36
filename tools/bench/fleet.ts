/**
 * Bench suite "fleet": N virtual hosts (one agent process, --simulate N, each with its own root
 * and real rpm database, provisioned from a local base feed) connect to the real controller and
 * install an in-service patch through host-install-async, 50 at a time. For N in
 * BENCH_FLEET_SIZES (default 100,500): time to converge, controller CPU seconds and peak RSS, per
 * 100 hosts, and how they grow. Target: linear growth, at most 5 ms of controller CPU per host.
 * With two or more CPUs the controller runs pinned to CPU 0 and the simulated hosts (and this
 * client) on the others: in real life the hosts are other machines. Diagnostics:
 * BENCH_FLEET_THREADS=1 prints CPU per controller thread; BENCH_FLEET_POLL=1 polls operations
 * instead of watching them.
 * Stores: BENCH_FLEET_STORES (default "sqlite,postgres"): each size runs on each store in the same
 * run; PostgreSQL is a local server (test/lib/postgres.ts, on the CPUs of the hosts, as a database
 * machine would be), a fresh database per run. Target: the warm per-host install CPU of the
 * controller on PostgreSQL within 1.5 x sqlite's (the database server's own CPU is shown apart).
 */
import { spawn } from "node:child_process";
import { promises as fsp, readdirSync, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { Metadata, createChannel, createClient } from "nice-grpc";
import { buildDemoBaseFeed, buildDemoRpm, payload } from "../demo/rpm.js";
import { buildPatch } from "../../server/domain/patchfile/index.js";
import { PatchServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { HostServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/host_service.js";
import { InstallPhase, PatchCurrent } from "../../clients/sdk/src/gen/swpatch/v1/types.js";
import { canPin, pinSelf, startBenchController, fmtMB, verdict } from "./controller-proc.js";
import type { BenchSuite } from "./main.js";
import { postgresUnavailable, startPostgres, type PostgresServer } from "../../test/lib/postgres.js";

const ROOT = path.resolve(__dirname, "../../..");
const IN_FLIGHT = 50;

interface WaveResult {
  convergeS: number;
  cpu: number;
  user: number;
  sys: number;
  main: number;
  failures: number;
  /** CPU of the database server (PostgreSQL), seconds; 0 on sqlite. */
  dbCpu: number;
}

interface FleetResult {
  n: number;
  store: string;
  connectS: number;
  cpuConnect: number;
  /** The first install wave (every install path runs for the first time: JIT warm-up included). */
  cold: WaveResult;
  /** The second wave, another patch on the same fleet and controller. */
  warm: WaveResult;
  rss: number;
}

/** CPU seconds of a process and its live children (a PostgreSQL server: the postmaster and its backends). */
function treeCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  let total = 0;
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const f = readFileSync(`/proc/${d}/stat`, "utf8").split(") ")[1]!.split(" ");
      if (Number(d) === pid || Number(f[1]) === pid) total += (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** A store to run the fleet on: its name and the controller flags that select it. */
interface BenchStore {
  name: string;
  args(): Promise<string[]>;
  /** CPU seconds the database server used so far (0 for an embedded store). */
  serverCpu(): number;
}

async function runFleet(n: number, feedDir: string, patchFiles: [string, string], work: string, log: (l: string) => void, store: BenchStore): Promise<FleetResult> {
  const dataDir = path.join(work, `data-${store.name}-${n}`);
  const roots = path.join(work, `roots-${store.name}-${n}`);
  log(`fleet ${n} hosts on ${store.name}:`);
  // The simulated hosts are remote machines in real life: with two or more CPUs the controller
  // gets CPU 0 to itself and the agent (all virtual hosts, their rpm runs) and this client share
  // the others, so the controller's figures are not those of a process fighting its hosts.
  const pin = canPin() && !process.env.BENCH_FLEET_NOPIN;
  const ctl = await startBenchController(
    dataDir,
    [
      "--base-feed",
      feedDir,
      "--trust",
      `${ROOT}/test/fixtures/starlingx/dev-certificate.pem:dev`,
      // The simulated hosts share one connection (a stream each): above the default 256 they would wait.
      "--grpc-max-concurrent-streams",
      String(Math.max(256, n + 64)),
      ...(await store.args()),
    ],
    {},
    pin ? { cpus: "0" } : {},
  );
  const others = `1-${os.cpus().length - 1}`;
  if (pin) pinSelf(others);
  const token = readFileSync(path.join(dataDir, "admin.token"), "utf8").trim();
  const ch = createChannel(ctl.endpoint);
  const opts = { "*": { metadata: Metadata({ authorization: `Bearer ${token}` }) } };
  const patches = createClient(PatchServiceDefinition, ch, opts);
  const hosts = createClient(HostServiceDefinition, ch, opts);
  const cpu0 = ctl.cpuSeconds();
  const t0 = performance.now();
  const agent = spawn(
    pin ? "taskset" : process.execPath,
    [
      ...(pin ? ["-c", others, process.execPath] : []),
      path.join(ROOT, "bin/sw-patch-agent"),
      "--controller",
      ctl.endpoint,
      "--hostname",
      "fleet",
      "--personality",
      "worker",
      "--root",
      roots,
      "--simulate",
      String(n),
      "--base-feed",
      feedDir,
      "--token-file",
      path.join(dataDir, "admin.token"),
      "--log-level",
      "error",
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );

  /** Uploads and applies one patch, installs it on every host (IN_FLIGHT at a time), waits for Applied. */
  const wave = async (label: string, patchFile: string): Promise<WaveResult> => {
    const id = path.basename(patchFile, ".patch");
    const { createReadStream } = await import("node:fs");
    await patches.uploadPatch(
      (async function* () {
        yield { payload: { $case: "header" as const, value: { fileName: path.basename(patchFile), sizeBytes: 0 } } };
        for await (const c of createReadStream(patchFile)) yield { payload: { $case: "chunk" as const, value: c as Buffer } };
      })(),
    );
    await patches.applyPatches({ patchIds: [id], all: false, skipSemantic: false });
    log(`fleet ${n} hosts: ${label}: ${id} applied; installing (controller pid ${ctl.proc.pid})`);
    const cpu1 = ctl.cpuSeconds();
    const db1 = store.serverCpu();
    const split1 = ctl.cpuSplit();
    const main1 = ctl.cpuMainThread();
    const th1 = ctl.cpuByThread();
    const t1 = performance.now();
    // BENCH_FLEET_MARKS=1: the wave's start and end on the monotonic clock, in µs (as in V8 CPU profiles).
    const mark = () => (process.hrtime.bigint() / 1000n).toString();
    const markStart = mark();
    const names = (await hosts.listHosts({})).hosts.map((h) => h.hostname);
    let next = 0;
    let failures = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < names.length) {
          const host = names[next++]!;
          const { operationId } = await hosts.installHostAsync({ host, force: false });
          let last;
          if (process.env.BENCH_FLEET_POLL) {
            // Diagnostic: poll the operation instead of watching it.
            for (;;) {
              last = (await hosts.getOperation({ operationId })).progress;
              if (last?.terminal) break;
              await new Promise((r) => setTimeout(r, 250));
            }
          } else for await (const r of hosts.watchOperation({ operationId })) last = r.progress;
          if (last?.phase !== InstallPhase.INSTALL_PHASE_DONE) failures++;
        }
      }),
    );
    for (;;) {
      const q = (await patches.showPatches({ patchIds: [id] })).patches;
      if (q[0]?.patchState === 3 /* Applied */) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const convergeS = (performance.now() - t1) / 1000;
    if (process.env.BENCH_FLEET_MARKS) log(`  ${label} marks (monotonic µs): ${markStart} ${mark()}`);
    const cpu = ctl.cpuSeconds() - cpu1;
    const dbCpu = store.serverCpu() - db1;
    const split2 = ctl.cpuSplit();
    const main = ctl.cpuMainThread() - main1;
    if (process.env.BENCH_FLEET_THREADS) {
      const th2 = ctl.cpuByThread();
      log(`  ${label} per thread (ms/host): ${[...th2].map(([t, c]) => `${t}:${(((c - (th1.get(t) ?? 0)) / n) * 1000).toFixed(2)}`).join(" ")}`);
    }
    const r = { convergeS, cpu, user: split2.user - split1.user, sys: split2.sys - split1.sys, main, failures, dbCpu };
    const ms = (x: number) => ((x / n) * 1000).toFixed(2);
    log(
      `fleet ${n} hosts: ${label}: converged in ${convergeS.toFixed(1)} s, controller CPU ${cpu.toFixed(2)} s (${ms(cpu)} ms/host: ` +
        `user ${ms(r.user)}, sys ${ms(r.sys)}; main thread ${ms(main)}, other threads ${ms(cpu - main)}), failures ${failures}` +
        (store.name === "sqlite" ? "" : `; database server CPU ${dbCpu.toFixed(2)} s (${ms(dbCpu)} ms/host)`),
    );
    return r;
  };

  try {
    // Connected and current.
    for (;;) {
      const hs = (await hosts.listHosts({})).hosts;
      if (hs.length === n && hs.every((h) => h.connected && h.patchCurrent === PatchCurrent.PATCH_CURRENT_YES)) break;
      if (agent.exitCode !== null) throw new Error(`agent exited ${agent.exitCode}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const connectS = (performance.now() - t0) / 1000;
    const cpuConnect = ctl.cpuSeconds() - cpu0;
    log(`fleet ${n} hosts: connected+provisioned in ${connectS.toFixed(1)} s (controller CPU ${cpuConnect.toFixed(2)} s)`);
    const cold = await wave("first patch", patchFiles[0]);
    const warm = await wave("second patch", patchFiles[1]);
    return { n, store: store.name, connectS, cpuConnect, cold, warm, rss: ctl.peakRss() };
  } finally {
    ch.close();
    agent.kill("SIGTERM");
    await new Promise((r) => (agent.exitCode !== null ? r(null) : agent.once("exit", r)));
    await ctl.stop();
    await fsp.rm(roots, { recursive: true, force: true });
    await fsp.rm(dataDir, { recursive: true, force: true });
  }
}

export const fleetSuite: BenchSuite = {
  name: "fleet",
  description: `virtual hosts (one agent process, real rpm roots) install an in-service patch through host-install-async, ${IN_FLIGHT} at a time`,
  async run({ log }) {
    const sizes = (process.env.BENCH_FLEET_SIZES ?? "100,500").split(",").map(Number);
    const work = await fsp.mkdtemp(path.join(process.env.BENCH_DIR ?? os.tmpdir(), "bench-fleet-"));
    let pg: PostgresServer | undefined;
    try {
      const feed = path.join(work, "feed");
      const scratch = path.join(work, "scratch");
      await buildDemoBaseFeed(feed, scratch);
      const key = readFileSync(path.join(ROOT, "test/fixtures/starlingx/dev-private-key.pem"), "utf8");
      const files: string[] = [];
      for (const [i, rel] of (["2", "3"] as const).entries()) {
        const upd = await buildDemoRpm(payload("sysinv", rel), path.join(work, `patch-rpms-${i}`), scratch);
        files.push((await buildPatch({ id: `FLEET_000${i + 1}`, swVersion: "19.09", rebootRequired: false, rpms: [upd], signingKey: key, outputDir: work })).path);
      }
      const wanted = (process.env.BENCH_FLEET_STORES ?? "sqlite,postgres").split(",").filter(Boolean);
      const stores: BenchStore[] = [];
      if (wanted.includes("sqlite")) stores.push({ name: "sqlite", args: async () => [], serverCpu: () => 0 });
      if (wanted.includes("postgres")) {
        const why = postgresUnavailable();
        if (why) log(`PostgreSQL store skipped: ${why}`);
        else {
          // The database runs where the hosts do (CPUs 1..): the controller's CPU 0 stays its own.
          if (canPin() && !process.env.BENCH_FLEET_NOPIN) pinSelf(`1-${os.cpus().length - 1}`);
          pg = await startPostgres();
          const server = pg;
          stores.push({ name: "postgres", args: async () => ["--store", await server.createDatabase()], serverCpu: () => treeCpuSeconds(server.pid) });
        }
      }
      const all: FleetResult[] = [];
      for (const n of sizes) for (const st of stores) all.push(await runFleet(n, feed, [files[0]!, files[1]!], work, log, st));
      for (const st of stores)
        report(
          all.filter((r) => r.store === st.name),
          st.name,
          log,
        );
      const warmPer = (r: FleetResult) => (r.warm.cpu / r.n) * 1000;
      for (const n of sizes) {
        const s = all.find((r) => r.n === n && r.store === "sqlite");
        const p = all.find((r) => r.n === n && r.store === "postgres");
        if (!s || !p) continue;
        const ratio = warmPer(p) / warmPer(s);
        log(
          `PostgreSQL vs sqlite at ${n} hosts, warm install CPU per host: ${warmPer(p).toFixed(2)} ms vs ${warmPer(s).toFixed(2)} ms (x${ratio.toFixed(2)}; ` +
            `target within x1.5: ${verdict(ratio <= 1.5)}); database server ${((p.warm.dbCpu / p.n) * 1000).toFixed(2)} ms/host more`,
        );
      }
    } finally {
      await pg?.stop();
      await fsp.rm(work, { recursive: true, force: true });
    }
  },
};

/** The per-size summary and targets of one store's runs. */
function report(results: FleetResult[], store: string, log: (l: string) => void): void {
  if (!results.length) return;
  log(`${store}: per 100 hosts:`);
  for (const r of results) {
    const k = r.n / 100;
    log(
      `  ${String(r.n).padStart(4)} hosts: connect: controller CPU ${(r.cpuConnect / k).toFixed(2)} s; first patch: converge ${(r.cold.convergeS / k).toFixed(1)} s, ` +
        `controller CPU ${(r.cold.cpu / k).toFixed(2)} s; second patch: converge ${(r.warm.convergeS / k).toFixed(1)} s, controller CPU ${(r.warm.cpu / k).toFixed(2)} s; peak RSS ${fmtMB(r.rss)}`,
    );
  }
  const first = results[0]!;
  const last = results[results.length - 1]!;
  const per = (r: FleetResult, w: "cold" | "warm") => (r[w].cpu / r.n) * 1000;
  for (const w of ["cold", "warm"] as const) {
    const what = w === "cold" ? "first patch (cold controller: JIT warm-up included)" : "second patch (warm controller)";
    log(
      `install CPU per host, ${what}: ${per(first, w).toFixed(2)} ms at ${first.n} hosts, ${per(last, w).toFixed(2)} ms at ${last.n} hosts (x${(per(last, w) / per(first, w)).toFixed(2)})`,
    );
    if (last.n > first.n) {
      // The cost of each host beyond the first size: fixed costs cancel out.
      log(`  marginal per host from ${first.n} to ${last.n} hosts: ${(((last[w].cpu - first[w].cpu) / (last.n - first.n)) * 1000).toFixed(2)} ms`);
    }
  }
  const failures = results.reduce((x, r) => x + r.cold.failures + r.warm.failures, 0);
  const growth = Math.max(per(last, "cold") / per(first, "cold"), per(last, "warm") / per(first, "warm"));
  log(
    `target: at most 5 ms controller CPU per host: ${verdict(per(last, "warm") <= 5)} (warm ${per(last, "warm").toFixed(2)} ms; cold ${per(last, "cold").toFixed(2)} ms, ${verdict(per(last, "cold") <= 5)}); ` +
      `growth linear (per-host cost within x1.5): ${verdict(growth <= 1.5)}; failed installs: ${failures}`,
  );
}
