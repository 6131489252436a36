/**
 * Strict streaming gunzip for exactly one gzip member: parses the gzip header itself, inflates the
 * raw deflate data with node:zlib (off the main thread), checks CRC-32 and ISIZE from the trailer,
 * and rejects truncation, corrupt data, concatenated members and any bytes after the trailer.
 */
import * as zlib from "node:zlib";
import { invalidArgument } from "../errors.js";

function fail(msg: string): Error {
  return invalidArgument(`patch file: ${msg}`, { reason: "PATCH_GZIP_INVALID" });
}

const FTEXT = 1;
const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;
const MAX_HEADER = 64 * 1024;

/** Length of the gzip header at the start of `b`, or -1 if more bytes are needed. */
function gzipHeaderLength(b: Buffer): number {
  if (b.length >= 1 && b[0] !== 0x1f) throw fail("not a gzip file (bad magic)");
  if (b.length >= 2 && b[1] !== 0x8b) throw fail("not a gzip file (bad magic)");
  if (b.length < 10) return -1;
  if (b[2] !== 8) throw fail(`unsupported gzip compression method ${b[2]}`);
  const flg = b[3];
  if (flg & 0xe0) throw fail("reserved gzip header flags set");
  void FTEXT;
  let p = 10;
  if (flg & FEXTRA) {
    if (b.length < p + 2) return -1;
    p += 2 + b.readUInt16LE(p);
    if (b.length < p) return -1;
  }
  for (const f of [FNAME, FCOMMENT]) {
    if (flg & f) {
      const z = b.indexOf(0, p);
      if (z < 0) return -1;
      p = z + 1;
    }
  }
  if (flg & FHCRC) {
    if (b.length < p + 2) return -1;
    const crc = zlib.crc32(b.subarray(0, p)) & 0xffff;
    if (crc !== b.readUInt16LE(p)) throw fail("gzip header CRC mismatch");
    p += 2;
  }
  return p;
}

export interface GunzipOptions {
  signal?: AbortSignal;
  /** Reject once more than this many compressed bytes arrive. */
  maxCompressedBytes?: number;
  /** Reject once the decompressed size exceeds this. */
  maxOutputBytes?: number;
  /** Named in the message when `maxOutputBytes` is exceeded, e.g. "--max-unpacked-bytes". */
  maxOutputName?: string;
  /**
   * Reject once the decompressed size exceeds this many times the compressed bytes read so far
   * plus `ratioSlackBytes` (a decompression bomb); 0 or absent: no ratio check.
   */
  maxRatio?: number;
  ratioSlackBytes?: number;
}

function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r;
  const e = new Error("The operation was aborted");
  e.name = "AbortError";
  return e;
}

/**
 * Decompress `source` (one gzip member), handing each decompressed chunk to `onData` in order and
 * awaiting it (backpressure). Memory stays flat: nothing is buffered beyond zlib's windows and the
 * chunks in flight.
 * @returns compressed and decompressed byte counts.
 * @throws DomainError invalid-argument "patch file: ..." for any gzip-level problem; errors thrown
 *   by `onData` propagate unchanged.
 */
export async function gunzipStrict(
  source: AsyncIterable<Uint8Array>,
  onData: (chunk: Buffer) => Promise<void>,
  opts: GunzipOptions = {},
): Promise<{ compressedBytes: number; outputBytes: number }> {
  const { signal } = opts;
  const maxIn = opts.maxCompressedBytes ?? Number.MAX_SAFE_INTEGER;
  const maxOut = opts.maxOutputBytes ?? Number.MAX_SAFE_INTEGER;
  const maxRatio = opts.maxRatio ?? 0;
  const ratioSlack = opts.ratioSlackBytes ?? 0;
  signal?.throwIfAborted();
  // 1 MiB per inflate step: each step is a thread-pool round trip, so fewer, bigger steps keep
  // up with the network (256 KiB steps made inflate the slowest stage of an upload).
  const inflate = zlib.createInflateRaw({ chunkSize: 1024 * 1024 });
  let headBuf: Buffer | null = Buffer.alloc(0);
  let compressed = 0;
  let fed = 0; // bytes written to inflate
  const recent: { start: number; buf: Buffer }[] = []; // fed chunks not yet fully consumed
  let crc = 0;
  let outBytes = 0;
  let deflateEnded = false;
  let consumerError: unknown = null;
  let trailing: Buffer[] = [];
  let trailingLen = 0;

  const consumer = (async () => {
    try {
      for await (const out of inflate as AsyncIterable<Buffer>) {
        outBytes += out.length;
        if (outBytes > maxOut)
          throw invalidArgument(`patch file: decompressed size exceeds the limit of ${maxOut} bytes${opts.maxOutputName ? ` (${opts.maxOutputName})` : ""}`, {
            reason: "PATCH_TOO_LARGE",
          });
        if (maxRatio > 0 && outBytes > maxRatio * compressed + ratioSlack)
          throw invalidArgument(
            `patch file: decompresses to more than ${maxRatio} times its compressed size (${outBytes} bytes from ${compressed}; limit --max-inflate-ratio ${maxRatio})`,
            { reason: "PATCH_TOO_LARGE" },
          );
        crc = zlib.crc32(out, crc);
        while (recent.length > 1 && recent[0].start + recent[0].buf.length <= inflate.bytesWritten - 8) recent.shift();
        await onData(out);
      }
      deflateEnded = true;
    } catch (e) {
      consumerError = e;
      throw e;
    }
  })();
  consumer.catch(() => undefined);
  let consumerSettled = false;
  const consumerDone = consumer.then(
    () => {
      consumerSettled = true;
    },
    () => {
      consumerSettled = true;
    },
  );

  const onAbort = () => inflate.destroy(signal ? abortError(signal) : undefined);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const raw of source) {
      signal?.throwIfAborted();
      let chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      compressed += chunk.length;
      if (compressed > maxIn) throw invalidArgument(`patch file: size exceeds the limit of ${maxIn} bytes`, { reason: "PATCH_TOO_LARGE" });
      if (headBuf) {
        headBuf = Buffer.concat([headBuf, chunk]);
        const hl = gzipHeaderLength(headBuf);
        if (hl < 0) {
          if (headBuf.length > MAX_HEADER) throw fail("gzip header too large");
          continue;
        }
        chunk = headBuf.subarray(hl);
        headBuf = null;
      }
      if (consumerSettled || deflateEnded) {
        if (consumerError) break;
        trailingLen += chunk.length;
        if (trailingLen <= 64) trailing.push(chunk);
        continue;
      }
      if (chunk.length === 0) continue;
      recent.push({ start: fed, buf: chunk });
      fed += chunk.length;
      if (!inflate.write(chunk)) {
        await Promise.race([new Promise<void>((r) => inflate.once("drain", r)), consumerDone]);
      }
    }
    signal?.throwIfAborted();
    if (headBuf) {
      throw fail(headBuf.length === 0 ? "empty file (not a gzip file)" : "truncated gzip header");
    }
    if (!consumerSettled) inflate.end();
    try {
      await consumer;
    } catch (e) {
      if (consumerError !== e) throw e;
      if (e instanceof Error && (e as NodeJS.ErrnoException).code?.startsWith("Z_")) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "Z_BUF_ERROR") throw fail("truncated gzip stream (compressed data ends early)");
        throw fail(`corrupt gzip data (${e.message})`);
      }
      throw e;
    }
    // Bytes after the end of the deflate data: those fed but not consumed, plus anything after.
    const consumed = inflate.bytesWritten;
    const tailParts: Buffer[] = [];
    for (const r of recent) {
      const s = Math.max(0, consumed - r.start);
      if (s < r.buf.length) tailParts.push(r.buf.subarray(s));
    }
    const tail = Buffer.concat([...tailParts, ...trailing]);
    const tailLen = fed - consumed + trailingLen;
    if (tailLen < 8) throw fail("truncated gzip stream (missing trailer)");
    if (tail.readUInt32LE(0) !== crc >>> 0) throw fail("gzip CRC mismatch (data corrupt)");
    if (tail.readUInt32LE(4) !== outBytes % 2 ** 32) throw fail("gzip length mismatch (data corrupt)");
    if (tailLen > 8) {
      const rest = tail.subarray(8);
      if (rest.length >= 2 && rest[0] === 0x1f && rest[1] === 0x8b) throw fail("concatenated gzip members are not supported");
      throw fail(`unexpected data after the gzip stream (${tailLen - 8} bytes)`);
    }
    return { compressedBytes: compressed, outputBytes: outBytes };
  } catch (e) {
    // An error from onData (consumer) takes precedence over the producer's follow-on errors; a
    // consumer error caused by our own destroy() below does not.
    const firstConsumerError = consumerError;
    inflate.destroy();
    await consumerDone;
    if (signal?.aborted) throw abortError(signal);
    if (firstConsumerError && e !== firstConsumerError && !(e instanceof Error && (e as { reason?: string }).reason?.startsWith("PATCH_"))) throw firstConsumerError;
    throw e;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    trailing = [];
  }
}
