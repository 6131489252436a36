/**
 * Controller flags of the store (one block of the controller's options; controller-config.ts
 * spreads it in): `--store sqlite|postgres://USER@HOST:PORT/DB` and `--store-password-file FILE`.
 * `sqlite` (the default) keeps everything in --data-dir as before. A PostgreSQL URL may carry
 * `sslmode` (disable, prefer = none here; require = TLS without verifying the server, as libpq;
 * verify-ca / verify-full = TLS verified against Node's CAs or `sslrootcert=FILE`, verify-full
 * also the host name) and nothing else; a password in the URL is refused (command lines are
 * visible to every local user): it goes in the password file.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { invalidArgument } from "../domain/errors.js";

/** Options (ControllerOptions fields). */
export interface StoreOptions {
  /** `sqlite` (default) or `postgres://USER@HOST:PORT/DB[?sslmode=...]`. */
  store?: string;
  /** File holding the PostgreSQL password (first line). */
  storePasswordFile?: string;
}

/** Resolved (ControllerConfig.store). */
export type StoreConfig =
  | { readonly kind: "sqlite" }
  | {
      readonly kind: "postgres";
      /** postgres://USER@HOST:PORT/DB, no password, no query. */
      readonly connectionString: string;
      readonly passwordFile: string | undefined;
      /** undefined: no TLS. */
      readonly ssl: { readonly rejectUnauthorized: boolean; readonly caFile: string | undefined; readonly checkHost: boolean } | undefined;
    };

/** The parseArgs entries of these flags. */
export const STORE_ARGS = {
  store: { type: "string" as const },
  "store-password-file": { type: "string" as const },
};

/** The `--help` lines of these flags. */
export const STORE_USAGE = `  --store sqlite|URL      where the state lives: sqlite (default, in --data-dir) or PostgreSQL,
                          postgres://USER@HOST:PORT/DB[?sslmode=require|verify-ca|verify-full[&sslrootcert=CA.pem]]
                          (patch files and packages too, cached in --data-dir/blob-cache)
  --store-password-file FILE  the PostgreSQL password (first line of FILE; never in the URL)
`;

/** The options these flags give (`values`: parseArgs' values). */
export function storeOptions(values: Record<string, unknown>): StoreOptions {
  const out: StoreOptions = {};
  if (typeof values.store === "string") out.store = values.store;
  if (typeof values["store-password-file"] === "string") out.storePasswordFile = values["store-password-file"];
  return out;
}

/** Checks the options (`SWPATCH_STORE` when --store is not given). */
export function resolveStore(o: StoreOptions, env: NodeJS.ProcessEnv = process.env): StoreConfig {
  const spec = o.store ?? env.SWPATCH_STORE ?? "sqlite";
  if (spec === "sqlite") {
    if (o.storePasswordFile !== undefined) throw invalidArgument("--store-password-file needs --store postgres://...");
    return Object.freeze({ kind: "sqlite" });
  }
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw invalidArgument(`--store: expected sqlite or postgres://USER@HOST:PORT/DB, got "${spec}"`);
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") throw invalidArgument(`--store: expected sqlite or postgres://USER@HOST:PORT/DB, got "${spec}"`);
  if (url.password) throw invalidArgument("--store: no password in the URL (command lines are visible to every local user): put it in --store-password-file FILE");
  if (!url.username) throw invalidArgument("--store: the URL names no user (postgres://USER@HOST:PORT/DB)");
  if (!url.hostname) throw invalidArgument("--store: the URL names no host (postgres://USER@HOST:PORT/DB)");
  const db = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (!db || db.includes("/")) throw invalidArgument("--store: the URL names no database (postgres://USER@HOST:PORT/DB)");
  for (const k of url.searchParams.keys()) {
    if (k !== "sslmode" && k !== "sslrootcert") throw invalidArgument(`--store: unsupported URL parameter "${k}" (only sslmode and sslrootcert)`);
  }
  const mode = url.searchParams.get("sslmode") ?? "prefer";
  if (!["disable", "prefer", "require", "verify-ca", "verify-full"].includes(mode)) {
    throw invalidArgument(`--store: sslmode must be disable, prefer, require, verify-ca or verify-full, got "${mode}"`);
  }
  const root = url.searchParams.get("sslrootcert");
  if (root && !mode.startsWith("verify")) throw invalidArgument("--store: sslrootcert needs sslmode=verify-ca or verify-full");
  const ssl =
    mode === "disable" || mode === "prefer"
      ? undefined
      : Object.freeze({ rejectUnauthorized: mode !== "require", caFile: root ? path.resolve(root) : undefined, checkHost: mode === "verify-full" });
  const port = url.port || "5432";
  return Object.freeze({
    kind: "postgres",
    connectionString: `postgres://${url.username}@${url.hostname}:${port}/${encodeURIComponent(db)}`,
    passwordFile: o.storePasswordFile ? path.resolve(o.storePasswordFile) : undefined,
    ssl,
  });
}

/** What node-postgres needs (the files read now): for the PostgreSQL store's `PgConnection`. */
export async function postgresConnection(c: Extract<StoreConfig, { kind: "postgres" }>): Promise<{
  connectionString: string;
  password?: string;
  ssl?: { rejectUnauthorized: boolean; ca?: string; checkServerIdentity?: () => undefined };
}> {
  const out: Awaited<ReturnType<typeof postgresConnection>> = { connectionString: c.connectionString };
  if (c.passwordFile) {
    try {
      out.password = (await fsp.readFile(c.passwordFile, "utf8")).split(/\r?\n/)[0]!;
    } catch (e) {
      throw invalidArgument(`--store-password-file ${c.passwordFile}: ${(e as Error).message}`);
    }
  }
  if (c.ssl) {
    let ca: string | undefined;
    if (c.ssl.caFile) {
      try {
        ca = await fsp.readFile(c.ssl.caFile, "utf8");
      } catch (e) {
        throw invalidArgument(`--store sslrootcert ${c.ssl.caFile}: ${(e as Error).message}`);
      }
    }
    out.ssl = {
      rejectUnauthorized: c.ssl.rejectUnauthorized,
      ...(ca ? { ca } : {}),
      // verify-ca: the chain is checked, the host name is not (libpq's meaning).
      ...(c.ssl.rejectUnauthorized && !c.ssl.checkHost ? { checkServerIdentity: () => undefined } : {}),
    };
  }
  return out;
}
