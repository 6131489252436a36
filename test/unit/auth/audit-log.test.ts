import { expect } from "chai";
import { AuditLog, MAX_AUDIT_DETAIL, MAX_AUDIT_TARGET } from "../../../server/domain/auth/audit-log.js";
import { openAuthDb } from "./helpers.js";

describe("AuditLog (sqlite)", () => {
  let h: Awaited<ReturnType<typeof openAuthDb>>;
  let audit: AuditLog;
  beforeEach(async () => {
    h = await openAuthDb();
    audit = new AuditLog(h.store, () => new Date("2024-05-01T10:00:00.000Z"));
  });
  afterEach(() => h.close());

  it("records entries with increasing ids and lists them in order", async () => {
    await audit.record({ actor: "abc", role: "operator", action: "ApplyPatches", target: "patches=P1", outcome: "ok" });
    await audit.record({ actor: "anonymous", role: "", action: "DeletePatches", outcome: "UNAUTHENTICATED", detail: "missing token" });
    const all = await audit.list();
    const [a, b] = all.map((e) => e.id);
    expect(b).to.be.greaterThan(a!);
    expect(all).to.deep.equal([
      { id: a, time: "2024-05-01T10:00:00.000Z", actor: "abc", role: "operator", action: "ApplyPatches", target: "patches=P1", outcome: "ok", detail: "" },
      { id: b, time: "2024-05-01T10:00:00.000Z", actor: "anonymous", role: "", action: "DeletePatches", target: "", outcome: "UNAUTHENTICATED", detail: "missing token" },
    ]);
  });

  it("pages by afterId and caps limit", async () => {
    for (let i = 0; i < 5; i++) await audit.record({ actor: "x", role: "admin", action: `A${i}`, outcome: "ok" });
    const first = await audit.list({ limit: 2 });
    expect(first.map((e) => e.action)).to.deep.equal(["A0", "A1"]);
    const rest = await audit.list({ afterId: first[1]!.id });
    expect(rest.map((e) => e.action)).to.deep.equal(["A2", "A3", "A4"]);
  });

  it("truncates long targets and details", async () => {
    await audit.record({ actor: "x", role: "admin", action: "A", outcome: "ok", target: "t".repeat(1000), detail: "d".repeat(5000) });
    const [e] = await audit.list();
    expect(e!.target).to.have.length(MAX_AUDIT_TARGET);
    expect(e!.detail).to.have.length(MAX_AUDIT_DETAIL);
    expect(e!.target.endsWith("…")).to.equal(true);
  });
});
