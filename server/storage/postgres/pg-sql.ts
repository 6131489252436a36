/**
 * The SQL dialect bridge: the repositories (server/storage/sqlite/*-store.ts) write portable SQL
 * with sqlite's `?` placeholders; PostgreSQL wants `$1, $2, ...`. The only sqlite-only form they
 * use, `INSERT OR IGNORE INTO`, becomes `INSERT INTO ... ON CONFLICT DO NOTHING`; a camelCase alias
 * (`AS createdAt`) is quoted so that PostgreSQL keeps its case. Queued writes are inlined (`inlinePg`,
 * literals escaped by pg's escapeLiteral) so that several go to the server in one message.
 * Statement text carries no `?` inside string literals (checked by the contract suite running
 * every repository statement on PostgreSQL), so the translation is textual and cached.
 */
import { escapeLiteral } from "pg";
import { DomainError } from "../../domain/errors.js";

const translated = new Map<string, string>();
const dialected = new Map<string, string>();
const MAX_CACHED = 1024;

/** The PostgreSQL text of a repository statement (`$n` placeholders). */
export function toPg(sql: string): string {
  const hit = translated.get(sql);
  if (hit !== undefined) return hit;
  let n = 0;
  const out = dialect(sql).replace(/\?/g, () => `$${++n}`);
  if (translated.size >= MAX_CACHED) translated.clear();
  translated.set(sql, out);
  return out;
}

/** A PostgreSQL literal of a value the repositories bind (text, finite numbers, booleans as 0/1, null). */
export function pgLiteral(v: unknown): string {
  if (v === null || v === undefined) return "NULL";
  switch (typeof v) {
    case "string":
      // PostgreSQL text cannot hold NUL (a bound parameter is refused the same way).
      if (v.includes("\0")) throw new Error("invalid byte sequence for encoding UTF8: 0x00");
      // pg's escapeLiteral: quotes doubled, backslashes doubled in an E'' string (whatever standard_conforming_strings says).
      return escapeLiteral(v);
    case "number":
      if (!Number.isFinite(v)) throw new Error(`cannot write ${v} to PostgreSQL`);
      return String(v);
    case "bigint":
      return v.toString();
    case "boolean":
      return v ? "1" : "0";
  }
  throw new Error(`cannot write a ${Object.prototype.toString.call(v)} to PostgreSQL`);
}

/** A repository statement with its parameters inlined as literals (for queued writes sent several in one message). */
export function inlinePg(sql: string, params: readonly unknown[] = []): string {
  let k = 0;
  const out = dialect(sql).replace(/\?/g, () => {
    if (k >= params.length) throw new Error(`too few parameters for: ${sql}`);
    return pgLiteral(params[k++]);
  });
  if (k !== params.length) throw new Error(`${params.length} parameters for ${k} placeholders in: ${sql}`);
  return out;
}

/** sqlite-only forms rewritten; placeholders left as `?`. */
function dialect(sql: string): string {
  const hit = dialected.get(sql);
  if (hit !== undefined) return hit;
  let out = sql;
  // sqlite keeps an alias's case (`created_at AS createdAt`); PostgreSQL folds it unless quoted.
  out = out.replace(/\bAS ([a-z]+[A-Z]\w*)/g, 'AS "$1"');
  if (/^\s*INSERT OR IGNORE INTO/i.test(out)) out = `${out.replace(/INSERT OR IGNORE INTO/i, "INSERT INTO")} ON CONFLICT DO NOTHING`;
  if (dialected.size >= MAX_CACHED) dialected.clear();
  dialected.set(sql, out);
  return out;
}

/** Positional parameters only (the repositories use no named ones). */
export function pgParams(params: readonly unknown[] | Record<string, unknown> | undefined): unknown[] {
  if (params === undefined) return [];
  if (!Array.isArray(params)) throw new Error("named SQL parameters are not supported on PostgreSQL");
  return params as unknown[];
}

/** Node socket errors meaning the server cannot be reached or the connection broke. */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

/**
 * True when `e` says the database is gone or going (not that it refused a statement): a socket
 * error, a broken connection, SQLSTATE class 08 (connection exception) or 57P01-57P03 (shutdown,
 * crash, starting up).
 */
export function isConnectionError(e: unknown): boolean {
  if (e instanceof DomainError) return e.kind === "unavailable";
  const err = e as { code?: unknown; message?: unknown } | undefined;
  const code = typeof err?.code === "string" ? err.code : "";
  if (SOCKET_CODES.has(code) || code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03") return true;
  const msg = typeof err?.message === "string" ? err.message : "";
  return /Connection terminated|connection error|Client was closed|Cannot use a pool after calling end|timeout exceeded when trying to connect|not queryable/i.test(msg);
}

/** A connection failure as the domain's "unavailable" (gRPC UNAVAILABLE: retry); any other error as it is. */
export function mapPgError(e: unknown): unknown {
  if ((e as { code?: unknown } | undefined)?.code === "55P03") {
    return new DomainError("unavailable", `the database is busy: a lock stayed held past lock_timeout (${(e as Error).message})`, {
      reason: "STORE_UNAVAILABLE",
      cause: e,
    });
  }
  if (e instanceof DomainError || !isConnectionError(e)) return e;
  return new DomainError("unavailable", `the database is unavailable: ${(e as Error)?.message ?? String(e)}`, { reason: "STORE_UNAVAILABLE", cause: e });
}
