/**
 * Landing a blob's bytes as a local file: streamed from any source into a temp file beside the
 * target, hashed on the way, fsynced, renamed into place only when the sha256 matches. A reader of
 * the target sees no file or the whole, verified file.
 */
import { createHash } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { fsyncDir, tempPathFor } from "../lib/fs-atomic.js";

/** A sha256 as a blob name: 64 lowercase hex digits. */
export const SHA256_RE = /^[0-9a-f]{64}$/;

/** Throws unless `sha256` is 64 lowercase hex digits (a blob name is also a file name). */
export function checkSha256(sha256: string): void {
  if (!SHA256_RE.test(sha256)) throw new Error(`bad sha256: ${sha256}`);
}

/** The content did not hash to the name it was stored or read under. */
export class BlobHashMismatch extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`blob content does not match its sha256: expected ${expected}, got ${actual}`);
    this.name = "BlobHashMismatch";
  }
}

/**
 * Writes the chunks of `source` to `target` by temp file + fsync + rename + fsync of the directory,
 * checking that they hash to `sha256` (else the temp file goes and BlobHashMismatch is thrown).
 * Memory: one chunk of `source` at a time. Resolves with the number of bytes written.
 */
export async function landVerified(source: AsyncIterable<Uint8Array>, target: string, sha256: string): Promise<number> {
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  const h = createHash("sha256");
  let size = 0;
  try {
    const fh = await fsp.open(tmp, "wx", 0o644);
    try {
      for await (const chunk of source) {
        h.update(chunk);
        size += chunk.length;
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    const actual = h.digest("hex");
    if (actual !== sha256) throw new BlobHashMismatch(sha256, actual);
    await fsp.rename(tmp, target);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(path.dirname(target));
  return size;
}
