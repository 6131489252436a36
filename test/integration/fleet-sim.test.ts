/**
 * The fleet simulator end to end: `sw-patch-agent --simulate 200 --sim-installer memory` (packages in
 * memory, the real protocol, every package fetched) against the real controller; an in-service
 * patch is host-installed on every host, with failures and mid-install disconnects drawn at a
 * fixed seed. Two simulator runs (two processes: each starts from the base feed) give the same
 * failed hosts, and exactly the ones the generator draws.
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildBaseFeed, buildPayloadRpm, type BaseFeed } from "../lib/base-feed.js";
import { REPO_ROOT, startController, type ControllerHandle } from "../lib/controller-harness.js";
import { rawClients, uploadStream } from "../lib/grpc-clients.js";
import { devKeyPem } from "../lib/patch-fixtures.js";
import { buildPatch } from "../../server/domain/patchfile/index.js";
import { InstallPhase, PatchCurrent } from "../../clients/sdk/src/gen/swpatch/v1/types.js";
import { drawInstall, parseSimOptions } from "../../server/agent/sim-faults.js";
import { SIM_FAILURE_REASON } from "../../server/agent/sim-host.js";

const N = 200;
const SIM_FLAGS = ["--sim-installer", "memory", "--sim-install-ms", "20:5", "--sim-fail-rate", "0.08", "--sim-disconnect-rate", "0.04", "--sim-seed", "20"];

describe("fleet simulator (200 hosts in memory)", function () {
  this.timeout(240_000);
  let work: string;
  let feed: BaseFeed;
  let ctl: ControllerHandle;
  let api: ReturnType<typeof rawClients>;
  let sim: ChildProcess | undefined;

  const hosts = async () => (await api.hosts.listHosts({})).hosts.filter((h) => h.hostname.startsWith("sim-"));

  async function until(what: string, ok: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 1200; i++) {
      if (await ok()) return;
      if (sim && sim.exitCode !== null) throw new Error(`the simulator exited ${sim.exitCode} while waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  function startSim(): ChildProcess {
    return spawn(
      process.execPath,
      [
        path.join(REPO_ROOT, "bin/sw-patch-agent"),
        "--controller",
        ctl.endpoint,
        "--hostname",
        "sim",
        "--personality",
        "worker",
        "--root",
        path.join(work, "roots"),
        "--simulate",
        String(N),
        "--base-feed",
        feed.dir,
        "--log-level",
        "error",
        ...SIM_FLAGS,
      ],
      { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, SWPATCH_TOKEN: ctl.adminToken } },
    );
  }

  async function stopSim(): Promise<void> {
    const p = sim;
    sim = undefined;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    await exited;
  }

  /** One simulator process: every host connects with the base packages, then host-install on all; the failed hosts and their reasons. */
  async function run(): Promise<Map<string, string>> {
    sim = startSim();
    await until("every simulated host connected and not current", async () => {
      const hs = await hosts();
      return hs.length === N && hs.every((h) => h.connected && h.patchCurrent === PatchCurrent.PATCH_CURRENT_NO);
    });
    const names = (await hosts()).map((h) => h.hostname);
    const failed = new Map<string, string>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < names.length) {
          const host = names[next++]!;
          const { operationId } = await api.hosts.installHostAsync({ host, force: true });
          let last;
          for await (const r of api.hosts.watchOperation({ operationId })) last = r.progress;
          if (last?.phase !== InstallPhase.INSTALL_PHASE_DONE) failed.set(host, last?.message ?? "");
        }
      }),
    );
    await stopSim();
    await until("every simulated host disconnected", async () => (await hosts()).every((h) => !h.connected));
    return failed;
  }

  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-fleet-sim-"));
    feed = await buildBaseFeed();
    const upd = await buildPayloadRpm({ name: "sysinv", version: "1.0", release: "2" });
    const built = await buildPatch({
      id: "SIM_0001",
      swVersion: "19.09",
      status: "REL",
      rebootRequired: false,
      rpms: [upd.file],
      signingKey: devKeyPem(),
      outputDir: work,
    });
    ctl = await startController({ baseFeed: feed.dir });
    api = rawClients(ctl);
    await api.patches.uploadPatch(uploadStream(built.path));
    await api.patches.applyPatches({ patchIds: ["SIM_0001"], all: false, skipSemantic: false });
  });

  after(async () => {
    await stopSim();
    api?.close();
    await ctl?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("installs on every host; the failed set at a fixed seed is the generator's, twice", async () => {
    const first = await run();
    // The hosts that installed are current: the controller saw their new packages.
    const current = (await hosts()).filter((h) => h.patchCurrent === PatchCurrent.PATCH_CURRENT_YES).map((h) => h.hostname);
    const second = await run();

    const o = parseSimOptions({ "sim-installer": "memory", "sim-fail-rate": "0.08", "sim-disconnect-rate": "0.04", "sim-seed": "20", "sim-install-ms": "20:5" })!;
    const expected = new Map<string, string>();
    for (let i = 0; i < N; i++) {
      const d = drawInstall(o, `sim-${i}`, 0);
      if (d.fault === "fail") expected.set(`sim-${i}`, SIM_FAILURE_REASON);
      if (d.fault === "disconnect") expected.set(`sim-${i}`, "agent disconnected during install");
    }
    expect([...expected.values()])
      .to.include(SIM_FAILURE_REASON)
      .and.to.include("agent disconnected during install");
    const sorted = (m: Map<string, string>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));
    expect(sorted(first)).to.deep.equal(sorted(expected));
    expect(sorted(second)).to.deep.equal(sorted(first));
    // Every host without a fault has the patch; none whose install failed has it. (One that dropped its
    // stream goes on installing: whether its report came before the simulator stopped is a race.)
    const clean = Array.from({ length: N }, (_, i) => `sim-${i}`).filter((h) => !expected.has(h));
    expect(current).to.include.members(clean);
    for (const [h, r] of expected) if (r === SIM_FAILURE_REASON) expect(current).to.not.include(h);
  });
});
