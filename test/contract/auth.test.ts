/** Store contract: the auth ports (TokenStore, AuditStore, TrustedKeyStore), raw and through the domain. */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { factories, storePerTest } from "./store-factory.js";
import { AuditLog, AuthManager, TrustManager, type AuditEntry, type TokenRecord } from "../../server/domain/auth/index.js";
import { DomainError } from "../../server/domain/errors.js";

const token = (id: string, over: Partial<TokenRecord> = {}): TokenRecord => ({
  id,
  role: "operator",
  hostname: "",
  description: `token ${id} ‘described’`,
  secretSha256: "ab".repeat(32),
  createdAt: "2026-12-03T10:00:00.000Z",
  revokedAt: null,
  ...over,
});

const entry = (i: number): Omit<AuditEntry, "id"> => ({
  time: new Date(Date.UTC(2026, 11, 3, 10, 0, i)).toISOString(),
  actor: i % 2 ? "tok1" : "anonymous",
  role: i % 2 ? "admin" : "",
  action: `Action${i}`,
  target: i === 3 ? "x".repeat(256) : `target ${i}`,
  outcome: i % 3 ? "ok" : "PERMISSION_DENIED",
  detail: i === 4 ? "d".repeat(512) : "",
});

const pem = (name: string) => readFileSync(path.join(__dirname, "..", "fixtures", "starlingx", name), "utf8");

async function domainError(p: Promise<unknown>): Promise<DomainError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DomainError) return e;
    throw e;
  }
  throw new Error("expected a DomainError");
}

for (const f of factories) {
  describe(`store contract (${f.name}): auth`, () => {
    const { s, reopen } = storePerTest(f);

    it("tokens: insert/get/list round trip; unknown id is undefined; durable", async () => {
      const { tokens } = s().auth;
      const a = token("00000000000000a1", { role: "admin", createdAt: "2026-12-03T09:00:00.000Z" });
      const g = token("00000000000000b2", { role: "agent", hostname: "worker-1", description: "" });
      const r = token("00000000000000c3", { role: "reader", createdAt: "2026-12-03T11:00:00.000Z" });
      for (const t of [r, g, a]) await tokens.insertToken(t);
      expect(await tokens.getToken(g.id)).to.deep.equal(g);
      expect(await tokens.getToken("ffffffffffffffff")).to.equal(undefined);
      expect(await tokens.listTokens()).to.deep.equal([a, g, r]);
      const again = await reopen();
      expect(await again.auth.tokens.listTokens()).to.deep.equal([a, g, r]);
      expect(await again.auth.tokens.getToken(a.id)).to.deep.equal(a);
    });

    it("tokens: revoke marks the token (seen by the next get, even one read before), twice keeps the first time, unknown is false", async () => {
      const { tokens } = s().auth;
      await tokens.insertToken(token("00000000000000a1", { role: "admin" }));
      await tokens.insertToken(token("00000000000000a2", { role: "admin" }));
      expect((await tokens.getToken("00000000000000a1"))!.revokedAt).to.equal(null);
      expect(await tokens.hasActiveToken("admin")).to.equal(true);
      expect(await tokens.hasActiveToken("reader")).to.equal(false);
      expect(await tokens.revokeToken("00000000000000a1", "2026-12-03T12:00:00.000Z")).to.equal(true);
      expect((await tokens.getToken("00000000000000a1"))!.revokedAt).to.equal("2026-12-03T12:00:00.000Z");
      expect(await tokens.revokeToken("00000000000000a1", "2026-12-04T00:00:00.000Z")).to.equal(true);
      expect((await tokens.getToken("00000000000000a1"))!.revokedAt).to.equal("2026-12-03T12:00:00.000Z");
      expect(await tokens.revokeToken("ffffffffffffffff", "2026-12-03T12:00:00.000Z")).to.equal(false);
      expect(await tokens.hasActiveToken("admin")).to.equal(true);
      await tokens.revokeToken("00000000000000a2", "2026-12-03T12:00:01.000Z");
      expect(await tokens.hasActiveToken("admin")).to.equal(false);
      const again = await reopen();
      expect((await again.auth.tokens.getToken("00000000000000a1"))!.revokedAt).to.equal("2026-12-03T12:00:00.000Z");
      expect(await again.auth.tokens.hasActiveToken("admin")).to.equal(false);
    });

    it("tokens through AuthManager: create, verify, revoke, verify refused (also after reopen)", async () => {
      const auth = new AuthManager({ store: s().auth.tokens });
      const op = await auth.createToken({ role: "operator", description: "ci" });
      const agent = await auth.createToken({ role: "agent", hostname: "compute-0" });
      expect(await auth.verify(op.token)).to.deep.equal({ tokenId: op.info.id, role: "operator" });
      expect(await auth.verify(agent.token)).to.deep.equal({ tokenId: agent.info.id, role: "agent", hostname: "compute-0" });
      await auth.revoke(op.info.id);
      expect((await domainError(auth.verify(op.token))).message).to.equal("token revoked");
      expect((await domainError(auth.revoke("0123456789abcdef"))).kind).to.equal("not-found");
      const again = new AuthManager({ store: (await reopen()).auth.tokens });
      expect((await domainError(again.verify(op.token))).message).to.equal("token revoked");
      expect(await again.verify(agent.token)).to.deep.equal({ tokenId: agent.info.id, role: "agent", hostname: "compute-0" });
      expect((await again.list()).map((t) => [t.id, t.revoked])).to.have.deep.members([
        [op.info.id, true],
        [agent.info.id, false],
      ]);
    });

    it("audit: appended entries list in order with increasing ids, every field intact; afterId and limit page", async () => {
      const { audit } = s().auth;
      for (let i = 1; i <= 6; i++) await audit.appendAudit(entry(i));
      const all = await audit.listAudit(0, 100);
      expect(all.map(({ id: _id, ...rest }) => rest)).to.deep.equal([1, 2, 3, 4, 5, 6].map(entry));
      const ids = all.map((e) => e.id);
      expect(ids).to.deep.equal([...ids].sort((a, b) => a - b));
      expect(new Set(ids).size).to.equal(6);
      expect(await audit.listAudit(ids[1]!, 3)).to.deep.equal(all.slice(2, 5));
      expect(await audit.listAudit(ids[5]!, 3)).to.deep.equal([]);
      const again = await reopen();
      expect(await again.auth.audit.listAudit(0, 100)).to.deep.equal(all);
    });

    it("audit: pruneAudit deletes at most max of the entries before a time, oldest first; the rest stay, durable", async () => {
      const { audit } = s().auth;
      for (let i = 1; i <= 6; i++) await audit.appendAudit({ ...entry(i), time: `2024-05-0${i}T00:00:00.000Z` });
      expect(await audit.pruneAudit("2024-05-05T00:00:00.000Z", 3)).to.equal(3);
      expect(await audit.pruneAudit("2024-05-05T00:00:00.000Z", 3)).to.equal(1);
      expect(await audit.pruneAudit("2024-05-05T00:00:00.000Z", 3)).to.equal(0);
      const again = await reopen();
      expect((await again.auth.audit.listAudit(0, 100)).map((e) => e.time)).to.deep.equal(["2024-05-05T00:00:00.000Z", "2024-05-06T00:00:00.000Z"]);
    });

    it("audit: 30 concurrent appends through AuditLog are all listed once, in id order, durable when they resolve", async () => {
      const log = new AuditLog(s().auth.audit);
      await Promise.all(Array.from({ length: 30 }, (_, i) => log.record({ actor: "tok1", role: "admin", action: `A${i}`, outcome: "ok", time: new Date(0) })));
      const again = await reopen();
      const all = await new AuditLog(again.auth.audit).list({ limit: 1000 });
      expect(all.map((e) => e.action).sort()).to.deep.equal(Array.from({ length: 30 }, (_, i) => `A${i}`).sort());
      const ids = all.map((e) => e.id);
      expect(ids).to.deep.equal([...new Set(ids)].sort((a, b) => a - b));
    });

    it("trusted keys: insert, list in insertion order, delete (false when none), durable", async () => {
      const { trust } = s().auth;
      const k = (label: string, n: number) => ({
        label,
        pem: `-----BEGIN PUBLIC KEY-----\n${label}\n-----END PUBLIC KEY-----\n`,
        fingerprint: String(n).repeat(64),
        createdAt: `2026-12-0${n}T00:00:00.000Z`,
      });
      await trust.insertTrustedKey(k("zeta", 1));
      await trust.insertTrustedKey(k("alpha", 2));
      await trust.insertTrustedKey(k("mid", 3));
      expect(await trust.listTrustedKeys()).to.deep.equal([k("zeta", 1), k("alpha", 2), k("mid", 3)]);
      expect(await trust.deleteTrustedKey("alpha")).to.equal(true);
      expect(await trust.deleteTrustedKey("alpha")).to.equal(false);
      expect(await trust.deleteTrustedKey("never")).to.equal(false);
      const again = await reopen();
      expect(await again.auth.trust.listTrustedKeys()).to.deep.equal([k("zeta", 1), k("mid", 3)]);
    });

    it("trusted keys through TrustManager: add, remove, a new manager after reopen sees the stored ones", async () => {
      const tm = new TrustManager({ store: s().auth.trust, configured: { keys: [] } });
      await tm.init();
      const dev = await tm.add("dev", pem("dev-certificate.pem"));
      await tm.add("formal", pem("formal-certificate.pem"));
      await tm.remove("formal");
      const again = new TrustManager({ store: (await reopen()).auth.trust, configured: { keys: [] } });
      await again.init();
      expect(again.list()).to.deep.equal([dev]);
      expect(again.current().keys.map((k) => k.label)).to.deep.equal(["dev"]);
    });
  });
}
