/**
 * Store contract: content-addressed blobs (BlobPort). Files land whole under their sha256 or not
 * at all; the port does not check content against the name (callers hash while they receive).
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { factories, itContract, storePerTest, type StoreUnderTest } from "./store-factory.js";
import { shaOf } from "./fixtures.js";
import { pgBlobFactories, pgBlobsSkipped } from "./pg-blobs-factory.js";

/** Writes `data` to a file in the scratch dir; returns its path and sha256. */
async function input(s: StoreUnderTest, name: string, data: Buffer): Promise<{ file: string; sha: string }> {
  const file = path.join(s.scratch, name);
  await writeFile(file, data);
  return { file, sha: shaOf(data) };
}

async function readAll(r: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c);
  return Buffer.concat(parts);
}

async function rejects(p: Promise<unknown>): Promise<boolean> {
  return p.then(
    () => false,
    () => true,
  );
}

if (pgBlobsSkipped) {
  describe("store contract (postgres-blobs): blobs", () => {
    it(`skipped: ${pgBlobsSkipped}`, function () {
      this.skip();
    });
  });
}

for (const f of [...factories, ...pgBlobFactories]) {
  describe(`store contract (${f.name}): blobs`, () => {
    const { s, reopen } = storePerTest(f);

    it("put (copy) keeps the source; the blob reads back the same through fileOf, openRead and readSmall; list has it", async () => {
      const data = Buffer.from("an rpm, say");
      const { file, sha } = await input(s(), "a.rpm", data);
      await s().blobs.put(file, sha);
      expect(existsSync(file)).to.equal(true);
      expect(await readFile(await s().blobs.fileOf(sha))).to.deep.equal(data);
      expect(await readAll(await s().blobs.openRead(sha))).to.deep.equal(data);
      expect(await s().blobs.readSmall(sha)).to.deep.equal(data);
      expect(await s().blobs.list()).to.deep.equal([sha]);
    });

    it("put with move takes the source away; two blobs list as two", async () => {
      const a = await input(s(), "a", Buffer.from("first"));
      const b = await input(s(), "b", Buffer.from("second"));
      await s().blobs.put(a.file, a.sha, { move: true });
      await s().blobs.put(b.file, b.sha, { move: true });
      expect(existsSync(a.file)).to.equal(false);
      expect(existsSync(b.file)).to.equal(false);
      expect((await s().blobs.list()).sort()).to.deep.equal([a.sha, b.sha].sort());
      expect(await s().blobs.readSmall(b.sha)).to.deep.equal(Buffer.from("second"));
    });

    it("a put of a sha256 already stored is fine (copy or move), the content stays", async () => {
      const data = Buffer.from("same bytes");
      const one = await input(s(), "one", data);
      const two = await input(s(), "two", data);
      await s().blobs.put(one.file, one.sha);
      await s().blobs.put(one.file, one.sha);
      await s().blobs.put(two.file, two.sha, { move: true });
      expect(existsSync(two.file)).to.equal(false);
      expect(await s().blobs.list()).to.deep.equal([one.sha]);
      expect(await readFile(await s().blobs.fileOf(one.sha))).to.deep.equal(data);
    });

    it("remove: gone from list and from reads (no stale cached bytes); removing again is fine", async () => {
      const data = Buffer.from("to be removed");
      const { file, sha } = await input(s(), "r", data);
      const keep = await input(s(), "k", Buffer.from("kept"));
      await s().blobs.put(file, sha);
      await s().blobs.put(keep.file, keep.sha);
      expect(await s().blobs.readSmall(sha)).to.deep.equal(data); // now possibly cached
      await s().blobs.remove(sha);
      await s().blobs.remove(sha);
      expect(await s().blobs.list()).to.deep.equal([keep.sha]);
      expect(await rejects(s().blobs.readSmall(sha))).to.equal(true);
      expect(await rejects(s().blobs.fileOf(sha))).to.equal(true);
      expect(await rejects(s().blobs.openRead(sha))).to.equal(true);
    });

    it("blobs are durable: after reopen the same list and bytes", async () => {
      const a = await input(s(), "a", randomBytes(70_000));
      await s().blobs.put(a.file, a.sha, { move: true });
      const again = await reopen();
      expect(await again.blobs.list()).to.deep.equal([a.sha]);
      expect(shaOf((await again.blobs.readSmall(a.sha))!)).to.equal(a.sha);
    });

    it("a name that is not a sha256 is refused", async () => {
      const { file } = await input(s(), "x", Buffer.from("x"));
      expect(await rejects(s().blobs.put(file, "not-a-sha"))).to.equal(true);
      expect(await rejects(s().blobs.put(file, "../../" + "a".repeat(64)))).to.equal(true);
      expect(await rejects(s().blobs.fileOf("A".repeat(64)))).to.equal(true);
      expect(await rejects(s().blobs.openRead("../../" + "a".repeat(64)))).to.equal(true);
      expect(await s().blobs.list()).to.deep.equal([]);
    });

    it("a large blob lands atomically: readers polling meanwhile see no file or the whole file, never a short one", async () => {
      const data = randomBytes(24 << 20);
      const { file, sha } = await input(s(), "big", data);
      let done = false;
      const put = s()
        .blobs.put(file, sha)
        .finally(() => (done = true));
      let polls = 0;
      const sizes = new Set<number>();
      while (!done) {
        polls++;
        const st = await s()
          .blobs.fileOf(sha)
          .then((f) => stat(f))
          .catch(() => undefined);
        if (st) sizes.add(st.size);
        const small = await s()
          .blobs.readSmall(sha)
          .catch(() => null);
        if (small) sizes.add(small.length);
      }
      await put;
      expect(polls).to.be.greaterThan(0);
      expect(
        [...sizes].filter((n) => n !== data.length),
        "short sizes seen",
      ).to.deep.equal([]);
      const whole = await readFile(await s().blobs.fileOf(sha));
      expect(whole.length).to.equal(data.length);
      expect(shaOf(whole)).to.equal(sha);
      const small = await s().blobs.readSmall(sha);
      expect(small === undefined || shaOf(small) === sha, "readSmall of a large blob: undefined or whole").to.equal(true);
    });

    itContract(f, "blob-list-during-put", "list while a put is in progress does not break the put, and never lists a partial blob", async () => {
      const data = randomBytes(24 << 20);
      const { file, sha } = await input(s(), "big", data);
      let done = false;
      const put = s()
        .blobs.put(file, sha)
        .finally(() => (done = true));
      put.catch(() => undefined); // awaited below; a failure must not count as unhandled meanwhile
      const listed = new Set<string>();
      while (!done) for (const x of await s().blobs.list()) listed.add(x);
      await put;
      for (const x of listed) expect(x).to.equal(sha);
      expect(await s().blobs.list()).to.deep.equal([sha]);
      expect((await stat(await s().blobs.fileOf(sha))).size).to.equal(data.length);
    });
  });
}
