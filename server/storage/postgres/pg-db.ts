/**
 * PostgreSQL through node-postgres: the same `Reader`/`Tx` the sqlite adapter's repositories
 * write to (server/storage/sqlite/db.ts), so every repository runs unchanged on either database.
 */
import { Pool, types as pgTypes, type PoolClient } from "pg";
import type { Params, Reader, Tx } from "../sqlite/db.js";
import { inlinePg, isConnectionError, mapPgError, pgParams, toPg } from "./pg-sql.js";

/**
 * A precondition run first in every write transaction, on its connection, after the writer lock
 * is held (LEASE: check that this controller's epoch is still the current one). Throwing fails the
 * whole group: every body of it rejects with that error and nothing of it is committed.
 */
export type Fence = (client: PoolClient) => Promise<void>;

/**
 * The transaction-scoped advisory lock every write transaction takes first: writers are
 * serialised across every process sharing the database, as sqlite's BEGIN IMMEDIATE does within
 * one file. ("sw-patch writer" folded into a bigint key.)
 */
export const WRITER_LOCK_KEY = 0x7377_7061_7463_6801n;

/** bigint (int8: count(*), max(seq), identity ids) as a JS number, as sqlite gives it. */
const int8AsNumber = (v: string) => Number(v);
const TYPES = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 ? int8AsNumber : pgTypes.getTypeParser(oid, format as "text")) as unknown as typeof pgTypes.getTypeParser,
};

/** How to reach the database (see server/config/controller-config.ts, `--store`). */
export interface PgConnection {
  /** postgres://USER@HOST:PORT/DB, without sslmode (that is `ssl`). */
  connectionString: string;
  password?: string;
  /** TLS: undefined = none; else node's TLS options (rejectUnauthorized, ca). */
  ssl?: { rejectUnauthorized: boolean; ca?: string };
  /** Pool size (default 10). */
  max?: number;
  /**
   * How long a write transaction waits for the writer lock (held by another controller's
   * transaction) before it fails UNAVAILABLE; default 30000 ms (PostgreSQL's lock_timeout).
   */
  lockTimeoutMs?: number;
  /**
   * A session of ours idle inside a transaction this long is ended by the server, so that a
   * controller paused mid-transaction (SIGSTOP, a VM freeze) cannot hold the writer lock for ever;
   * default 60000 ms (idle_in_transaction_session_timeout). LEASE may want it shorter.
   */
  idleInTransactionMs?: number;
}

/** A pool with the settings every store connection uses (int8 as number, errors of idle clients absorbed). */
export function createPool(c: PgConnection): Pool {
  // Not `connectionString`: node-postgres would let the URL's (absent) password override `password`.
  const u = new URL(c.connectionString);
  const pool = new Pool({
    host: decodeURIComponent(u.hostname).replace(/^\[(.*)\]$/, "$1"),
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username),
    database: decodeURIComponent(u.pathname.replace(/^\//, "")),
    ...(c.password !== undefined ? { password: c.password } : {}),
    ...(c.ssl ? { ssl: c.ssl } : {}),
    max: c.max ?? 10,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    lock_timeout: c.lockTimeoutMs ?? 30_000,
    idle_in_transaction_session_timeout: c.idleInTransactionMs ?? 60_000,
    types: TYPES,
  });
  // An idle client whose server went away emits here; the pool drops it and the next use reconnects.
  pool.on("error", () => undefined);
  return pool;
}

/** Reader over a pool (each statement on whichever connection is free: committed state only). */
function poolReader(pool: Pool): Reader {
  const q = async (sql: string, params?: Params) => {
    try {
      return await pool.query(toPg(sql), pgParams(params));
    } catch (e) {
      throw mapPgError(e);
    }
  };
  return {
    run: async (sql, params) => ({ changes: (await q(sql, params)).rowCount ?? 0, lastID: 0 }),
    get: async <T>(sql: string, params?: Params) => (await q(sql, params)).rows[0] as T | undefined,
    all: async <T>(sql: string, params?: Params) => (await q(sql, params)).rows as T[],
  };
}

/**
 * The Tx of one body on the group's connection: `write` only queues (the body does not wait);
 * the queued writes go in order, together in one message (literals inlined), when the body next
 * needs a result (run/get/all) or ends (`settle`). Once one is refused, every later call throws
 * that error.
 */
class BodyTx implements Tx {
  private queued: string[] = [];
  refused: { error: unknown } | undefined;
  constructor(
    private readonly client: PoolClient,
    private readonly hooks: (() => void)[],
  ) {}
  private check(): void {
    if (this.refused) throw this.refused.error;
  }
  /** Sends the queued writes; throws the first refusal. */
  async settle(): Promise<void> {
    this.check();
    if (!this.queued.length) return;
    const text = this.queued.length === 1 ? this.queued[0]! : this.queued.join(";\n");
    this.queued = [];
    try {
      await this.client.query(text);
    } catch (e) {
      this.refused ??= { error: e };
      throw e;
    }
  }
  private async query(sql: string, params?: Params) {
    await this.settle();
    try {
      return await this.client.query(toPg(sql), pgParams(params));
    } catch (e) {
      this.refused ??= { error: e };
      throw e;
    }
  }
  async run(sql: string, params?: Params) {
    return { changes: (await this.query(sql, params)).rowCount ?? 0, lastID: 0 };
  }
  async get<T>(sql: string, params?: Params) {
    return (await this.query(sql, params)).rows[0] as T | undefined;
  }
  async all<T>(sql: string, params?: Params) {
    return (await this.query(sql, params)).rows as T[];
  }
  write(sql: string, params?: readonly unknown[]): void {
    this.check();
    this.queued.push(inlinePg(sql, params));
  }
  onRollback(fn: () => void): void {
    this.hooks.push(fn);
  }
}

type Settle = { resolve: (v: unknown) => void; reject: (e: unknown) => void };
type Body = { body: (tx: Tx) => Promise<unknown> } & Settle;
type Lazy = { sql?: string; params?: readonly unknown[]; body?: (tx: Tx) => unknown } & Settle;

function runHooks(fns: (() => void)[]): void {
  for (let j = fns.length - 1; j >= 0; j--) {
    try {
      fns[j]!();
    } catch {
      // A rollback hook must not stop the others.
    }
  }
  fns.length = 0;
}

/**
 * The PostgreSQL counterpart of the sqlite `Db` (same `tx`/`later`/`writeLazily`/`read`).
 * INVARIANTS: within this process, write groups run one at a time (one drain loop), each on one
 * pooled connection inside BEGIN..COMMIT, holding {@link WRITER_LOCK_KEY} (so write transactions
 * of all processes sharing the database are serialised too), with `fence` run first; a body of a
 * group of several runs in its own SAVEPOINT, so a statement the database refuses fails that body
 * alone; no caller sees its result before COMMIT returned; `read` runs on other pooled
 * connections in autocommit and so sees committed state only. A connection error fails the whole
 * group with DomainError "unavailable" and the connection is dropped (the next group reconnects).
 */
export class PgDb {
  private closed = false;
  private queue: Body[] = [];
  private draining = false;
  private drained: Promise<void> = Promise.resolve();
  private lazy: Lazy[] = [];
  private lazyTimer: NodeJS.Timeout | undefined;
  /** Transactions asked for, and commits (a commit may carry several; diagnostics). */
  txCount = 0;
  commitCount = 0;
  readonly read: Reader;

  constructor(
    readonly pool: Pool,
    private readonly fence?: Fence,
  ) {
    this.read = poolReader(pool);
  }

  /** Db.writeLazily: one row with the next commit (or its own after `maxDelayMs`). */
  writeLazily(sql: string, params: readonly unknown[] = [], maxDelayMs = 20): Promise<void> {
    if (this.closed) return Promise.reject(new Error("database is closed"));
    return new Promise<void>((resolve, reject) => this.enqueueLazy({ sql, params, resolve: () => resolve(), reject }, maxDelayMs));
  }

  /** Db.later: `body` at the start of the next group, sharing its fate. */
  later<T>(body: (tx: Tx) => T | Promise<T>, maxDelayMs = 20): Promise<T> {
    if (this.closed) return Promise.reject(new Error("database is closed"));
    return new Promise<T>((resolve, reject) => this.enqueueLazy({ body, resolve: resolve as (v: unknown) => void, reject }, maxDelayMs));
  }

  private enqueueLazy(entry: Lazy, maxDelayMs: number): void {
    this.lazy.push(entry);
    this.lazyTimer ??= setTimeout(() => {
      this.lazyTimer = undefined;
      if (this.lazy.length) void this.tx(async () => undefined).catch(() => undefined);
    }, maxDelayMs);
  }

  /** Db.tx: group commit; resolves after COMMIT, rejects (rolled back) if the body throws or a statement of it is refused. */
  tx<T>(body: (tx: Tx) => Promise<T>): Promise<T> {
    this.txCount++;
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ body, resolve: resolve as (v: unknown) => void, reject });
      if (!this.draining) this.drained = this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length) {
        const group = this.queue.splice(0, 64);
        if (this.closed) {
          for (const g of group) g.reject(new Error("database is closed"));
          for (const l of this.lazy.splice(0)) l.reject(new Error("database is closed"));
          continue;
        }
        await this.runGroup(group);
      }
    } finally {
      this.draining = false;
    }
  }

  private async runGroup(group: Body[]): Promise<void> {
    const lazy = this.lazy.splice(0);
    if (lazy.length) {
      clearTimeout(this.lazyTimer);
      this.lazyTimer = undefined;
    }
    // A body alone needs no savepoint (its failure rolls everything back) unless lazy rows ride along.
    const lone = group.length === 1 && lazy.length === 0;
    let failed: { error: unknown } | undefined;
    const results: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    const undo: (() => void)[][] = [];
    const lazyUndo: (() => void)[] = [];
    const lazyValues: unknown[] = [];
    let client: PoolClient | undefined;
    try {
      client = await this.pool.connect();
      await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${WRITER_LOCK_KEY})`);
      if (this.fence) await this.fence(client);
    } catch (e) {
      failed = { error: mapPgError(e) };
    }
    if (client && !failed && lazy.length) {
      const ltx = new BodyTx(client, lazyUndo);
      for (const l of lazy) {
        try {
          lazyValues.push(l.sql !== undefined ? (ltx.write(l.sql, l.params), undefined) : await l.body!(ltx));
          await ltx.settle();
        } catch (e) {
          failed = { error: mapPgError(e) };
          break;
        }
      }
    }
    for (let i = 0; client && i < group.length && !failed; i++) {
      const hooks: (() => void)[] = [];
      undo.push(hooks);
      const btx = new BodyTx(client, hooks);
      try {
        if (!lone) await client.query(`SAVEPOINT sp${i}`);
      } catch (e) {
        failed = { error: mapPgError(e) };
        break;
      }
      try {
        const value = await group[i]!.body(btx);
        await btx.settle();
        if (!lone) await client.query(`RELEASE SAVEPOINT sp${i}`);
        results.push({ ok: true, value });
      } catch (thrown) {
        await btx.settle().catch(() => undefined);
        // A refused statement is the body's error however the body ended.
        const error = mapPgError(btx.refused ? btx.refused.error : thrown);
        if (lone || isConnectionError(error)) {
          failed = { error };
          break;
        }
        try {
          await client.query(`ROLLBACK TO SAVEPOINT sp${i}; RELEASE SAVEPOINT sp${i}`);
        } catch (e) {
          failed = { error: mapPgError(e) };
          break;
        }
        runHooks(hooks);
        results.push({ ok: false, error });
      }
    }
    if (client && !failed) {
      try {
        await client.query("COMMIT");
        this.commitCount++;
      } catch (e) {
        failed = { error: mapPgError(e) };
      }
    }
    if (client) {
      const broken = failed && isConnectionError(failed.error);
      if (failed && !broken) await client.query("ROLLBACK").catch(() => undefined);
      client.release(broken ? (failed!.error as Error) : undefined);
    }
    if (failed) {
      for (let j = undo.length - 1; j >= 0; j--) runHooks(undo[j]!);
      runHooks(lazyUndo);
      for (const g of group) g.reject(failed.error);
      for (const l of lazy) l.reject(failed.error);
      return;
    }
    lazy.forEach((l, i) => l.resolve(lazyValues[i]));
    group.forEach((g, i) => {
      const r = results[i]!;
      if (r.ok) g.resolve(r.value);
      else g.reject(r.error);
    });
  }

  /** Writes what waits, then ends the pool. */
  async close(): Promise<void> {
    if (this.lazy.length) await this.tx(async () => undefined).catch(() => undefined);
    clearTimeout(this.lazyTimer);
    this.lazyTimer = undefined;
    while (this.draining || this.queue.length) await this.drained;
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
