/**
 * Hashing on worker threads, for the big members of a patch (software.tar and its RPMs): the
 * reading thread copies each chunk once into a shared batch buffer and goes on parsing and receiving
 * while two workers hash. Lane 0 and lane 1 each run on their own thread; the caller spreads
 * contexts over them (md5 of software.tar on one, the sha256s on the other). A lane can also write
 * a member's bytes to its file from the same batch (`writer`), so a big member costs the reading
 * thread one copy and no write request per chunk.
 *
 * INVARIANTS: a lane processes batches and digest requests in the order they were posted, so a
 * digest covers every byte given to its context before it; at most SLOTS batches are in flight
 * (memory bounded, the caller waits for a free one); workers keep the process alive only while a
 * request is outstanding.
 *
 * No second copy: after `updateAll(…, b, true)` and until `endShare()`, bytes handed to an update
 * that lie inside `b` (an RPM's data inside the software.tar chunk just copied) are hashed from
 * where `b` already sits in a batch; the caller must not change `b` meanwhile. To allow it, a full
 * batch is posted only when the next copying update starts, a digest is asked for, or a slot is
 * needed.
 */
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import type { LaneMessage } from "./hash-lane-worker.js";

/** An incremental hash whose digest may come from another thread. */
export interface Hasher {
  /** Adds bytes (copied before this returns or resolves; the caller may reuse `b`). */
  update(b: Uint8Array): void | Promise<void>;
  digest(): Promise<Buffer>;
  /** Called by a spooling sink once the bytes of its last update went to its tees too. */
  afterTees?(): void;
}

const SLOT_BYTES = 2 << 20;
const SLOTS = 3;

/**
 * The lane body (`hash-lane-worker.ts`), next to this file: `.js` in the build (dist/ mirrors the
 * tree), `.ts` when running from source under tsx (the unit tests), where the worker needs the same
 * loader, which Node does not pass on to a worker by itself.
 */
const WORKER_FILE = path.join(__dirname, `hash-lane-worker${path.extname(__filename)}`);
const WORKER_EXEC_ARGV = WORKER_FILE.endsWith(".ts") ? [...process.execArgv, "--require", require.resolve("tsx/cjs")] : undefined;

interface Batch {
  slot: Slot;
  used: number;
  /** Per lane: [context id, offset, length]... in order. */
  parts: number[][];
  algos: Record<number, string>[];
  posted: boolean;
}

interface Slot {
  index: number;
  sab: SharedArrayBuffer;
  view: Uint8Array;
  /** Lanes still hashing this slot. */
  refs: number;
}

class Lanes {
  private readonly workers: Worker[] = [];
  private readonly slots: Slot[] = [];
  private readonly free: Slot[] = [];
  private readonly slotWaiters: (() => void)[] = [];
  private cur: Batch | undefined;
  /** Full batches not posted yet (the next update may still hash from them), oldest first. */
  private readonly held: Batch[] = [];
  /** Where the bytes of the last copying update went, while they may still be referred to. */
  private last: { buf: ArrayBufferLike; start: number; end: number; pieces: { batch: Batch; at: number; src: number; n: number }[] } | undefined;
  private readonly digests = new Map<number, { resolve: (b: Buffer) => void; reject: (e: unknown) => void }>();
  /** First write error of each lane writer, as soon as the lane reports it (with a batch's ack). */
  private readonly writeErrors = new Map<number, Error>();
  private nextId = 1;
  private outstanding = 0;
  private failed: Error | undefined;

  constructor(private readonly lanes: number) {
    for (let i = 0; i < SLOTS; i++) {
      const sab = new SharedArrayBuffer(SLOT_BYTES);
      const s: Slot = { index: i, sab, view: new Uint8Array(sab), refs: 0 };
      this.slots.push(s);
      this.free.push(s);
    }
    for (let i = 0; i < lanes; i++) {
      // A hashing worker needs almost no heap; small limits keep the controller's footprint down.
      const w = new Worker(WORKER_FILE, {
        ...(WORKER_EXEC_ARGV ? { execArgv: WORKER_EXEC_ARGV } : {}),
        resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 12, codeRangeSizeMb: 4, stackSizeMb: 1 },
      });
      w.unref();
      w.on("message", (m: Parameters<Lanes["onMessage"]>[0]) => this.onMessage(m));
      w.on("error", (e) => this.fail(e));
      w.on("exit", (code) => this.fail(new Error(`hash worker exited (${code})`)));
      this.workers.push(w);
    }
  }

  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    // The next upload starts a fresh pair; this one's other worker goes too.
    for (const w of this.workers) void w.terminate();
    for (const d of this.digests.values()) d.reject(e);
    this.digests.clear();
    for (const w of this.slotWaiters.splice(0)) w();
    if (shared === this) shared = undefined;
  }

  private hold(): void {
    if (this.outstanding++ === 0) for (const w of this.workers) w.ref();
  }

  private release(): void {
    if (--this.outstanding === 0) for (const w of this.workers) w.unref();
  }

  private onMessage(m: {
    t: string;
    slot?: number;
    id?: number;
    digest?: Uint8Array;
    error?: { message: string; code?: string } | null;
    errors?: { id: number; message: string; code?: string }[];
  }): void {
    if (m.t === "ack") {
      for (const e of m.errors ?? []) this.writeErrors.set(e.id, Object.assign(new Error(e.message), { code: e.code }));
      const s = this.slots[m.slot!]!;
      if (--s.refs === 0) {
        this.free.push(s);
        this.slotWaiters.shift()?.();
      }
      this.release();
    } else if (m.t === "digest") {
      const d = this.digests.get(m.id!);
      this.digests.delete(m.id!);
      this.writeErrors.delete(m.id!);
      this.release();
      if (m.error) d?.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
      else d?.resolve(Buffer.from(m.digest!));
    }
  }

  /** A hasher on `lane` (0 or 1). */
  hasher(lane: number, algo: "md5" | "sha256"): LaneHasher {
    const c = this.context(lane, algo);
    return { ...c, drop: () => this.workers[c.target.lane]!.postMessage({ t: "drop", id: c.target.id } satisfies LaneMessage) };
  }

  /**
   * A writer on `lane`: bytes given to it (alone or with hashers through `updateAll`) are written
   * to `fd` by the lane, in order from offset 0, with the hashing of the same batch. `digest()`
   * (the flush) resolves once every byte given before it is written, or rejects with the first
   * write error, which `error()` also shows as soon as the lane acknowledges the failing batch; the
   * caller keeps `fd` open until the flush settles, and flushes before closing `fd` whatever
   * happened.
   */
  writer(lane: number, fd: number): LaneHasher {
    if (this.failed) throw this.failed;
    const c = this.context(lane, "write");
    this.workers[c.target.lane]!.postMessage({ t: "open", id: c.target.id, fd } satisfies LaneMessage);
    return { ...c, drop: () => void c.digest().catch(() => undefined), error: () => this.writeErrors.get(c.target.id) };
  }

  /** A new context on `lane`: its target, update and digest (the flush for a writer). */
  private context(lane: number, algo: string): Pick<LaneHasher, "target" | "update" | "digest"> {
    const target = { lane: lane % this.lanes, id: this.nextId++, algo };
    return { target, update: (b) => this.update([target], b), digest: () => this.digest(target.lane, target.id, algo) };
  }

  /**
   * Feeds the same bytes to several lane hashers with one copy. With `share`, later updates of
   * bytes inside `b` hash them from that copy, until `endShare()` (see the file's comment).
   */
  updateAll(hashers: readonly LaneHasher[], b: Uint8Array, share = false): void | Promise<void> {
    return this.update(
      hashers.map((h) => h.target),
      b,
      share,
    );
  }

  /** Ends the sharing started by `updateAll(…, true)`: the caller may change those bytes again. */
  endShare(): void {
    this.last = undefined;
  }

  private update(targets: readonly { lane: number; id: number; algo: string }[], b: Uint8Array, share = false): void | Promise<void> {
    if (this.failed) throw this.failed;
    if (this.hashInPlace(targets, b)) return;
    this.last = share ? { buf: b.buffer, start: b.byteOffset, end: b.byteOffset + b.length, pieces: [] } : undefined;
    return this.copy(targets, b, 0);
  }

  /** Hashes `b` from the batches holding the last copied bytes, if it lies within them. */
  private hashInPlace(targets: readonly { lane: number; id: number; algo: string }[], b: Uint8Array): boolean {
    const l = this.last;
    if (!l || b.buffer !== l.buf || b.byteOffset < l.start || b.byteOffset + b.length > l.end || b.length === 0) return false;
    const from = b.byteOffset;
    const to = from + b.length;
    const covering = l.pieces.filter((p) => p.src < to && p.src + p.n > from);
    let covered = 0;
    for (const p of covering) {
      if (p.batch.posted) return false;
      covered += Math.min(to, p.src + p.n) - Math.max(from, p.src);
    }
    if (covered !== b.length) return false;
    for (const p of covering) {
      const s = Math.max(from, p.src);
      const n = Math.min(to, p.src + p.n) - s;
      for (const t of targets) {
        p.batch.parts[t.lane]!.push(t.id, p.at + (s - p.src), n);
        p.batch.algos[t.lane]![t.id] = t.algo;
      }
    }
    return true;
  }

  private copy(targets: readonly { lane: number; id: number; algo: string }[], b: Uint8Array, off: number): void | Promise<void> {
    // A new copy: the batches filled before it can no longer be referred to.
    if (off === 0) this.postHeld();
    while (off < b.length) {
      if (!this.cur) {
        let slot = this.free.pop();
        if (!slot && this.held.length) {
          this.postHeld();
          slot = this.free.pop();
        }
        if (!slot) {
          const at = off;
          return new Promise<void>((resolve) => this.slotWaiters.push(resolve)).then(() => {
            if (this.failed) throw this.failed;
            return this.copy(targets, b, at);
          });
        }
        this.cur = { slot, used: 0, parts: Array.from({ length: this.lanes }, () => []), algos: Array.from({ length: this.lanes }, () => ({})), posted: false };
      }
      const c = this.cur;
      const n = Math.min(b.length - off, SLOT_BYTES - c.used);
      c.slot.view.set(b.subarray(off, off + n), c.used);
      for (const t of targets) {
        c.parts[t.lane]!.push(t.id, c.used, n);
        c.algos[t.lane]![t.id] = t.algo;
      }
      if (this.last && this.last.buf === b.buffer) this.last.pieces.push({ batch: c, at: c.used, src: b.byteOffset + off, n });
      c.used += n;
      off += n;
      if (c.used === SLOT_BYTES) {
        this.held.push(c);
        this.cur = undefined;
      }
    }
  }

  private postHeld(): void {
    for (const h of this.held.splice(0)) this.post(h);
  }

  /** Sends a batch to the lanes it has work for. */
  private post(c: Batch): void {
    c.posted = true;
    for (let lane = 0; lane < this.lanes; lane++) {
      if (c.parts[lane]!.length === 0) continue;
      c.slot.refs++;
      this.hold();
      this.workers[lane]!.postMessage({ t: "data", slot: c.slot.index, sab: c.slot.sab, len: c.used, parts: c.parts[lane], algos: c.algos[lane] } satisfies LaneMessage);
    }
    if (c.slot.refs === 0) this.free.push(c.slot);
  }

  private digest(lane: number, id: number, algo: string): Promise<Buffer> {
    if (this.failed) return Promise.reject(this.failed);
    // Batches before the request are posted first: the lane sees every byte, then the request.
    this.postHeld();
    if (this.cur && this.cur.parts[lane]!.length > 0) {
      this.post(this.cur);
      this.cur = undefined;
    }
    return new Promise<Buffer>((resolve, reject) => {
      this.digests.set(id, { resolve, reject });
      this.hold();
      this.workers[lane]!.postMessage({ t: "digest", id, algo } satisfies LaneMessage);
    });
  }
}

/** The lane a hasher runs on, or undefined for one on the calling thread. */
export function laneOf(h: Hasher | null): number | undefined {
  return h && "target" in h ? (h as LaneHasher).target.lane : undefined;
}

/** A hasher on a lane (see Lanes.hasher). */
export interface LaneHasher extends Hasher {
  readonly target: { lane: number; id: number; algo: string };
  drop(): void;
  /** A writer's first write error once the lane has reported it (before its flush), if any. */
  error?(): Error | undefined;
}

let shared: Lanes | undefined;

/** The process-wide pair of hash lanes (started on first use, reused by every upload and verify). */
export function hashLanes(): Lanes {
  shared ??= new Lanes(2);
  return shared;
}
