/**
 * `npm run bench -- watch`: the two watch attacks of issue 16 point 4, against the built
 * controller, with figures read from /proc:
 *
 * A. 300 stalled WatchStrategy streams (3 reader tokens x 100, so that all are admitted under
 *    the default per-caller cap) while the strategy changes BENCH_WATCH_CHANGES times:
 *    peak RSS and CPU seconds.
 * B. A burst of 20,000 WatchEvents from sequence 0 over a seeded log of BENCH_WATCH_EVENTS
 *    events, the client leaving 3 s after the controller answered 1 % of them: CPU seconds and
 *    RSS in the 30 s after it left, and whether the controller was idle by then.
 *
 * Each figure is printed with its ratio to the same controller's idle state measured in this
 * run. With BENCH_WATCH_BASELINE_ROOT=DIR (a checkout or copy of another build: DIR/bin and
 * DIR/dist), the same scenario runs against it first and the ratios new/baseline are printed.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setMaxListeners } from "node:events";
import { createChannel, createClient, Metadata, type Channel } from "nice-grpc";
import { Db } from "../../server/storage/sqlite/db.js";
import { migrations } from "../../server/storage/sqlite/migrations/index.js";
import { writeEvent } from "../../server/storage/sqlite/event-store.js";
import { PatchServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { OrchestrationServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/orchestration_service.js";
import { AdminServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/admin_service.js";
import { startBenchController, fmtMB, type BenchController } from "./controller-proc.js";
import type { BenchSuite } from "./main.js";

const WATCHERS = Number(process.env.BENCH_WATCH_STREAMS ?? 300);
const CHANGES = Number(process.env.BENCH_WATCH_CHANGES ?? 600);
const BURST = Number(process.env.BENCH_WATCH_BURST ?? 20_000);
const EVENTS = Number(process.env.BENCH_WATCH_EVENTS ?? 20_000);
const AFTER_S = Number(process.env.BENCH_WATCH_AFTER_S ?? 30);

interface Figures {
  label: string;
  idleRss: number;
  stalledPeakRss: number;
  stalledCpu: number;
  stalledAdmitted: number;
  burstAdmitted: number;
  burstRefused: number;
  afterCpu: number;
  afterRss: number;
  idleAfterS: number | undefined;
}

async function seedEvents(dataDir: string): Promise<void> {
  const db = await Db.open(path.join(dataDir, "sw-patch.sqlite"), migrations);
  const t0 = Date.now() - EVENTS;
  await db.tx(async (tx) => {
    for (let i = 1; i <= EVENTS; i++) {
      writeEvent(tx, {
        seq: i,
        time: new Date(t0 + i),
        kind: "alarm.raised",
        patchId: "",
        hostname: `host-${i % 50}`,
        oldState: "",
        newState: "",
        message: `900.001 host=host-${i % 50} ${"x".repeat(120)}`,
        operationId: "",
      });
    }
  });
  await db.close();
}

const rssNow = (c: BenchController) => {
  const s = readFileSync(`/proc/${c.proc.pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(s)?.[1] ?? 0) * 1024;
};
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scenario(label: string, root: string | undefined, log: (l: string) => void): Promise<Figures> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "swpatch-bench-watch-"));
  await seedEvents(dataDir);
  const ctl = await startBenchController(dataDir, [], {}, root ? { root } : {});
  const channels: Channel[] = [];
  try {
    const auth = (token: string) => ({ "*": { metadata: Metadata({ authorization: `Bearer ${token}` }) } });
    const ch = () => {
      const c = createChannel(ctl.endpoint);
      channels.push(c);
      return c;
    };
    const adminCh = ch();
    const admin = createClient(AdminServiceDefinition, adminCh, auth(ctl.token));
    const orch = createClient(OrchestrationServiceDefinition, adminCh, auth(ctl.token));
    await pause(1000);
    const idleRss = rssNow(ctl);

    // A: stalled strategy watchers.
    const tokens = await Promise.all([0, 1, 2].map(async () => (await admin.createToken({ role: "reader", hostname: "", description: "bench-watch" })).token));
    const stalled: AbortController[] = [];
    let admitted = 0;
    await Promise.all(
      Array.from({ length: WATCHERS }, async (_, i) => {
        const ac = new AbortController();
        stalled.push(ac);
        const c = createClient(OrchestrationServiceDefinition, channels[1 + (i % 3)] ?? ch(), auth(tokens[i % 3]!));
        const it = c.watchStrategy({}, { signal: ac.signal })[Symbol.asyncIterator]();
        try {
          await it.next(); // the current strategy; then never read again
          admitted++;
        } catch {
          /* refused by a cap */
        }
      }),
    );
    const cpu0 = ctl.cpuSeconds();
    for (let i = 0; i < CHANGES / 2; i++) {
      await orch.createStrategy({});
      await orch.deleteStrategy({ force: true });
    }
    await pause(1000);
    const stalledPeakRss = ctl.peakRss();
    const stalledCpu = ctl.cpuSeconds() - cpu0;
    for (const ac of stalled) ac.abort();
    log(
      `  [${label}] A: ${admitted}/${WATCHERS} stalled WatchStrategy streams admitted, ${CHANGES} strategy changes: peak RSS ${fmtMB(stalledPeakRss)} (idle ${fmtMB(idleRss)}), CPU ${stalledCpu.toFixed(1)} s`,
    );

    // B: a burst of WatchEvents from 0, then the client leaves.
    const burstChannels = [0, 1, 2, 3].map(() => createChannel(ctl.endpoint));
    const burstAc = new AbortController();
    setMaxListeners(0, burstAc.signal);
    let burstAdmitted = 0;
    let burstRefused = 0;
    const calls = Array.from({ length: BURST }, async (_, i) => {
      const p = createClient(PatchServiceDefinition, burstChannels[i % 4]!, auth(tokens[0]!));
      try {
        for await (const _ of p.watchEvents({ afterSequence: 0, kinds: [], patchId: "", hostname: "", operationId: "" }, { signal: burstAc.signal })) {
          burstAdmitted++;
          break;
        }
      } catch {
        if (!burstAc.signal.aborted) burstRefused++;
      }
    });
    // The client leaves once the controller visibly works on the burst (1 % of the calls answered
    // or refused) plus 3 s, or after 60 s.
    const burstStart = Date.now();
    while (burstAdmitted + burstRefused < BURST / 100 && Date.now() - burstStart < 60_000) await pause(100);
    await pause(3000);
    const leftAfterMs = Date.now() - burstStart;
    burstAc.abort();
    for (const c of burstChannels) c.close();
    await Promise.allSettled(calls);
    const cpuLeft = ctl.cpuSeconds();
    let idleAfterS: number | undefined;
    let last = cpuLeft;
    let afterRss = 0;
    for (let s = 1; s <= AFTER_S; s++) {
      await pause(1000);
      const now = ctl.cpuSeconds();
      afterRss = Math.max(afterRss, rssNow(ctl));
      if (idleAfterS === undefined && now - last < 0.05) idleAfterS = s;
      last = now;
      if (idleAfterS !== undefined && s >= idleAfterS + 2) break;
    }
    const afterCpu = ctl.cpuSeconds() - cpuLeft;
    log(
      `  [${label}] B: ${BURST} WatchEvents from 0 over ${EVENTS} events: ${burstAdmitted} streamed, ${burstRefused} refused; the client left after ${(leftAfterMs / 1000).toFixed(1)} s; after it left: ` +
        `CPU ${afterCpu.toFixed(1)} s, RSS up to ${fmtMB(afterRss)}, ${idleAfterS === undefined ? `still busy after ${AFTER_S} s` : `idle within ${idleAfterS} s`}; peak RSS ${fmtMB(ctl.peakRss())}`,
    );
    return { label, idleRss, stalledPeakRss, stalledCpu, stalledAdmitted: admitted, burstAdmitted, burstRefused, afterCpu, afterRss, idleAfterS };
  } finally {
    for (const c of channels) c.close();
    await ctl.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export const watchSuite: BenchSuite = {
  name: "watch",
  description: `${WATCHERS} stalled WatchStrategy streams over ${CHANGES} changes; a ${BURST}-stream WatchEvents burst from 0 over ${EVENTS} events (issue 16 point 4)`,
  async run({ log }) {
    const baselineRoot = process.env.BENCH_WATCH_BASELINE_ROOT;
    const base = baselineRoot ? await scenario("baseline", path.resolve(baselineRoot), log) : undefined;
    const now = await scenario("this build", undefined, log);
    const r = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}x` : "n/a");
    log(
      `  peak RSS with stalled watchers / idle RSS: this build ${r(now.stalledPeakRss, now.idleRss)}${base ? `, baseline ${r(base.stalledPeakRss, base.idleRss)}` : ""}`,
    );
    if (base) {
      log(
        `  this build / baseline: stalled-watcher peak RSS ${r(now.stalledPeakRss, base.stalledPeakRss)}, stalled-watcher CPU ${r(now.stalledCpu, base.stalledCpu)}, CPU after the burst left ${r(now.afterCpu, base.afterCpu)}`,
      );
    }
  },
};
