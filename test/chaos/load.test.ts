import { expect } from "chai";
import { spawn } from "node:child_process";
import { setMaxListeners } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { ClientError, Metadata, Status, createChannel, createClient, type Channel } from "nice-grpc";
import { buildBaseFeed, buildPayloadRpm } from "../lib/base-feed.js";
import { REPO_ROOT, startController, type ControllerHandle } from "../lib/controller-harness.js";
import { rawClients, uploadStream } from "../lib/grpc-clients.js";
import { devKeyPem } from "../lib/patch-fixtures.js";
import { buildPatch } from "../../server/domain/patchfile/index.js";
import { prng, seedFromEnv } from "../lib/chaos-prng.js";
import { PatchServiceDefinition, QueryFilter } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { HostServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/host_service.js";
import { InstallPhase, PatchCurrent } from "../../clients/sdk/src/gen/swpatch/v1/types.js";

const HOSTS = Number(process.env.LOAD_HOSTS ?? 100);
const QUERY_CLIENTS = Number(process.env.LOAD_CLIENTS ?? 200);
const WATCHERS = Number(process.env.LOAD_WATCHERS ?? 100);
const MIN_SECONDS = Number(process.env.LOAD_SECONDS ?? 60);
const IN_FLIGHT = 25;

/**
 * Load on loopback: one agent process simulating 100 hosts (each a real rpm root) installs an
 * in-service patch, then removes it again, while 200 clients (each on its own connection) query
 * in a loop and 100 watchers stream WatchEvents, for at least 60 s. No call may fail, every
 * install ends done, and every watcher receives exactly the events of the log over its window,
 * in order, without loss or repeat (checked against a replay of the log). Prints p50/p99 latency.
 */
describe("chaos: load (200 querying clients, 100 installing hosts, 100 watchers)", function () {
  this.timeout(900_000);
  let ctl: ControllerHandle;
  let work: string;
  let agent: ReturnType<typeof spawn> | undefined;
  let agentLog = "";
  let provisionS = 0;

  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-load-"));
    const feed = await buildBaseFeed();
    const upd = await buildPayloadRpm({ name: "sysinv", version: "1.0", release: "7" });
    await buildPatch({ id: "LOAD_0001", swVersion: "19.09", status: "REL", rebootRequired: false, rpms: [upd.file], signingKey: devKeyPem(), outputDir: work });
    ctl = await startController({ baseFeed: feed.dir });
    const t0 = performance.now();
    agent = spawn(
      process.execPath,
      [
        path.join(REPO_ROOT, "bin/sw-patch-agent"),
        "--controller",
        ctl.endpoint,
        "--hostname",
        "load",
        "--personality",
        "worker",
        "--root",
        path.join(work, "roots"),
        "--simulate",
        String(HOSTS),
        "--base-feed",
        feed.dir,
        "--token-file",
        path.join(ctl.dataDir, "admin.token"),
        "--log-level",
        "error",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    agent.stderr!.on("data", (d: Buffer) => (agentLog += d.toString()));
    const c = rawClients(ctl);
    try {
      for (;;) {
        const hs = (await c.hosts.listHosts({})).hosts;
        if (hs.length === HOSTS && hs.every((h) => h.connected && h.patchCurrent === PatchCurrent.PATCH_CURRENT_YES)) break;
        if (agent.exitCode !== null) throw new Error(`agent exited ${agent.exitCode}: ${agentLog}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      c.close();
    }
    provisionS = (performance.now() - t0) / 1000;
    console.log(`      ${HOSTS} simulated hosts provisioned (base feed into ${HOSTS} rpm roots) and connected in ${provisionS.toFixed(1)} s`);
  });

  after(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill("SIGTERM");
      await new Promise((r) => agent!.once("exit", r));
    }
    await ctl?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("no errors, no lost or repeated event, p99 latency printed", async () => {
    const seed = seedFromEnv(0x10ad);
    const md = { "*": { metadata: Metadata({ authorization: `Bearer ${ctl.adminToken}` }) } };
    const channels: Channel[] = [];
    const admin = rawClients(ctl);
    const startSeq = (await admin.patches.getControllerInfo({})).lastEventSequence;
    const stop = new AbortController();
    setMaxListeners(0, stop.signal);
    const clientsStop = new AbortController();
    const errors: string[] = [];

    // 100 watchers (10 connections, 10 streams each).
    const watcherChannels = Array.from({ length: Math.ceil(WATCHERS / 10) }, () => createChannel(ctl.endpoint));
    channels.push(...watcherChannels);
    const seen: number[][] = Array.from({ length: WATCHERS }, () => []);
    // A watcher that falls more than --watch-buffer events behind is ended RESOURCE_EXHAUSTED
    // (issue 16.4); like the SDK, it watches again from the last event it received.
    let resumes = 0;
    const watchers = seen.map(async (list, i) => {
      const cl = createClient(PatchServiceDefinition, watcherChannels[i % watcherChannels.length]!, md);
      let after = startSeq;
      for (;;) {
        try {
          for await (const m of cl.watchEvents({ afterSequence: after, kinds: [], patchId: "", hostname: "", operationId: "" }, { signal: stop.signal })) {
            list.push(m.event!.sequence);
            after = m.event!.sequence;
          }
          return;
        } catch (e) {
          if (stop.signal.aborted) return;
          if (e instanceof ClientError && e.code === Status.RESOURCE_EXHAUSTED && e.details.includes("fell behind")) {
            resumes++;
            continue;
          }
          errors.push(`watcher ${i}: ${(e as Error).message}`);
          return;
        }
      }
    });

    // 200 query clients, each on its own connection, with a short seeded think time.
    const latencies: number[] = [];
    let queries = 0;
    const hostnames = Array.from({ length: HOSTS }, (_, i) => `load-${i}`);
    const clients = Array.from({ length: QUERY_CLIENTS }, (_, i) => {
      const ch = createChannel(ctl.endpoint);
      channels.push(ch);
      const p = createClient(PatchServiceDefinition, ch, md);
      const h = createClient(HostServiceDefinition, ch, md);
      const rr = prng(seed + i + 1);
      return (async () => {
        await new Promise((res) => setTimeout(res, rr.int(200)));
        while (!stop.signal.aborted && !clientsStop.signal.aborted) {
          const k = rr.int(6);
          const t = performance.now();
          try {
            if (k === 0) await p.queryPatches({ filter: QueryFilter.QUERY_FILTER_ALL, release: "" });
            else if (k === 1) await h.listHosts({});
            else if (k === 2) await h.getHost({ host: rr.pick(hostnames) });
            else if (k === 3) await p.showPatches({ patchIds: ["LOAD_0001"] });
            else if (k === 4) await p.getControllerInfo({});
            else await h.listAlarms({});
            latencies.push(performance.now() - t);
            queries++;
          } catch (e) {
            if (!stop.signal.aborted) errors.push(`client ${i} (query ${k}): ${(e as Error).message}`);
          }
          await new Promise((res) => setTimeout(res, 50 + rr.int(150)));
        }
      })();
    });

    // 100 hosts install (apply, install all; remove, install all) while the above runs; repeat until MIN_SECONDS.
    const t0 = performance.now();
    let rounds = 0;
    let installs = 0;
    let installFailures = 0;
    const installTimes: number[] = [];
    const installAll = async () => {
      const t = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < hostnames.length) {
            const host = hostnames[next++]!;
            const { operationId } = await admin.hosts.installHostAsync({ host, force: false });
            let last;
            for await (const x of admin.hosts.watchOperation({ operationId })) last = x.progress;
            installs++;
            if (last?.phase !== InstallPhase.INSTALL_PHASE_DONE) {
              installFailures++;
              errors.push(`install ${host}: ${last?.message}`);
            }
          }
        }),
      );
      installTimes.push((performance.now() - t) / 1000);
    };
    await admin.patches.uploadPatch(uploadStream(path.join(work, "LOAD_0001.patch")));
    do {
      await admin.patches.applyPatches({ patchIds: ["LOAD_0001"], all: false, skipSemantic: false });
      await installAll();
      await admin.patches.removePatches({ patchIds: ["LOAD_0001"], skipSemantic: false, skipAppCheck: false, removeUnremovable: false });
      await installAll();
      rounds++;
    } while ((performance.now() - t0) / 1000 < MIN_SECONDS);
    const hs = (await admin.hosts.listHosts({})).hosts;
    expect(hs.filter((h) => !h.connected || h.patchCurrent !== PatchCurrent.PATCH_CURRENT_YES).map((h) => h.hostname)).to.deep.equal([]);
    // The load is over: stop the query clients, let the watchers catch up with the last event
    // (this process consumes 100 streams; it may trail the controller), then stop everything.
    const seconds = (performance.now() - t0) / 1000;
    clientsStop.abort();
    await Promise.all(clients);
    const endSeq = (await admin.patches.getControllerInfo({})).lastEventSequence;
    const catchUp = performance.now();
    const until = Date.now() + 120_000;
    while (seen.some((l) => (l.at(-1) ?? startSeq) < endSeq) && Date.now() < until) await new Promise((res) => setTimeout(res, 100));
    const catchUpS = (performance.now() - catchUp) / 1000;
    stop.abort();
    await Promise.all(watchers);

    // The log over the window, replayed once: every watcher must have exactly these sequences.
    const replay: number[] = [];
    const kindOf = new Map<number, string>();
    const ac = new AbortController();
    try {
      for await (const m of admin.patches.watchEvents({ afterSequence: startSeq, kinds: [], patchId: "", hostname: "", operationId: "" }, { signal: ac.signal })) {
        replay.push(m.event!.sequence);
        kindOf.set(m.event!.sequence, `${m.event!.kind} ${m.event!.hostname} ${m.event!.message}`.slice(0, 80));
        if (m.event!.sequence >= endSeq) ac.abort();
      }
    } catch {
      /* aborted */
    }
    let contiguous = true;
    for (let i = 1; i < replay.length; i++) if (replay[i] !== replay[i - 1]! + 1) contiguous = false;
    const problems: string[] = [];
    seen.forEach((list, i) => {
      const upTo = list.filter((s) => s <= endSeq);
      const dup = upTo.length - new Set(upTo).size;
      const ordered = upTo.every((s, k) => k === 0 || s > upTo[k - 1]!);
      if (dup || !ordered || upTo.length !== replay.length || upTo.some((s, k) => s !== replay[k])) {
        const firstMissing = replay.find((s, k) => upTo[k] !== s);
        problems.push(
          `watcher ${i}: ${upTo.length} events (log ${replay.length}), ${dup} repeated, ordered ${ordered}, last ${upTo.at(-1)}, first missing ${firstMissing} (${kindOf.get(firstMissing ?? -1) ?? "?"})`,
        );
      }
    });
    admin.close();
    for (const ch of channels) ch.close();

    const sorted = [...latencies].sort((a, b) => a - b);
    const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
    const summary =
      `load: ${seconds.toFixed(0)} s, ${HOSTS} hosts x ${rounds * 2} installs each (${installs} installs, ${installFailures} failed; ` +
      `all ${HOSTS} hosts per pass in ${installTimes.map((t) => t.toFixed(1)).join("/")} s); ` +
      `${QUERY_CLIENTS} clients made ${queries} queries (${(queries / seconds).toFixed(0)}/s), latency p50 ${pct(50).toFixed(1)} ms, ` +
      `p99 ${pct(99).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms; ${WATCHERS} watchers each got ${replay.length} events ` +
      `(seq ${startSeq + 1}..${endSeq}, contiguous ${contiguous}), ${problems.length} with loss/repeat; ${errors.length} errors; ` +
      `provisioning ${provisionS.toFixed(1)} s; watchers caught up ${catchUpS.toFixed(1)} s after the load; ${resumes} fell-behind resumes`;
    console.log(`      ${summary}`);
    expect(errors.slice(0, 20), summary).to.deep.equal([]);
    expect(problems.slice(0, 20), summary).to.deep.equal([]);
    expect(replay.length).to.be.greaterThan(HOSTS * 4);
    expect(seconds).to.be.at.least(MIN_SECONDS);
  });
});
