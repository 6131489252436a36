import { createHash } from "node:crypto";
import { promises as fsp } from "node:fs";

/**
 * sha256 and size of a file, streaming through one buffer allocated once (a read stream allocates
 * a fresh buffer per read: for a 1 GiB file that is 1 GiB of garbage, which the engine lets pile
 * up to tens of MiB of RSS before it collects it).
 */
export async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const h = createHash("sha256");
  let size = 0;
  const buf = Buffer.allocUnsafeSlow(256 * 1024);
  const fh = await fsp.open(file, "r");
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return { sha256: h.digest("hex"), size };
}
