/**
 * Store contract: the audit log's hash chain and checkpoints (AuditStore + AuditChainStore) on
 * every store; then, on sqlite and PostgreSQL, two stores over one database appending at once
 * (two controllers) and migration 0012 chaining the rows written before it.
 */
import { expect } from "chai";
import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { factories, storePerTest } from "./store-factory.js";
import { postgresSkipReason, sharedPostgres } from "./postgres-factory.js";
import {
  AuditCheckpointer,
  AuditLog,
  auditKeyId,
  auditVerdict,
  verifyAuditLog,
  type AuditChainStore,
  type AuditEntry,
  type AuditSigner,
  type AuditStore,
} from "../../server/domain/auth/index.js";
import { AUDIT_GENESIS_HASH } from "../../server/lib/audit-hash.js";
import { Db } from "../../server/storage/sqlite/db.js";
import { migrations } from "../../server/storage/sqlite/migrations/index.js";
import { AuthStore } from "../../server/storage/sqlite/auth-store.js";
import { openPostgresStore } from "../../server/storage/postgres/store.js";
import { createPool } from "../../server/storage/postgres/pg-db.js";
import { migrate } from "../../server/storage/postgres/pg-migrate.js";
import { pgMigrations } from "../../server/storage/postgres/migrations/index.js";

function signer(): AuditSigner {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    key: { keyId: auditKeyId(publicKey), publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(), createdAt: "2026-12-03T00:00:00.000Z" },
    sign: (m) => sign(null, m, privateKey).toString("base64"),
  };
}

const entry = (i: number): Omit<AuditEntry, "id"> => ({
  time: new Date(Date.UTC(2026, 11, 3, 10, 0, i)).toISOString(),
  actor: "tok1",
  role: "admin",
  action: `Action${i}`,
  target: `target ‘${i}’`,
  outcome: "ok",
  detail: i % 2 ? "" : `detail ${i}`,
});

/** Every row's seq 1..n (from `first`), each chained to the one before; the prev_hash values distinct. */
async function expectChained(store: AuditChainStore, n: number, first = 1): Promise<void> {
  const rows = await store.listAuditChain(0, 10_000);
  expect(rows.map((r) => r.seq)).to.deep.equal(Array.from({ length: n }, (_, i) => first + i));
  for (let i = 1; i < rows.length; i++) expect(rows[i]!.prevHash).to.equal(rows[i - 1]!.hash);
  expect(new Set(rows.map((r) => r.prevHash)).size).to.equal(rows.length);
}

for (const f of factories) {
  describe(`store contract (${f.name}): audit chain`, () => {
    const { s, reopen } = storePerTest(f);

    it("appends chain from the genesis marker in append order; listAudit is unchanged; durable", async () => {
      const { audit } = s().auth;
      for (let i = 1; i <= 5; i++) await audit.appendAudit(entry(i));
      const rows = await audit.listAuditChain(0, 100);
      expect(rows[0]).to.include({ seq: 1, prevHash: AUDIT_GENESIS_HASH });
      await expectChained(audit, 5);
      expect((await audit.listAudit(0, 100)).map(({ id: _id, ...e }) => e)).to.deep.equal([1, 2, 3, 4, 5].map(entry));
      expect(await audit.listAuditChainBySeq(3, 10)).to.deep.equal(rows.slice(3));
      expect(await audit.auditRowIdBySeq(2)).to.equal(rows[1]!.id);
      expect(await audit.auditRowIdBySeq(9)).to.equal(undefined);
      const again = await reopen();
      expect(await again.auth.audit.listAuditChain(0, 100)).to.deep.equal(rows);
    });

    it("200 concurrent appends (with transactions committing around them): one chain, no two rows after the same row", async () => {
      const log = new AuditLog(s().auth.audit);
      const { store } = s();
      await Promise.all([
        ...Array.from({ length: 200 }, (_, i) => log.record({ actor: "tok1", role: "admin", action: `A${i}`, outcome: "ok" })),
        ...Array.from({ length: 20 }, () => store.transact(async () => undefined)),
      ]);
      await expectChained(s().auth.audit, 200);
      expect(auditVerdict(await verifyAuditLog(s().auth.audit))).to.equal("OK (200 rows, 0 checkpoints)");
    });

    it("checkpoints: stored once per size, never a smaller after a larger; the key registered once; durable and verified", async () => {
      const { audit } = s().auth;
      const key = signer();
      const cp = new AuditCheckpointer(audit, key, 1000);
      for (let i = 1; i <= 7; i++) await audit.appendAudit(entry(i));
      const c7 = (await cp.checkpoint())!;
      expect(c7).to.include({ treeSize: 7, keyId: key.key.keyId });
      expect(await audit.insertAuditCheckpoint(c7, key.key)).to.equal(false);
      expect(await audit.insertAuditCheckpoint({ ...c7, treeSize: 3 }, key.key)).to.equal(false);
      await audit.appendAudit(entry(8));
      expect((await cp.checkpoint())!.treeSize).to.equal(8);
      const again = (await reopen()).auth.audit;
      expect((await again.listAuditCheckpoints(0, 10)).map((c) => c.treeSize)).to.deep.equal([7, 8]);
      expect(await again.listAuditCheckpoints(7, 10)).to.have.length(1);
      expect(await again.latestAuditCheckpoint()).to.deep.include({ treeSize: 8 });
      expect(await again.latestAuditCheckpoint()).to.deep.equal((await again.listAuditCheckpoints(7, 10))[0]);
      expect(await again.listAuditKeys()).to.deep.equal([key.key]);
      const r = await verifyAuditLog(again, { trustedKeyIds: [key.key.keyId] });
      expect(auditVerdict(r)).to.equal("OK (8 rows, 2 checkpoints)");
    });

    it("pruning deletes a prefix of the chain and keeps its anchor: what is left still verifies against the checkpoints; appends go on from it", async () => {
      const { audit } = s().auth;
      const key = signer();
      const cp = new AuditCheckpointer(audit, key, 1000);
      for (let i = 1; i <= 6; i++) await audit.appendAudit(entry(i));
      await cp.checkpoint();
      // Row 4's time is later than row 5's: pruning stops before it (a prefix only).
      await audit.appendAudit({ ...entry(50), action: "late" });
      for (let i = 7; i <= 9; i++) await audit.appendAudit(entry(i));
      await cp.checkpoint();
      expect(await audit.pruneAudit(entry(9).time, 3)).to.equal(3);
      expect(await audit.pruneAudit(entry(9).time, 100)).to.equal(3);
      expect((await audit.listAudit(0, 100)).map((e) => e.action)).to.deep.equal(["late", "Action7", "Action8", "Action9"]);
      expect(await audit.auditChainAnchor()).to.deep.include({ seq: 6 });
      await expectChained(audit, 4, 7);
      for (let i = 10; i <= 11; i++) await audit.appendAudit(entry(i));
      await cp.checkpoint();
      const again = (await reopen()).auth.audit;
      const r = await verifyAuditLog(again, { ownKey: key.key });
      expect(auditVerdict(r)).to.equal("OK (6 rows, 3 checkpoints)");
      expect(r.prunedThrough).to.equal(6);
      // Everything pruned: the chain goes on from the anchor; the checkpoints before it go, the one at it stays (it verifies the anchor).
      expect(await again.pruneAudit("9999", 100)).to.equal(6);
      expect((await again.listAuditCheckpoints(0, 10)).map((c) => c.treeSize)).to.deep.equal([12]);
      await again.appendAudit(entry(12));
      expect((await again.listAuditChain(0, 10)).map((e) => e.seq)).to.deep.equal([13]);
      expect(auditVerdict(await verifyAuditLog(again, { ownKey: key.key }))).to.equal("OK (1 rows, 1 checkpoints)");
    });
  });
}

/**
 * Two stores over one database (two controllers), each appending through its own AuditLog at
 * once: one chain. Then each signs checkpoints with its own key (a pair): each registers its key,
 * and either verifies the other's checkpoints.
 */
async function twoWriters(a: AuditStore & AuditChainStore, b: AuditStore & AuditChainStore): Promise<void> {
  const la = new AuditLog(a);
  const lb = new AuditLog(b);
  await Promise.all(
    Array.from({ length: 150 }, (_, i) => (i % 2 ? la : lb).record({ actor: i % 2 ? "controller-a" : "controller-b", role: "admin", action: `A${i}`, outcome: "ok" })),
  );
  await expectChained(a, 150);
  expect(auditVerdict(await verifyAuditLog(a))).to.equal("OK (150 rows, 0 checkpoints)");
  const [ka, kb] = [signer(), signer()];
  expect((await new AuditCheckpointer(a, ka, 1000).checkpoint())?.keyId).to.equal(ka.key.keyId);
  await lb.record({ actor: "controller-b", role: "admin", action: "after", outcome: "ok" });
  expect((await new AuditCheckpointer(b, kb, 1000).checkpoint())?.keyId).to.equal(kb.key.keyId);
  for (const [store, own] of [
    [a, ka],
    [b, kb],
  ] as const) {
    const r = await verifyAuditLog(store, { ownKey: own.key });
    expect(auditVerdict(r)).to.equal("OK (151 rows, 2 checkpoints)");
    expect(r.registeredKeys.map((k) => k.keyId).sort()).to.deep.equal([ka.key.keyId, kb.key.keyId].sort());
  }
}

describe("audit chain: two writers on one database, and migration 0012", function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "swpatch-auditchain-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("sqlite: two connections to one file append at once: one chain; each signs with its own key, either verifies both", async () => {
    const file = path.join(dir, "sw-patch.sqlite");
    const d1 = await Db.open(file, migrations);
    const d2 = await Db.open(file, migrations);
    try {
      await twoWriters(new AuthStore(d1), new AuthStore(d2));
    } finally {
      await d1.close();
      await d2.close();
    }
  });

  it("sqlite: rows written before migration 0012 are chained from the genesis marker", async () => {
    const file = path.join(dir, "sw-patch.sqlite");
    const old = await Db.open(
      file,
      migrations.filter((m) => m.version < 12),
    );
    for (let i = 1; i <= 4; i++) {
      const e = entry(i);
      await old.tx((tx) => tx.run("INSERT INTO audit_log (time, actor, role, action, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)", Object.values(e)));
    }
    await old.close();
    const db = await Db.open(file, migrations);
    try {
      const store = new AuthStore(db);
      await store.appendAudit(entry(5));
      await expectChained(store, 5);
      expect((await store.listAuditChain(0, 1))[0]!.prevHash).to.equal(AUDIT_GENESIS_HASH);
      expect(auditVerdict(await verifyAuditLog(store))).to.equal("OK (5 rows, 0 checkpoints)");
    } finally {
      await db.close();
    }
  });

  describe("PostgreSQL", function () {
    before(function () {
      if (postgresSkipReason) this.skip();
    });

    it("two controllers' stores on one database append at once (the writer lock orders them): one chain; each signs with its own key, either verifies both", async () => {
      const url = await (await sharedPostgres()).createDatabase();
      const a = await openPostgresStore({ connectionString: url, max: 4 });
      const b = await openPostgresStore({ connectionString: url, max: 4 });
      try {
        await twoWriters(a.auth, b.auth);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it("rows written before migration 0012 are chained from the genesis marker; the chain columns become NOT NULL", async () => {
      const url = await (await sharedPostgres()).createDatabase();
      const pool = createPool({ connectionString: url, max: 2 });
      try {
        await migrate(
          pool,
          pgMigrations.filter((m) => m.version < 12),
        );
        for (let i = 1; i <= 4; i++)
          await pool.query("INSERT INTO audit_log (time, actor, role, action, target, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)", Object.values(entry(i)));
        expect(await migrate(pool, pgMigrations)).to.include(12);
        const nullable = await pool.query(
          "SELECT column_name FROM information_schema.columns WHERE table_name = 'audit_log' AND is_nullable = 'YES' AND column_name IN ('seq', 'prev_hash', 'hash')",
        );
        expect(nullable.rows).to.deep.equal([]);
      } finally {
        await pool.end();
      }
      const opened = await openPostgresStore({ connectionString: url, max: 2 });
      try {
        await opened.auth.appendAudit(entry(5));
        await expectChained(opened.auth, 5);
        expect(auditVerdict(await verifyAuditLog(opened.auth))).to.equal("OK (5 rows, 0 checkpoints)");
      } finally {
        await opened.close();
      }
    });
  });
});
