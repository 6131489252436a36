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

  describe("refusals per source, retention", () => {
    let now = new Date("2024-05-01T10:00:00.000Z");
    const at = () => now;
    const refuse = (log: AuditLog, source: string, i = 0) =>
      log.record({ actor: "anonymous", role: "", action: "DeletePatches", outcome: "UNAUTHENTICATED", detail: `missing token ${i}`, source });

    it("one source's flood of refusals writes its limit, then one row counting the rest once the window ends; other sources and mutations are untouched", async () => {
      now = new Date("2024-05-01T10:00:00.000Z");
      const log = new AuditLog(h.store, at, { perWindow: 20, windowMs: 60_000 });
      for (let i = 0; i < 17_726; i++) await refuse(log, "127.0.0.1", i);
      await refuse(log, "10.0.0.9");
      // A mutation's row (a call that ran) is never dropped, whatever its outcome.
      for (let i = 0; i < 30; i++)
        await log.record({ actor: "op", role: "operator", action: "ApplyPatches", outcome: "PERMISSION_DENIED", refusal: false, source: "127.0.0.1" });
      let rows = await log.list({ limit: 1000 });
      expect(rows.filter((e) => e.target === "" && e.detail.startsWith("missing token")).length).to.equal(21);
      expect(rows.filter((e) => e.action === "ApplyPatches").length).to.equal(30);
      expect(rows.some((e) => /dropped/.test(e.detail))).to.equal(false);
      await log.flushWindows(); // the window has not ended: nothing yet
      expect((await log.list({ limit: 1000 })).length).to.equal(rows.length);
      now = new Date("2024-05-01T10:01:00.000Z");
      await log.flushWindows();
      rows = await log.list({ limit: 1000 });
      const summary = rows.filter((e) => /dropped/.test(e.detail));
      expect(summary.map((e) => [e.actor, e.action, e.target, e.outcome, e.detail, e.time])).to.deep.equal([
        [
          "anonymous",
          "DeletePatches",
          "127.0.0.1",
          "UNAUTHENTICATED",
          "17,706 similar refusals from 127.0.0.1 dropped (at most 20 per source per 60 s)",
          "2024-05-01T10:01:00.000Z",
        ],
      ]);
      expect(log.trackedSources).to.equal(0);
      // A new window writes again.
      await refuse(log, "127.0.0.1", -1);
      expect((await log.list({ limit: 1000 })).at(-1)!.detail).to.equal("missing token -1");
    });

    it("a source's next refusal after its window writes the summary first; sources beyond the tracked cap share one bucket", async () => {
      now = new Date("2024-05-01T10:00:00.000Z");
      const log = new AuditLog(h.store, at, { perWindow: 1, windowMs: 1000, maxSources: 3 });
      await refuse(log, "a", 1);
      await refuse(log, "a", 2);
      await refuse(log, "a", 3);
      now = new Date("2024-05-01T10:00:01.000Z");
      await refuse(log, "a", 4);
      expect((await log.list()).map((e) => e.detail)).to.deep.equal([
        "missing token 1",
        "2 similar refusals from a dropped (at most 1 per source per 1 s)",
        "missing token 4",
      ]);
      for (let i = 0; i < 10; i++) await refuse(log, `s${i}`, i);
      expect(log.trackedSources).to.equal(3 + 1);
      // s2..s9 share the "*" bucket: one written, seven counted.
      now = new Date("2024-05-01T10:00:02.000Z");
      await log.flushWindows();
      expect((await log.list()).at(-1)!.detail).to.equal("7 similar refusals from other sources dropped (at most 1 per source per 1 s)");
      // (after the windows above were flushed) Authenticated refusals count per address and token: one operator's do not hide another's.
      const denied = (actor: string) => log.record({ actor, role: "operator", action: "DelRelease", outcome: "PERMISSION_DENIED", source: "10.1.1.1" });
      await denied("op1");
      await denied("op1");
      await denied("op2");
      expect((await log.list()).filter((e) => e.action === "DelRelease").map((e) => e.actor)).to.deep.equal(["op1", "op2"]);
    });

    it("prunes the rows older than the retention, oldest first", async () => {
      const log = new AuditLog(h.store, at, {});
      for (let d = 1; d <= 5; d++) {
        now = new Date(`2024-05-0${d}T10:00:00.000Z`);
        await log.record({ actor: "x", role: "admin", action: `A${d}`, outcome: "ok" });
      }
      now = new Date("2024-05-05T12:00:00.000Z");
      expect(await log.prune(2 * 86_400_000)).to.equal(3);
      expect((await log.list()).map((e) => e.action)).to.deep.equal(["A4", "A5"]);
      expect(await log.prune(2 * 86_400_000)).to.equal(0);
    });
  });
});
