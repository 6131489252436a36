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
 * @param drain run by a swact while still active (commits the writes riding the next commit), bounded by 1 s.
 * @throws when the database cannot be reached or the schema cannot be applied.
 */
export async function startPair(
  cfg: PairConfig,
  address: string,
  log: Logger,
  onChange: (s: LeadershipStatus) => void,
  leasePool?: Pool,
  drain?: (signal: AbortSignal) => Promise<void>,
): Promise<ControllerPair> {
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
      await leadership.swact(drain ? { drain } : {});
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

/** A pair member on the PostgreSQL store: its {@link ControllerPair} and the domain's hand-overs between terms. */
export interface PairOnStore extends ControllerPair {
  /** Resolves once the domain has caught up with the role (loaded while active, dropped while standby). */
  settled(): Promise<void>;
}

/**
 * A pair member on the PostgreSQL store (`leaseInStore`): the lease in the store's database (its connection settings,
 * password and TLS), and the domain loaded each time this controller becomes active and dropped each time it stops
 * being active, any number of times (issue 19, "Takeover and recovery" in docs/postgres-store.md). A standby writes
 * nothing: `load` (the domain's start-up reads and writes, fenced by the term) runs only once the lease is ours, and
 * `unload` (timers stopped, memory dropped, no writes) as soon as it is not. Until `load` has succeeded for the
 * current term `setReady(false)` keeps the gate shut. A load that fails hands the lease to the peer (swact) and is
 * tried again the next time this controller is active.
 * INVARIANTS: loads and unloads run one at a time, in the order of the role changes; the gate is open only while the
 * domain loaded for the current epoch (`loadedEpoch`) and that term still holds.
 */
export async function startPairOnStore(
  cfg: PairConfig,
  store: StoreConfig,
  address: string,
  log: Logger,
  load: () => Promise<void>,
  unload: () => Promise<void>,
  setReady: (ready: boolean) => void,
  setHealthy: (healthy: boolean) => void,
  drain?: (signal: AbortSignal) => Promise<void>,
): Promise<PairOnStore> {
  if (store.kind !== "postgres") throw new Error("startPairOnStore needs the PostgreSQL store");
  /** The epoch the domain in memory was loaded for (undefined: nothing loaded). */
  let loadedEpoch: number | undefined;
  let chain: Promise<void> = Promise.resolve();
  const publish = () => {
    const term = pair.view.term();
    const ready = !!term && term.epoch === loadedEpoch;
    setReady(ready);
    setHealthy(ready);
  };
  /** Brings the domain in line with the role: dropped when not active (or loaded for an older term), loaded when active. */
  const reconcile = async () => {
    const term = pair.view.term();
    if (loadedEpoch !== undefined && term?.epoch !== loadedEpoch) {
      setReady(false);
      loadedEpoch = undefined;
      try {
        await unload();
      } catch (e) {
        log.error("dropping the domain on losing the term failed", { error: (e as Error).message });
      }
    }
    if (term && loadedEpoch === undefined) {
      try {
        await load();
        loadedEpoch = term.epoch;
      } catch (e) {
        log.error("loading the domain as the active controller failed; handing over to the peer (tried again when this controller is next active)", {
          error: (e as Error).message,
        });
        await unload().catch(() => undefined);
        if (pair.view.term()) void pair.leadership.swact().catch(() => undefined);
      }
    }
    publish();
  };
  const queue = () => {
    chain = chain.then(reconcile, reconcile);
    return chain;
  };
  const pool = createPool({ ...(await postgresConnection(store)), max: 2 });
  const pair: ControllerPair = await startPair(
    cfg,
    address,
    log,
    (s) => {
      // The gate shuts at once on losing the term; the domain is dropped (or loaded) in order, after what runs now.
      if (s.role !== "active") setReady(false);
      // The caller assigns the returned pair (its store's fence reads it) before the first load runs.
      setImmediate(() => void queue());
      if (s.role !== "active") setHealthy(false);
    },
    pool,
    drain,
  );
  return { ...pair, settled: () => queue() };
}
