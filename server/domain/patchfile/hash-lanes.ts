/**
 * Hashing on worker threads, for the big members of a patch (software.tar and its RPMs): the
 * reading thread copies each chunk once into a shared batch buffer and goes on parsing, receiving
 * and writing while two workers hash. Lane 0 and lane 1 each run on their own thread; the caller
 * spreads contexts over them (md5 of software.tar on one, the sha256s on the other).
 *
 * INVARIANTS: a lane processes batches and digest requests in the order they were posted, so a
 * digest covers every byte given to its context before it; at most SLOTS batches are in flight
 * (memory bounded, the caller waits for a free one); workers keep the process alive only while a
 * request is outstanding.
 */
import { Worker } from "node:worker_threads";

/** An incremental hash whose digest may come from another thread. */
export interface Hasher {
  /** Adds bytes (copied before this returns or resolves; the caller may reuse `b`). */
  update(b: Uint8Array): void | Promise<void>;
  digest(): Promise<Buffer>;
}

const SLOT_BYTES = 1 << 20;
const SLOTS = 6;

const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const ctx = new Map();
parentPort.on("message", (m) => {
  if (m.t === "data") {
    const b = Buffer.from(m.sab, 0, m.len);
    for (let i = 0; i < m.parts.length; i += 3) {
      let h = ctx.get(m.parts[i]);
      if (!h) ctx.set(m.parts[i], (h = createHash(m.algos[m.parts[i]])));
      h.update(b.subarray(m.parts[i + 1], m.parts[i + 1] + m.parts[i + 2]));
    }
    parentPort.postMessage({ t: "ack", slot: m.slot });
  } else if (m.t === "digest") {
    const h = ctx.get(m.id) ?? createHash(m.algo);
    ctx.delete(m.id);
    parentPort.postMessage({ t: "digest", id: m.id, digest: h.digest() });
  } else if (m.t === "drop") {
    ctx.delete(m.id);
  }
});
`;

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
  private cur: { slot: Slot; used: number; parts: number[][]; algos: Record<number, string>[] } | undefined;
  private readonly digests = new Map<number, { resolve: (b: Buffer) => void; reject: (e: unknown) => void }>();
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
      const w = new Worker(WORKER_SOURCE, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 12, codeRangeSizeMb: 4, stackSizeMb: 1 } });
      w.unref();
      w.on("message", (m: { t: string; slot?: number; id?: number; digest?: Uint8Array }) => this.onMessage(m));
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

  private onMessage(m: { t: string; slot?: number; id?: number; digest?: Uint8Array }): void {
    if (m.t === "ack") {
      const s = this.slots[m.slot!]!;
      if (--s.refs === 0) {
        this.free.push(s);
        this.slotWaiters.shift()?.();
      }
      this.release();
    } else if (m.t === "digest") {
      const d = this.digests.get(m.id!);
      this.digests.delete(m.id!);
      this.release();
      d?.resolve(Buffer.from(m.digest!));
    }
  }

  /** A hasher on `lane` (0 or 1). */
  hasher(lane: number, algo: "md5" | "sha256"): LaneHasher {
    const id = this.nextId++;
    const l = lane % this.lanes;
    const target = { lane: l, id, algo };
    return {
      target,
      update: (b) => this.update([target], b),
      digest: () => this.digest(l, id, algo),
      drop: () => this.workers[l]!.postMessage({ t: "drop", id }),
    };
  }

  /** Feeds the same bytes to several lane hashers with one copy. */
  updateAll(hashers: readonly LaneHasher[], b: Uint8Array): void | Promise<void> {
    return this.update(
      hashers.map((h) => h.target),
      b,
    );
  }

  private update(targets: readonly { lane: number; id: number; algo: string }[], b: Uint8Array): void | Promise<void> {
    if (this.failed) throw this.failed;
    let off = 0;
    while (off < b.length) {
      if (!this.cur) {
        const slot = this.free.pop();
        if (!slot) {
          const rest = b.subarray(off);
          return new Promise<void>((resolve) => this.slotWaiters.push(resolve)).then(() => this.update(targets, rest));
        }
        this.cur = { slot, used: 0, parts: Array.from({ length: this.lanes }, () => []), algos: Array.from({ length: this.lanes }, () => ({})) };
      }
      const c = this.cur;
      const n = Math.min(b.length - off, SLOT_BYTES - c.used);
      c.slot.view.set(b.subarray(off, off + n), c.used);
      for (const t of targets) {
        c.parts[t.lane]!.push(t.id, c.used, n);
        c.algos[t.lane]![t.id] = t.algo;
      }
      c.used += n;
      off += n;
      if (c.used === SLOT_BYTES) this.post();
    }
  }

  /** Sends the current batch to the lanes it has work for. */
  private post(): void {
    const c = this.cur;
    this.cur = undefined;
    if (!c) return;
    for (let lane = 0; lane < this.lanes; lane++) {
      if (c.parts[lane]!.length === 0) continue;
      c.slot.refs++;
      this.hold();
      this.workers[lane]!.postMessage({ t: "data", slot: c.slot.index, sab: c.slot.sab, len: c.used, parts: c.parts[lane], algos: c.algos[lane] });
    }
    if (c.slot.refs === 0) this.free.push(c.slot);
  }

  private digest(lane: number, id: number, algo: string): Promise<Buffer> {
    if (this.failed) return Promise.reject(this.failed);
    // Batches before the request are posted first: the lane sees every byte, then the request.
    if (this.cur && this.cur.parts[lane]!.length > 0) this.post();
    return new Promise<Buffer>((resolve, reject) => {
      this.digests.set(id, { resolve, reject });
      this.hold();
      this.workers[lane]!.postMessage({ t: "digest", id, algo });
    });
  }
}

/** A hasher on a lane (see Lanes.hasher). */
export interface LaneHasher extends Hasher {
  readonly target: { lane: number; id: number; algo: string };
  drop(): void;
}

let shared: Lanes | undefined;

/** The process-wide pair of hash lanes (started on first use, reused by every upload and verify). */
export function hashLanes(): Lanes {
  shared ??= new Lanes(2);
  return shared;
}

