/**
 * Spooling one stream (a patch member) to a private file while hashing it, with the file writes
 * kept off the reading thread's critical path.
 */
import { promises as fsp } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { hashLanes, laneOf, type Hasher, type LaneHasher } from "./hash-lanes.js";

/** Bytes of one member written ahead (in flight to the file) at most. */
const WRITE_AHEAD = 4 * 1024 * 1024;

/**
 * A big member's bytes are flushed to disk as it streams (an fdatasync per this many bytes, one at
 * a time, off the reading thread), so the fsync that makes it durable in the blob store at the end
 * has little left to write instead of the whole file.
 */
const SYNC_EVERY = 32 * 1024 * 1024;

/**
 * Writes a member to disk while hashing it; optionally tees the bytes elsewhere. Usable as a tar
 * entry sink (`write` per chunk, `end` once).
 *
 * INVARIANTS: `write` calls are sequential (each awaited before the next); file writes are
 * positioned, so the up to WRITE_AHEAD bytes in flight may complete in any order; at most one
 * fdatasync is in flight; the first write or sync error is kept and thrown by the next `write` or by
 * `end`; `close` waits for every write (and a lane writer's last byte) before closing the descriptor.
 */
export class SpoolSink {
  size = 0;
  fh: FileHandle | null = null;
  closed = false;
  constructor(
    readonly file: string,
    private readonly limit: number,
    /** The error thrown when more than `limit` bytes arrive. */
    private readonly tooLarge: () => Error,
    readonly md5: Hasher | null,
    /** null when the member is only streamed through (no file, no own sha256). */
    readonly sha256: Hasher | null,
    private readonly tees: ((b: Buffer) => void | Promise<void>)[] = [],
    private readonly onEnd?: () => Promise<void>,
    /** Told the size of every chunk before it is written to the file; throws to refuse it. */
    private readonly charge?: (bytes: number) => void,
  ) {}
  async open(): Promise<this> {
    if (this.sha256) this.fh = await fsp.open(this.file, "wx", 0o600);
    // A member hashed on a lane is also written by that lane, from the same batch: no write
    // request through the thread pool per chunk.
    const lane = laneOf(this.sha256);
    if (this.fh && lane !== undefined) this.laneWriter = hashLanes().writer(lane, this.fh.fd);
    return this;
  }
  private laneWriter: LaneHasher | undefined;
  /**
   * File writes in flight (positioned, so they may complete in any order): the reader goes on
   * with the next chunk while the thread pool writes, up to WRITE_AHEAD bytes.
   */
  private readonly writes: { done: Promise<void>; bytes: number }[] = [];
  private writing = 0;
  private writeError: unknown;
  /** The fdatasync in flight, if any (see SYNC_EVERY), and the size written when it started. */
  private syncing: Promise<void> | undefined;
  private syncedTo = 0;
  async write(chunk: Buffer): Promise<void> {
    const at = this.size;
    this.size += chunk.length;
    if (this.size > this.limit) throw this.tooLarge();
    if (this.writeError !== undefined) throw this.writeError;
    if (this.fh) this.charge?.(chunk.length);
    if (this.fh && !this.laneWriter) {
      const done = this.fh.write(chunk, 0, chunk.length, at).then(
        () => undefined,
        (e: unknown) => void (this.writeError ??= e),
      );
      this.writes.push({ done, bytes: chunk.length });
      this.writing += chunk.length;
    }
    const m = this.md5?.update(chunk);
    if (m) await m;
    const h = this.laneWriter ? hashLanes().updateAll([this.sha256 as LaneHasher, this.laneWriter], chunk) : this.sha256?.update(chunk);
    if (h) await h;
    // A failed lane write (disk full...) stops the read now, not at the end of the member.
    const failed = this.laneWriter?.error?.();
    if (failed) throw failed;
    try {
      for (const t of this.tees) await t(chunk);
    } finally {
      this.md5?.afterTees?.();
    }
    if (this.fh && !this.syncing && this.size - this.syncedTo >= SYNC_EVERY) {
      const fh = this.fh;
      this.syncedTo = this.size;
      this.syncing = fh.datasync().then(
        () => void (this.syncing = undefined),
        (e: unknown) => {
          this.writeError ??= e;
          this.syncing = undefined;
        },
      );
    }
    while (this.writing > WRITE_AHEAD) {
      const w = this.writes.shift()!;
      await w.done;
      this.writing -= w.bytes;
    }
    if (this.writeError !== undefined) throw this.writeError;
  }
  async end(): Promise<void> {
    await this.close();
    if (this.writeError !== undefined) throw this.writeError;
    if (this.onEnd) await this.onEnd();
  }
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.writes.splice(0).map((w) => w.done));
    this.writing = 0;
    if (this.laneWriter) {
      // Every byte written (or the first error) before the file is closed: the lane writes to
      // the descriptor number, which must not be reused meanwhile.
      await this.laneWriter.digest().catch((e: unknown) => void (this.writeError ??= e));
    }
    await this.syncing;
    await this.fh?.close();
  }
}
