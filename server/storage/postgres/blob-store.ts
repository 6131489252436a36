/**
 * BlobPort on PostgreSQL: patch files and packages live in the database, so a standby controller
 * needs no shared filesystem. Content-addressed by sha256, cut in chunks of `chunkBytes` (1 MiB)
 * stored as `blob_chunks(sha256, seq, data bytea)` rows; the `blob_contents(sha256, size, chunks)`
 * row that makes a blob exist is written LAST, in the same transaction as its chunks.
 *
 * INVARIANTS
 * - A blob is visible (list, readSmall, openRead, fileOf) only once its `blob_contents` row has
 *   committed, and then all its chunks have too: a put a crash (of this process, its connection or
 *   PostgreSQL) cuts short leaves nothing, PostgreSQL rolls the transaction back. So `init` has no
 *   leftovers to clean in the database.
 * - Bounded memory: a put holds at most two chunks (one being read from the file, one being sent);
 *   a read holds at most `readAhead` chunks of one page (keyset paging by `seq`), and a stream
 *   consumer's back-pressure stops the paging.
 * - Puts of one sha256 are serialised by a transaction-scoped advisory lock on its name: of two
 *   concurrent puts (in this process or another controller) one writes, the other finds the row
 *   when it gets the lock and writes nothing. Idempotent: a put of a stored sha256 keeps the blob.
 * - The content is hashed while it is sent and the transaction commits only if it matches the
 *   given sha256 (the port lets callers hash; a database shared by two controllers is worth the
 *   check, and hashing costs far less than sending). Reads hash too and fail at the end on a mismatch.
 *
 * Files: `fileOf` lands a verified copy in `fileDir` and keeps it (unbounded) until `remove`;
 * a controller wraps this store in a BlobCache (server/storage/blob-cache.ts), which bounds that.
 *
 *   const blobs = new BlobCache(new PgBlobStore(pool, { chunkBytes: 1 << 20 }), { dir: path.join(dataDir, "blob-cache"), maxBytes: 2 << 30 });
 */
import { createHash } from "node:crypto";
import { promises as fsp } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import type { Pool, PoolClient, QueryResult, QueryResultRow } from "pg";
import type { BlobPort } from "../../domain/store.js";
import { BlobHashMismatch, checkSha256, landVerified } from "../blob-file.js";
import { BlobCache } from "../blob-cache.js";
import { ensureBlobSchema } from "./migrations/blobs.js";
import { mapPgError } from "./pg-sql.js";

/** Options of {@link PgBlobStore}. */
export interface PgBlobStoreOptions {
  /** Bytes per chunk row (default 1 MiB; at least 1). */
  chunkBytes?: number;
  /** Chunks fetched per query when reading (default 4). */
  readAhead?: number;
  /** Where `fileOf` lands files when this store is used without a BlobCache (default: a dir under os.tmpdir()). */
  fileDir?: string;
  /**
   * Run first in every write transaction (put, remove) on its client, e.g. the leadership lease's
   * epoch check: when it throws, the transaction is rolled back and the put/remove rejects with it.
   */
  fence?: (client: PoolClient) => Promise<void>;
}

/** Blobs up to this size are handed whole by `readSmall` (the same limit as the file store's). */
export const PG_SMALL_MAX = 4 << 20;

function noSuchBlob(sha256: string): Error {
  return Object.assign(new Error(`no blob ${sha256}`), { code: "ENOENT" });
}

/** Reads from `fh` into `buf` until it is full or the file ends; returns the bytes read. */
async function readFully(fh: FileHandle, buf: Buffer): Promise<number> {
  let have = 0;
  while (have < buf.length) {
    const { bytesRead } = await fh.read(buf, have, buf.length - have, null);
    if (bytesRead === 0) break;
    have += bytesRead;
  }
  return have;
}

/** BlobPort on PostgreSQL (see the file comment). The pool is the caller's: this store never ends it. */
export class PgBlobStore implements BlobPort {
  readonly chunkBytes: number;
  readonly readAhead: number;
  readonly fileDir: string;
  private readonly fence: ((client: PoolClient) => Promise<void>) | undefined;

  constructor(
    readonly pool: Pool,
    opts: PgBlobStoreOptions = {},
  ) {
    this.chunkBytes = Math.max(1, Math.floor(opts.chunkBytes ?? 1 << 20));
    this.readAhead = Math.max(1, Math.floor(opts.readAhead ?? 4));
    this.fileDir = opts.fileDir ?? path.join(os.tmpdir(), `swpatch-pgblobs-${process.pid}`);
    this.fence = opts.fence;
  }

  /** Creates the tables if missing; removes the local file copies (they are refilled on demand). */
  async init(): Promise<void> {
    await ensureBlobSchema(this.pool);
    await fsp.rm(this.fileDir, { recursive: true, force: true });
  }

  /** A query on the pool; a lost or refused connection rejects as DomainError unavailable (STORE_UNAVAILABLE), as the store's do. */
  private async query<T extends QueryResultRow>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
    try {
      return await this.pool.query<T>(sql, params);
    } catch (e) {
      throw mapPgError(e);
    }
  }

  /** Every committed blob's sha256 (a put in progress is not visible, and not disturbed). */
  async list(): Promise<string[]> {
    const { rows } = await this.query<{ sha256: string }>("SELECT sha256 FROM blob_contents ORDER BY sha256");
    return rows.map((r) => r.sha256);
  }

  /** Whether a blob is stored (committed). */
  async has(sha256: string): Promise<boolean> {
    checkSha256(sha256);
    return ((await this.query("SELECT 1 FROM blob_contents WHERE sha256 = $1", [sha256])).rowCount ?? 0) > 0;
  }

  /** The stored size and chunk count, or undefined. */
  async stat(sha256: string): Promise<{ size: number; chunks: number } | undefined> {
    checkSha256(sha256);
    const { rows } = await this.query<{ size: string; chunks: number }>("SELECT size, chunks FROM blob_contents WHERE sha256 = $1", [sha256]);
    return rows[0] ? { size: Number(rows[0].size), chunks: rows[0].chunks } : undefined;
  }

  /**
   * Streams `file` into the database under `sha256` in one transaction (chunks, then the row);
   * durable when it resolves. Rejects with BlobHashMismatch (nothing stored) when the file does
   * not hash to `sha256`. A blob already stored is kept; `move` then just removes the source.
   */
  async put(file: string, sha256: string, opts: { move?: boolean } = {}): Promise<void> {
    checkSha256(sha256);
    if (!(await this.has(sha256))) await this.write(file, sha256);
    if (opts.move) await fsp.rm(file, { force: true });
  }

  private async write(file: string, sha256: string): Promise<void> {
    await this.blobTransaction(sha256, async (client) => {
      // Another put of this blob may have committed while we waited for its lock.
      if (((await client.query("SELECT 1 FROM blob_contents WHERE sha256 = $1", [sha256])).rowCount ?? 0) > 0) return;
      const { size, chunks } = await this.sendChunks(client, file, sha256);
      await client.query("INSERT INTO blob_contents (sha256, size, chunks) VALUES ($1, $2, $3)", [sha256, size, chunks]);
    });
  }

  /**
   * Runs `body` in one transaction on one pooled connection under the blob's advisory lock (puts and removes of one
   * sha256 are serialised), then the fence, then commit; or roll back and rethrow. The fence runs last because it
   * locks the lease row FOR SHARE until the commit, and the lease's renewal (an UPDATE of that row) waits for it:
   * fenced first, a put streaming a large file for seconds kept its own controller from renewing, which then
   * stepped down mid-upload. Checked just before the commit it still orders the write against a takeover (a
   * write is committed before the epoch moves, or refused), and nothing of the body is visible before the commit.
   */
  private async blobTransaction(sha256: string, body: (client: PoolClient) => Promise<void>): Promise<void> {
    const client = await this.pool.connect().catch((e: unknown) => {
      throw mapPgError(e);
    });
    // A connection that breaks while we read a file reports here; the next query then rejects.
    const onError = (): void => undefined;
    client.on("error", onError);
    let broken: Error | undefined;
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`swpatch:blob:${sha256}`]);
      await body(client);
      await this.fence?.(client);
      await client.query("COMMIT");
    } catch (e) {
      broken = e as Error;
      await client.query("ROLLBACK").catch(() => undefined);
      throw mapPgError(e);
    } finally {
      client.off("error", onError);
      // After a failure the connection may be half-dead: do not hand it to the next user.
      client.release(broken);
    }
  }

  /**
   * Inserts the file's chunks (one insert in flight while the next chunk is read); checks the hash.
   * The file is read into two buffers allocated once and used in turn: a buffer is refilled only
   * after the insert that sent it has completed (the insert of the other one may still be in
   * flight). Reading through a stream allocated a fresh 1 MiB buffer per chunk, garbage that the
   * engine let pile up to tens of MiB before collecting it (see docs/benchmarks.md, `blobs`).
   */
  private async sendChunks(client: PoolClient, file: string, sha256: string): Promise<{ size: number; chunks: number }> {
    const h = createHash("sha256");
    let size = 0;
    let seq = 0;
    let inFlight: Promise<unknown> | undefined;
    const bufs = [Buffer.allocUnsafeSlow(this.chunkBytes), Buffer.allocUnsafeSlow(this.chunkBytes)];
    const fh = await fsp.open(file, "r");
    try {
      for (;;) {
        const buf = bufs[seq % 2]!;
        const n = await readFully(fh, buf);
        if (n === 0) break;
        const chunk = buf.subarray(0, n);
        h.update(chunk);
        size += n;
        if (inFlight) await inFlight;
        inFlight = client.query("INSERT INTO blob_chunks (sha256, seq, data) VALUES ($1, $2, $3)", [sha256, seq++, chunk]);
        inFlight.catch(() => undefined); // awaited before the next insert or below
        if (n < buf.length) break;
      }
      if (inFlight) await inFlight;
    } finally {
      await fh.close();
    }
    const actual = h.digest("hex");
    if (actual !== sha256) throw new BlobHashMismatch(sha256, actual);
    return { size, chunks: seq };
  }

  /** Deletes the blob (row and chunks, one transaction) and its local file; removing a missing blob is fine. */
  async remove(sha256: string): Promise<void> {
    checkSha256(sha256);
    await this.blobTransaction(sha256, async (client) => {
      await client.query("DELETE FROM blob_contents WHERE sha256 = $1", [sha256]);
      await client.query("DELETE FROM blob_chunks WHERE sha256 = $1", [sha256]);
    });
    await fsp.rm(path.join(this.fileDir, sha256), { force: true });
  }

  /**
   * The blob's chunks in order, fetched `readAhead` at a time by keyset paging (each page its own
   * query, no connection held between pages); hashed on the way. Throws when the blob is missing,
   * goes away mid-read, or does not hash to its name.
   */
  async *chunks(sha256: string): AsyncGenerator<Buffer> {
    const head = await this.stat(sha256);
    if (!head) throw noSuchBlob(sha256);
    const h = createHash("sha256");
    let size = 0;
    for (let next = 0; next < head.chunks;) {
      // Text results (bytea as hex): node-postgres 8's protocol parser decodes every field as a string, so binary results would corrupt bytea.
      const { rows } = await this.query<{ seq: number; data: Buffer }>("SELECT seq, data FROM blob_chunks WHERE sha256 = $1 AND seq >= $2 ORDER BY seq LIMIT $3", [
        sha256,
        next,
        this.readAhead,
      ]);
      if (rows.length === 0) throw new Error(`blob ${sha256} went away while it was read (chunk ${next} of ${head.chunks})`);
      for (const r of rows) {
        if (r.seq !== next) throw new Error(`blob ${sha256}: chunk ${next} missing`);
        next++;
        h.update(r.data);
        size += r.data.length;
        yield r.data;
      }
    }
    const actual = h.digest("hex");
    if (size !== head.size || actual !== sha256) throw new BlobHashMismatch(sha256, actual);
  }

  /** A byte stream of the blob (back-pressured: at most one page of chunks in memory). */
  async openRead(sha256: string): Promise<Readable> {
    if (!(await this.has(sha256))) throw noSuchBlob(sha256);
    return Readable.from(this.chunks(sha256), { objectMode: false, highWaterMark: this.chunkBytes });
  }

  /** The whole blob when it is at most PG_SMALL_MAX bytes, else undefined; rejects (ENOENT) when there is none. */
  async readSmall(sha256: string): Promise<Buffer | undefined> {
    const head = await this.stat(sha256);
    if (!head) throw noSuchBlob(sha256);
    if (head.size > PG_SMALL_MAX) return undefined;
    const parts: Buffer[] = [];
    for await (const c of this.chunks(sha256)) parts.push(c);
    return Buffer.concat(parts, head.size);
  }

  /** A verified local copy in `fileDir` (landed once, kept until `remove`). */
  async fileOf(sha256: string): Promise<string> {
    checkSha256(sha256);
    const target = path.join(this.fileDir, sha256);
    if (
      await fsp.access(target).then(
        () => true,
        () => false,
      )
    )
      return target;
    if (!(await this.has(sha256))) throw noSuchBlob(sha256);
    await landVerified(this.chunks(sha256), target, sha256);
    return target;
  }
}

/** Default bound of a controller's blob cache (`<data-dir>/blob-cache`). */
export const DEFAULT_BLOB_CACHE_BYTES = 4 * 1024 ** 3;

/**
 * The blob port a controller on PostgreSQL uses: PgBlobStore behind a BlobCache in
 * `<dataDir>/blob-cache`. A put holds one pool connection for as long as it streams.
 */
export function pgBlobPort(pool: Pool, opts: { dataDir: string; cacheMaxBytes?: number; chunkBytes?: number; fence?: PgBlobStoreOptions["fence"] }): BlobCache {
  const store = new PgBlobStore(pool, {
    ...(opts.chunkBytes !== undefined ? { chunkBytes: opts.chunkBytes } : {}),
    ...(opts.fence ? { fence: opts.fence } : {}),
    fileDir: path.join(opts.dataDir, "blob-files"),
  });
  return new BlobCache(store, { dir: path.join(opts.dataDir, "blob-cache"), maxBytes: opts.cacheMaxBytes ?? DEFAULT_BLOB_CACHE_BYTES });
}
