/**
 * The leadership lease on PostgreSQL (the domain's LeasePort) and the fencing primitive every write transaction
 * runs first. One row, `controller_lease` (holder, address, epoch, expires_at); every expiry is computed and
 * compared by the DATABASE's clock (`now()`), never by a controller's.
 *
 * Fencing: {@link assertEpoch} locks the lease row FOR SHARE and raises unless it still names this holder and
 * epoch and has not expired. A takeover (an UPDATE of that row) waits for every write transaction holding the
 * lock and, once they end, starts a new epoch; a transaction begun after that fails its check and rolls back. So
 * a paused old leader that wakes up cannot change anything.
 *
 * The schema is idempotent ({@link CONTROLLER_LEASE_SCHEMA}); the PostgreSQL store's migration runner can take
 * it as one of its migrations.
 */
import { Pool, type PoolClient, type PoolConfig } from "pg";
import { DomainError } from "../../domain/errors.js";
import type { LeaseCandidate, LeasePort, LeaseState, RenewResult } from "../../domain/leadership/lease-port.js";

/** SQLSTATE raised by `swpatch_assert_epoch` when a write comes from a term that is over. */
export const FENCED_SQLSTATE = "SWF01";

/** The lease table, its single row and the fencing function. Idempotent: safe to run at every start. */
export const CONTROLLER_LEASE_SCHEMA = `
CREATE TABLE IF NOT EXISTS controller_lease (
  id         smallint    PRIMARY KEY CHECK (id = 1),
  holder     text        NOT NULL DEFAULT '',
  address    text        NOT NULL DEFAULT '',
  epoch      bigint      NOT NULL DEFAULT 0,
  expires_at timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO controller_lease (id) VALUES (1) ON CONFLICT (id) DO NOTHING;
CREATE OR REPLACE FUNCTION swpatch_assert_epoch(p_holder text, p_epoch bigint) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  r controller_lease%ROWTYPE;
BEGIN
  SELECT * INTO r FROM controller_lease WHERE id = 1 FOR SHARE;
  IF NOT FOUND OR r.holder <> p_holder OR r.epoch <> p_epoch OR r.expires_at <= now() THEN
    RAISE EXCEPTION 'fenced: % epoch % is not the active term (the lease is % epoch %)', p_holder, p_epoch, r.holder, r.epoch
      USING ERRCODE = '${FENCED_SQLSTATE}';
  END IF;
END
$fn$;
`;

/** A term to fence writes with. */
export interface Fence {
  readonly controllerId: string;
  readonly epoch: number;
}

/** Anything that runs a query: a pg Client, PoolClient or Pool. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

/** Whether `e` is PostgreSQL's refusal of a write from an ended term. */
export function isFencedError(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === FENCED_SQLSTATE;
}

/**
 * Runs the fencing check; call it as the FIRST statement of every write transaction. Throws DomainError
 * `unavailable` (reason FENCED) when the term is over, which aborts the transaction (roll it back).
 */
export async function assertEpoch(client: Queryable, fence: Fence): Promise<void> {
  try {
    await client.query("SELECT swpatch_assert_epoch($1, $2)", [fence.controllerId, fence.epoch]);
  } catch (e) {
    if (isFencedError(e)) throw new DomainError("unavailable", (e as Error).message, { reason: "FENCED", cause: e });
    throw e;
  }
}

/**
 * BEGIN; fencing check; `body`; COMMIT on one pooled connection (ROLLBACK when anything throws).
 * @throws DomainError unavailable/FENCED when the term is over; whatever `body` throws.
 */
export async function withFencedTransaction<T>(pool: Pool, fence: Fence, body: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    try {
      await assertEpoch(client, fence);
      const result = await body(client);
      await client.query("COMMIT");
      return result;
    } catch (e) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw e;
    }
  } finally {
    client.release();
  }
}

/** Creates the lease table and fencing function if missing (serialised between controllers starting together). */
export async function ensureLeaseSchema(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext('swpatch schema'))");
    await client.query(CONTROLLER_LEASE_SCHEMA);
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

interface Row {
  holder: string;
  address: string;
  epoch: string;
  expires_at: Date;
  valid: boolean;
}

const COLUMNS = "holder, address, epoch::text AS epoch, expires_at, expires_at > now() AS valid";
const TTL = "($3::double precision * interval '1 millisecond')";

function toState(r: Row): LeaseState {
  return { holder: r.holder, address: r.address, epoch: Number(r.epoch), expiresAt: r.expires_at, valid: r.valid };
}

/**
 * The LeasePort on PostgreSQL. Each call is one statement (autocommit) on the pool.
 *
 * INVARIANTS: the row changes only through the three UPDATEs below, each atomic under the row lock: acquire only
 * when expired (by `now()`) or already ours, always raising the epoch; renew and release only while the row still
 * names this holder and epoch and has not expired, so neither can revive a released or expired term.
 */
export class PostgresLease implements LeasePort {
  constructor(private readonly db: Queryable) {}

  async tryAcquire(candidate: LeaseCandidate, ttlMs: number): Promise<LeaseState> {
    const taken = await this.db.query(
      `UPDATE controller_lease SET holder = $1, address = $2, epoch = epoch + 1, expires_at = now() + ${TTL}
        WHERE id = 1 AND (expires_at <= now() OR holder = $1) RETURNING ${COLUMNS}`,
      [candidate.controllerId, candidate.address, ttlMs],
    );
    if (taken.rows.length === 1) return toState(taken.rows[0] as Row);
    return this.current();
  }

  async renew(controllerId: string, epoch: number, ttlMs: number): Promise<RenewResult> {
    const r = await this.db.query(`UPDATE controller_lease SET expires_at = now() + ${TTL} WHERE id = 1 AND holder = $1 AND epoch = $2 AND expires_at > now()`, [
      controllerId,
      epoch,
      ttlMs,
    ]);
    return r.rowCount === 1 ? "ok" : "lost";
  }

  async release(controllerId: string, epoch: number): Promise<void> {
    await this.db.query("UPDATE controller_lease SET expires_at = now() WHERE id = 1 AND holder = $1 AND epoch = $2 AND expires_at > now()", [controllerId, epoch]);
  }

  async current(): Promise<LeaseState> {
    const r = await this.db.query(`SELECT ${COLUMNS} FROM controller_lease WHERE id = 1`);
    if (r.rows.length !== 1) throw new DomainError("internal", "controller_lease has no row: the lease schema was not applied");
    return toState(r.rows[0] as Row);
  }
}

/**
 * A pool for the lease: short timeouts (a lease call that hangs is worth nothing: the Leadership deadline runs
 * regardless), errors of idle connections (a database restart) logged instead of crashing the process.
 */
export function createLeasePool(connectionString: string, extra: PoolConfig = {}, onError?: (e: Error) => void): Pool {
  const pool = new Pool({
    connectionString,
    max: 3,
    connectionTimeoutMillis: 2000,
    query_timeout: 2000,
    statement_timeout: 2000,
    idleTimeoutMillis: 30_000,
    application_name: "sw-patch-controller lease",
    ...extra,
  });
  pool.on("error", (e) => onError?.(e));
  return pool;
}
