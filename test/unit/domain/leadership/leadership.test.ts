import { expect } from "chai";
import { Leadership, type LeadershipClock, type LeadershipOptions, type LeadershipStatus } from "../../../../server/domain/leadership/leadership.js";
import type { LeaseCandidate, LeasePort, LeaseState, RenewResult } from "../../../../server/domain/leadership/lease-port.js";

/**
 * Leadership with a fake clock (shared time; each controller's timers can be paused like a SIGSTOPped process)
 * and a fake lease store whose clock is the same time plus an offset (only durations may matter).
 */

interface Timer {
  id: number;
  at: number;
  fn: () => void;
  owner: string;
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

class FakeClock {
  t = 0;
  private timers: Timer[] = [];
  private nextId = 1;
  readonly paused = new Set<string>();

  view(owner: string): LeadershipClock {
    return {
      now: () => this.t,
      setTimer: (fn, ms) => {
        const timer = { id: this.nextId++, at: this.t + Math.max(0, ms), fn, owner };
        this.timers.push(timer);
        return timer.id;
      },
      clearTimer: (id) => {
        this.timers = this.timers.filter((x) => x.id !== id);
      },
    };
  }

  /** Advances time to now + ms, firing due timers of unpaused owners in order; `each` runs after every step. */
  async advance(ms: number, each?: () => void): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      each?.();
      const due = this.timers.filter((x) => x.at <= end && !this.paused.has(x.owner)).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.t = Math.max(this.t, due.at);
      this.timers = this.timers.filter((x) => x !== due);
      due.fn();
    }
    this.t = end;
    await flush();
    each?.();
  }

  /** Advances in steps of `step` ms, calling `check` at each. */
  async walk(ms: number, step: number, check: () => void): Promise<void> {
    for (let done = 0; done < ms; done += step) await this.advance(step, check);
  }
}

/** The lease row in memory, decided by the store's clock (`clock.t + 1e6`). */
class FakeLeasePort implements LeasePort {
  row = { epoch: 0, holder: "", address: "", expiresAt: 0 };
  /** Controllers whose store calls fail (their connection to the store is down). */
  readonly unreachable = new Set<string>();
  /** Controllers whose answers arrive this many ms after the store executed the call. */
  readonly answerDelayMs = new Map<string, number>();
  calls = 0;

  constructor(private readonly clock: FakeClock) {}

  private dbNow(): number {
    return this.clock.t + 1_000_000;
  }

  private async call<T>(id: string, body: () => T): Promise<T> {
    this.calls++;
    await Promise.resolve();
    if (this.unreachable.has(id)) throw new Error("connection refused");
    const result = body();
    const delay = this.answerDelayMs.get(id);
    if (delay) await new Promise<void>((r) => this.clock.view("store").setTimer(r, delay));
    return result;
  }

  state(): LeaseState {
    const r = this.row;
    return { epoch: r.epoch, holder: r.holder, address: r.address, expiresAt: new Date(r.expiresAt), valid: r.expiresAt > this.dbNow() };
  }

  tryAcquire(c: LeaseCandidate, ttlMs: number): Promise<LeaseState> {
    return this.call(c.controllerId, () => {
      if (this.row.expiresAt <= this.dbNow() || this.row.holder === c.controllerId) {
        this.row = { epoch: this.row.epoch + 1, holder: c.controllerId, address: c.address, expiresAt: this.dbNow() + ttlMs };
      }
      return this.state();
    });
  }

  renew(id: string, epoch: number, ttlMs: number): Promise<RenewResult> {
    return this.call(id, () => {
      if (!this.holds(id, epoch)) return "lost";
      this.row.expiresAt = this.dbNow() + ttlMs;
      return "ok";
    });
  }

  release(id: string, epoch: number): Promise<void> {
    return this.call(id, () => {
      if (this.holds(id, epoch)) this.row.expiresAt = this.dbNow();
    });
  }

  currentCalls = 0;

  current(): Promise<LeaseState> {
    this.currentCalls++;
    return Promise.resolve(this.state());
  }

  /** The fencing check a write transaction runs first. */
  holds(id: string, epoch: number): boolean {
    return this.row.holder === id && this.row.epoch === epoch && this.row.expiresAt > this.dbNow();
  }
}

function pair(opts: Partial<LeadershipOptions> = {}) {
  const clock = new FakeClock();
  const port = new FakeLeasePort(clock);
  const make = (id: string, address: string) => new Leadership({ port, self: { controllerId: id, address }, clock: clock.view(id), ...opts });
  const a = make("controller-0", "10.0.0.5:5490");
  const b = make("controller-1", "10.0.0.6:5490");
  const seen: Record<string, LeadershipStatus[]> = { a: [], b: [] };
  a.onChange((s) => seen.a.push(s));
  b.onChange((s) => seen.b.push(s));
  /** At every step: never two active controllers, and an active controller always holds a valid lease in the store. */
  const safe = () => {
    expect(a.isActive() && b.isActive(), "two active controllers").to.equal(false);
    for (const l of [a, b]) {
      const term = l.term();
      if (term) expect(port.holds(l.status.self.controllerId, term.epoch), `${l.status.self.controllerId} acts without the lease`).to.equal(true);
    }
  };
  return { clock, port, a, b, seen, safe };
}

describe("Leadership (fake clock, fake lease store)", () => {
  it("a lone controller becomes active with epoch 1 and stays active while its renewals succeed", async () => {
    const { clock, a, seen, safe } = pair();
    a.start();
    await clock.advance(0);
    expect(a.status).to.deep.include({ role: "active", epoch: 1 });
    expect(a.status.active).to.deep.equal({ controllerId: "controller-0", address: "10.0.0.5:5490" });
    await clock.walk(20_000, 100, safe);
    expect(a.status).to.deep.include({ role: "active", epoch: 1 });
    expect(seen.a.map((s) => s.role)).to.deep.equal(["standby", "active"]);
    await a.stop();
  });

  it("of two contenders starting together exactly one is active; the other is standby and names it", async () => {
    const { clock, a, b, safe } = pair();
    b.start();
    a.start();
    await clock.walk(5000, 50, safe);
    const [active, standby] = a.isActive() ? [a, b] : [b, a];
    expect(active.status.role).to.equal("active");
    expect(standby.status).to.deep.include({ role: "standby", epoch: active.status.epoch, active: active.status.self });
    await Promise.all([a.stop(), b.stop()]);
  });

  const failures: Array<{ name: string; failMs: number; stillActive: boolean }> = [
    { name: "one failed renewal (1.5 s) is ridden out", failMs: 1500, stillActive: true },
    { name: "two failed renewals (2.5 s) are ridden out", failMs: 2500, stillActive: true },
    { name: "renewals failing for 3.5 s end the term before the lease expires", failMs: 3500, stillActive: false },
    { name: "renewals failing for 10 s end the term; the peer takes over after expiry", failMs: 10_000, stillActive: false },
  ];
  for (const f of failures) {
    it(`renewal failures: ${f.name}`, async () => {
      const { clock, port, a, b, safe } = pair();
      a.start();
      await clock.advance(0);
      b.start();
      await clock.advance(1000, safe);
      port.unreachable.add("controller-0");
      let steppedDownWithLeaseValid: boolean | undefined;
      a.onChange((s) => {
        if (s.role === "standby") steppedDownWithLeaseValid = port.state().valid && port.row.holder === "controller-0";
      });
      await clock.walk(f.failMs, 50, safe);
      port.unreachable.delete("controller-0");
      await clock.advance(100, safe);
      if (f.stillActive) {
        expect(a.status).to.deep.include({ role: "active", epoch: 1 });
        expect(b.status).to.deep.include({ role: "standby", epoch: 1 });
      } else {
        expect(steppedDownWithLeaseValid, "stopped acting while its lease was still valid").to.equal(true);
        await clock.walk(5000, 50, safe);
        expect([a.status.role, b.status.role]).to.have.members(["active", "standby"]);
        if (f.failMs > 5000) expect(b.status).to.deep.include({ role: "active", epoch: 2 });
      }
      await Promise.all([a.stop(), b.stop()]);
    });
  }

  it("a controller paused past its lease (SIGSTOP) is no longer active the moment it resumes, and its epoch is fenced", async () => {
    const { clock, port, a, b, safe } = pair();
    a.start();
    await clock.advance(0);
    b.start();
    await clock.advance(1500, safe);
    const old = a.term()!;
    expect(old.epoch).to.equal(1);
    clock.paused.add("controller-0");
    await clock.walk(8000, 100, () => expect(b.status.role === "active" ? port.holds("controller-1", b.status.epoch) : true).to.equal(true));
    expect(b.status).to.deep.include({ role: "active", epoch: 2 });
    clock.paused.delete("controller-0");
    // Before any of its timers runs: the clock alone says the term is over.
    expect(a.isActive()).to.equal(false);
    expect(old.signal.aborted).to.equal(true);
    expect(port.holds("controller-0", old.epoch), "a write under the old epoch passes fencing").to.equal(false);
    await clock.advance(1000, safe);
    expect(a.status).to.deep.include({ role: "standby", epoch: 2, active: { controllerId: "controller-1", address: "10.0.0.6:5490" } });
    await Promise.all([a.stop(), b.stop()]);
  });

  it("a renewal confirmed after the deadline does not revive the term; the next term has a new epoch", async () => {
    const { clock, port, a, safe } = pair();
    a.start();
    await clock.advance(0);
    port.answerDelayMs.set("controller-0", 3500);
    const first = a.term()!;
    await clock.walk(4000, 50, safe);
    expect(first.signal.aborted).to.equal(true);
    port.answerDelayMs.delete("controller-0");
    await clock.walk(6000, 50, safe);
    expect(a.status.role).to.equal("active");
    expect(a.status.epoch).to.be.greaterThan(first.epoch);
    await a.stop();
  });

  it("steps down at once when the store says the lease was lost", async () => {
    const { clock, port, a, safe } = pair();
    a.start();
    await clock.advance(0);
    const term = a.term()!;
    port.row = { epoch: 7, holder: "controller-1", address: "10.0.0.6:5490", expiresAt: clock.t + 1_000_000 + 60_000 };
    await clock.advance(1000);
    expect(term.signal.aborted).to.equal(true);
    await clock.advance(1000, safe);
    expect(a.status).to.deep.include({ role: "standby", epoch: 7, active: { controllerId: "controller-1", address: "10.0.0.6:5490" } });
    await a.stop();
  });

  it("swact: drains while still active, releases, and the peer is active within 2 s; the old one leaves it to the peer", async () => {
    const { clock, a, b, safe } = pair();
    a.start();
    await clock.advance(0);
    b.start();
    await clock.advance(1200, safe);
    let activeWhileDraining: boolean | undefined;
    const swact = a.swact({
      drain: async () => {
        activeWhileDraining = a.isActive();
      },
    });
    await clock.advance(0);
    await swact;
    expect(activeWhileDraining).to.equal(true);
    expect(a.status.role).to.equal("standby");
    const from = clock.t;
    let takeover: number | undefined;
    await clock.walk(5000, 10, () => {
      safe();
      if (takeover === undefined && b.isActive()) takeover = clock.t - from;
    });
    expect(takeover).to.be.a("number").and.to.be.at.most(2000);
    expect(b.status).to.deep.include({ role: "active", epoch: 2 });
    expect(a.status).to.deep.include({ role: "standby", epoch: 2, active: b.status.self });
    await Promise.all([a.stop(), b.stop()]);
  });

  it("a swact straight back after a swact: the first controller takes over at its next poll, not after its hold-off", async () => {
    const { clock, a, b, safe } = pair();
    a.start();
    await clock.advance(0);
    b.start();
    await clock.advance(100);
    await a.swact();
    await clock.walk(600, 10, safe);
    expect(b.status.role).to.equal("active");
    await b.swact();
    const from = clock.t;
    let takeover: number | undefined;
    await clock.walk(3000, 10, () => {
      safe();
      if (takeover === undefined && a.isActive()) takeover = clock.t - from;
    });
    expect(takeover).to.be.a("number").and.to.be.at.most(500);
    await Promise.all([a.stop(), b.stop()]);
  });

  it("swact without a live peer: the controller takes the lease back after its hold-off", async () => {
    const { clock, a } = pair();
    a.start();
    await clock.advance(0);
    await a.swact();
    expect(a.isActive()).to.equal(false);
    await clock.advance(1900);
    expect(a.isActive()).to.equal(false);
    await clock.advance(700);
    expect(a.status).to.deep.include({ role: "active", epoch: 2 });
    await a.stop();
  });

  it("swact on the standby is refused with failed-precondition", async () => {
    const { clock, a, b } = pair();
    a.start();
    await clock.advance(0);
    b.start();
    await clock.advance(100);
    const err = await b.swact().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.have.property("kind", "failed-precondition");
    await Promise.all([a.stop(), b.stop()]);
  });

  it("stop() releases the lease so that the peer takes over at its next poll", async () => {
    const { clock, a, b, port } = pair();
    a.start();
    await clock.advance(0);
    b.start();
    await clock.advance(100);
    await a.stop();
    expect(a.status.role).to.equal("stopped");
    expect(port.state().valid).to.equal(false);
    await clock.advance(500);
    expect(b.status).to.deep.include({ role: "active", epoch: 2 });
    const calls = port.calls;
    await clock.advance(5000);
    expect(port.calls - calls, "a stopped controller makes no store calls").to.be.at.most(6);
    await b.stop();
  });

  it("a controller is active, standby and active again any number of times (swacts back and forth)", async () => {
    const { clock, a, b } = pair();
    a.start();
    await clock.advance(0);
    b.start();
    await clock.advance(100);
    expect(a.status.role).to.equal("active");
    const epochs = [a.status.epoch];
    for (const [from, to] of [
      [a, b],
      [b, a],
      [a, b],
      [b, a],
    ] as const) {
      await from.swact();
      await clock.advance(2000);
      expect([from.status.role, to.status.role]).to.deep.equal(["standby", "active"]);
      expect(from.status.active?.controllerId).to.equal(to.status.self.controllerId);
      epochs.push(to.status.epoch);
    }
    expect(epochs, "every term has a newer epoch").to.deep.equal([...epochs].sort((x, y) => x - y));
    expect(new Set(epochs).size).to.equal(5);
    await a.stop();
    await b.stop();
  });

  it("a controller that cannot reach the store stays standby and keeps trying", async () => {
    const { clock, a, port } = pair();
    port.unreachable.add("controller-0");
    a.start();
    await clock.advance(3000);
    expect(a.status).to.deep.include({ role: "standby", epoch: 0 });
    expect(a.status.active).to.equal(undefined);
    port.unreachable.delete("controller-0");
    await clock.advance(600);
    expect(a.status.role).to.equal("active");
    await a.stop();
  });

  it("rejects timings that cannot be safe", () => {
    const port = new FakeLeasePort(new FakeClock());
    const self = { controllerId: "controller-0", address: "a:1" };
    expect(() => new Leadership({ port, self, ttlMs: 1000, safetyMarginMs: 1000 })).to.throw(/margin/);
    expect(() => new Leadership({ port, self, ttlMs: 3000, safetyMarginMs: 1000, renewIntervalMs: 2000 })).to.throw(/renew interval/);
    expect(() => new Leadership({ port, self: { controllerId: "", address: "" } })).to.throw(/controller id/);
  });
});
