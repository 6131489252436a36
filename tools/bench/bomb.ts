/**
 * Bench suite "bomb": what a gzip bomb upload costs (issue 16, point 3). A bomb of under 4 MB that
 * inflates to BENCH_BOMB_MIB MiB (default 4000) is read the way every upload path reads it
 * (`readPatch` into a temp dir, as the controller does into data/tmp), once with the limits as
 * they were ("before": no inflate ratio, no unpacked-bytes bound, no shared budget; only the
 * 4 GiB size limits) and once with the defaults now; then BENCH_BOMB_PARALLEL (default 6) bombs at
 * once against the default upload budget. Reports seconds, the peak bytes held in the temp dir
 * (sampled every 20 ms) and the refusal. BENCH_BOMB_BEFORE=0 skips the slow "before" run.
 */
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { readPatch, UploadBudget, type TrustStore } from "../../server/domain/patchfile/index.js";
import { bombChunks, buildGzipBomb } from "./gzip-bomb.js";
import type { BenchSuite } from "./main.js";

async function bytesUnder(dir: string): Promise<number> {
  let n = 0;
  let entries;
  try {
    entries = await fsp.readdir(dir, { recursive: true, withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    if (e.isDirectory()) continue;
    n += await fsp.stat(path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)).then(
      (st) => st.size,
      () => 0,
    );
  }
  return n;
}

/** Runs `work` while sampling the bytes under `dir`; returns its outcome, seconds and the peak. */
async function measure(dir: string, work: () => Promise<string[]>): Promise<{ seconds: number; peak: number; outcomes: string[] }> {
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await bytesUnder(dir));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const t = performance.now();
  const outcomes = await work();
  const seconds = (performance.now() - t) / 1000;
  sampling = false;
  await sampler;
  return { seconds, peak, outcomes };
}

async function refusedWith(p: Promise<{ cleanup(): Promise<void> }>): Promise<string> {
  try {
    const v = await p;
    await v.cleanup();
    return "ACCEPTED";
  } catch (e) {
    const k = (e as { kind?: string }).kind ?? "error";
    return `${k}: ${(e as Error).message}`;
  }
}

const mb = (n: number) => `${(n / 1048576).toFixed(0)} MiB`;

export const bombSuite: BenchSuite = {
  name: "bomb",
  description: "a gzip bomb upload (under 4 MB inflating to ~4 GB) read as every upload path reads it: limits before vs now",
  async run({ log }) {
    const unpackedMiB = Number(process.env.BENCH_BOMB_MIB ?? 4000);
    const parallel = Number(process.env.BENCH_BOMB_PARALLEL ?? 6);
    const bomb = buildGzipBomb(unpackedMiB);
    log(`bomb: ${bomb.length} bytes compressed, ${unpackedMiB} MiB unpacked (software.tar out of signed order + its RPMs: twice that written when unbounded)`);
    const dir = await fsp.mkdtemp(path.join(process.env.BENCH_DIR ?? os.tmpdir(), "bench-bomb-"));
    const trust: TrustStore = { keys: [] };
    try {
      if (process.env.BENCH_BOMB_BEFORE !== "0") {
        const work = path.join(dir, "before");
        const r = await measure(work, async () => [
          await refusedWith(readPatch(bombChunks(bomb), { trust, workDir: work, limits: { maxInflateRatio: 0, maxUnpackedBytes: Number.MAX_SAFE_INTEGER } })),
        ]);
        log(`before: ${r.seconds.toFixed(1)} s, peak ${mb(r.peak)} in the temp dir, ${r.outcomes[0]!.slice(0, 160)}`);
      }
      {
        const work = path.join(dir, "now");
        const budget = new UploadBudget(4, 16 * 1024 ** 3);
        const r = await measure(work, async () => [await refusedWith(readPatch(bombChunks(bomb), { trust, workDir: work, budget }))]);
        log(`now (defaults): ${r.seconds.toFixed(2)} s, peak ${mb(r.peak)} in the temp dir, left ${await bytesUnder(work)} bytes, ${r.outcomes[0]!.slice(0, 160)}`);
      }
      {
        const work = path.join(dir, "parallel");
        const budget = new UploadBudget(4, 16 * 1024 ** 3);
        const r = await measure(work, () =>
          Promise.all(Array.from({ length: parallel }, () => refusedWith(readPatch(bombChunks(bomb), { trust, workDir: work, budget })))),
        );
        const kinds = new Map<string, number>();
        for (const o of r.outcomes) kinds.set(o.split(":")[0]!, (kinds.get(o.split(":")[0]!) ?? 0) + 1);
        log(
          `now, ${parallel} bombs at once: ${r.seconds.toFixed(2)} s, peak ${mb(r.peak)} in the temp dir, left ${await bytesUnder(work)} bytes; ${[...kinds].map(([k, n]) => `${n} ${k}`).join(", ")}`,
        );
      }
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  },
};
