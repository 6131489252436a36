/** Store contract: the EnrollmentStore port (host enrolment), raw, for every store. */
import { expect } from "chai";
import { factories, storePerTest } from "./store-factory.js";
import type { EnrollmentRecord, TokenRecord } from "../../server/domain/auth/index.js";

const enrollment = (id: string, over: Partial<EnrollmentRecord> = {}): EnrollmentRecord => ({
  id,
  hostname: "compute-0",
  personality: "worker",
  secretSha256: "cd".repeat(32),
  createdAt: "2026-12-03T10:00:00.000Z",
  expiresAt: "2026-12-03T11:00:00.000Z",
  createdBy: "00000000000000aa",
  state: "pending",
  endedAt: null,
  credentialId: "",
  ...over,
});

const credential = (id: string, over: Partial<TokenRecord> = {}): TokenRecord => ({
  id,
  role: "agent",
  hostname: "compute-0",
  personality: "worker",
  description: "enrolled",
  secretSha256: "ef".repeat(32),
  createdAt: "2026-12-03T10:30:00.000Z",
  revokedAt: null,
  ...over,
});

for (const f of factories) {
  describe(`store contract (${f.name}): enrolments`, () => {
    const { s, reopen } = storePerTest(f);

    it("insert/get/list round trip; a new enrolment replaces the host's pending one (only that host's); durable", async () => {
      const { enrollments } = s().auth;
      expect(await enrollments.insertEnrollment(enrollment("00000000000000e1"))).to.deep.equal([]);
      expect(await enrollments.insertEnrollment(enrollment("00000000000000f1", { hostname: "compute-1" }))).to.deep.equal([]);
      const e2 = enrollment("00000000000000e2", { createdAt: "2026-12-03T10:05:00.000Z" });
      expect(await enrollments.insertEnrollment(e2)).to.deep.equal(["00000000000000e1"]);
      expect(await enrollments.getEnrollment("00000000000000e1")).to.deep.equal(
        enrollment("00000000000000e1", { state: "replaced", endedAt: "2026-12-03T10:05:00.000Z" }),
      );
      expect(await enrollments.getEnrollment("0000000000000000")).to.equal(undefined);
      const all = await enrollments.listEnrollments();
      expect(all.map((e) => [e.id, e.state])).to.deep.equal([
        ["00000000000000e1", "replaced"],
        ["00000000000000f1", "pending"],
        ["00000000000000e2", "pending"],
      ]);
      const again = await reopen();
      expect(await again.auth.enrollments.listEnrollments()).to.deep.equal(all);
    });

    it("exchange: spends the enrolment, revokes the host's live agent tokens, inserts the credential (readable with its personality); durable", async () => {
      const { enrollments, tokens } = s().auth;
      await enrollments.insertEnrollment(enrollment("00000000000000e1"));
      await tokens.insertToken(credential("00000000000000c0", { personality: undefined, createdAt: "2026-12-03T09:00:00.000Z" }));
      await tokens.insertToken(credential("00000000000000d0", { hostname: "compute-1", personality: undefined }));
      expect((await tokens.getToken("00000000000000c0"))!.revokedAt).to.equal(null); // cached before the exchange
      const cred = credential("00000000000000c1");
      expect(await enrollments.exchangeEnrollment("00000000000000e1", "2026-12-03T10:30:00.000Z", cred)).to.deep.equal({ revokedTokenIds: ["00000000000000c0"] });
      expect(await tokens.getToken("00000000000000c1")).to.deep.equal(cred);
      expect((await tokens.getToken("00000000000000c0"))!.revokedAt).to.equal("2026-12-03T10:30:00.000Z");
      expect((await tokens.getToken("00000000000000d0"))!.revokedAt).to.equal(null);
      expect(await enrollments.getEnrollment("00000000000000e1")).to.deep.include({
        state: "spent",
        endedAt: "2026-12-03T10:30:00.000Z",
        credentialId: "00000000000000c1",
      });
      // Spent: a second exchange writes nothing.
      expect(await enrollments.exchangeEnrollment("00000000000000e1", "2026-12-03T10:31:00.000Z", credential("00000000000000c2"))).to.equal(null);
      expect(await tokens.getToken("00000000000000c2")).to.equal(undefined);
      const again = await reopen();
      expect(await again.auth.tokens.getToken("00000000000000c1")).to.deep.equal(cred);
      expect((await again.auth.enrollments.getEnrollment("00000000000000e1"))!.state).to.equal("spent");
    });

    it("exchange refuses (writes nothing) at or after the expiry, and for a replaced or revoked enrolment", async () => {
      const { enrollments, tokens } = s().auth;
      await enrollments.insertEnrollment(enrollment("00000000000000e1"));
      expect(await enrollments.exchangeEnrollment("00000000000000e1", "2026-12-03T11:00:00.000Z", credential("00000000000000c1"))).to.equal(null);
      expect((await enrollments.getEnrollment("00000000000000e1"))!.state).to.equal("pending");
      await enrollments.insertEnrollment(enrollment("00000000000000e2", { expiresAt: "2026-12-04T00:00:00.000Z" }));
      expect(await enrollments.exchangeEnrollment("00000000000000e1", "2026-12-03T10:10:00.000Z", credential("00000000000000c1"))).to.equal(null);
      await enrollments.revokeHost("compute-0", "2026-12-03T10:20:00.000Z");
      expect(await enrollments.exchangeEnrollment("00000000000000e2", "2026-12-03T10:30:00.000Z", credential("00000000000000c1"))).to.equal(null);
      expect(await tokens.getToken("00000000000000c1")).to.equal(undefined);
    });

    it("concurrent exchanges of one enrolment: exactly one wins, exactly one credential stored", async () => {
      const { enrollments, tokens } = s().auth;
      await enrollments.insertEnrollment(enrollment("00000000000000e1"));
      const ids = ["00000000000000c1", "00000000000000c2", "00000000000000c3", "00000000000000c4"];
      const results = await Promise.all(ids.map((id) => enrollments.exchangeEnrollment("00000000000000e1", "2026-12-03T10:30:00.000Z", credential(id))));
      expect(results.filter((r) => r !== null)).to.have.length(1);
      const stored = (await tokens.listTokens()).filter((t) => ids.includes(t.id));
      expect(stored).to.have.length(1);
      expect((await enrollments.getEnrollment("00000000000000e1"))!.credentialId).to.equal(stored[0]!.id);
    });

    it("revokeHost: the host's live agent tokens and pending enrolments, nothing of other hosts; known tells an unknown host apart", async () => {
      const { enrollments, tokens } = s().auth;
      await tokens.insertToken(credential("00000000000000c1"));
      await tokens.insertToken(credential("00000000000000c2", { revokedAt: "2026-12-03T09:00:00.000Z", createdAt: "2026-12-03T08:00:00.000Z" }));
      await tokens.insertToken(credential("00000000000000d1", { hostname: "compute-1" }));
      await enrollments.insertEnrollment(enrollment("00000000000000e1"));
      await enrollments.insertEnrollment(enrollment("00000000000000f1", { hostname: "compute-1" }));
      expect((await tokens.getToken("00000000000000c1"))!.revokedAt).to.equal(null); // cached before
      expect(await enrollments.revokeHost("compute-0", "2026-12-03T10:40:00.000Z")).to.deep.equal({
        tokenIds: ["00000000000000c1"],
        enrollmentIds: ["00000000000000e1"],
        known: true,
      });
      expect((await tokens.getToken("00000000000000c1"))!.revokedAt).to.equal("2026-12-03T10:40:00.000Z");
      expect((await tokens.getToken("00000000000000c2"))!.revokedAt).to.equal("2026-12-03T09:00:00.000Z");
      expect((await tokens.getToken("00000000000000d1"))!.revokedAt).to.equal(null);
      expect(await enrollments.getEnrollment("00000000000000e1")).to.deep.include({ state: "revoked", endedAt: "2026-12-03T10:40:00.000Z" });
      expect((await enrollments.getEnrollment("00000000000000f1"))!.state).to.equal("pending");
      expect(await enrollments.revokeHost("compute-0", "2026-12-03T10:41:00.000Z")).to.deep.equal({ tokenIds: [], enrollmentIds: [], known: true });
      expect(await enrollments.revokeHost("compute-9", "2026-12-03T10:41:00.000Z")).to.deep.equal({ tokenIds: [], enrollmentIds: [], known: false });
      const again = await reopen();
      expect((await again.auth.tokens.getToken("00000000000000c1"))!.revokedAt).to.equal("2026-12-03T10:40:00.000Z");
      expect((await again.auth.enrollments.getEnrollment("00000000000000e1"))!.state).to.equal("revoked");
    });
  });
}
