import { createReadStream, promises as fsp } from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import type { BlobPort } from "../../domain/store.js";
import { TEMP_PREFIX, fsyncDir, tempPathFor } from "../../lib/fs-atomic.js";

/**
 * Content-addressed file store under `<dir>/sha256/ab/<hex>`. Files land by
 * copy/rename-to-temp, fsync, rename, fsync dir; the caller records the row after `put` returns.
 */
export class BlobStore implements BlobPort {
  constructor(readonly dir: string) {}

  /**
   * Small blobs recently read, whole (a fleet downloads the same packages host after host).
   * Content-addressed, so an entry never goes stale; `remove` drops it.
   */
  private readonly cache = new Map<string, Buffer>();
  private cacheBytes = 0;
  static readonly CACHE_ITEM_MAX = 4 << 20;
  static readonly CACHE_TOTAL_MAX = 64 << 20;

  /**
   * A blob's bytes when it is at most CACHE_ITEM_MAX (kept for the next read), undefined when it
   * is larger (stream it from `pathOf`). Rejects with ENOENT when there is no such blob.
   */
  async readSmall(sha256: string): Promise<Buffer | undefined> {
    const hit = this.cache.get(sha256);
    if (hit) {
      this.cache.delete(sha256);
      this.cache.set(sha256, hit);
      return hit;
    }
    const fh = await fsp.open(this.pathOf(sha256), "r");
    let buf: Buffer;
    try {
      const { size } = await fh.stat();
      if (size > BlobStore.CACHE_ITEM_MAX) return undefined;
      buf = Buffer.allocUnsafe(size);
      let off = 0;
      while (off < size) {
        const { bytesRead } = await fh.read(buf, off, size - off, off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      if (off !== size) throw new Error(`blob ${sha256} changed while read`);
    } finally {
      await fh.close();
    }
    while (this.cacheBytes + buf.length > BlobStore.CACHE_TOTAL_MAX && this.cache.size) {
      const [k, v] = this.cache.entries().next().value as [string, Buffer];
      this.cache.delete(k);
      this.cacheBytes -= v.length;
    }
    this.cache.set(sha256, buf);
    this.cacheBytes += buf.length;
    return buf;
  }

  /** Where the blob's file is (whether or not it exists yet); `fileOf` resolves only for a stored one. */
  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`bad sha256: ${sha256}`);
    return path.join(this.dir, "sha256", sha256.slice(0, 2), sha256);
  }

  /** The blob's own file (this store keeps every blob as a local file); rejects with ENOENT when there is none. */
  async fileOf(sha256: string): Promise<string> {
    const p = this.pathOf(sha256);
    await fsp.access(p);
    return p;
  }

  /** A stream of the blob's file, once it is open; rejects with ENOENT when there is none. */
  async openRead(sha256: string): Promise<Readable> {
    const fh = await fsp.open(this.pathOf(sha256), "r");
    return createReadStream("", { fd: fh, highWaterMark: 1 << 20 });
  }

  /** Creates the store's directory and removes temp files a put cut short (a crash) left behind. */
  async init(): Promise<void> {
    const root = path.join(this.dir, "sha256");
    await fsp.mkdir(root, { recursive: true });
    for (const d of await fsp.readdir(root)) {
      for (const f of await fsp.readdir(path.join(root, d)).catch(() => [] as string[])) {
        if (f.startsWith(TEMP_PREFIX)) await fsp.rm(path.join(root, d, f), { force: true });
      }
    }
  }

  async has(sha256: string): Promise<boolean> {
    return fsp.stat(this.pathOf(sha256)).then(
      () => true,
      () => false,
    );
  }

  /**
   * Moves (or copies) an already-verified file into the store under its sha256: it trusts the
   * caller's hash (callers hash while they receive; hashing again would read every upload twice).
   * `move` renames when on the same filesystem and falls back to a copy.
   */
  async put(file: string, sha256: string, opts: { move?: boolean } = {}): Promise<string> {
    const target = this.pathOf(sha256);
    if (await this.has(sha256)) {
      if (opts.move) await fsp.rm(file, { force: true });
      return target;
    }
    await fsp.mkdir(path.dirname(target), { recursive: true });
    const tmp = tempPathFor(target);
    try {
      if (opts.move) {
        try {
          await fsp.rename(file, tmp);
        } catch {
          await fsp.copyFile(file, tmp);
          await fsp.rm(file, { force: true });
        }
      } else {
        await fsp.copyFile(file, tmp);
      }
      const fh = await fsp.open(tmp, "r+");
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, target);
      await fsyncDir(path.dirname(target));
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    return target;
  }

  async remove(sha256: string): Promise<void> {
    const cached = this.cache.get(sha256);
    if (cached) {
      this.cache.delete(sha256);
      this.cacheBytes -= cached.length;
    }
    await fsp.rm(this.pathOf(sha256), { force: true });
  }

  /** Every stored sha256 (for reconciliation at start). Read only: a put in progress is left alone. */
  async list(): Promise<string[]> {
    const out: string[] = [];
    const root = path.join(this.dir, "sha256");
    for (const d of await fsp.readdir(root).catch(() => [] as string[])) {
      for (const f of await fsp.readdir(path.join(root, d)).catch(() => [] as string[])) {
        if (/^[0-9a-f]{64}$/.test(f)) out.push(f);
      }
    }
    return out;
  }
}

export { hashFile } from "../../lib/hash-file.js";
