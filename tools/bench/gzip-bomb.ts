/**
 * Gzip bombs in the shape of a `.patch`: a gzip member whose outer tar holds `software.tar`
 * (first, so out of the signed order: the reader keeps a copy of it) holding one huge all-zero
 * RPM. Built without compressing the zeros: one self-contained, non-final deflate segment of
 * 1 MiB of zeros is repeated, so a 4 MB bomb (4 GiB unpacked) takes milliseconds to make.
 * The stream has no trailer: every reader must refuse it long before the end.
 */
import * as zlib from "node:zlib";
import { tarFileHeader } from "../../server/domain/patchfile/tar-format.js";

const MiB = 1024 * 1024;

/**
 * A bomb that inflates to about `unpackedMiB` MiB: software.tar of that size holding all-zero
 * RPMs of at most 1300 MiB each (under the reader's per-RPM limit); about 1 KiB per MiB compressed.
 */
export function buildGzipBomb(unpackedMiB: number): Buffer {
  const rpmMiB = Math.min(unpackedMiB, 1300);
  const rpms = Math.max(1, Math.floor(unpackedMiB / rpmMiB));
  const sync = { finishFlush: zlib.constants.Z_SYNC_FLUSH, level: 9 };
  const zeros = zlib.deflateRawSync(Buffer.alloc(MiB), sync);
  const parts = [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])];
  // Each RPM: a 512-byte header and rpmMiB MiB of zeros (a whole number of blocks, no padding).
  parts.push(zlib.deflateRawSync(tarFileHeader({ name: "software.tar", size: rpms * (rpmMiB * MiB + 512) + 1024 }), sync));
  for (let r = 0; r < rpms; r++) {
    parts.push(zlib.deflateRawSync(tarFileHeader({ name: `bomb${r}-1.0-1.x86_64.rpm`, size: rpmMiB * MiB }), sync));
    for (let i = 0; i < rpmMiB; i++) parts.push(zeros);
  }
  return Buffer.concat(parts);
}

/** The bomb as a stream of `chunk`-byte pieces (as an upload would arrive). */
export async function* bombChunks(bomb: Buffer, chunk = 256 * 1024): AsyncGenerator<Buffer> {
  for (let at = 0; at < bomb.length; at += chunk) yield bomb.subarray(at, at + chunk);
}
