/**
 * A local cache of blobs on the controller's disk (`--data-dir/blob-cache`), keyed by sha256, as a
 * decorator over any BlobPort: a controller serving FetchPackage to many agents reads a package
 * from the database once, then from its own disk. Small blobs (readSmall) are also kept in memory.
 *
 * INVARIANTS
 * - A file in the cache directory named by a sha256 holds exactly that blob: it lands by
 *   write-temp-then-rename only after its bytes hashed to the name (a fill's landVerified, a
 *   write-through put's hashFile); temp files a crash left behind are removed by `init`. So the
 *   cache never serves wrong or partial bytes.
 * - One fill per sha256 at a time: concurrent `fileOf` calls of one missing blob share one fill.
 * - Bounded by bytes (`maxBytes`), evicting least recently used files first. A file handed out by
 *   `fileOf` in the last `graceMs` is not evicted (its caller is about to open it; an open file
 *   stays readable after eviction unlinks it). When only such files remain the cache may exceed
 *   its bound until they age; a single blob larger than the bound is still landed for its caller.
 * - `remove` removes from the inner store first, then waits for a fill of that sha256 in flight,
 *   then drops the file and the memory copy: a removed blob is not served from the cache. A
 *   write-through put that a remove of its sha256 overtook drops its file (per-sha256 removal count).
 * - Only this process writes the directory. The index is in memory, rebuilt from the directory
 *   by `init` (files of blobs the inner store no longer has are dropped there).
 */
import { createReadStream, promises as fsp, unlinkSync } from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import type { BlobPort } from "../domain/store.js";
import { TEMP_PREFIX, tempPathFor } from "../lib/fs-atomic.js";
import { hashFile } from "../lib/hash-file.js";
import { SHA256_RE, checkSha256, landVerified } from "./blob-file.js";

/** Options of {@link BlobCache}. */
export interface BlobCacheOptions {
  /** The cache directory (e.g. `<data-dir>/blob-cache`); created by `init`. */
  dir: string;
  /** Bound on the bytes of cached files. */
  maxBytes: number;
  /** Bound on small blobs kept in memory for readSmall (default 64 MiB; 0 disables). */
  memoryBytes?: number;
  /** Blobs up to this size are handed whole by readSmall (default 4 MiB). */
  smallMax?: number;
  /** A file handed out this recently is not evicted (default 30 s). */
  graceMs?: number;
  /**
   * A put with `move` also keeps the file in the cache (hard-linked before the inner store takes it,
   * then hashed like any fill), so an upload is not read back from the database by the first agent
   * that fetches it. Default true.
   */
  writeThrough?: boolean;
}

interface Entry {
  size: number;
  usedAt: number;
}

/** A bounded, verified, LRU-ish disk (and small-blob memory) cache in front of a BlobPort. */
export class BlobCache implements BlobPort {
  private readonly files = new Map<string, Entry>(); // insertion order = least recently used first
  private fileBytes = 0;
  private readonly fills = new Map<string, Promise<string>>();
  private readonly removals = new Map<string, number>();
  private readonly memory = new Map<string, Buffer>();
  private memoryBytes = 0;
  private readonly maxMemory: number;
  private readonly smallMax: number;
  private readonly graceMs: number;
  /** Counters, for tests and figures. */
  readonly stats = { fileHits: 0, fills: 0, evictions: 0, memoryHits: 0 };

  constructor(
    readonly inner: BlobPort,
    readonly opts: BlobCacheOptions,
  ) {
    this.maxMemory = opts.memoryBytes ?? 64 << 20;
    this.smallMax = opts.smallMax ?? 4 << 20;
    this.graceMs = opts.graceMs ?? 30_000;
  }

  /** Bytes of cached files now. */
  get cachedBytes(): number {
    return this.fileBytes;
  }

  /** Inits the inner store; indexes the cache directory, removing temp files and files of blobs the inner store lacks. */
  async init(): Promise<void> {
    await this.inner.init();
    await fsp.mkdir(this.opts.dir, { recursive: true });
    const known = new Set(await this.inner.list());
    const found: { sha: string; size: number; mtime: number }[] = [];
    for (const f of await fsp.readdir(this.opts.dir)) {
      const p = path.join(this.opts.dir, f);
      if (f.startsWith(TEMP_PREFIX) || (SHA256_RE.test(f) && !known.has(f))) {
        await fsp.rm(p, { force: true });
        continue;
      }
      if (!SHA256_RE.test(f)) continue;
      const st = await fsp.stat(p).catch(() => undefined);
      if (st?.isFile()) found.push({ sha: f, size: st.size, mtime: st.mtimeMs });
    }
    this.files.clear();
    this.fileBytes = 0;
    for (const x of found.sort((a, b) => a.mtime - b.mtime)) this.index(x.sha, x.size, -Infinity);
    this.evict();
  }

  list(): Promise<string[]> {
    return this.inner.list();
  }

  async put(file: string, sha256: string, opts?: { move?: boolean }): Promise<unknown> {
    checkSha256(sha256);
    // Only a moved file is linked: the caller gives it away, so nobody changes it under the cache.
    let staged: string | undefined;
    const removals = this.removals.get(sha256) ?? 0;
    if (opts?.move && this.opts.writeThrough !== false && !this.files.has(sha256) && !this.fills.has(sha256)) {
      const tmp = tempPathFor(this.fileFor(sha256));
      staged = await fsp.link(file, tmp).then(
        () => tmp,
        () => undefined, // another filesystem, or no such file (the inner store reports that): filled on first read
      );
    }
    let out: unknown;
    try {
      out = await this.inner.put(file, sha256, opts);
    } catch (e) {
      if (staged) await fsp.rm(staged, { force: true });
      throw e;
    }
    if (staged) {
      const { sha256: actual, size } = await hashFile(staged).catch(() => ({ sha256: "", size: 0 }));
      if (actual !== sha256 || this.files.has(sha256) || (this.removals.get(sha256) ?? 0) !== removals) {
        await fsp.rm(staged, { force: true });
      } else {
        await fsp.rename(staged, this.fileFor(sha256));
        this.index(sha256, size, performance.now());
        this.evict(sha256);
      }
    }
    return out;
  }

  async remove(sha256: string): Promise<void> {
    this.removals.set(sha256, (this.removals.get(sha256) ?? 0) + 1);
    await this.inner.remove(sha256);
    await this.fills.get(sha256)?.catch(() => undefined);
    this.dropMemory(sha256);
    this.unindex(sha256);
    await fsp.rm(this.fileFor(sha256), { force: true });
  }

  /** The cached file, filled from the inner store (verified) when missing. */
  async fileOf(sha256: string): Promise<string> {
    checkSha256(sha256);
    const e = this.files.get(sha256);
    if (e && (await this.present(sha256))) {
      this.stats.fileHits++;
      this.touch(sha256, e);
      return this.fileFor(sha256);
    }
    const pending = this.fills.get(sha256);
    if (pending) return pending;
    const fill = this.fill(sha256).finally(() => this.fills.delete(sha256));
    this.fills.set(sha256, fill);
    return fill;
  }

  /** The cached file's bytes when cached, else the inner store's stream (not filling the cache). */
  async openRead(sha256: string): Promise<Readable> {
    checkSha256(sha256);
    if (this.files.has(sha256)) {
      const fh = await fsp.open(this.fileFor(sha256), "r").catch(() => undefined);
      if (fh) return createReadStream("", { fd: fh, highWaterMark: 1 << 20 });
    }
    return this.inner.openRead(sha256);
  }

  /** Small blobs from memory, else from the cached file or the inner store (then kept in memory). */
  async readSmall(sha256: string): Promise<Buffer | undefined> {
    checkSha256(sha256);
    const hit = this.memory.get(sha256);
    if (hit) {
      this.stats.memoryHits++;
      this.memory.delete(sha256);
      this.memory.set(sha256, hit);
      return hit;
    }
    const e = this.files.get(sha256);
    let buf: Buffer | undefined;
    if (e && e.size > this.smallMax) return undefined;
    if (e) buf = await fsp.readFile(this.fileFor(sha256)).catch(() => undefined);
    if (!buf) buf = await this.inner.readSmall(sha256);
    if (!buf || buf.length > this.smallMax) return undefined;
    this.remember(sha256, buf);
    return buf;
  }

  private fileFor(sha256: string): string {
    return path.join(this.opts.dir, sha256);
  }

  private async present(sha256: string): Promise<boolean> {
    const ok = await fsp.access(this.fileFor(sha256)).then(
      () => true,
      () => false,
    );
    if (!ok) this.unindex(sha256);
    return ok;
  }

  private async fill(sha256: string): Promise<string> {
    const target = this.fileFor(sha256);
    const size = await landVerified(await this.inner.openRead(sha256), target, sha256);
    this.stats.fills++;
    this.index(sha256, size, performance.now());
    this.evict(sha256);
    return target;
  }

  private index(sha256: string, size: number, usedAt: number): void {
    this.unindex(sha256);
    this.files.set(sha256, { size, usedAt });
    this.fileBytes += size;
  }

  private unindex(sha256: string): void {
    const e = this.files.get(sha256);
    if (!e) return;
    this.files.delete(sha256);
    this.fileBytes -= e.size;
  }

  private touch(sha256: string, e: Entry): void {
    e.usedAt = performance.now();
    this.files.delete(sha256);
    this.files.set(sha256, e);
  }

  /** Drops least recently used files until within the bound, sparing `keep` and files in their grace period. */
  private evict(keep?: string): void {
    if (this.fileBytes <= this.opts.maxBytes) return;
    const now = performance.now();
    for (const [sha, e] of [...this.files]) {
      if (this.fileBytes <= this.opts.maxBytes) break;
      if (sha === keep || now - e.usedAt < this.graceMs || this.fills.has(sha)) continue;
      this.unindex(sha);
      this.stats.evictions++;
      // Unlinked now (synchronously, so a refill cannot land before it); a reader that has it open keeps reading.
      try {
        unlinkSync(this.fileFor(sha));
      } catch {
        // already gone
      }
    }
  }

  private remember(sha256: string, buf: Buffer): void {
    if (buf.length > this.maxMemory) return;
    while (this.memoryBytes + buf.length > this.maxMemory && this.memory.size > 0) {
      const [k] = this.memory.keys();
      this.dropMemory(k!);
    }
    this.memory.set(sha256, buf);
    this.memoryBytes += buf.length;
  }

  private dropMemory(sha256: string): void {
    const b = this.memory.get(sha256);
    if (!b) return;
    this.memory.delete(sha256);
    this.memoryBytes -= b.length;
  }
}
