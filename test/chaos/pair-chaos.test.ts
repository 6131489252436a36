/**
 * Chaos on the controller pair (issue 19): two supervised controllers on one PostgreSQL database (test/lib/pair-cluster.ts),
 * three real rpm agents given both endpoints, a reader load and a watcher running throughout.
 *
 * 1. PAIR_KILLS (default 30) kill -9s of whichever controller is active, at seeded random moments of uploads, applies,
 *    removes, host-installs and strategy applies: after each, exactly one controller is active within 5 s, the store's
 *    rows are consistent (pg-store-check.ts), and every call that returned OK is visible (patch states as acknowledged,
 *    the install operation and the strategy apply found).
 * 2. Split brain: SIGSTOP the active past its lease; the standby takes over and changes state; calls queued on the old
 *    one meanwhile; SIGCONT: none of its writes lands (the rows say so), its calls fail, it steps down.
 * 3. A PostgreSQL restart mid-run: calls in flight fail UNAVAILABLE and succeed when retried; one active again; nothing lost.
 *
 * CHAOS_SEED overrides the seed (printed).
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { createReadStream, mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ClientError, Status } from "nice-grpc";
import { buildBaseFeed } from "../lib/base-feed.js";
import { prng, seedFromEnv } from "../lib/chaos-prng.js";
import { rawClients } from "../lib/grpc-clients.js";
import { buildTestPatch } from "../lib/patch-fixtures.js";
import { checkPgStore, storedPatchStates } from "../lib/pg-store-check.js";
import { type PostgresServer, startPostgresOrSkip } from "../lib/postgres.js";
import { startPairCluster, type PairCluster } from "../lib/pair-cluster.js";

/** What a leader logs when it stops acting (its lease not renewed in time, or lost to the peer). */
const STEPPED_DOWN_LOG = "stopped acting as the active controller";
import { PatchCurrent, QueryFilter, RepoState, type Event, type UploadPatchRequest } from "../../clients/sdk/src/index.js";

const KILLS = Number(process.env.PAIR_KILLS ?? 30);
const OPS = ["upload", "apply", "remove", "host-install", "strategy-apply"] as const;
type Op = (typeof OPS)[number];
const HOSTS = ["controller-0", "controller-1", "compute-0"];
/** The takeover target after a kill -9 (issue 19). */
const TAKEOVER_MS = 5000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const codeOf = (e: unknown) => (e instanceof ClientError || (e as { code?: unknown })?.code !== undefined ? (e as ClientError).code : undefined);

describe("chaos: the controller pair on PostgreSQL (kill -9 of the active, split brain, database restart)", function () {
  this.timeout(600_000);
  const seed = seedFromEnv(0x9a1e);
  const r = prng(seed);
  let pg: PostgresServer | undefined;
  let pair: PairCluster | undefined;
  let work = "";
  let url = "";
  const files: string[] = [];
  /** Acknowledged repo state per patch (the last call on it that returned OK); `maybe`: a call whose outcome is unknown. */
  const ledger = new Map<string, { state: string; maybe?: string }>();
  const ackedOps: string[] = [];
  const seen: Event[] = [];
  const stopLoad = new AbortController();
  let load: Promise<unknown> | undefined;
  let watcher: Promise<unknown> | undefined;
  const loadCalls = { ok: 0, failed: 0 };

  const patchId = (k: number) => `PAIRCHAOS_${String(k).padStart(3, "0")}`;
  /** Patch k: in-service pkg-a 1.0-(k+2) with 512 KiB of incompressible data (an upload takes a while). */
  const patchFile = async (k: number) => {
    while (files.length <= k) {
      const i = files.length;
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
              { path: "/usr/share/pkg-a/blob", content: randomBytes(512 * 1024) },
            ],
            payload: "w0.gzdio",
          },
        ],
      } as never);
      files.push(p.path);
    }
    return files[k]!;
  };
  async function* slowUpload(file: string, pauseMs = 5): AsyncGenerator<UploadPatchRequest> {
    yield { payload: { $case: "header", value: { fileName: path.basename(file), sizeBytes: 0 } } };
    for await (const chunk of createReadStream(file, { highWaterMark: 32 * 1024 })) {
      yield { payload: { $case: "chunk", value: chunk as Buffer } };
      await sleep(pauseMs);
    }
  }
  /** Runs `fn` again while it fails UNAVAILABLE (failing over), up to `ms`. */
  const retry = async <T>(fn: () => Promise<T>, ms = 30_000): Promise<T> => {
    const until = Date.now() + ms;
    for (;;) {
      try {
        return await fn();
      } catch (e) {
        if (codeOf(e) !== Status.UNAVAILABLE || Date.now() > until) throw e;
        await sleep(100);
      }
    }
  };
  const sdk = () => pair!.sdk;
  const patches = async () => (await retry(() => sdk().patches.queryPatches({ filter: QueryFilter.QUERY_FILTER_ALL, release: "" }))).patches;
  const byState = async (s: RepoState) =>
    (await patches())
      .filter((p) => p.repoState === s)
      .map((p) => p.id)
      .sort();
  let nextPatch = 0;
  const upload = async () => {
    const k = nextPatch++;
    const file = await patchFile(k);
    ledger.set(patchId(k), { state: "", maybe: "Available" });
    await sdk().patches.uploadPatch(slowUpload(file));
    ledger.set(patchId(k), { state: "Available" });
    return patchId(k);
  };
  const apply = async (id: string) => {
    ledger.set(id, { state: ledger.get(id)?.state ?? "Available", maybe: "Applied" });
    await sdk().patches.applyPatches({ patchIds: [id], all: false, skipSemantic: false });
    ledger.set(id, { state: "Applied" });
  };
  const remove = async (id: string) => {
    ledger.set(id, { state: ledger.get(id)?.state ?? "Applied", maybe: "Available" });
    await sdk().patches.removePatches({ patchIds: [id], skipSemantic: false, skipAppCheck: false, removeUnremovable: false });
    ledger.set(id, { state: "Available" });
  };
  const strategy = async () => (await retry(() => sdk().orchestration.getStrategy({}))).strategy;
  const waitStrategy = async (want: string[], ms = 120_000) => {
    const until = Date.now() + ms;
    for (;;) {
      const s = await strategy().catch(() => undefined);
      if (s && want.includes(s.state)) return s;
      if (Date.now() > until) throw new Error(`strategy not ${want.join("|")}: ${s?.state} ${s?.applyPhase?.reason ?? s?.buildPhase?.reason ?? ""}`);
      await sleep(150);
    }
  };
  /** No strategy in progress: waits for a running one to end, then deletes it. */
  const clearStrategy = async () => {
    const s = await strategy().catch(() => undefined);
    if (!s) return;
    if (["applying", "building", "aborting"].includes(s.state))
      await waitStrategy(["applied", "apply-failed", "aborted", "ready-to-apply", "build-failed", "abort-failed"]);
    await retry(() => sdk().orchestration.deleteStrategy({ force: true })).catch(() => undefined);
  };
  /** At least one host out of date (a fresh patch applied when all are current). */
  const someHostBehind = async () => {
    const hs = await pair!.waitHosts((x) => x.length === HOSTS.length && x.every((h) => h.connected && h.patchCurrent !== PatchCurrent.PATCH_CURRENT_PENDING));
    if (hs.some((h) => h.patchCurrent === PatchCurrent.PATCH_CURRENT_NO))
      return hs.filter((h) => h.patchCurrent === PatchCurrent.PATCH_CURRENT_NO).map((h) => h.hostname);
    const id = await retry(upload);
    await retry(() => apply(id));
    await pair!.waitHosts((x) => x.every((h) => h.patchCurrent === PatchCurrent.PATCH_CURRENT_NO));
    return HOSTS;
  };

  /** Every acknowledged patch state is stored and served; an unknown outcome may be either. Resolves `maybe`s to what is stored. */
  const expectNothingLost = async (context: string) => {
    const stored = await storedPatchStates(url);
    const served = new Map(
      (await patches()).map((p) => [
        p.id,
        p.repoState === RepoState.REPO_STATE_APPLIED ? "Applied" : p.repoState === RepoState.REPO_STATE_AVAILABLE ? "Available" : String(p.repoState),
      ]),
    );
    for (const [id, want] of ledger) {
      const got = stored.get(id) ?? "";
      const ok = got === want.state || (want.maybe !== undefined && got === want.maybe);
      expect(
        ok,
        `${context}: patch ${id} is ${got || "missing"} in the store, acknowledged ${want.state || "nothing"}${want.maybe ? ` (or ${want.maybe})` : ""}`,
      ).to.equal(true);
      expect(served.get(id) ?? "", `${context}: patch ${id} served by the active`).to.equal(got);
      if (got) ledger.set(id, { state: got });
      else ledger.delete(id);
    }
    for (const op of ackedOps)
      expect((await retry(() => sdk().hosts.getOperation({ operationId: op }))).progress?.operationId, `${context}: operation ${op}`).to.equal(op);
  };

  before(async function () {
    pg = await startPostgresOrSkip(this);
    url = await pg.createDatabase();
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-pairchaos-"));
    const feed = await buildBaseFeed();
    for (let k = 0; k < 4; k++) await patchFile(k);
    pair = await startPairCluster({
      url,
      hosts: HOSTS.map((h) => ({ hostname: h, personality: h.startsWith("controller") ? ("controller" as const) : ("worker" as const) })),
      baseFeed: feed.dir,
      controllerArgs: ["--time-scale", "0.01"],
    });
    console.log(`      seed 0x${seed.toString(16)} (CHAOS_SEED), ${KILLS} kills`);
    // Load: reads through the SDK (both endpoints) all along, and a watcher of every event.
    load = (async () => {
      while (!stopLoad.signal.aborted) {
        try {
          await pair!.sdk.patches.queryPatches({ filter: QueryFilter.QUERY_FILTER_ALL, release: "" });
          await pair!.sdk.hosts.listHosts({});
          loadCalls.ok++;
        } catch {
          loadCalls.failed++;
          await sleep(50);
        }
      }
    })();
    watcher = (async () => {
      for await (const e of pair!.sdk.watchEvents({ afterSequence: 0, signal: stopLoad.signal, initialBackoffMs: 50, maxBackoffMs: 500 })) seen.push(e);
    })().catch((e: unknown) => e);
  });

  after(async () => {
    stopLoad.abort();
    await load;
    await watcher;
    await pair?.close();
    if (work) rmSync(work, { recursive: true, force: true });
    await pg?.stop();
  });

  it(`${KILLS} kill -9s of the active controller during uploads, applies, removes, installs and strategy applies: one active within 5 s, store consistent, nothing acknowledged lost`, async () => {
    const plan: Op[] = Array.from({ length: KILLS }, (_, i) => OPS[i % OPS.length]!);
    for (let i = plan.length - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [plan[i], plan[j]] = [plan[j]!, plan[i]!];
    }
    const takeoverMs: number[] = [];
    const slow: string[] = [];
    const outcomes: string[] = [];
    for (let round = 0; round < KILLS; round++) {
      const op = plan[round]!;
      // ---- the precondition, no kill yet
      let run: () => Promise<unknown>;
      switch (op) {
        case "upload":
          run = upload;
          break;
        case "apply": {
          const id = (await byState(RepoState.REPO_STATE_AVAILABLE))[0] ?? (await retry(upload));
          run = () => apply(id);
          break;
        }
        case "remove": {
          let id = (await byState(RepoState.REPO_STATE_APPLIED))[0];
          if (!id) {
            id = await retry(upload);
            await retry(() => apply(id!));
          }
          run = () => remove(id!);
          break;
        }
        case "host-install": {
          await clearStrategy();
          const host = r.pick(await someHostBehind());
          run = async () => ackedOps.push((await sdk().hosts.installHostAsync({ host, force: false })).operationId);
          break;
        }
        case "strategy-apply": {
          await clearStrategy();
          await someHostBehind();
          await retry(() => sdk().orchestration.createStrategy({}));
          const built = await waitStrategy(["ready-to-apply", "build-failed"]);
          expect(built.state, built.buildPhase?.reason).to.equal("ready-to-apply");
          run = async () => {
            await sdk().orchestration.applyStrategy({});
            ackedOps.push(`strategy:${built.uuid}`);
          };
          break;
        }
      }
      // ---- the operation, and a kill -9 of the active at a seeded moment of it
      const delayMs = r.range(0, 1200);
      const victim = (await pair!.waitOneActive()).member;
      const running = run().then(
        () => "ok",
        (e: unknown) => `failed ${Status[codeOf(e) as Status] ?? ""} ${(e as Error).message.slice(0, 100)}`,
      );
      await sleep(delayMs);
      const t0 = Date.now();
      await pair!.kill(victim);
      const { member } = await pair!.waitOneActive(30_000);
      const ms = Date.now() - t0;
      takeoverMs.push(ms);
      if (ms > TAKEOVER_MS) slow.push(`round ${round} (${op}): ${ms} ms`);
      const outcome = await running;
      outcomes.push(`${op}@${delayMs}ms:${outcome.split(" ")[0]}`);
      // ---- after it: the store, and every acknowledged call
      const problems = await checkPgStore(url);
      expect(problems, `round ${round} (${op} killed ${victim.id} after ${delayMs} ms; ${member.id} active): store`).to.deep.equal([]);
      const strategyUuid = ackedOps.find((o) => o.startsWith("strategy:"));
      if (op === "strategy-apply" && outcome === "ok" && strategyUuid) {
        const s = await strategy();
        expect(s?.uuid, `round ${round}: the applied strategy`).to.equal(strategyUuid.slice("strategy:".length));
        expect(s?.state, `round ${round}: an acknowledged strategy apply`).to.not.be.oneOf(["ready-to-apply", "building", "build-failed"]);
      }
      ackedOps.splice(0, ackedOps.length, ...ackedOps.filter((o) => !o.startsWith("strategy:")));
      await expectNothingLost(`round ${round} (${op} killed ${victim.id} after ${delayMs} ms)`);
    }
    const sorted = [...takeoverMs].sort((a, b) => a - b);
    console.log(
      `      takeover after kill -9: p50 ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted[sorted.length - 1]} ms over ${sorted.length}; restarts ${pair!.members.map((m) => `${m.id} ${m.restarts}`).join(", ")}; load calls ${loadCalls.ok} ok / ${loadCalls.failed} failed`,
    );
    console.log(`      ${outcomes.join(" ")}`);
    expect(slow, `takeovers over ${TAKEOVER_MS} ms (seed 0x${seed.toString(16)})`).to.deep.equal([]);
    // The hosts end up current: the work interrupted by the kills completes.
    await clearStrategy();
    for (const h of HOSTS) {
      const cur = (await retry(() => sdk().hosts.getHost({ host: h }))).host!;
      if (cur.patchCurrent !== PatchCurrent.PATCH_CURRENT_YES) await retry(() => sdk().hosts.installHostAsync({ host: h, force: false }));
    }
    await pair!.waitHosts((hs) => hs.every((h) => h.connected && h.patchCurrent === PatchCurrent.PATCH_CURRENT_YES), 120_000);
  });

  it("split brain: the active SIGSTOPped past its lease; the standby takes over and changes state; on SIGCONT none of the old one's writes lands and it steps down", async () => {
    await clearStrategy();
    const old = (await pair!.waitOneActive()).member;
    const peer = pair!.members.find((m) => m !== old)!;
    const epoch = (await pair!.info(old)).epoch;
    const applied = (await byState(RepoState.REPO_STATE_APPLIED))[0] ?? "";
    const target = await retry(upload);
    pair!.supervise = false;
    old.handle.proc.kill("SIGSTOP");
    let stoppedAt = Date.now();
    try {
      // Calls sent straight to the stopped controller wait in its socket: a delete and an apply.
      const direct = rawClients(old.endpoint, pair!.token);
      const del = direct.patches.deletePatches({ patchIds: [target] }).then(
        () => "ok",
        (e: unknown) => Status[codeOf(e) as Status] ?? String(e),
      );
      const app = applied
        ? direct.patches.removePatches({ patchIds: [applied], skipSemantic: false, skipAppCheck: false, removeUnremovable: false }).then(
            () => "ok",
            (e: unknown) => Status[codeOf(e) as Status] ?? String(e),
          )
        : Promise.resolve("none");
      // The standby takes over (the old one's lease runs out) and changes state (through a client of its own: the
      // SDK's calls wait on the stopped controller, as every client of a frozen process does until its deadline).
      const took = await pair!.waitOneActive(30_000);
      expect(took.member.id).to.equal(peer.id);
      const newEpoch = (await pair!.info(peer)).epoch;
      expect(newEpoch).to.be.greaterThan(epoch);
      const onPeer = rawClients(peer.endpoint, pair!.token);
      const fresh = patchId(nextPatch++);
      await onPeer.patches.uploadPatch(slowUpload(await patchFile(Number(fresh.slice(-3)))));
      await onPeer.patches.applyPatches({ patchIds: [fresh], all: false, skipSemantic: false });
      ledger.set(fresh, { state: "Applied" });
      onPeer.close();
      console.log(
        `      standby active within ${Date.now() - stoppedAt} ms of the SIGSTOP (polled: the stopped one's answer times out after 1 s), epoch ${epoch} -> ${newEpoch}`,
      );
      // Wake the old one.
      old.handle.proc.kill("SIGCONT");
      stoppedAt = 0;
      expect(await del, "delete queued on the old active").to.not.equal("ok");
      expect(await app, "remove queued on the old active").to.not.equal("ok");
      direct.close();
      // None of its writes landed: the rows are what the new active made them.
      const stored = await storedPatchStates(url);
      expect(stored.get(target), `${target} (delete sent to the old active)`).to.equal("Available");
      if (applied) expect(stored.get(applied), `${applied} (remove sent to the old active)`).to.equal("Applied");
      expect(stored.get(fresh)).to.equal("Applied");
      // It steps down: standby (it dropped its domain; it re-reads it from the store if it becomes active again).
      const info = await pair!.info(old).catch((e: unknown) => e as Error);
      if (!(info instanceof Error)) expect([info.role, info.activeControllerId]).to.deep.equal(["standby", peer.id]);
      for (let i = 0; !(old.pastLogs + old.handle.stderr()).includes(STEPPED_DOWN_LOG); i++) {
        expect(i, `${old.id} did not step down:\n${old.handle.stderr().slice(-2000)}`).to.be.lessThan(200);
        await sleep(50);
      }
      expect((await pair!.info(peer)).epoch).to.equal(newEpoch);
      expect(await checkPgStore(url)).to.deep.equal([]);
    } finally {
      if (stoppedAt) old.handle.proc.kill("SIGCONT");
      pair!.supervise = true;
    }
    await expectNothingLost("after the split brain");
  });

  it("a PostgreSQL restart mid-run: calls fail UNAVAILABLE while it is down and succeed when retried; one active again; nothing lost", async () => {
    // Both members up: one active, the other standby (the split brain's old active has been restarted).
    for (const m of pair!.members) await pair!.running(m);
    const active = (await pair!.waitOneActive()).member;
    const standby = pair!.members.find((m) => m !== active)!;
    for (let i = 0; (await pair!.info(standby).catch(() => undefined))?.role !== "standby"; i++) {
      expect(i, `${standby.id} not standby`).to.be.lessThan(300);
      await sleep(50);
    }
    const available = (await byState(RepoState.REPO_STATE_AVAILABLE))[0] ?? (await retry(upload));
    const k = nextPatch++;
    const file = await patchFile(k);
    const whileDown: Record<string, string> = {};
    const timeline: string[] = [];
    let downAt = 0;
    const outcome = (p: Promise<unknown>) =>
      p.then(
        () => "ok",
        (e: unknown) => Status[codeOf(e) as Status] ?? String(e),
      );
    // In flight when the server goes: a slow upload (about 1 s of chunks, the server crashed 300 ms into it).
    const inflight = outcome(sdk().patches.uploadPatch(slowUpload(file, 60)));
    await sleep(300);
    await pg!.restart({
      crash: true,
      whileDown: async () => {
        downAt = Date.now();
        whileDown.apply = await outcome(sdk().patches.applyPatches({ patchIds: [available], all: false, skipSemantic: false }));
        whileDown.query = await outcome(sdk().patches.queryPatches({ filter: QueryFilter.QUERY_FILTER_ALL, release: "" }));
        // The roles while the database is gone, past a lease (3 s): every change, with its time.
        let last = "";
        while (Date.now() - downAt < 5000) {
          const roles = (
            await Promise.all(
              pair!.members.map((m) =>
                pair!.info(m).then(
                  (i) => i.role,
                  () => "down",
                ),
              ),
            )
          ).join(",");
          if (roles !== last) timeline.push(`${((Date.now() - downAt) / 1000).toFixed(1)} s ${roles}`);
          last = roles;
          await sleep(100);
        }
        whileDown.queryLater = await outcome(sdk().patches.queryPatches({ filter: QueryFilter.QUERY_FILTER_ALL, release: "" }, { signal: AbortSignal.timeout(3000) }));
      },
    });
    const upAt = Date.now();
    const flight = await inflight;
    const back = await pair!.waitOneActive(30_000);
    const activeAfterMs = Date.now() - upAt;
    // Retried, the calls succeed.
    await retry(() => apply(available), 30_000);
    const applyAfterMs = Date.now() - upAt;
    console.log(
      `      PostgreSQL down ${upAt - downAt} ms; roles (${pair!.members.map((m) => m.id).join(",")}) ${timeline.join("; ")}; in-flight upload ${flight}; ${JSON.stringify(whileDown)}`,
    );
    console.log(`      after it is back: ${back.member.id} active and serving after ${activeAfterMs} ms, the retried apply committed after ${applyAfterMs} ms`);
    expect(flight, "the upload in flight").to.be.oneOf(["ok", "UNAVAILABLE"]);
    expect(whileDown.apply, "an apply while the database is down").to.equal("UNAVAILABLE");
    ledger.set(patchId(k), flight === "ok" ? { state: "Available" } : { state: "", maybe: "Available" });
    await expectNothingLost("after the PostgreSQL restart");
    if ((await storedPatchStates(url)).get(patchId(k)) === undefined) await retry(() => sdk().patches.uploadPatch(slowUpload(file)));
    ledger.set(patchId(k), { state: "Available" });
    await expectNothingLost("after the retried upload");
    expect(await checkPgStore(url)).to.deep.equal([]);
  });

  it("the watcher that followed everything saw every event once, in order", () => {
    const seqs = seen.map((e) => e.sequence);
    expect(seqs.length).to.be.greaterThan(KILLS);
    const gaps = seqs.flatMap((q, i) => (i > 0 && q !== seqs[i - 1]! + 1 ? [`${seqs[i - 1]}->${q}`] : []));
    expect(gaps, "gaps or duplicates in the watcher's sequence numbers").to.deep.equal([]);
  });
});
