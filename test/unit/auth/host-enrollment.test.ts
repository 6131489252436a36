import { expect } from "chai";
import { AuthManager } from "../../../server/domain/auth/auth-manager.js";
import { HostEnrollment } from "../../../server/domain/auth/host-enrollment.js";
import { CredentialRevocations } from "../../../server/domain/auth/revocations.js";
import { assertMayActAsHost } from "../../../server/domain/auth/roles.js";
import { ENROLL_TOKEN_RE, TOKEN_RE, parseEnrollToken, parseToken } from "../../../server/domain/auth/token.js";
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

describe("HostEnrollment (sqlite, injected clock)", () => {
  let h: Awaited<ReturnType<typeof openAuthDb>>;
  let now: number;
  let enrol: HostEnrollment;
  let auth: AuthManager;
  let revocations: CredentialRevocations;
  beforeEach(async () => {
    h = await openAuthDb();
    now = Date.UTC(2026, 11, 3, 12, 0, 0);
    revocations = new CredentialRevocations();
    enrol = new HostEnrollment({ store: h.store, now: () => new Date(now), revocations });
    auth = new AuthManager({ store: h.store, now: () => new Date(now), revocations });
  });
  afterEach(() => h.close());

  const exchange = (token: string, hostname = "compute-0", personality = "worker") => enrol.exchange({ enrollToken: token, hostname, personality });

  it("enrol: a swpe_ token (not a bearer token) that expires in one hour by default; listed pending, never with its secret", async () => {
    const r = await enrol.enroll({ hostname: "compute-0", personality: "worker", createdBy: "op1" });
    expect(r.token).to.match(ENROLL_TOKEN_RE);
    expect(r.token).not.to.match(TOKEN_RE);
    expect(r.info).to.deep.include({ hostname: "compute-0", personality: "worker", state: "pending", createdBy: "op1", credentialId: "" });
    expect(Date.parse(r.info.expiresAt) - Date.parse(r.info.createdAt)).to.equal(3600_000);
    expect(await enrol.list()).to.deep.equal([r.info]);
    // The token is not a bearer token: it cannot call anything.
    expect((await rejection(auth.verify(r.token))).message).to.equal("invalid token");
  });

  it("stores only sha256 of the enrolment secret", async () => {
    const r = await enrol.enroll({ hostname: "compute-0", personality: "worker", createdBy: "op1" });
    const secretHex = parseEnrollToken(r.token)!.secret.toString("hex");
    const dump = JSON.stringify(await h.db.read.all("SELECT * FROM host_enrollments"));
    expect(dump).not.to.contain(secretHex);
    expect(dump).not.to.contain(r.token);
    expect(dump).to.contain((await h.store.getEnrollment(r.info.id))!.secretSha256);
  });

  it("exchange: once, for an agent credential bound to the hostname and personality; the second exchange is refused as spent", async () => {
    const r = await enrol.enroll({ hostname: "compute-0", personality: "worker", createdBy: "op1" });
    now += 60_000;
    const c = await exchange(r.token);
    expect(c.token).to.match(TOKEN_RE);
    expect(c.info).to.deep.include({ role: "agent", hostname: "compute-0", personality: "worker", revoked: false });
    expect(await auth.verify(c.token)).to.deep.equal({ tokenId: c.info.id, role: "agent", hostname: "compute-0", personality: "worker" });
    const again = await rejection(exchange(r.token));
    expect([again.kind, again.reason, again.message]).to.deep.equal(["unauthenticated", "ENROLL_TOKEN_SPENT", "enrolment token already used"]);
    expect((await enrol.list())[0]).to.deep.include({ state: "spent", credentialId: c.info.id });
    // The credential is listed with its personality.
    expect((await auth.list()).find((t) => t.id === c.info.id)).to.deep.include({ personality: "worker", hostname: "compute-0" });
  });

  it("expiry: usable until the instant it expires, refused from then on (and listed expired)", async () => {
    const r = await enrol.enroll({ hostname: "compute-0", personality: "worker", createdBy: "op1", expiresSeconds: 600 });
    now += 600_000;
    const e = await rejection(exchange(r.token));
    expect([e.kind, e.reason]).to.deep.equal(["unauthenticated", "ENROLL_TOKEN_EXPIRED"]);
    expect(e.message).to.equal("enrolment token expired at 2026-12-03T12:10:00.000Z");
    expect((await enrol.list())[0]!.state).to.equal("expired");
    const r2 = await enrol.enroll({ hostname: "compute-1", personality: "worker", createdBy: "op1", expiresSeconds: 600 });
    now += 599_999;
    expect((await exchange(r2.token, "compute-1")).info.hostname).to.equal("compute-1");
  });

  it("lifetime is bounded: 1 s to 7 days", async () => {
    for (const s of [7 * 24 * 3600 + 1, -5, 1.5]) {
      expect((await rejection(enrol.enroll({ hostname: "h", personality: "worker", createdBy: "x", expiresSeconds: s }))).kind).to.equal("invalid-argument");
    }
    const r = await enrol.enroll({ hostname: "h", personality: "worker", createdBy: "x", expiresSeconds: 7 * 24 * 3600 });
    expect(Date.parse(r.info.expiresAt) - now).to.equal(7 * 24 * 3600_000);
  });

  it("binding: another hostname or personality is PERMISSION_DENIED and leaves the token usable by its host", async () => {
    const r = await enrol.enroll({ hostname: "compute-0", personality: "worker", createdBy: "op1" });
    const other = await rejection(exchange(r.token, "compute-1"));
    expect([other.kind, other.reason]).to.deep.equal(["permission-denied", "ENROLL_HOST_MISMATCH"]);
    const pers = await rejection(exchange(r.token, "compute-0", "controller"));
    expect([pers.kind, pers.reason]).to.deep.equal(["permission-denied", "ENROLL_PERSONALITY_MISMATCH"]);
    expect((await exchange(r.token)).info.hostname).to.equal("compute-0");
  });

  it("a wrong secret, an unknown id or a bearer token is 'invalid enrolment token'", async () => {
    const r = await enrol.enroll({ hostname: "compute-0", personality: "worker", createdBy: "op1" });
    const id = parseEnrollToken(r.token)!.id;
    const bearer = (await auth.createToken({ role: "admin" })).token;
    for (const t of [`swpe_${id}_${"0".repeat(64)}`, `swpe_${"0".repeat(16)}_${"1".repeat(64)}`, bearer, ""]) {
      const e = await rejection(exchange(t));
      expect([e.kind, e.reason, e.message]).to.deep.equal(["unauthenticated", "ENROLL_TOKEN_INVALID", "invalid enrolment token"]);
    }
  });

  it("re-enrolling replaces the pending enrolment; exchanging replaces (revokes) the host's old credential and tells its watchers", async () => {
    const first = await enrol.enroll({ hostname: "compute-0", personality: "worker", createdBy: "op1" });
    const second = await enrol.enroll({ hostname: "compute-0", personality: "worker", createdBy: "op1" });
    expect(second.replaced).to.deep.equal([first.info.id]);
    expect((await rejection(exchange(first.token))).reason).to.equal("ENROLL_TOKEN_REPLACED");
    const c1 = await exchange(second.token);
    const heard: string[] = [];
    revocations.watch(c1.info.id, () => heard.push(c1.info.id));
    const third = await enrol.enroll({ hostname: "compute-0", personality: "worker", createdBy: "op1" });
    expect(third.replaced).to.deep.equal([]);
    // The old credential works until the new token is exchanged...
    expect((await auth.verify(c1.token)).hostname).to.equal("compute-0");
    const c2 = await exchange(third.token);
    expect(c2.revokedTokenIds).to.deep.equal([c1.info.id]);
    expect(heard).to.deep.equal([c1.info.id]);
    // ...and is refused from then on.
    expect((await rejection(auth.verify(c1.token))).message).to.equal("token revoked");
    expect((await auth.verify(c2.token)).tokenId).to.equal(c2.info.id);
  });

  it("revokeHost: every credential and pending enrolment of the host, watchers told; other hosts untouched; unknown host not-found", async () => {
    const a = await exchange((await enrol.enroll({ hostname: "compute-0", personality: "worker", createdBy: "op1" })).token);
    const manual = await auth.createToken({ role: "agent", hostname: "compute-0" });
    const pending = await enrol.enroll({ hostname: "compute-0", personality: "worker", createdBy: "op1" });
    const b = await exchange((await enrol.enroll({ hostname: "compute-1", personality: "worker", createdBy: "op1" })).token, "compute-1");
    const heard: string[] = [];
    for (const id of [a.info.id, manual.info.id, b.info.id]) revocations.watch(id, () => heard.push(id));
    const r = await enrol.revokeHost("compute-0");
    expect(r.tokenIds).to.have.members([a.info.id, manual.info.id]);
    expect(r.enrollmentIds).to.deep.equal([pending.info.id]);
    expect(heard).to.have.members([a.info.id, manual.info.id]);
    for (const t of [a.token, manual.token]) expect((await rejection(auth.verify(t))).message).to.equal("token revoked");
    expect((await rejection(exchange(pending.token))).reason).to.equal("ENROLL_TOKEN_REVOKED");
    expect((await auth.verify(b.token)).hostname).to.equal("compute-1");
    // Again: nothing left to revoke, but the host is known.
    expect(await enrol.revokeHost("compute-0")).to.deep.equal({ tokenIds: [], enrollmentIds: [] });
    expect((await rejection(enrol.revokeHost("compute-9"))).kind).to.equal("not-found");
  });

  it("two concurrent exchanges of one token: exactly one wins, one credential exists", async () => {
    const r = await enrol.enroll({ hostname: "compute-0", personality: "worker", createdBy: "op1" });
    const results = await Promise.allSettled([exchange(r.token), exchange(r.token), exchange(r.token)]);
    const won = results.filter((x) => x.status === "fulfilled");
    expect(won).to.have.length(1);
    for (const x of results) if (x.status === "rejected") expect((x.reason as DomainError).reason).to.equal("ENROLL_TOKEN_SPENT");
    expect((await auth.list()).filter((t) => t.hostname === "compute-0")).to.have.length(1);
  });

  it("an enrolled credential may act only as its host and personality; a token-create agent token has no personality binding", async () => {
    const c = await exchange((await enrol.enroll({ hostname: "compute-0", personality: "worker", createdBy: "op1" })).token);
    const caller = await auth.verify(c.token);
    expect(() => assertMayActAsHost(caller, "compute-0", "worker")).not.to.throw();
    expect(() => assertMayActAsHost(caller, "compute-1", "worker")).to.throw(DomainError, /may not act as host compute-1/);
    expect(() => assertMayActAsHost(caller, "compute-0", "controller")).to.throw(DomainError, /enrolled as worker, not controller/);
    const manual = await auth.verify((await auth.createToken({ role: "agent", hostname: "compute-2" })).token);
    expect(() => assertMayActAsHost(manual, "compute-2", "controller")).not.to.throw();
    expect(parseToken(c.token)!.id).to.equal(c.info.id);
  });
});

describe("CredentialRevocations", () => {
  it("calls each watcher of a revoked id once; unwatched ones are not called", () => {
    const r = new CredentialRevocations();
    const heard: string[] = [];
    r.watch("a", () => heard.push("a1"));
    const stop = r.watch("a", () => heard.push("a2"));
    r.watch("b", () => heard.push("b"));
    stop();
    expect(r.size).to.equal(2);
    r.revoked(["a", "zz"]);
    r.revoked(["a"]);
    expect(heard).to.deep.equal(["a1"]);
    expect(r.size).to.equal(1);
  });

  it("a watcher that starts after the revocation hears it at once (a call verified just before it)", async () => {
    const r = new CredentialRevocations();
    r.revoked(["a"]);
    const heard: string[] = [];
    r.watch("a", () => heard.push("late"));
    const stop = r.watch("a", () => heard.push("stopped"));
    stop();
    await Promise.resolve();
    expect(heard).to.deep.equal(["late"]);
    expect(r.size).to.equal(0);
  });
});
