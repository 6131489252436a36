import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildBaseFeed, buildPayloadRpm } from "../lib/base-feed.js";
import { startCluster, type Cluster } from "../lib/cluster-harness.js";
import { runCli } from "../lib/cli.js";
import { DEV_KEY } from "../lib/controller-harness.js";
import { uploadStream } from "../lib/grpc-clients.js";
import { ApplyType, type Strategy } from "../../clients/sdk/src/gen/swpatch/v1/orchestration_service.js";
import { PatchCurrent } from "../../clients/sdk/src/gen/swpatch/v1/types.js";

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const two = (n: number) => String(n).padStart(2, "0");
/** "Thu 19:02:05-19:02:09" (UTC) for [start, end). */
function windowSpec(start: Date, end: Date): string {
  const t = (d: Date) => `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${DAYS[start.getUTCDay()]} ${t(start)}-${t(end)}`;
}

/**
 * Maintenance windows on the real controller (issue 20): three serial worker stages, a first window
 * that closes a few seconds after the apply and a second that opens a few seconds later. Hosts start
 * only inside a window; at the first window's end the strategy waits ("waiting for window …") and
 * goes on by itself in the next one.
 */
describe("maintenance windows on the real controller (real agents, --time-scale 0.05)", function () {
  this.timeout(300_000);
  let cluster: Cluster;
  let work: string;
  let patchFile: string;

  before(async () => {
    const feed = await buildBaseFeed();
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-windows-"));
    const rpm = (await buildPayloadRpm({ name: "sysinv", version: "1.0", release: "5" })).file;
    const r = await runCli("patch_build", [
      "--id",
      "WIN",
      "--release",
      "19.09",
      "--reboot-required",
      "N",
      "--status",
      "REL",
      "--key",
      DEV_KEY,
      "--output-dir",
      work,
      rpm,
    ]);
    expect(r.rc, r.stderr).to.equal(0);
    patchFile = path.join(work, "WIN.patch");
    cluster = await startCluster({
      hosts: [
        { hostname: "controller-0", personality: "controller" },
        { hostname: "compute-0", personality: "worker" },
        { hostname: "compute-1", personality: "worker" },
        { hostname: "compute-2", personality: "worker" },
      ],
      baseFeed: feed.dir,
      controller: { extraArgs: ["--time-scale", "0.05"] },
    });
    await cluster.waitHosts((hs) => hs.length === 4);
  });

  after(async () => {
    await cluster?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("starts hosts only inside a window, pauses when it closes and resumes in the next one", async () => {
    const o = cluster.clients.orchestration;
    await cluster.clients.patches.uploadPatch(uploadStream(patchFile));
    await cluster.clients.patches.applyPatches({ patchIds: ["WIN"], all: false, skipSemantic: false });
    await cluster.waitHosts((hs) => hs.every((h) => h.patchCurrent === PatchCurrent.PATCH_CURRENT_NO || h.patchCurrent === PatchCurrent.PATCH_CURRENT_YES));
    // Whole seconds: the windows are given to the second.
    const t0 = Math.ceil(Date.now() / 1000) * 1000;
    // A stage takes about 2 s at this time scale (system-stabilize 30 s x 0.05): the first window
    // closes while the first stage runs, the second opens a few seconds later.
    const w1 = { start: t0 - 60_000, end: t0 + 1_000 };
    const w2 = { start: t0 + 6_000, end: t0 + 120_000 };
    await o.createStrategy({
      controllerApplyType: ApplyType.APPLY_TYPE_IGNORE,
      storageApplyType: ApplyType.APPLY_TYPE_IGNORE,
      workerApplyType: ApplyType.APPLY_TYPE_SERIAL,
      windows: [windowSpec(new Date(w1.start), new Date(w1.end)), windowSpec(new Date(w2.start), new Date(w2.end))],
      windowTz: "UTC",
    } as never);
    const seen: Strategy[] = [];
    const ac = new AbortController();
    let built: Strategy | undefined;
    for await (const r of o.watchStrategy({}, { signal: ac.signal })) {
      if (r.strategy && r.strategy.state !== "building") {
        built = r.strategy;
        break;
      }
    }
    expect(built?.state, built?.buildPhase?.reason).to.equal("ready-to-apply");
    expect(built!.applyPhase!.totalStages).to.equal(3);
    await o.applyStrategy({});
    let done: Strategy | undefined;
    for await (const r of o.watchStrategy({}, { signal: ac.signal })) {
      if (!r.strategy) continue;
      seen.push(r.strategy);
      if (["applied", "apply-failed", "aborted"].includes(r.strategy.state)) {
        done = r.strategy;
        break;
      }
    }
    ac.abort();
    expect(done?.state, done?.applyPhase?.reason).to.equal("applied");
    const starts = done!.applyPhase!.stages.map((s) => s.startDate!.getTime());
    // Every host started inside a window (dates are to the millisecond; windows to the second).
    for (const t of starts) expect((t >= w1.start && t < w1.end) || (t >= w2.start && t < w2.end), new Date(t).toISOString()).to.equal(true);
    // It waited for the second window, and went on in it by itself.
    const waiting = seen.filter((s) => s.state === "applying" && s.windowState.startsWith("waiting for window"));
    expect(waiting.length).to.be.greaterThan(0);
    expect(waiting[0]!.nextWindowStart!.getTime()).to.equal(w2.start);
    expect(starts.some((t) => t >= w2.start)).to.equal(true);
    // When the first stage ran in the first window, the wait came after it: a pause at the window's end.
    if (starts[0]! < w1.end) expect(waiting.some((s) => s.applyPhase!.currentStage >= 1)).to.equal(true);
    expect(seen.some((s) => s.windowState.startsWith("in window until"))).to.equal(true);
  });
});
