import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildBaseFeed } from "../lib/base-feed.js";
import { startChaosCluster, type ChaosCluster } from "../lib/chaos-cluster.js";
import { prng, seedFromEnv } from "../lib/chaos-prng.js";
import { bump, tally } from "../lib/chaos-fuzz.js";
import { buildTestPatch } from "../lib/patch-fixtures.js";
import { checkStore } from "../lib/store-check.js";
import { QueryFilter, type UploadPatchRequest } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { AgentState, InstallPhase, PatchCurrent, RepoState } from "../../clients/sdk/src/gen/swpatch/v1/types.js";
import { createReadStream } from "node:fs";
import { rpmQ } from "../lib/rpm-query.js";

const KILLS = Number(process.env.CRASH_KILLS ?? 50);
const OPS = ["upload", "apply", "remove", "host-install", "commit", "strategy-apply"] as const;
type Op = (typeof OPS)[number];
/** Failpoints (SWPATCH_FAILPOINT) used per operation, besides kills after a random delay. */
const FAILPOINTS: Record<Op, string[]> = {
  upload: ["upload:verified", "upload:blobs-stored", "upload:in-transaction"],
  apply: ["patch.applied:in-transaction"],
  remove: ["patch.removed:in-transaction"],
  "host-install": ["install:queued", "install:result-received"],
  commit: ["commit:in-transaction", "commit:committed"],
  "strategy-apply": ["strategy:apply-step-started", "strategy:apply-step-done"],
};
const HOSTS = ["controller-0", "controller-1", "compute-0"];

/**
 * kill -9 of the real controller at 50 seeded points across upload, apply, remove, host-install,
 * commit and strategy apply (after a seeded random delay into the operation, or at a failpoint),
 * with three real agents (2 controllers, 1 worker) installing real RPMs. After each kill: the store is consistent (checked
 * while the controller is down), the controller restarts, both agents reconnect, and the
 * interrupted operation is completed; the hosts' rpm databases match the repository.
 * CHAOS_SEED and CRASH_KILLS override the seed and the number of kills.
 */
describe("chaos: controller kill -9 at random points (real agents)", function () {
  this.timeout(1_500_000);
  let c: ChaosCluster;
  let work: string;
  const patchFiles: string[] = [];
  const seed = seedFromEnv(0xc2a54);
  const r = prng(seed);

  const patchId = (k: number) => `CHAOS_${String(k).padStart(4, "0")}`;
  /** Patch k: in-service update of pkg-a to 1.0-(k+1), with a ~1 MiB incompressible file so an upload takes a while. */
  const patchFile = async (k: number): Promise<string> => {
    while (patchFiles.length <= k) {
      const i = patchFiles.length;
      const p = await buildTestPatch({
        dir: path.join(work, `p${i}`),
        id: patchId(i),
        swVersion: "19.09",
        status: "REL",
        rebootRequired: false,
        rpms: [
          {
            name: "pkg-a",
            version: "1.0",
            release: String(i + 2),
            arch: "noarch",
            files: [
              { path: "/usr/share/pkg-a/VERSION", content: `1.0-${i + 2}\n` },
              { path: "/usr/share/pkg-a/blob", content: randomBytes(1 << 20) },
            ],
            payload: "w0.gzdio",
          },
        ],
      } as never);
      patchFiles.push(p.path);
    }
    return patchFiles[k]!;
  };

  const slowUpload = async function* (file: string): AsyncGenerator<UploadPatchRequest> {
    yield { payload: { $case: "header", value: { fileName: path.basename(file), sizeBytes: 0 } } };
    for await (const chunk of createReadStream(file, { highWaterMark: 64 * 1024 })) {
      yield { payload: { $case: "chunk", value: chunk as Buffer } };
      await new Promise((res) => setTimeout(res, 3));
    }
  };

  const patches = async () => (await c.clients.patches.queryPatches({ filter: QueryFilter.QUERY_FILTER_ALL, release: "" })).patches;
  const byState = async (s: RepoState) =>
    (await patches())
      .filter((p) => p.repoState === s)
      .map((p) => p.id)
      .sort();
  let nextPatch = 0;
  const upload = async () => {
    const k = nextPatch++;
    await c.clients.patches.uploadPatch(slowUpload(await patchFile(k)));
    return patchId(k);
  };
  const allConnected = (hs: { connected: boolean }[]) => hs.length === HOSTS.length && hs.every((h) => h.connected);
  const waitOp = async (operationId: string) => {
    let last;
    for await (const x of c.clients.hosts.watchOperation({ operationId })) last = x.progress!;
    return last!;
  };
  /** Installs every host that is not current (serially) until all are current. */
  const installAll = async () => {
    for (let attempt = 0; attempt < 4; attempt++) {
      const hs = await c.waitHosts(
        (x) => allConnected(x) && x.every((h) => h.agentState !== AgentState.AGENT_STATE_INSTALLING && h.patchCurrent !== PatchCurrent.PATCH_CURRENT_PENDING),
      );
      const todo = hs.filter((h) => h.patchCurrent !== PatchCurrent.PATCH_CURRENT_YES);
      if (!todo.length) return;
      for (const h of todo) {
        const op = await c.clients.hosts.installHostAsync({ host: h.hostname, force: false });
        const last = await waitOp(op.operationId);
        if (last.phase !== InstallPhase.INSTALL_PHASE_DONE) console.log(`      install of ${h.hostname}: ${InstallPhase[last.phase]} ${last.message}`);
      }
    }
    throw new Error("hosts did not become current");
  };
  const strategy = async () => (await c.clients.orchestration.getStrategy({})).strategy;
  const waitStrategy = async (want: string[], timeoutMs = 240_000, tolerateErrors = true) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const s = tolerateErrors ? await strategy().catch(() => undefined) : await strategy();
      if (s && want.includes(s.state)) return s;
      if (Date.now() > until) throw new Error(`strategy not in ${want.join("|")}: ${s?.state} ${s?.applyPhase?.reason ?? ""}`);
      await new Promise((res) => setTimeout(res, 150));
    }
  };
  /** Hosts' installed pkg-a matches the highest applied or committed patch. */
  const expectRootsMatchRepo = async () => {
    const ps = await patches();
    const live = ps.filter((p) => p.repoState === RepoState.REPO_STATE_APPLIED || p.repoState === RepoState.REPO_STATE_COMMITTED);
    const top = Math.max(0, ...live.map((p) => Number(p.id.slice(6)) + 2));
    const want = top ? `pkg-a-1.0-${top}.noarch` : "pkg-a-1.0-1.noarch";
    for (const h of HOSTS) expect(rpmQ(c.agents.get(h)!.root, "pkg-a"), h).to.equal(want);
  };

  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-chaos-crash-"));
    const feed = await buildBaseFeed();
    for (let k = 0; k < 4; k++) await patchFile(k);
    c = await startChaosCluster({
      hosts: [
        { hostname: "controller-0", personality: "controller" },
        { hostname: "controller-1", personality: "controller" },
        { hostname: "compute-0", personality: "worker" },
      ],
      baseFeed: feed.dir,
      controller: { extraArgs: ["--time-scale", "0.01"] },
    });
  });
  after(async () => {
    await c?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it(`${KILLS} kills across upload, apply, remove, host-install, commit and strategy apply: consistent store, agents reconnect, operation completes`, async () => {
    const started = Date.now();
    const kills = new Map<string, number>();
    const where = new Map<string, number>();
    const reconnectMs: number[] = [];
    const restartMs: number[] = [];
    const log: string[] = [];
    // A seeded shuffle of the operations, each about KILLS/6 times.
    const plan: Op[] = Array.from({ length: KILLS }, (_, i) => OPS[i % OPS.length]!);
    for (let i = plan.length - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [plan[i], plan[j]] = [plan[j]!, plan[i]!];
    }
    for (let round = 0; round < KILLS; round++) {
      const op = plan[round]!;
      const fp = r.chance(0.4) ? r.pick(FAILPOINTS[op]) : undefined;
      // ---- set up the precondition (no kill yet)
      let target = "";
      let strategyUuid = "";
      switch (op) {
        case "upload":
          break;
        case "apply":
          target = (await byState(RepoState.REPO_STATE_AVAILABLE))[0] ?? (await upload());
          break;
        case "remove": {
          target = (await byState(RepoState.REPO_STATE_APPLIED))[0] ?? "";
          if (!target) {
            target = await upload();
            await c.clients.patches.applyPatches({ patchIds: [target], all: false, skipSemantic: false });
          }
          break;
        }
        case "host-install":
        case "strategy-apply": {
          const hs = await c.waitHosts((x) => allConnected(x) && x.every((h) => h.patchCurrent !== PatchCurrent.PATCH_CURRENT_PENDING));
          if (hs.every((h) => h.patchCurrent === PatchCurrent.PATCH_CURRENT_YES)) {
            // A new patch (the highest pkg-a so far) makes every host out of date.
            const fresh = await upload();
            await c.clients.patches.applyPatches({ patchIds: [fresh], all: false, skipSemantic: false });
            await c.waitHosts((x) => x.every((h) => h.patchCurrent === PatchCurrent.PATCH_CURRENT_NO));
          }
          target = r.pick(HOSTS);
          if (op === "strategy-apply") {
            await c.clients.orchestration.createStrategy({});
            const b = await waitStrategy(["ready-to-apply", "build-failed"]);
            expect(b.state, b.buildPhase?.reason).to.equal("ready-to-apply");
            strategyUuid = b.uuid;
          }
          break;
        }
        case "commit": {
          // Commit needs an applied patch installed everywhere.
          if (!(await byState(RepoState.REPO_STATE_APPLIED)).length) {
            const avail = (await byState(RepoState.REPO_STATE_AVAILABLE))[0] ?? (await upload());
            await c.clients.patches.applyPatches({ patchIds: [avail], all: false, skipSemantic: false });
          }
          await installAll();
          target = (await byState(RepoState.REPO_STATE_APPLIED)).at(-1)!;
          break;
        }
      }
      // ---- arm the failpoint (restart with it), then run the operation and kill
      if (fp) {
        await c.kill();
        await c.start(fp);
        await c.waitHosts(allConnected);
      }
      let opId = "";
      const call = (async () => {
        switch (op) {
          case "upload":
            target = patchId(nextPatch);
            await upload();
            return;
          case "apply":
            await c.clients.patches.applyPatches({ patchIds: [target], all: false, skipSemantic: false });
            return;
          case "remove":
            await c.clients.patches.removePatches({ patchIds: [target], skipSemantic: false, skipAppCheck: false, removeUnremovable: false });
            return;
          case "host-install":
            opId = (await c.clients.hosts.installHostAsync({ host: target, force: false })).operationId;
            await waitOp(opId);
            return;
          case "commit":
            await c.clients.patches.commitPatches({ patchIds: [target], all: false, release: "", dryRun: false });
            return;
          case "strategy-apply":
            await c.clients.orchestration.applyStrategy({});
            await waitStrategy(["applied", "apply-failed", "aborted"], 240_000, false);
            return;
        }
      })().then(
        () => "completed",
        (e: Error) => `failed: ${e.message.slice(0, 80)}`,
      );
      let at: string;
      if (fp) {
        const died = await Promise.race([c.exited().then(() => true), new Promise<boolean>((res) => setTimeout(() => res(false), 30_000))]);
        at = died ? `failpoint ${fp}` : `failpoint ${fp} not reached`;
        await c.kill();
      } else {
        const delay = op === "upload" ? r.int(80) : op === "host-install" ? r.int(350) : op === "strategy-apply" ? r.int(2500) : r.int(12);
        await new Promise((res) => setTimeout(res, delay));
        await c.kill();
        const outcome = await Promise.race([call, new Promise<string>((res) => setTimeout(() => res("pending"), 20))]);
        at = outcome === "completed" ? `after ${delay} ms (call had completed)` : `${delay} ms into the call`;
      }
      const outcome = await call;
      bump(kills, op);
      bump(where, `${op}:${fp ? (at.endsWith("not reached") ? "failpoint-not-reached" : "failpoint") : at.includes("completed") ? "after-completion" : "mid-call"}`);
      // ---- the store is consistent while the controller is down
      const problems = checkStore(c.dataDir, { allowTmp: true });
      expect(problems, `round ${round} (${op}, ${at})`).to.deep.equal([]);
      // ---- restart; agents reconnect
      const t0 = Date.now();
      await c.start();
      restartMs.push(Date.now() - t0);
      const t1 = Date.now();
      await c.waitHosts(allConnected, 60_000);
      reconnectMs.push(Date.now() - t1);
      // ---- complete the interrupted operation
      switch (op) {
        case "upload": {
          const p = (await patches()).find((x) => x.id === target);
          if (!p) await c.clients.patches.uploadPatch(slowUpload(patchFiles[Number(target.slice(6))]!));
          const again = (await patches()).find((x) => x.id === target)!;
          expect(again.repoState).to.equal(RepoState.REPO_STATE_AVAILABLE);
          expect(again.contents).to.have.length(1);
          break;
        }
        case "apply":
          if ((await byState(RepoState.REPO_STATE_AVAILABLE)).includes(target))
            await c.clients.patches.applyPatches({ patchIds: [target], all: false, skipSemantic: false });
          expect(await byState(RepoState.REPO_STATE_APPLIED)).to.include(target);
          break;
        case "remove":
          if ((await byState(RepoState.REPO_STATE_APPLIED)).includes(target)) {
            await c.waitHosts((x) => x.every((h) => h.agentState !== AgentState.AGENT_STATE_INSTALLING));
            await c.clients.patches.removePatches({ patchIds: [target], skipSemantic: false, skipAppCheck: false, removeUnremovable: false });
          }
          expect(await byState(RepoState.REPO_STATE_AVAILABLE)).to.include(target);
          break;
        case "host-install":
          if (opId) {
            // The operation reaches a terminal state after the restart (done, or failed with a reason).
            const last = await waitOp(opId);
            expect(last.terminal, JSON.stringify(last)).to.equal(true);
          }
          await installAll();
          await expectRootsMatchRepo();
          break;
        case "commit":
          if (!(await byState(RepoState.REPO_STATE_COMMITTED)).includes(target))
            await c.clients.patches.commitPatches({ patchIds: [target], all: false, release: "", dryRun: false });
          expect(await byState(RepoState.REPO_STATE_COMMITTED)).to.include(target);
          break;
        case "strategy-apply": {
          // A restarted controller resumes the strategy; it ends applied, or failed/aborted (then
          // the hosts are installed directly).
          const s = await waitStrategy(["applied", "apply-failed", "aborted", "abort-failed", "ready-to-apply"]);
          expect(s.uuid).to.equal(strategyUuid);
          if (s.state === "ready-to-apply") {
            await c.clients.orchestration.applyStrategy({});
            await waitStrategy(["applied", "apply-failed", "aborted"]);
          }
          const end = (await strategy())!;
          if (end.state !== "applied") {
            log.push(`round ${round}: strategy ended ${end.state}: ${end.applyPhase?.reason}`);
            if (process.env.CHAOS_VERBOSE) console.log(`      ${log.at(-1)}`);
          }
          await c.clients.orchestration.deleteStrategy({ force: true });
          await installAll();
          await expectRootsMatchRepo();
          break;
        }
      }
      log.push(`round ${round}: ${op}${target ? ` ${target}` : ""} killed ${at}; call ${outcome}`);
      if (process.env.CHAOS_VERBOSE) console.log(`      ${log.at(-1)}`);
      if (round % 10 === 9) {
        // A full check with a cleanly stopped controller (no temp files may remain).
        c.clients.close();
        expect(await c.controller.stop()).to.equal(0);
        expect(checkStore(c.dataDir), `after round ${round}`).to.deep.equal([]);
        await c.start();
        await c.waitHosts(allConnected, 60_000);
      }
    }
    // In the end: every host current, roots match, store clean.
    await installAll();
    await expectRootsMatchRepo();
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    const pct = (xs: number[], p: number) => sorted(xs)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
    const summary =
      `${KILLS} kills (seed ${seed}): ${OPS.map((o) => `${kills.get(o) ?? 0} during ${o}`).join(", ")}; all recovered. ` +
      `Where: ${tally(where)}. Restart p50 ${pct(restartMs, 50)} ms, max ${Math.max(...restartMs)} ms; ` +
      `agents reconnected p50 ${pct(reconnectMs, 50)} ms, max ${Math.max(...reconnectMs)} ms; ${((Date.now() - started) / 1000).toFixed(0)} s`;
    if (!process.env.CHAOS_VERBOSE)
      console.log(
        log
          .filter((l) => l.includes("strategy ended"))
          .map((l) => `      ${l}`)
          .join("\n"),
      );
    console.log(`      ${summary}`);
  });
});
