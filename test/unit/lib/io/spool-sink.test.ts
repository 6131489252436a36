import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { hashLanes } from "../../../../server/lib/io/hash-lanes.js";
import { LocalHasher } from "../../../../server/lib/io/local-hasher.js";
import { SpoolSink } from "../../../../server/lib/io/spool-sink.js";

/** SpoolSink on its own: the file, the digests and the tees agree with the bytes written. */
describe("SpoolSink", () => {
  let dir: string;
  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "spool-sink-"));
  });
  after(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  const chunksOf = (data: Buffer, n: number) => {
    const out: Buffer[] = [];
    for (let off = 0; off < data.length; off += n) out.push(data.subarray(off, off + n));
    return out;
  };

  it("writes the file, hashes it on this thread and feeds every tee the same bytes, in order", async () => {
    const data = randomBytes(5 * 1024 * 1024 + 7); // more than the write-ahead window
    const teed: Buffer[] = [];
    let ended = false;
    const s = await new SpoolSink(
      path.join(dir, "local"),
      data.length,
      () => new Error("too large"),
      new LocalHasher("md5"),
      new LocalHasher("sha256"),
      [(b) => void teed.push(Buffer.from(b))],
      async () => {
        ended = true;
      },
    ).open();
    for (const c of chunksOf(data, 300_001)) await s.write(c);
    await s.end();
    expect(ended).to.equal(true);
    expect(s.size).to.equal(data.length);
    expect((await fsp.readFile(s.file)).equals(data)).to.equal(true);
    expect(Buffer.concat(teed).equals(data)).to.equal(true);
    expect((await s.md5!.digest()).toString("hex")).to.equal(createHash("md5").update(data).digest("hex"));
    expect((await s.sha256!.digest()).toString("hex")).to.equal(createHash("sha256").update(data).digest("hex"));
  });

  it("a member hashed on a lane is written by that lane: same file, same digest", async () => {
    const data = randomBytes(3 * 1024 * 1024 + 3);
    const s = await new SpoolSink(path.join(dir, "lane"), data.length, () => new Error("too large"), null, hashLanes().hasher(1, "sha256")).open();
    for (const c of chunksOf(data, 65_537)) await s.write(c);
    await s.end();
    expect((await fsp.readFile(s.file)).equals(data)).to.equal(true);
    expect((await s.sha256!.digest()).toString("hex")).to.equal(createHash("sha256").update(data).digest("hex"));
  });

  it("throws the caller's error once more than the limit arrives, and close() still releases the file", async () => {
    const tooLarge = new Error("member is too large");
    const s = await new SpoolSink(path.join(dir, "limited"), 10, () => tooLarge, null, new LocalHasher("sha256")).open();
    await s.write(Buffer.alloc(10));
    let thrown: unknown;
    try {
      await s.write(Buffer.alloc(1));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).to.equal(tooLarge);
    await s.close();
    expect(s.closed).to.equal(true);
  });

  it("a sink without a sha256 only streams through: no file is created", async () => {
    const teed: Buffer[] = [];
    const s = await new SpoolSink(path.join(dir, "through"), 100, () => new Error("too large"), new LocalHasher("md5"), null, [
      (b) => void teed.push(Buffer.from(b)),
    ]).open();
    await s.write(Buffer.from("abc"));
    await s.end();
    expect(Buffer.concat(teed).toString()).to.equal("abc");
    let code: string | undefined;
    await fsp.stat(path.join(dir, "through")).catch((e: NodeJS.ErrnoException) => (code = e.code));
    expect(code).to.equal("ENOENT");
  });
});
