/**
 * `npm run bench -- audit`: the cost of the tamper-evident audit log on the sqlite store. Appends
 * the same rows through the old path (a plain INSERT riding the next commit, no chain) and the
 * chained one (AuthStore.appendAudit: tail read, hashes, INSERT), in bursts of concurrent appends
 * (as a busy controller writes them) and one at a time (each its own commit); then one checkpoint
 * of every row and a full verification. Target: chained appends cost at most 1.5x the plain ones.
 * SWPATCH_BENCH_AUDIT_ROWS rows per run (default 5000).
 */
import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { Db } from "../../server/storage/sqlite/db.js";
import { migrations } from "../../server/storage/sqlite/migrations/index.js";
import { AuthStore } from "../../server/storage/sqlite/auth-store.js";
import { AuditCheckpointer, auditKeyId, verifyAuditLog, type AuditEntry, type AuditSigner } from "../../server/domain/auth/index.js";
import { fmtMs, verdict } from "./controller-proc.js";
import type { BenchSuite } from "./main.js";

const ROWS = Number(process.env.SWPATCH_BENCH_AUDIT_ROWS ?? 5000);
const BURST = 100;
const SEQUENTIAL = 300;
const TARGET_RATIO = 1.5;

const entry = (i: number): Omit<AuditEntry, "id"> => ({
  time: new Date(Date.UTC(2026, 11, 3, 10, 0, 0, i)).toISOString(),
  actor: "0123456789abcdef",
  role: "operator",
  action: "ApplyPatches",
  target: `PATCH_${i}`,
  outcome: "ok",
  detail: "",
});

type Append = (e: Omit<AuditEntry, "id">) => Promise<void>;

/** Milliseconds to append `n` rows in bursts of `burst` concurrent appends. */
async function timeAppends(append: Append, n: number, burst: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i += burst) await Promise.all(Array.from({ length: Math.min(burst, n - i) }, (_, k) => append(entry(i + k))));
  return performance.now() - t0;
}

async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-bench-audit-"));
  const db = await Db.open(path.join(dir, "sw-patch.sqlite"), migrations);
  try {
    return await fn(db);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The path before the chain: one INSERT with the next commit (nullable chain columns left NULL). */
const plain =
  (db: Db): Append =>
  (e) =>
    db.writeLazily("INSERT INTO audit_log (time, actor, role, action, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)", [
      e.time,
      e.actor,
      e.role,
      e.action,
      e.target,
      e.outcome,
      e.detail,
    ]);

export const auditSuite: BenchSuite = {
  name: "audit",
  description: `audit log appends with the hash chain vs without (sqlite, ${ROWS} rows in bursts of ${BURST}, ${SEQUENTIAL} one at a time), checkpoint and verify`,
  async run({ log }) {
    const results: Record<string, number> = {};
    for (const [name, make] of [
      ["plain", plain],
      ["chained", (db: Db) => (e: Omit<AuditEntry, "id">) => new AuthStore(db).appendAudit(e)],
    ] as const) {
      results[`${name}-burst`] = await withDb((db) => timeAppends(make(db), ROWS, BURST));
      results[`${name}-one`] = await withDb((db) => timeAppends(make(db), SEQUENTIAL, 1));
    }
    const burstRatio = results["chained-burst"]! / results["plain-burst"]!;
    const oneRatio = results["chained-one"]! / results["plain-one"]!;
    log(
      `  bursts of ${BURST}: plain ${fmtMs(results["plain-burst"]!)} (${((results["plain-burst"]! * 1000) / ROWS).toFixed(1)} µs/row), chained ${fmtMs(results["chained-burst"]!)} (${((results["chained-burst"]! * 1000) / ROWS).toFixed(1)} µs/row): ratio ${burstRatio.toFixed(2)} ${verdict(burstRatio <= TARGET_RATIO)} (target <= ${TARGET_RATIO})`,
    );
    log(
      `  one at a time: plain ${fmtMs(results["plain-one"]! / SEQUENTIAL)}/row, chained ${fmtMs(results["chained-one"]! / SEQUENTIAL)}/row: ratio ${oneRatio.toFixed(2)} ${verdict(oneRatio <= TARGET_RATIO)} (target <= ${TARGET_RATIO})`,
    );
    await withDb(async (db) => {
      const store = new AuthStore(db);
      await timeAppends((e) => store.appendAudit(e), ROWS, BURST);
      const { privateKey, publicKey } = generateKeyPairSync("ed25519");
      const signer: AuditSigner = {
        key: { keyId: auditKeyId(publicKey), publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(), createdAt: new Date().toISOString() },
        sign: (m) => sign(null, m, privateKey).toString("base64"),
      };
      let t0 = performance.now();
      await new AuditCheckpointer(store, signer, ROWS).checkpoint();
      const cp = performance.now() - t0;
      t0 = performance.now();
      const r = await verifyAuditLog(store, { ownKey: signer.key });
      const v = performance.now() - t0;
      log(`  checkpoint of ${ROWS} rows: ${fmtMs(cp)}; verify: ${fmtMs(v)} (${Math.round(r.rows / (v / 1000))} rows/s) ${r.ok ? "OK" : `FAILED ${r.reason}`}`);
    });
  },
};
