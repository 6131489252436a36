/**
 * The controller pair's composition (issue 19): the lease pool on PostgreSQL, its schema, the Leadership of this
 * controller and the view the standby gate uses. A single controller has none of this.
 */
import type { PairConfig } from "../config/pair-options.js";
import { Leadership, type LeadershipStatus } from "../domain/leadership/leadership.js";
import type { Logger } from "../lib/log.js";
import { DomainError } from "../domain/errors.js";
import { createLeasePool, ensureLeaseSchema, PostgresLease, type Fence } from "../storage/postgres/lease.js";
import type { PairView } from "../transport/standby-gate.js";
import type { Pool } from "pg";
import { postgresConnection, type StoreConfig } from "../config/store-options.js";
import { createPool } from "../storage/postgres/pg-db.js";

/** A running pair member. */
export interface ControllerPair {
  readonly leadership: Leadership;
  readonly view: PairView;
  /**
   * The term to fence a write with (`assertEpoch`/`withFencedTransaction` of storage/postgres/lease.ts): for the
   * PostgreSQL store to call at the start of every write transaction.
   * @throws DomainError unavailable (reason NOT_ACTIVE) when this controller is not active.
   */
  fence(): Fence;
  /** Steps down (releasing the lease so the peer takes over at once) and closes the pool. */
  close(): Promise<void>;
}

/** How this controller is seen before its leadership has started (the listener is up before the lease). */
export function startingStatus(cfg: PairConfig): LeadershipStatus {
  return { role: "standby", self: { controllerId: cfg.controllerId, address: cfg.advertise ?? "" }, epoch: 0 };
}

/**
 * Connects to the lease database (creating the lease table when missing) and starts competing for leadership.
 * @param address the bound gRPC address, advertised unless `--advertise` was given.
 * @param onChange called on every role change (health status, logging).
 * @param leasePool the pool to hold the lease with (the PostgreSQL store's connection settings, `leaseInStore`); default:
 *   one made from `cfg.leaseUrl`. Either way `close()` ends it.
 * @throws when the database cannot be reached or the schema cannot be applied.
 */
export async function startPair(cfg: PairConfig, address: string, log: Logger, onChange: (s: LeadershipStatus) => void, leasePool?: Pool): Promise<ControllerPair> {
  const plog = log.child({ component: "leadership", controllerId: cfg.controllerId });
  const pool = leasePool ?? createLeasePool(cfg.leaseUrl, {}, (e) => plog.warn("lease database connection lost", { error: e.message }));
  try {
    await ensureLeaseSchema(pool);
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw new Error(`--lease: cannot use the lease database: ${(e as Error).message}`, { cause: e });
  }
  const leadership = new Leadership({
    port: new PostgresLease(pool),
    self: { controllerId: cfg.controllerId, address: cfg.advertise ?? address },
    ttlMs: cfg.ttlMs,
    renewIntervalMs: cfg.renewIntervalMs,
    safetyMarginMs: cfg.safetyMarginMs,
    standbyPollMs: cfg.standbyPollMs,
    swactHoldOffMs: cfg.swactHoldOffMs,
    log: plog,
  });
  leadership.onChange((s) => {
    plog.info("controller role", { role: s.role, epoch: s.epoch, active: s.active ? `${s.active.controllerId}@${s.active.address}` : "" });
    onChange(s);
  });
  const swact = async (): Promise<string> => {
    let cancel = () => {};
    const handedOver = new Promise<string>((resolve) => {
      const timer = setTimeout(() => done(leadership.status.active?.controllerId ?? ""), cfg.swactHoldOffMs + cfg.ttlMs);
      const off = leadership.onChange((s) => s.active && s.active.controllerId !== cfg.controllerId && done(s.active.controllerId));
      const done = (id: string) => {
        clearTimeout(timer);
        off();
        resolve(id);
      };
      cancel = () => done("");
    });
    try {
      await leadership.swact();
    } catch (e) {
      cancel();
      throw e;
    }
    return handedOver;
  };
  leadership.start();
  return {
    leadership,
    view: { status: () => leadership.status, term: () => leadership.term(), swact },
    fence() {
      const term = leadership.term();
      if (!term) throw new DomainError("unavailable", `controller ${cfg.controllerId} is not the active controller`, { reason: "NOT_ACTIVE" });
      return { controllerId: cfg.controllerId, epoch: term.epoch };
    },
    async close() {
      await leadership.stop();
      await pool.end().catch(() => undefined);
    },
  };
}

/**
 * The term to fence a write of the PostgreSQL store with (`leaseInStore`).
 * @throws DomainError unavailable (reason NOT_ACTIVE) before the pair has started or while this controller is standby.
 */
export function activeTerm(pair: ControllerPair | undefined, controllerId: string): Fence {
  if (!pair) throw new DomainError("unavailable", `controller ${controllerId} is not the active controller`, { reason: "NOT_ACTIVE" });
  return pair.fence();
}

/**
 * A pair member on the PostgreSQL store (`leaseInStore`): the lease in the store's database (its connection settings,
 * password and TLS), and the domain loaded the first time this controller is active. A standby writes nothing:
 * `load` (the domain's start-up reads and writes, fenced by the term) runs only once the lease is ours; until it
 * has succeeded `setReady(false)` keeps the gate shut. A failed load is retried when this controller is next active.
 * Once another controller has served a term after this one loaded its domain, it stops competing: it has no way yet
 * to re-read the state its peer changed, so it stays standby until restarted (a supervisor restarts it as a fresh
 * standby).
 */
export async function startPairOnStore(
  cfg: PairConfig,
  store: StoreConfig,
  address: string,
  log: Logger,
  load: () => Promise<void>,
  setReady: (ready: boolean) => void,
  setHealthy: (healthy: boolean) => void,
): Promise<ControllerPair> {
  if (store.kind !== "postgres") throw new Error("startPairOnStore needs the PostgreSQL store");
  let ready = false;
  let retired = false;
  /** The epoch of the last term this controller served with its domain loaded. */
  let servedEpoch: number | undefined;
  const retire = (epoch: number) => {
    retired = true;
    setReady(false);
    pair.leadership.retire();
    log.error("another controller served a term since this one loaded its state: this controller stays standby until restarted (its state in memory is stale)", {
      epoch,
    });
  };
  let loading: Promise<void> | undefined;
  const activate = () =>
    (loading ??= (async () => {
      try {
        // The caller assigns the returned pair (its store's fence reads it) before this runs.
        await new Promise((r) => setImmediate(r));
        await load();
        ready = true;
        servedEpoch = pair.leadership.status.epoch;
        setReady(true);
      } catch (e) {
        log.error("loading the domain as the active controller failed; retried when this controller is next active", { error: (e as Error).message });
        loading = undefined;
      }
      setHealthy(ready && !!pair.view.term());
    })());
  const pool = createPool({ ...(await postgresConnection(store)), max: 2 });
  const pair: ControllerPair = await startPair(
    cfg,
    address,
    log,
    (s) => {
      if (s.role === "active" && !ready) void activate();
      else if (s.role === "active" && !retired && servedEpoch !== undefined && s.epoch !== servedEpoch && s.epoch !== servedEpoch + 1) {
        // Another controller held a term (epochs rise by one per takeover) while this one did not see it: stale.
        retire(s.epoch);
        void pair.leadership.swact().catch(() => undefined);
      }
      if (s.role === "active" && ready && !retired) servedEpoch = s.epoch;
      setHealthy(s.role === "active" && ready && !retired);
      // The domain in memory cannot be re-read yet: once another controller has served a term it is stale (the
      // peer changed the store, and the event log numbers events in memory), so this controller must not take
      // over again with it. It stops competing (still watching who is active) and stays standby until restarted.
      // A term it lost with no other controller taking over (e.g. the database was down) leaves it current.
      if (ready && !retired && s.active && s.active.controllerId !== cfg.controllerId) retire(s.epoch);
    },
    pool,
  );
  return pair;
}
