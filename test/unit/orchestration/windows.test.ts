import { expect } from "chai";
import { DomainError } from "../../../server/domain/errors.js";
import type { Clock } from "../../../server/domain/orchestration/clock.js";
import { Orchestrator } from "../../../server/domain/orchestration/orchestrator.js";
import type { Strategy } from "../../../server/domain/orchestration/model.js";
import { checkWindows, localToUtc, parseWindow, windowIntervals, windowStatus } from "../../../server/domain/orchestration/windows.js";
import { createMemoryStrategyPersistence } from "../../lib/memory-strategy-persistence.js";
import { FakeCluster } from "./fake-cluster.js";
import { host } from "./fixtures.js";

const utc = (s: string) => Date.parse(s);
const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

/** A clock the test moves by hand; sleepers wake when it passes their deadline. */
class FakeClock implements Clock {
  private sleepers: { until: number; resolve: () => void }[] = [];
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const entry = { until: this.t + ms, resolve };
      this.sleepers.push(entry);
      signal.addEventListener("abort", () => reject(Object.assign(new Error("aborted"), { name: "AbortError" })), { once: true });
    });
  }
  /** Moves to `t` and wakes every sleeper due. */
  set(t: number): void {
    this.t = t;
    const due = this.sleepers.filter((s) => s.until <= t);
    this.sleepers = this.sleepers.filter((s) => s.until > t);
    for (const s of due) s.resolve();
  }
}

describe("maintenance windows (issue 20)", () => {
  it("parses days, ranges, seconds, midnight crossings and refuses bad specs", () => {
    const w = parseWindow("Sat,Sun 02:00-06:00");
    expect([...w.days].sort()).to.deep.equal([0, 6]);
    expect([w.startS, w.endS]).to.deep.equal([7200, 21600]);
    expect([...parseWindow("mon-fri 22:00-02:00").days].sort()).to.deep.equal([1, 2, 3, 4, 5]);
    expect(parseWindow("Fri-Mon 22:00-02:00").endS).to.equal(26 * 3600);
    expect(parseWindow("12:00:05-12:00:10").days.size).to.equal(7);
    expect(parseWindow("Sunday 00:00-24:00").endS).to.equal(86400);
    for (const bad of ["Sat 2-6", "Xyz 02:00-06:00", "Sat 25:00-26:00", "Sat 02:60-03:00", "02:00"]) {
      expect(() => parseWindow(bad), bad).to.throw(DomainError);
    }
    expect(() => checkWindows(["Sat 02:00-02:30"], "UTC", 30)).to.throw(/not longer than the cutoff/);
    expect(() => checkWindows(["Sat 02:00-06:00"], "Mars/Olympus", 0)).to.throw(/unknown time zone/);
    expect(checkWindows(["Sat 02:00-06:00"], "", 0).tz).to.equal("UTC");
  });

  it("says when a host may start: inside a window before its cutoff, else when the next window opens", () => {
    const specs = [parseWindow("Sat,Sun 02:00-06:00")];
    // 2026-12-05 is a Saturday.
    const inside = windowStatus(specs, "UTC", 30, utc("2026-12-05T03:00:00Z"));
    expect(inside).to.deep.include({ open: true, state: "in window until 06:00 UTC" });
    expect(iso(inside.until)).to.equal("2026-12-05T06:00:00.000Z");
    const afterCutoff = windowStatus(specs, "UTC", 30, utc("2026-12-05T05:45:00Z"));
    expect(afterCutoff).to.deep.include({ open: false, state: "waiting for window Sun 02:00 UTC" });
    expect(iso(afterCutoff.nextStart)).to.equal("2026-12-06T02:00:00.000Z");
    const thursday = windowStatus(specs, "UTC", 0, utc("2026-12-03T19:00:00Z"));
    expect(iso(thursday.nextStart)).to.equal("2026-12-05T02:00:00.000Z");
    // A window over midnight that started yesterday; touching windows are one.
    const night = [parseWindow("Fri 22:00-02:00"), parseWindow("Sat 02:00-04:00")];
    const st = windowStatus(night, "UTC", 0, utc("2026-12-05T01:00:00Z"));
    expect(iso(st.until)).to.equal("2026-12-05T04:00:00.000Z");
  });

  it("follows the zone's clock, including the DST jumps (Europe/Berlin, America/New_York)", () => {
    // Winter: Berlin is UTC+1.
    expect(iso(windowStatus([parseWindow("Sat 02:00-06:00")], "Europe/Berlin", 0, utc("2026-12-03T12:00:00Z")).nextStart)).to.equal("2026-12-05T01:00:00.000Z");
    // Spring forward, 2026-03-29: 02:00 CET -> 03:00 CEST. 02:30 does not exist: taken at the jump (01:00Z = 03:00 CEST is the jump).
    expect(iso(localToUtc(2026, 3, 29, 2.5 * 3600, "Europe/Berlin"))).to.equal("2026-03-29T01:30:00.000Z");
    const spring = windowIntervals([parseWindow("Sun 02:00-04:00")], "Europe/Berlin", utc("2026-03-28T12:00:00Z")).find((i) => i.start > utc("2026-03-28T12:00:00Z"))!;
    expect([iso(spring.start), iso(spring.end)]).to.deep.equal(["2026-03-29T01:00:00.000Z", "2026-03-29T02:00:00.000Z"]); // one hour long
    // Fall back, 2026-10-25: 03:00 CEST -> 02:00 CET; 02:00-04:00 local starts at the first 02:00 and lasts three hours.
    const fall = windowIntervals([parseWindow("Sun 02:00-04:00")], "Europe/Berlin", utc("2026-10-24T12:00:00Z")).find((i) => i.start > utc("2026-10-24T12:00:00Z"))!;
    expect([iso(fall.start), iso(fall.end)]).to.deep.equal(["2026-10-25T00:00:00.000Z", "2026-10-25T03:00:00.000Z"]);
    // New York, 2026-03-08: a window across the jump.
    const ny = windowIntervals([parseWindow("Sun 01:00-05:00")], "America/New_York", utc("2026-03-07T12:00:00Z")).find((i) => i.start > utc("2026-03-07T12:00:00Z"))!;
    expect([iso(ny.start), iso(ny.end)]).to.deep.equal(["2026-03-08T06:00:00.000Z", "2026-03-08T09:00:00.000Z"]);
    expect(windowStatus([parseWindow("Sun 01:00-05:00")], "America/New_York", 0, utc("2026-03-08T08:00:00Z")).state).to.equal("in window until 05:00 America/New_York");
  });

  describe("in the engine", () => {
    const hosts = () => [
      host("controller-0", { patchCurrent: true }),
      host("controller-1", { patchCurrent: true }),
      ...["compute-0", "compute-1", "compute-2"].map((h) => host(h)),
    ];
    const windowsAt = (t0: number) => ({
      // Thursday 2026-12-03: one window 10:00-10:10, the next 12:00-13:00 (UTC).
      windows: ["Thu 10:00-10:10", "Thu 12:00-13:00"],
      windowTz: "UTC",
      cutoffMinutes: 2,
      t0,
    });

    async function until(orch: Orchestrator, pred: (s: Strategy) => boolean): Promise<Strategy> {
      const ac = new AbortController();
      try {
        for await (const s of orch.watch(ac.signal)) if (s && pred(s)) return s;
      } finally {
        ac.abort();
      }
      throw new Error("watch ended");
    }

    it("starts hosts only in a window, pauses at its end and resumes at the next one by itself, also after a restart", async () => {
      const w = windowsAt(utc("2026-12-03T09:00:00Z"));
      const clock = new FakeClock(w.t0);
      const cluster = new FakeCluster(hosts());
      const persistence = createMemoryStrategyPersistence();
      const mk = () => new Orchestrator({ port: cluster, persistence, timeScale: 0.0002, auditIntervalS: 1, clock });
      const orch1 = mk();
      await orch1.create({ windows: w.windows, windowTz: w.windowTz, cutoffMinutes: w.cutoffMinutes });
      await orch1.idle();
      await orch1.apply();
      const waiting = await until(orch1, (s) => s.windowState === "waiting for window Thu 10:00 UTC");
      expect(waiting.state).to.equal("applying");
      expect(waiting.nextWindowStart).to.equal("2026-12-03T10:00:00.000Z");
      expect(cluster.actions).to.deep.equal([]);
      // The window opens: the first stage runs; the clock then passes the cutoff before the second starts.
      const installed = new Promise<void>((resolve) => cluster.installStarted.set("compute-0", resolve));
      clock.set(utc("2026-12-03T10:00:00Z"));
      await installed;
      clock.set(utc("2026-12-03T10:08:30Z"));
      const paused = await until(orch1, (s) => s.windowState === "waiting for window Thu 12:00 UTC");
      expect(paused.applyPhase.currentStage).to.equal(1);
      expect(cluster.actions.filter((a) => a.startsWith("install"))).to.deep.equal(["install compute-0"]);
      // Controller restart while waiting: the new engine waits for the same window.
      await orch1.close();
      const orch2 = mk();
      await orch2.init();
      const again = await until(orch2, (s) => s.windowState === "waiting for window Thu 12:00 UTC");
      expect(again.applyPhase.currentStage).to.equal(1);
      clock.set(utc("2026-12-03T12:00:00Z"));
      const done = await until(orch2, (s) => s.state === "applied");
      expect(done.applyPhase.result).to.equal("success");
      expect(cluster.actions.filter((a) => a.startsWith("install"))).to.deep.equal(["install compute-0", "install compute-1", "install compute-2"]);
      await orch2.close();
    });

    it("an abort while waiting for a window ends the strategy aborted without starting a host", async () => {
      const clock = new FakeClock(utc("2026-12-03T09:00:00Z"));
      const cluster = new FakeCluster(hosts());
      const orch = new Orchestrator({ port: cluster, persistence: createMemoryStrategyPersistence(), timeScale: 0.0002, auditIntervalS: 1, clock });
      await orch.create({ windows: ["Thu 10:00-11:00"] });
      await orch.idle();
      await orch.apply();
      await until(orch, (s) => s.windowState?.startsWith("waiting") === true);
      await orch.abort();
      clock.set(utc("2026-12-03T09:00:01Z"));
      const end = await until(orch, (s) => s.state === "aborted");
      expect(end.applyPhase.result).to.equal("aborted");
      expect(cluster.actions).to.deep.equal([]);
      await orch.close();
    });

    it("refuses bad windows at create (INVALID_ARGUMENT)", async () => {
      const orch = new Orchestrator({ port: new FakeCluster(hosts()), persistence: createMemoryStrategyPersistence() });
      try {
        await orch.create({ windows: ["Caturday 02:00-06:00"] });
        expect.fail("expected a refusal");
      } catch (e) {
        expect((e as DomainError).kind).to.equal("invalid-argument");
        expect((e as DomainError).message).to.contain('unknown day "Caturday"');
      }
      expect(orch.current()).to.equal(undefined);
      await orch.close();
    });
  });
});
