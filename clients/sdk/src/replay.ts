/**
 * A client-streaming call's request stream, kept so that the call can be sent again (issue 19): a pair's standby
 * refuses a call before it reads it, but the client has already pulled the first messages of the stream into the
 * call. The messages pulled so far are kept, up to {@link REPLAY_MAX_BYTES}; a second iteration yields them again,
 * then goes on with the source. Past the bound nothing is kept and the stream can no longer be replayed.
 */

/** Bytes of pulled messages kept for a re-send (an upload's header and its first chunks). */
export const REPLAY_MAX_BYTES = 8 * 1024 * 1024;

/** Approximate size of a message: its byte fields (to depth 3) plus a little per message. */
function sizeOf(m: unknown, depth = 0): number {
  if (m instanceof Uint8Array) return m.byteLength;
  if (typeof m === "string") return m.length;
  if (depth > 3 || m === null || typeof m !== "object") return 8;
  let n = 16;
  for (const v of Object.values(m as Record<string, unknown>)) n += sizeOf(v, depth + 1);
  return n;
}

/**
 * INVARIANTS: the source is pulled by one `next()` at a time (shared by every iteration), in order; `kept` holds the
 * messages pulled so far while `replayable`; an iteration yields them in order, then the ones pulled after.
 */
export class ReplayableStream<T> {
  private readonly kept: T[] = [];
  private bytes = 0;
  private overflow = false;
  private done = false;
  private source: AsyncIterator<T> | Iterator<T> | undefined;
  private pulling: Promise<void> | undefined;
  /** The message pulled last, and how many were pulled (for the one iteration that goes on past the bound). */
  private latest: T | undefined;
  private pulledCount = 0;
  /** Iterations started; only the latest may go on once messages are no longer kept. */
  private iterations = 0;

  constructor(
    private readonly from: AsyncIterable<T> | Iterable<T>,
    private readonly maxBytes = REPLAY_MAX_BYTES,
  ) {}

  /** Whether a new iteration would yield every message of the stream (nothing was dropped). */
  get replayable(): boolean {
    return !this.overflow;
  }

  private pull(): Promise<void> {
    this.pulling ??= (async () => {
      this.source ??= Symbol.asyncIterator in this.from ? this.from[Symbol.asyncIterator]() : (this.from as Iterable<T>)[Symbol.iterator]();
      const r = await this.source.next();
      if (r.done) {
        this.done = true;
        return;
      }
      this.bytes += sizeOf(r.value);
      if (this.bytes > this.maxBytes && !this.overflow) {
        this.overflow = true;
        this.kept.length = 0;
      }
      this.latest = r.value;
      this.pulledCount++;
      if (!this.overflow) this.kept.push(r.value);
    })().finally(() => (this.pulling = undefined));
    return this.pulling;
  }
  /** A fresh iteration: the kept messages, then the rest of the source. */
  async *iterate(): AsyncGenerator<T, void, undefined> {
    const me = ++this.iterations;
    let i = 0;
    for (;;) {
      if (this.overflow) {
        // Not replayable: only the newest iteration goes on, message by message as pulled.
        if (me !== this.iterations || i < this.pulledCount - 1) throw new Error("request stream already sent and not kept: cannot send it again");
        if (i === this.pulledCount - 1) {
          i++;
          yield this.latest as T;
          continue;
        }
      } else if (i < this.kept.length) {
        yield this.kept[i++]!;
        continue;
      }
      if (this.done) return;
      await this.pull();
    }
  }
}
