/**
 * Bench suite "orchestrate": an in-service strategy over N simulated hosts (BENCH_ORCH_HOSTS,
 * default 1000: 2 controllers + N-2 workers in two agent processes with real rpm roots), workers
 * parallel with max-parallel 100, on the real controller with --time-scale (BENCH_ORCH_SCALE,
 * default 0.01). Reports the total apply time against the time the steps themselves took (their
 * waits and the installs they drive), so the difference is the engine's own overhead; and
 * controller CPU per host. Target: engine overhead under 10% of the wall time.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createReadStream, promises as fsp, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { Metadata, createChannel, createClient } from "nice-grpc";
import { buildDemoBaseFeed, buildDemoRpm, payload } from "../demo/rpm.js";
import { buildPatch } from "../../server/domain/patchfile/index.js";
import { PatchServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { HostServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/host_service.js";
import { ApplyType, OrchestrationServiceDefinition, type Strategy } from "../../clients/sdk/src/gen/swpatch/v1/orchestration_service.js";
import { PatchCurrent } from "../../clients/sdk/src/gen/swpatch/v1/types.js";
import { startBenchController, fmtMB, verdict } from "./controller-proc.js";
import type { BenchSuite } from "./main.js";

const ROOT = path.resolve(__dirname, "../../..");

function agentProc(endpoint: string, token: string, name: string, personality: string, n: number, roots: string, feed: string): ChildProcess {
  return spawn(
    process.execPath,
    [
      path.join(ROOT, "bin/sw-patch-agent"),
      "--controller",
      endpoint,
      "--hostname",
      name,
      "--personality",
      personality,
      "--root",
      roots,
      "--simulate",
      String(n),
      "--base-feed",
      feed,
      "--log-level",
      "error",
      "--reboot-delay-ms",
      "50",
    ],
    // The token in the environment, not in argv (ps shows argv to every local user).
    { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, SWPATCH_TOKEN: token } },
  );
}

const ms = (d: Date | undefined) => (d ? d.getTime() : 0);

export const orchestrateSuite: BenchSuite = {
  name: "orchestrate",
  description: "an in-service strategy over many simulated hosts (workers parallel, max 100): wall time vs the steps' own time, controller CPU per host",
  async run({ log }) {
    const n = Number(process.env.BENCH_ORCH_HOSTS ?? 1000);
    const scale = process.env.BENCH_ORCH_SCALE ?? "0.01";
    const work = await fsp.mkdtemp(path.join(process.env.BENCH_DIR ?? os.tmpdir(), "bench-orch-"));
    const procs: ChildProcess[] = [];
    try {
      const feed = path.join(work, "feed");
      const scratch = path.join(work, "scratch");
      await buildDemoBaseFeed(feed, scratch);
      const upd = await buildDemoRpm(payload("sysinv", "2"), path.join(work, "patch-rpms"), scratch);
      const built = await buildPatch({
        id: "ORCH_0001",
        swVersion: "19.09",
        rebootRequired: false,
        rpms: [upd],
        signingKey: readFileSync(path.join(ROOT, "test/fixtures/starlingx/dev-private-key.pem"), "utf8"),
        outputDir: work,
      });
      const dataDir = path.join(work, "data");
      const ctl = await startBenchController(dataDir, ["--base-feed", feed, "--time-scale", scale]);
      const token = readFileSync(path.join(dataDir, "admin.token"), "utf8").trim();
      const ch = createChannel(ctl.endpoint);
      const opts = { "*": { metadata: Metadata({ authorization: `Bearer ${token}` }) } };
      const patches = createClient(PatchServiceDefinition, ch, opts);
      const hosts = createClient(HostServiceDefinition, ch, opts);
      const orch = createClient(OrchestrationServiceDefinition, ch, opts);
      try {
        let t = performance.now();
        procs.push(agentProc(ctl.endpoint, token, "controller", "controller", 2, path.join(work, "roots-c"), feed));
        procs.push(agentProc(ctl.endpoint, token, "compute", "worker", n - 2, path.join(work, "roots-w"), feed));
        for (;;) {
          const hs = (await hosts.listHosts({})).hosts;
          if (hs.length === n && hs.every((h) => h.connected && h.patchCurrent === PatchCurrent.PATCH_CURRENT_YES)) break;
          await new Promise((r) => setTimeout(r, 500));
        }
        log(`${n} hosts connected and provisioned in ${((performance.now() - t) / 1000).toFixed(1)} s`);
        await patches.uploadPatch(
          (async function* () {
            yield { payload: { $case: "header" as const, value: { fileName: path.basename(built.path), sizeBytes: 0 } } };
            for await (const c of createReadStream(built.path)) yield { payload: { $case: "chunk" as const, value: c as Buffer } };
          })(),
        );
        await patches.applyPatches({ patchIds: ["ORCH_0001"], all: false, skipSemantic: false });
        for (;;) {
          const hs = (await hosts.listHosts({})).hosts;
          if (hs.every((h) => h.patchCurrent === PatchCurrent.PATCH_CURRENT_NO)) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        await orch.createStrategy({ workerApplyType: ApplyType.APPLY_TYPE_PARALLEL, maxParallelWorkerHosts: 100 } as never);
        let s: Strategy;
        for (;;) {
          s = (await orch.getStrategy({})).strategy!;
          if (s.state !== "building") break;
          await new Promise((r) => setTimeout(r, 100));
        }
        if (s.state !== "ready-to-apply") throw new Error(`build: ${s.state} ${s.buildPhase?.reason}`);
        const cpu0 = ctl.cpuSeconds();
        t = performance.now();
        await orch.applyStrategy({});
        for (;;) {
          s = (await orch.getStrategy({})).strategy!;
          if (!["applying", "ready-to-apply"].includes(s.state)) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        const wall = (performance.now() - t) / 1000;
        const cpu = ctl.cpuSeconds() - cpu0;
        if (s.state !== "applied") throw new Error(`apply ended ${s.state}: ${s.applyPhase?.reason}`);
        const phase = s.applyPhase!;
        // The steps' own time: from each step's start to its end (waits, installs, locks...).
        let stepsS = 0;
        let installS = 0;
        let waitsS = 0;
        for (const st of phase.stages) {
          for (const step of st.steps) {
            const d = (ms(step.endDate) - ms(step.startDate)) / 1000;
            stepsS += d;
            if (step.name === "sw-patch-hosts") installS += d;
            else waitsS += d;
          }
        }
        const phaseS = (ms(phase.endDate) - ms(phase.startDate)) / 1000;
        const overhead = Math.max(0, phaseS - stepsS);
        log(
          `strategy: ${phase.stages.length} stages, ${phase.stages.reduce((k, st) => k + st.steps.length, 0)} steps; apply phase ${phaseS.toFixed(1)} s (wall ${wall.toFixed(1)} s)`,
        );
        log(`steps' own time ${stepsS.toFixed(1)} s (installs ${installS.toFixed(1)} s, waits and host actions ${waitsS.toFixed(1)} s)`);
        log(
          `engine overhead ${overhead.toFixed(2)} s = ${((overhead / phaseS) * 100).toFixed(1)}% of the apply phase (target < 10%): ${verdict(overhead / phaseS < 0.1)}`,
        );
        log(`controller CPU during apply ${cpu.toFixed(1)} s = ${((cpu / n) * 1000).toFixed(2)} ms per host; peak RSS ${fmtMB(ctl.peakRss())}`);
      } finally {
        ch.close();
        for (const p of procs) p.kill("SIGTERM");
        await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once("exit", r)))));
        await ctl.stop();
      }
    } finally {
      await fsp.rm(work, { recursive: true, force: true });
    }
  },
};
