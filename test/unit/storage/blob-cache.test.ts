/**
 * BlobCache: a bounded, verified disk cache over any BlobPort (here the file BlobStore, counted).
 */
import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { BlobCache } from "../../../server/storage/blob-cache.js";
import { BlobStore } from "../../../server/storage/sqlite/blob-store.js";

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

/** The file store, counting openRead calls; `corrupt` makes openRead hand other bytes. */
class CountingStore extends BlobStore {
  reads = 0;
  corrupt = false;
  override async openRead(sha256: string): Promise<Readable> {
    this.reads++;
    if (this.corrupt) return Readable.from([Buffer.from("not the blob")]);
    return super.openRead(sha256);
  }
}

describe("BlobCache (disk cache over a BlobPort)", () => {
  let dir: string;
  let inner: CountingStore;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "swpatch-blobcache-"));
    inner = new CountingStore(path.join(dir, "store"));
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  const cacheDir = (): string => path.join(dir, "blob-cache");

  async function add(data: Buffer): Promise<string> {
    const f = path.join(dir, `in-${randomBytes(4).toString("hex")}`);
    await fsp.writeFile(f, data);
    const s = sha(data);
    await inner.put(f, s, { move: true });
    return s;
  }

  it("fills a file once (verified), then serves it from the cache; concurrent first reads share one fill", async () => {
    const cache = new BlobCache(inner, { dir: cacheDir(), maxBytes: 10 << 20 });
    await cache.init();
    const data = randomBytes(2 << 20);
    const s = await add(data);
    const files = await Promise.all([cache.fileOf(s), cache.fileOf(s), cache.fileOf(s)]);
    expect(new Set(files)).to.deep.equal(new Set([path.join(cacheDir(), s)]));
    expect(inner.reads).to.equal(1);
    expect(await cache.fileOf(s)).to.equal(files[0]);
    expect(inner.reads).to.equal(1);
    expect(cache.stats.fileHits).to.equal(1);
    expect(await fsp.readFile(files[0]!)).to.deep.equal(data);
  });

  it("bounded by bytes: least recently used files go first, a recently used one stays", async () => {
    const cache = new BlobCache(inner, { dir: cacheDir(), maxBytes: 3 << 20, graceMs: 0 });
    await cache.init();
    const shas = [];
    for (let i = 0; i < 4; i++) shas.push(await add(randomBytes(1 << 20)));
    await cache.fileOf(shas[0]!);
    await cache.fileOf(shas[1]!);
    await cache.fileOf(shas[2]!);
    await cache.fileOf(shas[0]!); // used again: now the most recent
    await cache.fileOf(shas[3]!); // over the bound: shas[1] goes
    expect(cache.cachedBytes).to.be.at.most(3 << 20);
    const present = (s: string) =>
      fsp.access(path.join(cacheDir(), s)).then(
        () => true,
        () => false,
      );
    expect(await Promise.all(shas.map(present))).to.deep.equal([true, false, true, true]);
    expect(cache.stats.evictions).to.equal(1);
    // Evicted is not lost: it fills again from the inner store.
    expect(sha(await fsp.readFile(await cache.fileOf(shas[1]!)))).to.equal(shas[1]);
  });

  it("a file handed out within the grace period is not evicted, even over the bound", async () => {
    const cache = new BlobCache(inner, { dir: cacheDir(), maxBytes: 1 << 20, graceMs: 3_600_000 });
    await cache.init();
    const a = await add(randomBytes(1 << 20));
    const b = await add(randomBytes(1 << 20));
    const fa = await cache.fileOf(a);
    await cache.fileOf(b);
    expect(sha(await fsp.readFile(fa))).to.equal(a);
    expect(cache.cachedBytes).to.equal(2 << 20);
  });

  it("bytes that do not hash to the name never land: the fill rejects and leaves no file or temp file", async () => {
    const cache = new BlobCache(inner, { dir: cacheDir(), maxBytes: 10 << 20 });
    await cache.init();
    const s = await add(randomBytes(1000));
    inner.corrupt = true;
    const err = await cache.fileOf(s).catch((e: Error) => e);
    expect((err as Error).message).to.match(/does not match its sha256/);
    expect(await fsp.readdir(cacheDir())).to.deep.equal([]);
    inner.corrupt = false;
    expect(sha(await fsp.readFile(await cache.fileOf(s)))).to.equal(s);
  });

  it("init keeps files of stored blobs (hits without a fill), removes temp files and files of blobs no longer stored", async () => {
    const first = new BlobCache(inner, { dir: cacheDir(), maxBytes: 10 << 20 });
    await first.init();
    const kept = await add(randomBytes(3000));
    const gone = await add(randomBytes(3000));
    await first.fileOf(kept);
    await first.fileOf(gone);
    await inner.remove(gone); // as another controller would
    await fsp.writeFile(path.join(cacheDir(), ".tmp-" + kept + ".abc"), "half");
    const again = new BlobCache(inner, { dir: cacheDir(), maxBytes: 10 << 20 });
    await again.init();
    expect((await fsp.readdir(cacheDir())).sort()).to.deep.equal([kept]);
    const reads = inner.reads;
    await again.fileOf(kept);
    expect(inner.reads).to.equal(reads);
    expect(again.cachedBytes).to.equal(3000);
  });

  it("write-through: a put with move lands the file in the cache (checked by hash); a copy put or writeThrough: false does not", async () => {
    const cache = new BlobCache(inner, { dir: cacheDir(), maxBytes: 10 << 20 });
    await cache.init();
    const input = async (data: Buffer): Promise<{ f: string; s: string }> => {
      const f = path.join(dir, `up-${randomBytes(4).toString("hex")}`);
      await fsp.writeFile(f, data);
      return { f, s: sha(data) };
    };
    const moved = await input(randomBytes(50_000));
    await cache.put(moved.f, moved.s, { move: true });
    expect(
      await fsp.access(moved.f).then(
        () => true,
        () => false,
      ),
      "the source is taken",
    ).to.equal(false);
    expect(sha(await fsp.readFile(await cache.fileOf(moved.s)))).to.equal(moved.s);
    expect(inner.reads, "no read back from the inner store").to.equal(0);
    const copied = await input(randomBytes(50_000));
    await cache.put(copied.f, copied.s);
    await cache.fileOf(copied.s);
    expect(inner.reads).to.equal(1);
    // Wrong bytes under a name (the file store trusts the caller): the cache keeps nothing of them.
    const liar = await input(randomBytes(1000));
    const claimed = sha(Buffer.from("other bytes"));
    await cache.put(liar.f, claimed, { move: true });
    expect((await fsp.readdir(cacheDir())).filter((f) => !f.startsWith(".")).sort()).to.deep.equal([moved.s, copied.s].sort());
    expect(await fsp.readdir(cacheDir())).to.have.length(2);
    const off = new BlobCache(inner, { dir: path.join(dir, "other-cache"), maxBytes: 10 << 20, writeThrough: false });
    await off.init();
    const third = await input(randomBytes(2000));
    await off.put(third.f, third.s, { move: true });
    await off.fileOf(third.s);
    expect(off.stats.fills).to.equal(1);
  });

  it("remove drops the cached file and the small copy in memory; readSmall of a large blob is undefined", async () => {
    const cache = new BlobCache(inner, { dir: cacheDir(), maxBytes: 10 << 20, smallMax: 4096 });
    await cache.init();
    const small = await add(randomBytes(100));
    const large = await add(randomBytes(5000));
    expect(sha((await cache.readSmall(small))!)).to.equal(small);
    expect(sha((await cache.readSmall(small))!)).to.equal(small);
    expect(cache.stats.memoryHits).to.equal(1);
    await cache.fileOf(large);
    expect(await cache.readSmall(large)).to.equal(undefined);
    await cache.remove(small);
    await cache.remove(large);
    expect(
      await cache.readSmall(small).then(
        () => "read",
        () => "rejected",
      ),
    ).to.equal("rejected");
    expect(await fsp.readdir(cacheDir())).to.deep.equal([]);
    expect(await cache.list()).to.deep.equal([]);
  });
});
