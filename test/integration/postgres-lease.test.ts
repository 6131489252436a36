import { expect } from "chai";
import type { Pool } from "pg";
import { Leadership, type LeadershipStatus } from "../../server/domain/leadership/leadership.js";
import type { LeasePort } from "../../server/domain/leadership/lease-port.js";
import { createLeasePool, ensureLeaseSchema, PostgresLease, withFencedTransaction } from "../../server/storage/postgres/lease.js";
import { startPair } from "../../server/controller/pair.js";
import { resolvePair } from "../../server/config/pair-options.js";
import { createLogger } from "../../server/lib/log.js";
import { type PostgresServer, startPostgresOrSkip } from "../lib/postgres.js";

/** A lease port whose store calls can be cut (the controller lost its database connection, or is paused). */
function cuttable(port: LeasePort): LeasePort & { cut: boolean } {
  const w = {
    cut: false,
    check() {
      if (w.cut) throw new Error("connection to the database lost");
    },
    tryAcquire: async (...a: Parameters<LeasePort["tryAcquire"]>) => (w.check(), port.tryAcquire(...a)),
    renew: async (...a: Parameters<LeasePort["renew"]>) => (w.check(), port.renew(...a)),
    release: async (...a: Parameters<LeasePort["release"]>) => (w.check(), port.release(...a)),
    current: () => port.current(),
  };
  return w;
}

/** Polls `cond` (a database state, not a duration) every 20 ms until it holds. */
async function until(cond: () => Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 20));
}

/** Fast timings so each test takes about a second: ttl 1.2 s, renew every 0.3 s, stop acting 0.4 s early. */
const TIMINGS = { ttlMs: 1200, renewIntervalMs: 300, safetyMarginMs: 400, standbyPollMs: 100, swactHoldOffMs: 1500 };

describe("leadership on PostgreSQL: the controller_lease row and fencing", function () {
  this.timeout(60_000);
  let pg: PostgresServer | undefined;
  const pools: Pool[] = [];
  const leaders: Leadership[] = [];

  before(async function () {
    pg = await startPostgresOrSkip(this);
  });
  after(async () => {
    await Promise.all(leaders.map((l) => l.stop()));
    await Promise.all(pools.map((p) => p.end()));
    await pg?.stop();
  });

  async function database() {
    const url = await pg!.createDatabase();
    const pool = createLeasePool(url);
    pools.push(pool);
    // Two controllers starting together both apply the schema.
    await Promise.all([ensureLeaseSchema(pool), ensureLeaseSchema(pool)]);
    await pool.query("CREATE TABLE t (v text)");
    return pool;
  }

  function leader(port: LeasePort, id: string) {
    const l = new Leadership({ port, self: { controllerId: id, address: `127.0.0.1:${id.endsWith("0") ? 5490 : 5491}` }, ...TIMINGS });
    leaders.push(l);
    return l;
  }

  it("starts with an empty lease; the schema is idempotent", async () => {
    const pool = await database();
    await ensureLeaseSchema(pool);
    const s = await new PostgresLease(pool).current();
    expect(s).to.deep.include({ holder: "", epoch: 0, valid: false });
  });

  it("two controllers on one database: one active, the other standby naming it; cut renewals hand over after expiry; the old epoch is fenced", async () => {
    const pool = await database();
    const pa = cuttable(new PostgresLease(pool));
    const a = leader(pa, "controller-0");
    const b = leader(new PostgresLease(pool), "controller-1");
    const log: string[] = [];
    const record = (who: string) => (s: LeadershipStatus) => log.push(`${who} ${s.role} ${s.epoch}`);
    a.onChange(record("a"));
    b.onChange(record("b"));
    a.start();
    await a.whenRole("active");
    b.start();
    const standby = await new Promise<LeadershipStatus>((resolve) => {
      const off = b.onChange((s) => s.active && (off(), resolve(s)));
      if (b.status.active) resolve(b.status);
    });
    expect(standby).to.deep.include({ role: "standby", epoch: 1, active: { controllerId: "controller-0", address: "127.0.0.1:5490" } });
    expect(a.term()!.epoch).to.equal(1);
    await withFencedTransaction(pool, { controllerId: "controller-0", epoch: 1 }, (c) => c.query("INSERT INTO t VALUES ('a1')"));

    pa.cut = true;
    const next = await b.whenRole("active");
    expect(next.epoch).to.equal(2);
    expect(a.isActive()).to.equal(false);
    // a stopped acting (its own clock) before b started (the database's expiry).
    expect(log.indexOf("a standby 0")).to.be.greaterThan(-1).and.lessThan(log.indexOf("b active 2"));

    const err = await withFencedTransaction(pool, { controllerId: "controller-0", epoch: 1 }, (c) => c.query("INSERT INTO t VALUES ('a1-late')")).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.deep.include({ kind: "unavailable", reason: "FENCED" });
    await withFencedTransaction(pool, { controllerId: "controller-1", epoch: 2 }, (c) => c.query("INSERT INTO t VALUES ('b2')"));
    expect((await pool.query("SELECT v FROM t ORDER BY v")).rows.map((r: { v: string }) => r.v)).to.deep.equal(["a1", "b2"]);

    pa.cut = false;
    const back = await new Promise<LeadershipStatus>((resolve) => {
      const off = a.onChange((s) => s.epoch === 2 && (off(), resolve(s)));
      if (a.status.epoch === 2) resolve(a.status);
    });
    expect(back).to.deep.include({ role: "standby", active: { controllerId: "controller-1", address: "127.0.0.1:5491" } });
    await Promise.all([a.stop(), b.stop()]);
  });

  it("a paused old leader (no renewals) that wakes after a takeover cannot write: its transaction rolls back", async () => {
    const pool = await database();
    const paused = new PostgresLease(pool);
    const mine = await paused.tryAcquire({ controllerId: "controller-0", address: "127.0.0.1:5490" }, 300);
    expect(mine).to.deep.include({ holder: "controller-0", epoch: 1, valid: true });
    // controller-0 is now "SIGSTOPped": it never renews. controller-1 takes over once the database says it expired.
    const b = leader(new PostgresLease(pool), "controller-1");
    b.start();
    expect(await b.whenRole("active")).to.deep.include({ epoch: 2 });
    const err = await withFencedTransaction(pool, { controllerId: "controller-0", epoch: 1 }, async (c) => {
      await c.query("INSERT INTO t VALUES ('stale')");
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.have.property("reason", "FENCED");
    expect((await pool.query("SELECT count(*)::int AS n FROM t")).rows[0]).to.deep.equal({ n: 0 });
    // And its renewal says lost: it steps down.
    expect(await paused.renew("controller-0", 1, 1000)).to.equal("lost");
    await b.stop();
  });

  it("a takeover waits for a write transaction that passed fencing; one begun after the takeover is refused", async () => {
    const pool = await database();
    const lease = new PostgresLease(pool);
    await lease.tryAcquire({ controllerId: "controller-0", address: "x:1" }, 400);
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("SELECT swpatch_assert_epoch('controller-0', 1)");
      await client.query("INSERT INTO t VALUES ('in-flight')");
      // The lease expires (by the database's clock) while the transaction is open.
      await until(async () => !(await lease.current()).valid);
      const takeover = lease.tryAcquire({ controllerId: "controller-1", address: "x:2" }, 5000);
      let settled = false;
      void takeover.finally(() => (settled = true));
      // The takeover's UPDATE is blocked on the row lock the fenced transaction holds.
      await until(
        async () => (await pool.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rows[0].n === 1,
      );
      expect(settled, "the takeover did not wait for the fenced transaction").to.equal(false);
      await client.query("COMMIT");
      expect(await takeover).to.deep.include({ holder: "controller-1", epoch: 2 });
    } finally {
      client.release();
    }
    const err = await withFencedTransaction(pool, { controllerId: "controller-0", epoch: 1 }, (c) => c.query("INSERT INTO t VALUES ('late')")).catch((e: unknown) => e);
    expect(err).to.have.property("reason", "FENCED");
    expect((await pool.query("SELECT v FROM t")).rows).to.deep.equal([{ v: "in-flight" }]);
  });

  it("a restarted controller with the same id starts a new epoch, fencing its previous incarnation", async () => {
    const pool = await database();
    const lease = new PostgresLease(pool);
    const first = await lease.tryAcquire({ controllerId: "controller-0", address: "x:1" }, 60_000);
    const second = await lease.tryAcquire({ controllerId: "controller-0", address: "x:1" }, 60_000);
    expect([first.epoch, second.epoch]).to.deep.equal([1, 2]);
    expect(await lease.renew("controller-0", 1, 1000)).to.equal("lost");
    const err = await withFencedTransaction(pool, { controllerId: "controller-0", epoch: 1 }, (c) => c.query("INSERT INTO t VALUES ('x')")).catch((e: unknown) => e);
    expect(err).to.have.property("reason", "FENCED");
  });

  it("swact: the active releases and the standby takes over; the released term cannot be renewed", async () => {
    const pool = await database();
    const a = leader(new PostgresLease(pool), "controller-0");
    const b = leader(new PostgresLease(pool), "controller-1");
    a.start();
    await a.whenRole("active");
    b.start();
    await a.swact();
    expect(await b.whenRole("active")).to.deep.include({ epoch: 2 });
    expect(await new PostgresLease(pool).renew("controller-0", 1, 1000)).to.equal("lost");
    expect(a.status.role).to.equal("standby");
    await Promise.all([a.stop(), b.stop()]);
  });

  it("a pair member's fence() gives the active term to write with, and refuses once it stepped down", async () => {
    const url = await pg!.createDatabase();
    const cfg = resolvePair({ controllerId: "controller-0", lease: url, leaseTtlMs: 1200 })!;
    const roles: string[] = [];
    const member = await startPair(cfg, "127.0.0.1:5490", createLogger({ level: "silent" }), (s) => roles.push(s.role));
    try {
      await member.leadership.whenRole("active");
      const fence = member.fence();
      expect(fence).to.deep.equal({ controllerId: "controller-0", epoch: 1 });
      const other = createLeasePool(url);
      pools.push(other);
      await withFencedTransaction(other, fence, (c) => c.query("SELECT 1"));
    } finally {
      await member.close();
    }
    expect(() => member.fence()).to.throw(/not the active controller/);
    expect(roles).to.deep.equal(["standby", "active", "stopped"]);
  });
});
