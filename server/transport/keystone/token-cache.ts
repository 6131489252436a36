/**
 * The answers of an identity service, kept by the sha256 of the token (never the token), each until
 * its own deadline, and bounded in count (the oldest entry goes first). Concurrent lookups of one
 * token share one request.
 */
import { createHash } from "node:crypto";

/** The cache key of a token: its sha256 in hex (the token itself is never kept). */
export function tokenKey(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/**
 * A bounded map of answers with deadlines, plus the lookups in flight.
 *
 * INVARIANTS:
 * - `entries.size <= maxEntries` after every `set` (Map order is insertion order: the first key is
 *   the oldest, and a `set` of a present key moves it to the end).
 * - An entry is never returned at or after its deadline (`get` drops it).
 * - `inFlight` holds one promise per key whose lookup is running; it is removed when that promise
 *   settles, whether it resolved or rejected, so a failed lookup is not remembered.
 */
export class TokenCache<T> {
  private readonly entries = new Map<string, { value: T; until: number }>();
  private readonly inFlight = new Map<string, Promise<T>>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {
    if (!(maxEntries >= 1)) throw new Error(`TokenCache: maxEntries must be >= 1, got ${maxEntries}`);
  }

  /** Entries held (expired ones included until they are looked up or pushed out). */
  get size(): number {
    return this.entries.size;
  }

  /** Lookups running now. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** True while a lookup of `key` runs. */
  running(key: string): boolean {
    return this.inFlight.has(key);
  }

  /** The answer kept for `key`, or undefined when there is none or its deadline has passed. */
  get(key: string): { value: T } | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.now() >= e.until) {
      this.entries.delete(key);
      return undefined;
    }
    return { value: e.value };
  }

  /** Keeps `value` until `until` (ms since the epoch); nothing is kept when that is not in the future. */
  set(key: string, value: T, until: number): void {
    this.entries.delete(key);
    if (!(until > this.now())) return;
    this.entries.set(key, { value, until });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /**
   * The kept answer for `key`, else the result of `lookup()`, which runs once for all the callers
   * asking for `key` while it runs (its caller decides what to `set`).
   */
  async getOrLookup(key: string, lookup: () => Promise<T>): Promise<T> {
    const hit = this.get(key);
    if (hit) return hit.value;
    const running = this.inFlight.get(key);
    if (running) return running;
    const p = lookup().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }
}
