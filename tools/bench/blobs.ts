/**
 * `npm run bench -- blobs`: put and get a 1 GiB blob (SWPATCH_BENCH_BLOB_MB to change) through the
 * PostgreSQL BlobPort (PgBlobStore, 1 MiB chunks, on a throwaway PostgreSQL started here) and,
 * as the baseline in the same run, through the file BlobStore; prints throughput and this
 * process's peak RSS growth during each step. Target: the PostgreSQL store's RSS growth stays in
 * tens of MiB (bounded memory: never the whole blob in memory).
 */
import { createHash, randomFillSync } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import { Pool } from "pg";
import type { BlobPort } from "../../server/domain/store.js";
import { BlobCache } from "../../server/storage/blob-cache.js";
import { PgBlobStore } from "../../server/storage/postgres/blob-store.js";
import { BlobStore } from "../../server/storage/sqlite/blob-store.js";
import { postgresUnavailable, startPostgres } from "../../test/lib/postgres.js";
import { fmtMB, verdict } from "./controller-proc.js";
import type { BenchSuite } from "./main.js";

/** RSS growth target for a put or get of any size through the PostgreSQL store. */
const RSS_TARGET = 64 << 20;

interface Step {
  seconds: number;
  peakGrowth: number;
}

/** Runs `fn`, sampling RSS every 10 ms; returns the time and the peak RSS above the level at the start. */
async function measure(fn: () => Promise<void>): Promise<Step> {
  (globalThis as { gc?: () => void }).gc?.();
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  const t0 = performance.now();
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage.rss());
  return { seconds: (performance.now() - t0) / 1000, peakGrowth: peak - start };
}

/** Writes `bytes` of pseudo-random data to `file` (8 MiB at a time); returns its sha256. */
async function makeInput(file: string, bytes: number): Promise<string> {
  const h = createHash("sha256");
  const fh = await fsp.open(file, "w");
  const buf = Buffer.allocUnsafe(8 << 20);
  try {
    for (let done = 0; done < bytes;) {
      const n = Math.min(buf.length, bytes - done);
      randomFillSync(buf, 0, n);
      h.update(buf.subarray(0, n));
      await fh.write(buf, 0, n);
      done += n;
    }
  } finally {
    await fh.close();
  }
  return h.digest("hex");
}

/** Reads a stream to the end, hashing; returns the sha256. */
async function drain(r: Readable): Promise<string> {
  const h = createHash("sha256");
  for await (const c of r) h.update(c as Buffer);
  return h.digest("hex");
}

async function runStore(name: string, blobs: BlobPort, input: string, sha: string, bytes: number, log: (l: string) => void): Promise<Step[]> {
  const put = await measure(() => blobs.put(input, sha).then(() => undefined));
  const get = await measure(async () => {
    const got = await drain(await blobs.openRead(sha));
    if (got !== sha) throw new Error(`${name}: read back ${got}, expected ${sha}`);
  });
  const mbps = (s: Step) => (bytes / 1048576 / s.seconds).toFixed(0);
  log(`  ${name.padEnd(28)} put ${put.seconds.toFixed(1).padStart(6)} s ${mbps(put).padStart(5)} MB/s  peak RSS +${fmtMB(put.peakGrowth)}`);
  log(`  ${"".padEnd(28)} get ${get.seconds.toFixed(1).padStart(6)} s ${mbps(get).padStart(5)} MB/s  peak RSS +${fmtMB(get.peakGrowth)}`);
  return [put, get];
}

export const blobsSuite: BenchSuite = {
  name: "blobs",
  description: "a 1 GiB blob through the PostgreSQL BlobPort (and the disk cache) vs the file BlobStore: throughput and peak RSS growth",
  async run({ log }) {
    const why = postgresUnavailable();
    if (why) {
      log(`  skipped: ${why}`);
      return;
    }
    const mb = Number(process.env.SWPATCH_BENCH_BLOB_MB ?? 1024);
    const bytes = mb << 20;
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "swpatch-bench-blobs-"));
    const pg = await startPostgres({ settings: { max_wal_size: "4GB" } });
    const pool = new Pool({ connectionString: await pg.createDatabase(), max: 4 });
    pool.on("error", () => undefined);
    try {
      const input = path.join(dir, "input.bin");
      const sha = await makeInput(input, bytes);
      log(`  blob: ${mb} MiB; RSS at start ${fmtMB(process.memoryUsage.rss())}`);
      await runStore("file BlobStore (baseline)", new BlobStore(path.join(dir, "files")), input, sha, bytes, log);
      const pgStore = new PgBlobStore(pool, { chunkBytes: 1 << 20, fileDir: path.join(dir, "pg-files") });
      await pgStore.init();
      const [put, get] = await runStore("PgBlobStore (1 MiB chunks)", pgStore, input, sha, bytes, log);
      const cache = new BlobCache(pgStore, { dir: path.join(dir, "blob-cache"), maxBytes: 2 * bytes });
      const fill = await measure(() => cache.fileOf(sha).then(() => undefined));
      const hit = await measure(() => cache.fileOf(sha).then(() => undefined));
      log(
        `  BlobCache fileOf: fill from PostgreSQL ${fill.seconds.toFixed(1)} s (${(mb / fill.seconds).toFixed(0)} MB/s, peak RSS +${fmtMB(fill.peakGrowth)}), then a hit in ${(hit.seconds * 1000).toFixed(1)} ms`,
      );
      const worst = Math.max(put!.peakGrowth, get!.peakGrowth, fill.peakGrowth);
      log(`  PostgreSQL store peak RSS growth ${fmtMB(worst)} for a ${mb} MiB blob (target ≤ ${fmtMB(RSS_TARGET)}): ${verdict(worst <= RSS_TARGET)}`);
    } finally {
      await pool.end().catch(() => undefined);
      await pg.stop();
      await fsp.rm(dir, { recursive: true, force: true });
    }
  },
};
