/**
 * Bench suite "scale" (issue 20): N simulated hosts (2 controllers, N-2 workers) (the fleet simulator, `sw-patch-agent --simulate N
 * --sim-installer memory`: one process, one connection per host, every package fetched) on one
 * controller (sqlite), for N in `--hosts 1000,10000` (or BENCH_SCALE_HOSTS). For each N:
 * - connect: from the simulator's start until every host is connected and current; controller CPU;
 * - an in-service patch rolled out by a strategy (workers parallel, max 100, --time-scale
 *   BENCH_SCALE_TIME_SCALE, default 0.01) to convergence: wall time, controller CPU per host, and
 *   the engine's overhead (the apply phase's time beyond its steps' own time);
 * - 10 event watchers (WatchEvents from sequence 0) that must see every event: their counts agree
 *   and each one's sequence numbers are contiguous;
 * - the controller's peak RSS (VmHWM).
 * Then each figure at every N and its growth from the first N to the last (per-host figures:
 * linear growth is a ratio near 1). Targets: peak RSS <= 1 GB, controller CPU <= 5 ms per host.
 * The controller runs in its own process (pinned to CPU 0 when there are two or more CPUs; the
 * simulator and this client on the others), so /proc/<pid>/stat and status are its own.
 * Simulated install time: BENCH_SCALE_INSTALL_MS (default "200:50"); hosts per connection:
 * BENCH_SCALE_HOSTS_PER_CONNECTION (default 1); extra controller flags: BENCH_SCALE_CONTROLLER_ARGS.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createReadStream, promises as fsp, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { setMaxListeners } from "node:events";
import { ClientError, Metadata, Status, createChannel, createClient, type Channel } from "nice-grpc";
import { buildDemoBaseFeed, buildDemoRpm, payload } from "../demo/rpm.js";
import { buildPatch } from "../../server/domain/patchfile/index.js";
import { PatchServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { HostServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/host_service.js";
import { ApplyType, OrchestrationServiceDefinition, type Strategy } from "../../clients/sdk/src/gen/swpatch/v1/orchestration_service.js";
import { PatchCurrent } from "../../clients/sdk/src/gen/swpatch/v1/types.js";
import { canPin, fmtMB, pinSelf, startBenchController, verdict } from "./controller-proc.js";
import type { BenchSuite } from "./main.js";

const ROOT = path.resolve(__dirname, "../../..");
const WATCHERS = 10;
const PARALLEL = 100;

interface ScaleResult {
  n: number;
  connectS: number;
  connectCpu: number;
  applyS: number;
  applyCpu: number;
  phaseS: number;
  stepsS: number;
  overheadS: number;
  stages: number;
  events: number;
  watchersOk: boolean;
  watcherNote: string;
  rss: number;
}

/**
 * One event watcher: counts events and checks that each sequence number follows the previous one.
 * When the controller ends its stream because it fell behind (RESOURCE_EXHAUSTED, --watch-buffer),
 * it watches again from the last event received, as the controller's message says (counted).
 */
class Watcher {
  count = 0;
  /** host.connected events seen (the connect phase waits for N of them before it lists the hosts). */
  connected = 0;
  last = 0;
  gaps = 0;
  resumes = 0;
  error: unknown;
  readonly ac = new AbortController();
  readonly done: Promise<void>;
  constructor(patches: ReturnType<typeof createClient<typeof PatchServiceDefinition>>) {
    this.done = (async () => {
      for (;;) {
        try {
          const req = { afterSequence: this.last, kinds: [], patchId: "", hostname: "", operationId: "" };
          for await (const r of patches.watchEvents(req, { signal: this.ac.signal })) {
            const seq = Number(r.event?.sequence ?? 0);
            if (r.event?.kind === "host.connected") this.connected++;
            if (seq !== this.last + 1) this.gaps++;
            this.last = seq;
            this.count++;
          }
          return;
        } catch (e) {
          if (this.ac.signal.aborted) return;
          if (e instanceof ClientError && e.code === Status.RESOURCE_EXHAUSTED) {
            this.resumes++;
            continue;
          }
          this.error = e;
          return;
        }
      }
    })();
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (d: Date | undefined) => (d ? d.getTime() : 0);

async function runScale(n: number, feed: string, patchFile: string, work: string, log: (l: string) => void): Promise<ScaleResult> {
  const dataDir = path.join(work, `data-${n}`);
  const pin = canPin() && !process.env.BENCH_SCALE_NOPIN;
  const ctl = await startBenchController(
    dataDir,
    ["--base-feed", feed, "--time-scale", process.env.BENCH_SCALE_TIME_SCALE ?? "0.01", ...(process.env.BENCH_SCALE_CONTROLLER_ARGS?.split(" ").filter(Boolean) ?? [])],
    {},
    pin ? { cpus: "0" } : {},
  );
  const others = `1-${os.cpus().length - 1}`;
  if (pin) pinSelf(others);
  const token = readFileSync(path.join(dataDir, "admin.token"), "utf8").trim();
  const channels: Channel[] = [];
  const opts = { "*": { metadata: Metadata({ authorization: `Bearer ${token}` }) } };
  const ch = createChannel(ctl.endpoint);
  channels.push(ch);
  const patches = createClient(PatchServiceDefinition, ch, opts);
  const hosts = createClient(HostServiceDefinition, ch, opts);
  const orch = createClient(OrchestrationServiceDefinition, ch, opts);
  // Each watcher on its own connection, as separate clients would be.
  const watchers = Array.from({ length: WATCHERS }, () => {
    const c = createChannel(ctl.endpoint, undefined, { "grpc.use_local_subchannel_pool": 1 });
    channels.push(c);
    const w = new Watcher(createClient(PatchServiceDefinition, c, opts));
    setMaxListeners(0, w.ac.signal);
    return w;
  });
  let sim: ChildProcess | undefined;
  let ctlSim: ChildProcess | undefined;
  try {
    const cpu0 = ctl.cpuSeconds();
    let t = performance.now();
    // N hosts: 2 controllers (a strategy needs them) and N-2 workers, two simulator processes.
    const simulator = (name: string, personality: string, count: number) =>
      spawn(
        pin ? "taskset" : process.execPath,
        [
          ...(pin ? ["-c", others, process.execPath] : []),
          // The simulator's heap grows with N (its hosts, their streams and channels).
          "--max-old-space-size=4096",
          path.join(ROOT, "bin/sw-patch-agent"),
          "--controller",
          ctl.endpoint,
          "--hostname",
          name,
          "--personality",
          personality,
          "--root",
          path.join(work, `roots-${n}`),
          "--simulate",
          String(count),
          "--sim-installer",
          "memory",
          "--sim-install-ms",
          process.env.BENCH_SCALE_INSTALL_MS ?? "200:50",
          "--sim-reboot-ms",
          "100",
          // BENCH_SCALE_HOSTS_PER_CONNECTION=K: K hosts' streams share a connection (default 1, as real hosts).
          "--sim-hosts-per-connection",
          process.env.BENCH_SCALE_HOSTS_PER_CONNECTION ?? "1",
          "--base-feed",
          feed,
          "--log-level",
          "error",
        ],
        { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, SWPATCH_TOKEN: token } },
      );
    ctlSim = simulator("controller", "controller", 2);
    sim = simulator("compute", "worker", n - 2);
    const simProcs = [sim, ctlSim];
    const listed = async () => {
      for (const p of simProcs) if (p.exitCode !== null) throw new Error(`a simulator exited ${p.exitCode}`);
      return (await hosts.listHosts({})).hosts;
    };
    // Listing 10,000 hosts costs the controller tens of ms: the bench lists them once the watchers saw N hellos.
    for (;;) {
      if (watchers[0]!.connected >= n) {
        const hs = await listed();
        if (hs.length === n && hs.every((h) => h.connected && h.patchCurrent === PatchCurrent.PATCH_CURRENT_YES)) break;
      } else for (const p of simProcs) if (p.exitCode !== null) throw new Error(`a simulator exited ${p.exitCode}`);
      await pause(1000);
    }
    const connectS = (performance.now() - t) / 1000;
    const connectCpu = ctl.cpuSeconds() - cpu0;
    log(
      `scale ${n}: connected in ${connectS.toFixed(1)} s, controller CPU ${connectCpu.toFixed(2)} s (${((connectCpu / n) * 1000).toFixed(2)} ms/host), RSS so far ${fmtMB(ctl.peakRss())}`,
    );

    await patches.uploadPatch(
      (async function* () {
        yield { payload: { $case: "header" as const, value: { fileName: path.basename(patchFile), sizeBytes: 0 } } };
        for await (const c of createReadStream(patchFile)) yield { payload: { $case: "chunk" as const, value: c as Buffer } };
      })(),
    );
    const id = path.basename(patchFile, ".patch");
    await patches.applyPatches({ patchIds: [id], all: false, skipSemantic: false });
    for (;;) {
      const hs = await listed();
      if (hs.every((h) => h.patchCurrent === PatchCurrent.PATCH_CURRENT_NO)) break;
      await pause(200);
    }
    const cpu1 = ctl.cpuSeconds();
    t = performance.now();
    await orch.createStrategy({ workerApplyType: ApplyType.APPLY_TYPE_PARALLEL, maxParallelWorkerHosts: PARALLEL } as never);
    let s: Strategy;
    for (;;) {
      s = (await orch.getStrategy({})).strategy!;
      if (s.state !== "building") break;
      await pause(100);
    }
    if (s.state !== "ready-to-apply") throw new Error(`build: ${s.state} ${s.buildPhase?.reason}`);
    const buildS = (performance.now() - t) / 1000;
    await orch.applyStrategy({});
    for (;;) {
      s = (await orch.getStrategy({})).strategy!;
      if (!["applying", "ready-to-apply"].includes(s.state)) break;
      // A strategy over 10,000 hosts is large: polled once a second.
      await pause(1000);
    }
    if (s.state !== "applied") throw new Error(`apply ended ${s.state}: ${s.applyPhase?.reason}`);
    const applyS = (performance.now() - t) / 1000;
    const applyCpu = ctl.cpuSeconds() - cpu1;
    const hs = await listed();
    const current = hs.filter((h) => h.patchCurrent === PatchCurrent.PATCH_CURRENT_YES).length;
    if (current !== n) throw new Error(`after the strategy ${current} of ${n} hosts are current`);
    const phase = s.applyPhase!;
    let stepsS = 0;
    for (const st of phase.stages) for (const step of st.steps) stepsS += (ms(step.endDate) - ms(step.startDate)) / 1000;
    const phaseS = (ms(phase.endDate) - ms(phase.startDate)) / 1000;
    const overheadS = Math.max(0, phaseS - stepsS);
    log(
      `scale ${n}: strategy built in ${buildS.toFixed(1)} s (${phase.stages.length} stages), applied in ${applyS.toFixed(1)} s; controller CPU ${applyCpu.toFixed(2)} s ` +
        `(${((applyCpu / n) * 1000).toFixed(2)} ms/host); engine overhead ${overheadS.toFixed(2)} s of ${phaseS.toFixed(1)} s (${((overheadS / phaseS) * 100).toFixed(1)}%)`,
    );

    // Every watcher catches up: they agree on the last sequence, and it stays put for 2 s.
    let stable = 0;
    let lastSeen = -1;
    for (let i = 0; i < 600 && stable < 8; i++) {
      await pause(250);
      const lasts = new Set(watchers.map((w) => w.last));
      const now = lasts.size === 1 ? watchers[0]!.last : -1;
      stable = now >= 0 && now === lastSeen ? stable + 1 : 0;
      lastSeen = now;
    }
    const counts = new Set(watchers.map((w) => w.count));
    const gaps = watchers.reduce((k, w) => k + w.gaps, 0);
    const events = watchers[0]!.count;
    const errors = watchers.filter((w) => w.error !== undefined).map((w) => String(w.error));
    const resumes = watchers.reduce((k, w) => k + w.resumes, 0);
    const watchersOk = stable >= 8 && counts.size === 1 && gaps === 0 && events === watchers[0]!.last && errors.length === 0;
    const watcherNote =
      `${WATCHERS} watchers: ${[...counts].join("/")} events each, last sequence ${watchers[0]!.last}, ${gaps} gaps, ` +
      `${resumes} resumes after falling behind${errors.length ? `; errors: ${errors.join("; ")}` : ""}`;
    log(`scale ${n}: ${watcherNote}: ${verdict(watchersOk)}`);
    const rss = ctl.peakRss();
    log(`scale ${n}: controller peak RSS ${fmtMB(rss)}`);
    return { n, connectS, connectCpu, applyS, applyCpu, phaseS, stepsS, overheadS, stages: phase.stages.length, events, watchersOk, watcherNote, rss };
  } finally {
    for (const w of watchers) w.ac.abort();
    await Promise.all(watchers.map((w) => w.done.catch(() => undefined)));
    for (const c of channels) c.close();
    for (const p of [sim, ctlSim]) {
      if (!p || p.exitCode !== null) continue;
      const exited = new Promise((r) => p.once("exit", r));
      p.kill("SIGTERM");
      await exited;
    }
    await ctl.stop();
    await fsp.rm(dataDir, { recursive: true, force: true });
  }
}

export const scaleSuite: BenchSuite = {
  name: "scale",
  description: `simulated hosts in memory (one connection per host unless BENCH_SCALE_HOSTS_PER_CONNECTION) on one controller: connect, a strategy (workers parallel ${PARALLEL}) to convergence, ${WATCHERS} event watchers`,
  async run({ log }) {
    const sizes = (process.env.BENCH_SCALE_HOSTS ?? "1000,10000").split(",").map(Number);
    if (sizes.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`--hosts: expected whole numbers, got ${sizes.join(",")}`);
    const work = await fsp.mkdtemp(path.join(process.env.BENCH_DIR ?? os.tmpdir(), "bench-scale-"));
    try {
      const feed = path.join(work, "feed");
      const scratch = path.join(work, "scratch");
      await buildDemoBaseFeed(feed, scratch);
      const upd = await buildDemoRpm(payload("sysinv", "2"), path.join(work, "patch-rpms"), scratch);
      const key = readFileSync(path.join(ROOT, "test/fixtures/starlingx/dev-private-key.pem"), "utf8");
      const built = await buildPatch({ id: "SCALE_0001", swVersion: "19.09", rebootRequired: false, rpms: [upd], signingKey: key, outputDir: work });
      const results: ScaleResult[] = [];
      for (const n of sizes) results.push(await runScale(n, feed, built.path, work, log));
      report(results, log);
    } finally {
      await fsp.rm(work, { recursive: true, force: true });
    }
  },
};

function report(rs: ScaleResult[], log: (l: string) => void): void {
  const rows: Array<[string, (r: ScaleResult) => number, (x: number) => string]> = [
    ["connect time per host (ms)", (r) => (r.connectS / r.n) * 1000, (x) => x.toFixed(2)],
    ["connect CPU per host (ms)", (r) => (r.connectCpu / r.n) * 1000, (x) => x.toFixed(2)],
    ["rollout time per host (ms)", (r) => (r.applyS / r.n) * 1000, (x) => x.toFixed(2)],
    ["rollout CPU per host (ms)", (r) => (r.applyCpu / r.n) * 1000, (x) => x.toFixed(2)],
    ["engine overhead (% of apply)", (r) => (r.overheadS / r.phaseS) * 100, (x) => x.toFixed(1)],
    ["events per host", (r) => r.events / r.n, (x) => x.toFixed(1)],
    ["peak RSS (MB)", (r) => r.rss / 1048576, (x) => x.toFixed(0)],
    ["peak RSS per host (KB)", (r) => r.rss / 1024 / r.n, (x) => x.toFixed(1)],
  ];
  const first = rs[0]!;
  const last = rs[rs.length - 1]!;
  log(`scale summary (${rs.map((r) => r.n).join(" / ")} hosts; growth = last / first of the per-host figure, linear = x1.0):`);
  for (const [name, f, fmt] of rows) {
    const growth = rs.length > 1 && f(first) > 0 ? `  growth x${(f(last) / f(first)).toFixed(2)}` : "";
    log(`  ${name.padEnd(30)} ${rs.map((r) => fmt(f(r)).padStart(9)).join(" ")}${growth}`);
  }
  const cpu = (r: ScaleResult) => (r.applyCpu / r.n) * 1000;
  const growth = cpu(last) / cpu(first);
  log(
    `targets at ${last.n} hosts: peak RSS <= 1 GB: ${verdict(last.rss <= 1024 ** 3)} (${fmtMB(last.rss)}); controller CPU per host of the rollout <= 5 ms: ` +
      `${verdict(cpu(last) <= 5)} (${cpu(last).toFixed(2)} ms; with its connect ${(cpu(last) + (last.connectCpu / last.n) * 1000).toFixed(2)} ms); ` +
      `linear (per-host rollout CPU within x1.5): ${verdict(rs.length < 2 || growth <= 1.5)} (x${growth.toFixed(2)}); watchers saw every event: ${verdict(rs.every((r) => r.watchersOk))}`,
  );
}
