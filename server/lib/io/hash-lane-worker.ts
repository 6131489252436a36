/**
 * The body of one hash lane (a worker thread started by `hash-lanes.ts`, loaded by path). It keeps
 * hash and file-writer contexts by id and serves four messages, in the order they arrive:
 * - `data`: hash (or write to its file) each `[id, offset, length]` part of the shared batch buffer,
 *   then ack the slot with any write errors;
 * - `open`: make `id` a writer to descriptor `fd` from position 0;
 * - `digest`: reply with the digest of `id` (a writer replies with its first error, if any) and forget it;
 * - `drop`: forget `id`, and ignore any later bytes for it.
 */
import { createHash, type Hash } from "node:crypto";
import { writeSync } from "node:fs";
import { parentPort } from "node:worker_threads";

/** A batch of parts in a shared buffer; `algos` names the algorithm of each context id first seen in it. */
export interface LaneDataMessage {
  t: "data";
  slot: number;
  sab: SharedArrayBuffer;
  len: number;
  /** [context id, offset, length]... */
  parts: number[];
  algos: Record<number, string>;
}

/** Every message a lane accepts. */
export type LaneMessage = LaneDataMessage | { t: "open"; id: number; fd: number } | { t: "digest"; id: number; algo: string } | { t: "drop"; id: number };

interface WriterContext {
  fd: number;
  pos: number;
  error: { message: string; code: string | undefined } | null;
}

const ctx = new Map<number, Hash | WriterContext>();
const dropped = new Set<number>();

function isWriter(h: Hash | WriterContext): h is WriterContext {
  return (h as WriterContext).fd !== undefined;
}

function onData(m: LaneDataMessage): void {
  const b = Buffer.from(m.sab, 0, m.len);
  let errors: { id: number; message: string; code: string | undefined }[] | undefined;
  for (let i = 0; i < m.parts.length; i += 3) {
    const id = m.parts[i];
    let h = ctx.get(id);
    if (!h) {
      if (m.algos[id] === "write" || dropped.has(id)) continue;
      ctx.set(id, (h = createHash(m.algos[id])));
    }
    if (!isWriter(h)) {
      h.update(b.subarray(m.parts[i + 1], m.parts[i + 1] + m.parts[i + 2]));
      continue;
    }
    if (h.error) continue;
    try {
      let off = m.parts[i + 1];
      let n = m.parts[i + 2];
      while (n > 0) {
        const w = writeSync(h.fd, b, off, n, h.pos);
        off += w;
        n -= w;
        h.pos += w;
      }
    } catch (e) {
      h.error = { message: (e as Error).message, code: (e as NodeJS.ErrnoException).code };
      (errors ??= []).push({ id, ...h.error });
    }
  }
  parentPort!.postMessage({ t: "ack", slot: m.slot, errors });
}

parentPort?.on("message", (m: LaneMessage) => {
  if (m.t === "data") {
    onData(m);
  } else if (m.t === "open") {
    ctx.set(m.id, { fd: m.fd, pos: 0, error: null });
  } else if (m.t === "digest") {
    const h = ctx.get(m.id) ?? createHash(m.algo);
    ctx.delete(m.id);
    if (isWriter(h)) parentPort!.postMessage({ t: "digest", id: m.id, digest: new Uint8Array(0), error: h.error });
    else parentPort!.postMessage({ t: "digest", id: m.id, digest: h.digest() });
  } else if (m.t === "drop") {
    ctx.delete(m.id);
    dropped.add(m.id);
  }
});
