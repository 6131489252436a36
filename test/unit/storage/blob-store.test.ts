import { expect } from "chai";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { BlobStore } from "../../../server/storage/sqlite/blob-store.js";
import { tempPathFor } from "../../../server/lib/fs-atomic.js";

describe("BlobStore temp files", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "swpatch-blobs-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("init removes the temp file a put cut short left behind; list leaves temp files alone", async () => {
    const sha = "ab".repeat(32);
    const blobs = new BlobStore(dir);
    const target = blobs.pathOf(sha);
    await mkdir(path.dirname(target), { recursive: true });
    const leftover = tempPathFor(target);
    await writeFile(leftover, "partial");
    await writeFile(target, "whole");
    expect(await blobs.list()).to.deep.equal([sha]);
    expect(existsSync(leftover), "list does not remove it").to.equal(true);
    await blobs.init();
    expect(existsSync(leftover), "init removes it").to.equal(false);
    expect(await blobs.list()).to.deep.equal([sha]);
  });
});
