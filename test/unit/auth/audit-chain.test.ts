/**
 * The audit chain's hashes, RFC 6962 tree, checkpointer and verifier over the memory store (the
 * contract suite runs the stores; test/integration/audit-chain.test.ts tampers with a real sqlite
 * file under a real controller).
 */
import { expect } from "chai";
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { AUDIT_GENESIS_HASH, MerkleFrontier, auditRowHash, merkleRoot } from "../../../server/lib/audit-hash.js";
import { AuditCheckpointer, AuditLog, auditKeyId, auditVerdict, checkpointMessage, verifyAuditLog, type AuditSigner } from "../../../server/domain/auth/index.js";
import { MemoryAuthStore, emptyDisk, type Disk } from "../../contract/memory-store.js";

function signer(): AuditSigner {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    key: { keyId: auditKeyId(publicKey), publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(), createdAt: "2026-12-03T00:00:00.000Z" },
    sign: (m) => sign(null, m, privateKey).toString("base64"),
  };
}

const fields = { time: "2026-12-03T10:00:00.000Z", actor: "tok", role: "admin", action: "CreateToken", target: "t", outcome: "ok", detail: "" };

describe("audit chain", () => {
  describe("hashes", () => {
    it("a row hash covers every field, length-prefixed: moving a byte between fields changes it; prev_hash and seq count", () => {
      const h = auditRowHash(AUDIT_GENESIS_HASH, 1, fields);
      expect(h).to.match(/^[0-9a-f]{64}$/);
      expect(auditRowHash(AUDIT_GENESIS_HASH, 1, { ...fields, actor: "to", role: "kadmin" })).to.not.equal(h);
      expect(auditRowHash(AUDIT_GENESIS_HASH, 2, fields)).to.not.equal(h);
      expect(auditRowHash("1".repeat(64), 1, fields)).to.not.equal(h);
      for (const k of Object.keys(fields) as (keyof typeof fields)[]) expect(auditRowHash(AUDIT_GENESIS_HASH, 1, { ...fields, [k]: fields[k] + "x" }), k).to.not.equal(h);
    });

    it("RFC 6962: the empty tree is sha256 of nothing; one empty leaf is sha256(0x00)", () => {
      expect(MerkleFrontier.empty().root()).to.equal(createHash("sha256").digest("hex"));
      const one = MerkleFrontier.empty();
      one.push("");
      expect(one.root()).to.equal("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    });

    it("the frontier's root is the tree hash by definition for 1..70 leaves, and a stored edge goes on to the same roots", () => {
      const leaves = Array.from({ length: 70 }, (_, i) => createHash("sha256").update(String(i)).digest("hex"));
      const f = MerkleFrontier.empty();
      for (let n = 1; n <= leaves.length; n++) {
        f.push(leaves[n - 1]!);
        expect(f.root(), `size ${n}`).to.equal(merkleRoot(leaves.slice(0, n).map((h) => Buffer.from(h, "hex"))).toString("hex"));
        if (n === 37) {
          const again = MerkleFrontier.from(37, f.toJSON())!;
          for (const h of leaves.slice(37)) again.push(h);
          expect(again.root()).to.equal(merkleRoot(leaves.map((h) => Buffer.from(h, "hex"))).toString("hex"));
        }
      }
      expect(MerkleFrontier.from(5, f.toJSON().slice(0, 1))).to.equal(undefined);
    });
  });

  describe("checkpointer and verifier (memory store)", () => {
    let disk: { d: Disk };
    let store: MemoryAuthStore;
    let log: AuditLog;
    let key: AuditSigner;
    let cp: AuditCheckpointer;
    const verify = (trustedKeyIds: string[] = []) => verifyAuditLog(store, { ownKey: key.key, trustedKeyIds });
    const append = async (n: number) => {
      for (let i = 0; i < n; i++) await log.record({ actor: "tok", role: "admin", action: `A${disk.d.audit.length}`, outcome: "ok" });
    };

    beforeEach(async () => {
      disk = { d: emptyDisk() };
      store = new MemoryAuthStore(disk);
      log = new AuditLog(store);
      key = signer();
      cp = new AuditCheckpointer(store, key, 1000);
      for (const n of [5, 5, 2]) {
        await append(n);
        await cp.checkpoint();
      }
    });

    it("every N rows appended through the log, and on demand: nothing new, no checkpoint", async () => {
      disk.d = emptyDisk();
      const every3 = new AuditCheckpointer(store, key, 3);
      const errors: unknown[] = [];
      log.onAppended(() => every3.noteAppended((e) => errors.push(e)));
      await append(3);
      expect(await every3.checkpoint()).to.equal(undefined);
      expect(disk.d.auditCheckpoints.map((c) => c.treeSize)).to.deep.equal([3]);
      expect(errors).to.deep.equal([]);
    });

    it("checkpoints of 5, 10 and 12 rows, all verified", async () => {
      expect(disk.d.auditCheckpoints.map((c) => c.treeSize)).to.deep.equal([5, 10, 12]);
      expect(await cp.checkpoint()).to.equal(undefined);
      const r = await verify();
      expect(auditVerdict(r)).to.equal("OK (12 rows, 3 checkpoints)");
      expect(r.registeredKeys.map((k) => k.keyId)).to.deep.equal([key.key.keyId]);
    });

    it("an edited row is named: its hash does not match its content", async () => {
      disk.d.audit[3]!.outcome = "PERMISSION_DENIED";
      const r = await verify();
      expect(r).to.include({ ok: false, badSeq: 4, badRowId: disk.d.audit[3]!.id });
      expect(r.reason).to.match(/hash does not match its content: the row was edited/);
    });

    it("an edited row with its hash recomputed: the next row no longer chains to it", async () => {
      const row = disk.d.audit[3]!;
      row.outcome = "PERMISSION_DENIED";
      row.hash = auditRowHash(row.prevHash, row.seq, row);
      const r = await verify();
      expect(r).to.include({ ok: false, badSeq: 5 });
      expect(r.reason).to.match(/prev_hash is not the hash of the row before it \(id \d+\)/);
    });

    it("the whole chain re-hashed after an edit (no key needed): the signed checkpoint's root names it", async () => {
      disk.d.audit[3]!.outcome = "PERMISSION_DENIED";
      let prev = AUDIT_GENESIS_HASH;
      for (const r of disk.d.audit) {
        r.prevHash = prev;
        r.hash = prev = auditRowHash(prev, r.seq, r);
      }
      const r = await verify();
      expect(r).to.include({ ok: false, badSeq: 5 });
      expect(r.reason).to.match(/Merkle root of the checkpoint of 5 rows/);
    });

    it("a deleted row, two reordered rows, a cut tail: each named", async () => {
      const saved = structuredClone(disk.d.audit);
      disk.d.audit.splice(6, 1);
      let r = await verify();
      expect(r).to.include({ ok: false, badSeq: 8 });
      expect(r.reason).to.match(/row 7 of the chain is missing before it \(deleted\)/);

      disk.d.audit = structuredClone(saved);
      const [a, b] = [disk.d.audit[2]!, disk.d.audit[3]!];
      [a.id, b.id] = [b.id, a.id];
      disk.d.audit.sort((x, y) => x.id - y.id);
      r = await verify();
      expect(r).to.include({ ok: false, badSeq: 4 });
      expect(r.reason).to.match(/row 3 of the chain comes later .*reordered/);

      disk.d.audit = saved.slice(0, 11);
      r = await verify();
      expect(r.ok).to.equal(false);
      expect(r.badRowId).to.equal(undefined);
      expect(r.reason).to.match(/ends at row 11 of the chain, but the checkpoint of 12 rows .* rows 12 to 12 were deleted \(the tail was cut\)/);
    });

    it("checkpoints: an altered one, one by an unknown key, and a key not pinned are refused", async () => {
      const cps = disk.d.auditCheckpoints;
      const good = structuredClone(cps[1]!);
      cps[1]!.treeSize = 9;
      expect((await verify()).reason).to.match(/checkpoint of 9 rows .* signature does not verify/);
      cps[1] = good;
      const other = signer();
      const unsigned = { treeSize: 10, rootHash: good.rootHash, time: good.time, keyId: other.key.keyId };
      cps[1] = { ...unsigned, signature: other.sign(checkpointMessage(unsigned)), frontier: good.frontier };
      expect((await verify()).reason).to.match(new RegExp(`signed by key ${other.key.keyId}, which is not trusted`));
      cps[1] = good;
      expect((await verify(["0123456789abcdef"])).reason).to.match(/not trusted/);
      expect((await verify([key.key.keyId])).ok).to.equal(true);
    });

    it("a checkpoint at the pruning point stays and checks the anchor: an altered anchor edge is named", async () => {
      expect(await store.pruneAudit("9999", 10)).to.equal(10);
      expect(disk.d.auditCheckpoints.map((c) => c.treeSize)).to.deep.equal([10, 12]);
      expect(auditVerdict(await verify())).to.equal("OK (2 rows, 2 checkpoints)");
      disk.d.auditAnchor!.frontier = [createHash("sha256").update("forged").digest("hex"), disk.d.auditAnchor!.frontier[1]!];
      const r = await verify();
      expect(r.badRowId).to.equal(undefined);
      expect(r.reason).to.match(/the pruning anchor \(rows up to 10 pruned\) does not have the Merkle root of the checkpoint of 10 rows .*: it was altered/);
    });

    it("pruning keeps the chain verifiable from its anchor; a tampered chain is never checkpointed", async () => {
      expect(await store.pruneAudit("9999", 7)).to.equal(7);
      await append(3);
      await cp.checkpoint();
      const r = await verify();
      expect(auditVerdict(r)).to.equal("OK (8 rows, 3 checkpoints)");
      expect(r.prunedThrough).to.equal(7);
      await append(1);
      disk.d.audit.at(-1)!.detail = "changed";
      try {
        await cp.checkpoint();
        expect.fail("checkpointed a tampered chain");
      } catch (e) {
        expect((e as Error).message).to.match(/audit chain broken: row 16 \(id 16\) does not match its hash; not checkpointed/);
      }
    });
  });
});
