import { expect } from "chai";
import { existsSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { AuthManager } from "../../../server/domain/auth/auth-manager.js";
import { hashSecret, parseToken, TOKEN_RE } from "../../../server/domain/auth/token.js";
import { DomainError } from "../../../server/domain/errors.js";
import { openAuthDb } from "./helpers.js";

async function rejection(p: Promise<unknown>): Promise<DomainError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(DomainError);
    return e as DomainError;
  }
  throw new Error("expected a rejection");
}

describe("AuthManager (sqlite)", () => {
  let h: Awaited<ReturnType<typeof openAuthDb>>;
  let auth: AuthManager;
  beforeEach(async () => {
    h = await openAuthDb();
    auth = new AuthManager({ store: h.store });
  });
  afterEach(() => h.close());

  it("creates a token of the swp_<id>_<secret> form that verifies to its role", async () => {
    const { info, token } = await auth.createToken({ role: "operator", description: "ci" });
    expect(token).to.match(TOKEN_RE);
    expect(parseToken(token)!.id).to.equal(info.id);
    expect(info).to.include({ role: "operator", hostname: "", description: "ci", revoked: false });
    expect(await auth.verify(token)).to.deep.equal({ tokenId: info.id, role: "operator" });
  });

  it("stores only sha256 of the secret, never the token or the secret", async () => {
    const { info, token } = await auth.createToken({ role: "admin" });
    const secretHex = parseToken(token)!.secret.toString("hex");
    const rows = await h.db.read.all<Record<string, unknown>>("SELECT * FROM auth_tokens");
    expect(rows).to.have.length(1);
    expect(rows[0]!.secret_sha256).to.equal(hashSecret(Buffer.from(secretHex, "hex")));
    const dump = JSON.stringify(rows);
    expect(dump).not.to.include(secretHex);
    expect(dump).not.to.include(token);
    expect(rows[0]!.id).to.equal(info.id);
  });

  it("binds agent tokens to their host and returns the hostname in the caller", async () => {
    const { info, token } = await auth.createToken({ role: "agent", hostname: "compute-0" });
    expect(info.hostname).to.equal("compute-0");
    expect(await auth.verify(token)).to.deep.equal({ tokenId: info.id, role: "agent", hostname: "compute-0" });
  });

  it("rejects bad roles and hostname/role mismatches with invalid-argument", async () => {
    expect((await rejection(auth.createToken({ role: "root" }))).kind).to.equal("invalid-argument");
    expect((await rejection(auth.createToken({ role: "agent" }))).message).to.equal("hostname: required for an agent token");
    expect((await rejection(auth.createToken({ role: "reader", hostname: "controller-0" }))).kind).to.equal("invalid-argument");
    expect((await rejection(auth.createToken({ role: "agent", hostname: "bad host!" }))).kind).to.equal("invalid-argument");
    expect((await rejection(auth.createToken({ role: "reader", description: "x".repeat(257) }))).kind).to.equal("invalid-argument");
  });

  it("refuses malformed, unknown and wrong-secret tokens as 'invalid token'", async () => {
    const { token } = await auth.createToken({ role: "reader" });
    const id = parseToken(token)!.id;
    const wrongSecret = `swp_${id}_${"0".repeat(64)}`;
    const unknownId = `swp_${"f".repeat(16)}_${token.slice(-64)}`;
    for (const t of ["", "Bearer", "swp_x_y", token + "0", token.toUpperCase(), wrongSecret, unknownId]) {
      const e = await rejection(auth.verify(t));
      expect(e.kind, t).to.equal("unauthenticated");
      expect(e.message, t).to.equal("invalid token");
    }
  });

  it("revocation takes effect on the very next verify", async () => {
    const { info, token } = await auth.createToken({ role: "operator" });
    await auth.verify(token);
    await auth.revoke(info.id);
    const e = await rejection(auth.verify(token));
    expect(e.kind).to.equal("unauthenticated");
    expect(e.message).to.equal("token revoked");
    expect((await auth.list()).find((t) => t.id === info.id)!.revoked).to.equal(true);
  });

  it("says 'invalid token', not 'token revoked', for a revoked id with a wrong secret", async () => {
    const { info } = await auth.createToken({ role: "operator" });
    await auth.revoke(info.id);
    expect((await rejection(auth.verify(`swp_${info.id}_${"1".repeat(64)}`))).message).to.equal("invalid token");
  });

  it("revoking twice is a no-op and an unknown id is not-found", async () => {
    const { info } = await auth.createToken({ role: "reader" });
    await auth.revoke(info.id);
    await auth.revoke(info.id);
    const e = await rejection(auth.revoke("0123456789abcdef"));
    expect(e.kind).to.equal("not-found");
    expect(e.message).to.equal("Token 0123456789abcdef not found");
  });

  it("lists every token, oldest first, without secrets", async () => {
    let t = 0;
    auth = new AuthManager({ store: h.store, now: () => new Date(Date.UTC(2024, 0, 1, 0, 0, t++)) });
    const a = await auth.createToken({ role: "admin" });
    const b = await auth.createToken({ role: "agent", hostname: "worker-1" });
    const list = await auth.list();
    expect(list.map((x) => x.id)).to.deep.equal([a.info.id, b.info.id]);
    expect(Object.keys(list[0]!).sort()).to.deep.equal(["createdAt", "description", "hostname", "id", "personality", "revoked", "role"]);
  });

  it("writes admin.token (0600) at first start, and not again while an admin token exists", async () => {
    const file = path.join(h.dir, "admin.token");
    const id = await auth.ensureAdminTokenFile(file);
    expect(id).to.be.a("string");
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    const token = readFileSync(file, "utf8").trim();
    expect(await auth.verify(token)).to.deep.equal({ tokenId: id, role: "admin" });
    expect(await auth.ensureAdminTokenFile(file)).to.equal(null);
    expect(readFileSync(file, "utf8").trim()).to.equal(token);
  });

  it("writes a new admin.token when every admin token was revoked", async () => {
    const file = path.join(h.dir, "admin.token");
    const first = (await auth.ensureAdminTokenFile(file))!;
    await auth.revoke(first);
    const second = await auth.ensureAdminTokenFile(file);
    expect(second).to.be.a("string").and.not.equal(first);
    expect((await auth.verify(readFileSync(file, "utf8").trim())).tokenId).to.equal(second);
  });

  it("does not write admin.token when an admin token was created otherwise", async () => {
    await auth.createToken({ role: "admin" });
    const file = path.join(h.dir, "admin.token");
    expect(await auth.ensureAdminTokenFile(file)).to.equal(null);
    expect(existsSync(file)).to.equal(false);
  });

  it("keeps tokens across a reopen of the database", async () => {
    const { token } = await auth.createToken({ role: "reader" });
    await h.close({ keep: true });
    h = await openAuthDb(h.dir);
    expect((await new AuthManager({ store: h.store }).verify(token)).role).to.equal("reader");
  });
});
