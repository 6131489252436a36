/**
 * The tamper-evident audit log on a real controller and its real sqlite file (issue 21): rows
 * edited, deleted, reordered or re-chained in the database directly, and the tail cut after a
 * checkpoint, are each named by `sw-patch audit-verify` (online) and by
 * `sw-patch-controller audit-verify --data-dir` (offline, on a copy of the data dir).
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, statSync, copyFileSync, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import sqlite3 from "sqlite3";
import { Metadata, createChannel, createClient, type Channel } from "nice-grpc";
import { AdminServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/admin_service.js";
import { startController, type ControllerHandle } from "../lib/controller-harness.js";
import { runCli } from "../lib/cli.js";
import { auditRowHash } from "../../server/lib/audit-hash.js";

interface Row {
  id: number;
  time: string;
  actor: string;
  role: string;
  action: string;
  target: string;
  outcome: string;
  detail: string;
  seq: number;
  prev_hash: string;
  hash: string;
}

/** A second connection to the controller's database: what an attacker with the file can do. */
function openDb(file: string): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, (e) => (e ? reject(e) : resolve(db)));
  });
}
const run = (db: sqlite3.Database, sql: string, params: unknown[] = []) =>
  new Promise<void>((resolve, reject) => db.run(sql, params, (e) => (e ? reject(e) : resolve())));
const all = <T>(db: sqlite3.Database, sql: string, params: unknown[] = []) =>
  new Promise<T[]>((resolve, reject) => db.all(sql, params, (e, rows) => (e ? reject(e) : resolve(rows as T[]))));

describe("tamper-evident audit log on a real controller (sqlite)", function () {
  this.timeout(120_000);
  let dataDir: string;
  let scratch: string;
  let ctl: ControllerHandle;
  let channel: Channel;
  let db: sqlite3.Database;
  const file = () => path.join(dataDir, "sw-patch.sqlite");
  const verify = (...args: string[]) => runCli("sw-patch", ["audit-verify", ...args], { endpoint: ctl.endpoint, token: ctl.adminToken });
  const rows = () => all<Row>(db, "SELECT * FROM audit_log ORDER BY id");
  /** The data dir as it is now, copied consistently (VACUUM INTO) with its checkpoint key. */
  const snapshot = async (name: string) => {
    const dir = path.join(scratch, name);
    mkdirSync(path.join(dir, "signing"), { recursive: true });
    await run(db, "VACUUM INTO ?", [path.join(dir, "sw-patch.sqlite")]);
    copyFileSync(path.join(dataDir, "signing", "audit-checkpoint-key.pem"), path.join(dir, "signing", "audit-checkpoint-key.pem"));
    return dir;
  };
  const offline = (dir: string, ...args: string[]) => runCli("sw-patch-controller", ["audit-verify", "--data-dir", dir, ...args]);

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), "swpatch-auditchain-"));
    scratch = mkdtempSync(path.join(os.tmpdir(), "swpatch-auditchain-copies-"));
    ctl = await startController({ dataDir, keepDataDir: true, extraArgs: ["--audit-checkpoint-rows", "1000", "--audit-checkpoint-seconds", "3600"] });
    channel = createChannel(ctl.endpoint);
    const admin = createClient(AdminServiceDefinition, channel, { "*": { metadata: Metadata({ authorization: `Bearer ${ctl.adminToken}` }) } });
    // Audited calls: one row each.
    for (let i = 0; i < 12; i++) await admin.createToken({ role: "reader", description: `audit chain ${i}` });
    db = await openDb(file());
  });

  after(async () => {
    await new Promise<void>((resolve) => (db ? db.close(() => resolve()) : resolve()));
    channel?.close();
    await ctl?.stop();
    for (const d of [dataDir, scratch]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it("an untouched log verifies: OK with its rows and the checkpoint just signed; the key is shown, 0600 in the data dir", async () => {
    const r = await verify("--checkpoint", "--show-key");
    expect(r.stderr).to.equal("");
    expect(r.rc).to.equal(0);
    // The rows before this call (its own row is written after it answers).
    const n = (await rows()).length - 1;
    expect(r.stdout).to.contain(`OK (${n} rows, 1 checkpoints)`);
    const keyFile = path.join(dataDir, "signing", "audit-checkpoint-key.pem");
    expect(statSync(keyFile).mode & 0o777).to.equal(0o600);
    const keyId = /Checkpoint key ([0-9a-f]{16}) \(this controller\)/.exec(r.stdout)?.[1];
    expect(keyId).to.be.a("string");
    expect(r.stdout).to.contain("-----BEGIN PUBLIC KEY-----");
    const pinned = await verify("--key-id", keyId!);
    expect(pinned.stdout).to.match(/^OK \(\d+ rows, 1 checkpoints\)\n$/);
    const wrong = await verify("--key-id", "0123456789abcdef");
    expect(wrong.rc).to.equal(1);
    expect(wrong.stdout).to.match(/FAILED: checkpoint of \d+ rows .* signed by key [0-9a-f]{16}, which is not trusted/);
    expect(readFileSync(keyFile, "utf8")).to.contain("PRIVATE KEY");
  });

  it("a row edited in the database is named: its hash does not match its content", async () => {
    const victim = (await rows())[4]!;
    await run(db, "UPDATE audit_log SET outcome = 'ok', actor = 'someone-else' WHERE id = ?", [victim.id]);
    try {
      const r = await verify();
      expect(r.rc).to.equal(1);
      expect(r.stdout).to.equal(`FAILED: row id ${victim.id} (seq ${victim.seq}): its hash does not match its content: the row was edited\n`);
    } finally {
      await run(db, "UPDATE audit_log SET outcome = ?, actor = ? WHERE id = ?", [victim.outcome, victim.actor, victim.id]);
    }
    expect((await verify()).rc).to.equal(0);
  });

  it("a row edited with the chain re-hashed from it (no key needed for that) is named by the signed checkpoint", async () => {
    const [{ n }] = await all<{ n: number }>(db, "SELECT tree_size AS n FROM audit_checkpoints");
    // Up to the checkpoint: the rows after it (and the tail the controller appends to) stay as they are.
    const before = (await rows()).filter((r) => r.seq <= n!);
    const rechain = async (edit: (r: Row) => Row) => {
      let prev = before[2]!.prev_hash;
      for (const r of before.slice(2)) {
        const row = r.id === before[2]!.id ? edit(r) : r;
        const hash = auditRowHash(prev, row.seq, row);
        await run(db, "UPDATE audit_log SET detail = ?, prev_hash = ?, hash = ? WHERE id = ?", [row.detail, prev, hash, row.id]);
        prev = hash;
      }
    };
    await rechain((r) => ({ ...r, detail: "nothing happened here" }));
    try {
      const r = await verify();
      expect(r.rc).to.equal(1);
      expect(r.stdout).to.match(
        new RegExp(`^FAILED: row id \\d+ \\(seq ${n}\\): the rows up to it do not have the Merkle root of the checkpoint of ${n} rows .* were rewritten\\n$`),
      );
    } finally {
      await rechain((r) => r);
    }
    expect((await verify()).rc).to.equal(0);
  });

  it("a deleted row is named: the next one says which row of the chain is missing", async () => {
    const victim = (await rows())[6]!;
    await run(db, "DELETE FROM audit_log WHERE id = ?", [victim.id]);
    try {
      const r = await verify();
      expect(r.rc).to.equal(1);
      expect(r.stdout).to.match(new RegExp(`^FAILED: row id \\d+ \\(seq ${victim.seq + 1}\\): row ${victim.seq} of the chain is missing before it \\(deleted\\)`));
    } finally {
      const cols = Object.keys(victim);
      await run(db, `INSERT INTO audit_log (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`, Object.values(victim));
    }
    expect((await verify()).rc).to.equal(0);
  });

  it("two rows swapped (their ids exchanged) are named as reordered", async () => {
    const [a, b] = (await rows()).slice(2, 4) as [Row, Row];
    const swap = async () => {
      await run(db, "BEGIN");
      await run(db, "UPDATE audit_log SET id = -1 WHERE id = ?", [a.id]);
      await run(db, "UPDATE audit_log SET id = ? WHERE id = ?", [a.id, b.id]);
      await run(db, "UPDATE audit_log SET id = ? WHERE id = -1", [b.id]);
      await run(db, "COMMIT");
    };
    await swap();
    try {
      const r = await verify();
      expect(r.rc).to.equal(1);
      expect(r.stdout).to.equal(
        `FAILED: row id ${a.id} (seq ${b.seq}): rows are out of order: its seq is ${b.seq}, but row ${a.seq} of the chain comes later (id ${b.id}): rows were reordered\n`,
      );
    } finally {
      await swap();
    }
    expect((await verify()).rc).to.equal(0);
  });

  it("offline, on copies of the data dir: the untouched copy verifies; a copy whose tail was cut after the checkpoint does not", async () => {
    const good = await snapshot("good");
    const ok = await offline(good, "--show-key");
    expect(ok.stderr).to.equal("");
    expect(ok.rc).to.equal(0);
    expect(ok.stdout).to.match(/Checkpoint key [0-9a-f]{16} \(.*audit-checkpoint-key\.pem\):\n-----BEGIN PUBLIC KEY-----/);
    expect(ok.stdout).to.match(/OK \(\d+ rows, 1 checkpoints\)\n$/);

    const cut = await snapshot("cut");
    const copy = await openDb(path.join(cut, "sw-patch.sqlite"));
    const [{ n }] = await all<{ n: number }>(copy, "SELECT tree_size AS n FROM audit_checkpoints");
    await run(copy, "DELETE FROM audit_log WHERE seq > ?", [n! - 3]);
    await new Promise<void>((resolve) => copy.close(() => resolve()));
    const r = await offline(cut);
    expect(r.rc).to.equal(1);
    expect(r.stdout).to.equal(
      `FAILED: the log ends at row ${n! - 3} of the chain, but the checkpoint of ${n} rows (${(await all<{ time: string }>(db, "SELECT time FROM audit_checkpoints"))[0]!.time}) covers more: rows ${n! - 2} to ${n} were deleted (the tail was cut)\n`,
    );
  });

  it("the tail cut after the checkpoint on the live controller is named too", async () => {
    const [{ n }] = await all<{ n: number }>(db, "SELECT tree_size AS n FROM audit_checkpoints");
    // Last: the controller's next rows chain after the cut, so this is not undone.
    await run(db, "DELETE FROM audit_log WHERE seq > ?", [n! - 1]);
    const r = await verify();
    expect(r.rc).to.equal(1);
    expect(r.stdout).to.match(new RegExp(`^FAILED: the log ends at row ${n! - 1} of the chain, but the checkpoint of ${n} rows .* \\(the tail was cut\\)\\n$`));
  });
});
