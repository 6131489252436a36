import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { hashLanes } from "../../../../server/lib/io/hash-lanes.js";

/** The worker-thread hash lanes against node:crypto on this thread. */
describe("hash lanes (worker threads)", () => {
  it("md5 and sha256 of many interleaved contexts equal node:crypto, across more batches than are kept in flight", async () => {
    const lanes = hashLanes();
    const data = randomBytes(20 * 1024 * 1024 + 12345); // > the shared batches: the writer waits for free ones
    const md5 = lanes.hasher(0, "md5");
    const both = lanes.hasher(1, "sha256");
    const parts = [lanes.hasher(1, "sha256"), lanes.hasher(1, "sha256"), lanes.hasher(0, "sha256")];
    const partData: Buffer[][] = [[], [], []];
    // Odd chunk sizes; the md5 and the whole-stream sha256 share each copy, the parts take slices.
    for (let off = 0, i = 0; off < data.length; i++) {
      const n = Math.min(data.length - off, 1 + ((i * 7919) % 700_000));
      const chunk = data.subarray(off, off + n);
      await lanes.updateAll([md5, both], chunk);
      const slice = chunk.subarray(0, Math.min(1000, n));
      await parts[i % 3]!.update(slice);
      partData[i % 3]!.push(slice);
      off += n;
    }
    const [m, s, ...p] = await Promise.all([md5.digest(), both.digest(), ...parts.map((h) => h.digest())]);
    expect(m.toString("hex")).to.equal(createHash("md5").update(data).digest("hex"));
    expect(s.toString("hex")).to.equal(createHash("sha256").update(data).digest("hex"));
    p.forEach((d, i) => expect(d.toString("hex")).to.equal(createHash("sha256").update(Buffer.concat(partData[i]!)).digest("hex")));
  });

  it("a context with no bytes digests the empty input; a dropped context leaves the others intact", async () => {
    const lanes = hashLanes();
    const empty = lanes.hasher(0, "sha256");
    const dropped = lanes.hasher(1, "md5");
    const kept = lanes.hasher(1, "md5");
    await dropped.update(Buffer.from("abc"));
    await kept.update(Buffer.from("abc"));
    dropped.drop();
    expect((await empty.digest()).toString("hex")).to.equal(createHash("sha256").digest("hex"));
    expect((await kept.digest()).toString("hex")).to.equal(createHash("md5").update("abc").digest("hex"));
  });

  it("bytes inside a shared copy are hashed from it (slices across batch boundaries, chunks bigger than all batches), and a buffer changed after endShare is hashed anew", async () => {
    const lanes = hashLanes();
    const data = randomBytes(9 * 1024 * 1024 + 777);
    const outer = lanes.hasher(0, "md5");
    const inner = lanes.hasher(1, "sha256");
    const innerData: Buffer[] = [];
    // Chunk sizes: odd, then one bigger than every batch together (slots must be posted mid-copy).
    const sizes = [1, 1_500_001, 700_003, 7 * 1024 * 1024, 1 << 20];
    let off = 0;
    for (let i = 0; off < data.length; i++) {
      const chunk = data.subarray(off, Math.min(data.length, off + sizes[i % sizes.length]!));
      await lanes.updateAll([outer], chunk, true);
      // Two slices per chunk, in order, like the RPMs inside a software.tar chunk.
      const a = chunk.subarray(0, Math.floor(chunk.length / 3));
      const b = chunk.subarray(Math.floor(chunk.length / 3));
      for (const sl of [a, b]) {
        await inner.update(sl);
        innerData.push(sl);
      }
      lanes.endShare();
      off += chunk.length;
    }
    // A reused buffer: shared, sliced, then changed after endShare and fed again.
    const reused = Buffer.from(data.subarray(0, 4096));
    await lanes.updateAll([outer], reused, true);
    await inner.update(reused.subarray(10, 20));
    innerData.push(Buffer.from(reused.subarray(10, 20)));
    lanes.endShare();
    reused.fill(0xab);
    await inner.update(reused.subarray(10, 20));
    innerData.push(Buffer.from(reused.subarray(10, 20)));
    const [m, h] = await Promise.all([outer.digest(), inner.digest()]);
    expect(m.toString("hex")).to.equal(createHash("md5").update(data).update(data.subarray(0, 4096)).digest("hex"));
    expect(h.toString("hex")).to.equal(createHash("sha256").update(Buffer.concat(innerData)).digest("hex"));
  });

  it("a lane writer writes its bytes in order beside the hashing of the same batches; a write error comes back from flush", async () => {
    const lanes = hashLanes();
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "lanes-"));
    try {
      const data = randomBytes(5 * 1024 * 1024 + 333);
      const fh = await fsp.open(path.join(dir, "out"), "wx");
      const sha = lanes.hasher(1, "sha256");
      const w = lanes.writer(1, fh.fd);
      const md5 = lanes.hasher(0, "md5");
      for (let off = 0, i = 0; off < data.length; i++) {
        const chunk = data.subarray(off, Math.min(data.length, off + 1 + ((i * 104729) % 900_000)));
        await lanes.updateAll([md5], chunk, true);
        await lanes.updateAll([sha, w], chunk.subarray(0, chunk.length)); // hashed and written from the shared copy
        lanes.endShare();
        off += chunk.length;
      }
      await w.digest();
      await fh.close();
      expect((await fsp.readFile(path.join(dir, "out"))).equals(data)).to.equal(true);
      expect((await sha.digest()).toString("hex")).to.equal(createHash("sha256").update(data).digest("hex"));
      expect((await md5.digest()).toString("hex")).to.equal(createHash("md5").update(data).digest("hex"));

      // A descriptor open for reading only: the lane's write fails; error() shows it once the lane
      // has acknowledged a failing batch (more bytes than all batches: some are acknowledged
      // before the last update returns), and the flush reports it too.
      const ro = await fsp.open(path.join(dir, "out"), "r");
      const bad = lanes.writer(0, ro.fd);
      expect(bad.error?.()).to.equal(undefined);
      for (let i = 0; i < 12; i++) await lanes.updateAll([bad], data.subarray(0, 1 << 20));
      expect(bad.error?.()).to.have.property("code", "EBADF");
      const err = await bad.digest().then(
        () => null,
        (e: NodeJS.ErrnoException) => e,
      );
      await ro.close();
      expect(err?.code).to.equal("EBADF");
      // The lanes still serve others afterwards.
      const after = lanes.hasher(0, "sha256");
      await after.update(Buffer.from("x"));
      expect((await after.digest()).toString("hex")).to.equal(createHash("sha256").update("x").digest("hex"));
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
