/**
 * multipart/form-data bodies with busboy, pulled part by part: each part's body is an async
 * iterable read straight from busboy (its backpressure holds the request), so nothing is buffered
 * beyond busboy's own window. File names are kept as sent (preservePath): the caller decides what
 * a name may be (see upload-name.ts).
 */
import busboy from "busboy";
import type { Readable } from "node:stream";
import { HttpError, badRequest } from "./errors.js";

export interface MultipartLimits {
  /** Most parts accepted (default 16). */
  maxParts?: number;
  /** Largest non-file field, bytes (default 64 KiB). */
  maxFieldBytes?: number;
}

/** One part of a multipart body. `body` must be consumed (or is drained) before the next part. */
export interface MultipartPart {
  name: string;
  /** From Content-Disposition `filename` (undefined when absent: a plain field). */
  filename: string | undefined;
  contentType: string;
  body: AsyncIterable<Buffer>;
}

type Event = { part: MultipartPart; stream?: Readable } | { error: unknown } | { end: true };

async function* oneChunk(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

const bad = (m: string) => new HttpError(400, `multipart: ${m}`);

/**
 * The parts of a multipart/form-data body read from `source` (a counted body stream: its errors,
 * such as 413, pass through unchanged). A Content-Type that is not multipart/form-data with a
 * boundary is a 400, as is a malformed body (busboy's reason after "multipart: ") and more than
 * `maxParts` parts. Returning early (break, throw) stops reading and frees the parser.
 */
export async function* parseMultipart(source: AsyncIterable<Buffer>, contentType: string | undefined, limits: MultipartLimits = {}): AsyncGenerator<MultipartPart> {
  const maxParts = limits.maxParts ?? 16;
  if (!/^multipart\/form-data\s*(;|$)/i.test(contentType ?? "")) throw badRequest("expected a multipart/form-data body");
  let bb: busboy.Busboy;
  try {
    bb = busboy({
      headers: { "content-type": contentType! },
      preservePath: true,
      limits: { parts: maxParts, fieldSize: limits.maxFieldBytes ?? 64 * 1024, headerPairs: 64 },
    });
  } catch (e) {
    throw bad((e as Error).message.replace(/^Multipart: /, "").toLowerCase());
  }
  const queue: Event[] = [];
  let wake: (() => void) | undefined;
  const push = (ev: Event) => {
    queue.push(ev);
    wake?.();
    wake = undefined;
  };
  let closed = false;
  bb.on("file", (name: string, stream: Readable, info: busboy.FileInfo) => {
    // A consumer that stops early (return()) must not destroy the stream: busboy would stall on it.
    // The rest is drained when the next part is asked for.
    // Its errors (a malformed body, the source's 413) reach the consumer through the iteration.
    stream.on("error", () => undefined);
    const body: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: async function* () {
        try {
          yield* stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
        } catch (e) {
          throw e instanceof HttpError
            ? e
            : bad(
                String((e as Error)?.message ?? e)
                  .replace(/^Multipart: /, "")
                  .toLowerCase(),
              );
        }
      },
    };
    push({ part: { name, filename: info.filename ?? "", contentType: info.mimeType, body }, stream });
  });
  bb.on("field", (name: string, value: string, info: busboy.FieldInfo) => {
    if (info.valueTruncated) return push({ error: bad(`field ${name.slice(0, 64)} too large`) });
    push({ part: { name, filename: undefined, contentType: info.mimeType, body: oneChunk(Buffer.from(value, "utf8")) } });
  });
  bb.on("partsLimit", () => push({ error: bad(`more than ${maxParts} parts`) }));
  bb.on("error", (e: Error) => push({ error: bad(e.message.replace(/^Multipart: /, "").toLowerCase()) }));
  bb.on("close", () => {
    closed = true;
    push({ end: true });
  });

  // Feeds busboy from the source, honouring its backpressure; stops when the parser is gone.
  const feeder = (async () => {
    try {
      for await (const chunk of source) {
        if (closed || bb.destroyed) return;
        if (!bb.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              bb.off("drain", done);
              bb.off("close", done);
              resolve();
            };
            bb.on("drain", done);
            bb.on("close", done);
          });
        }
      }
      if (!bb.destroyed) bb.end();
    } catch (e) {
      push({ error: e });
      // The part being read ends with the same error.
      bb.destroy(e as Error);
    }
  })();

  let current: Readable | undefined;
  try {
    for (;;) {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r));
      const ev = queue.shift()!;
      if ("error" in ev) throw ev.error;
      if ("end" in ev) break;
      current = ev.stream;
      yield ev.part;
      // The consumer moved on: finish (drain) this part's body if it did not.
      if (current && !current.readableEnded && !current.destroyed) {
        const s = current;
        await new Promise<void>((resolve) => {
          s.once("end", resolve);
          s.once("close", resolve);
          s.resume();
        });
      }
      current = undefined;
    }
    await feeder;
  } finally {
    if (!closed) {
      current?.destroy();
      bb.destroy();
    }
  }
}
