import { expect } from "chai";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readPatch, UploadBudget, type TrustStore } from "../../../server/domain/patchfile/index.js";
import { DomainError } from "../../../server/domain/errors.js";
import { bombChunks, buildGzipBomb } from "../../../tools/bench/gzip-bomb.js";
import { buildTestPatch, starlingxTrust, type TestPatch } from "../../lib/patch-fixtures.js";

/** Bytes of every regular file under `dir` (and the names), to show what a refused read left. */
async function leftIn(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fsp.readdir(dir, { recursive: true, withFileTypes: true })) if (!e.isDirectory()) out.push(e.name);
  return out;
}

async function refusal(p: Promise<unknown>): Promise<DomainError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(DomainError);
    return e as DomainError;
  }
  expect.fail("the read was not refused");
}

describe("patch uploads are bounded (decompression bombs, uploads in flight, temp disk)", function () {
  this.timeout(60_000);
  let dir: string;
  let trust: TrustStore;
  let patch: TestPatch;
  // 3.8 GiB unpacked from under 4 MB: the attack of issue 16, point 3.
  const bomb = buildGzipBomb(4000);
  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "upload-bounds-"));
    trust = await starlingxTrust();
    patch = await buildTestPatch({ dir: path.join(dir, "patch") });
  });
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  const work = (name: string) => path.join(dir, name);

  it("refuses a 4 MB bomb with the default limits by its inflate ratio, naming the flag, and leaves nothing in the work dir", async () => {
    expect(bomb.length).to.be.below(5 * 1024 * 1024);
    const e = await refusal(readPatch(bombChunks(bomb), { trust, workDir: work("ratio") }));
    expect(e.kind).to.equal("invalid-argument");
    expect(e.reason).to.equal("PATCH_TOO_LARGE");
    expect(e.message).to.match(/decompresses to more than 32 times its compressed size .*--max-inflate-ratio 32/);
    expect(await leftIn(work("ratio"))).to.deep.equal([]);
  });

  it("without the ratio check, refuses the bomb at --max-unpacked-bytes (temp files and stream)", async () => {
    const e = await refusal(readPatch(bombChunks(bomb), { trust, workDir: work("unpacked"), limits: { maxInflateRatio: 0, maxUnpackedBytes: 24 * 1024 * 1024 } }));
    expect(e.kind).to.equal("invalid-argument");
    expect(e.message).to.include("limit of 25165824 bytes (--max-unpacked-bytes)");
    expect(await leftIn(work("unpacked"))).to.deep.equal([]);
  });

  it("charges every byte written to temp files to the shared budget: past --max-upload-tmp-bytes the read is RESOURCE_EXHAUSTED", async () => {
    const budget = new UploadBudget(4, 16 * 1024 * 1024);
    const e = await refusal(readPatch(bombChunks(bomb), { trust, workDir: work("shared"), budget, limits: { maxInflateRatio: 0 } }));
    expect(e.kind).to.equal("resource-exhausted");
    expect(e.reason).to.equal("UPLOAD_TMP_FULL");
    expect(e.message).to.include("16777216 bytes of temporary disk (limit --max-upload-tmp-bytes)");
    expect(budget.usage).to.deep.equal({ uploads: 0, tmpBytes: 0 });
    expect(await leftIn(work("shared"))).to.deep.equal([]);
  });

  it("refuses an upload past --max-concurrent-uploads before reading it, and frees the slot when an upload ends", async () => {
    const budget = new UploadBudget(1, 1024 * 1024 * 1024);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let read = 0;
    // An upload that sends its first bytes and then waits.
    async function* stalled(): AsyncGenerator<Buffer> {
      yield bomb.subarray(0, 4096);
      await held;
    }
    const ac = new AbortController();
    const first = readPatch(stalled(), { trust, workDir: work("busy"), budget, signal: ac.signal });
    first.catch(() => undefined);
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const c of bombChunks(bomb)) {
        read += c.length;
        yield c;
      }
    }
    const e = await refusal(readPatch(counted(), { trust, workDir: work("busy"), budget }));
    expect(e.kind).to.equal("resource-exhausted");
    expect(e.reason).to.equal("UPLOADS_BUSY");
    expect(e.message).to.equal("too many uploads in progress (limit 1, --max-concurrent-uploads); try again later");
    expect(read).to.equal(0);
    ac.abort(new Error("client went away"));
    release();
    await first.catch(() => undefined);
    expect(budget.usage).to.deep.equal({ uploads: 0, tmpBytes: 0 });
    const ok = await readPatch(patch.path, { trust, workDir: work("busy"), budget });
    expect(ok.metadata.id).to.equal("TEST_PATCH_0001");
    expect(budget.usage.uploads).to.equal(1);
    expect(budget.usage.tmpBytes).to.be.above(0);
    await ok.cleanup();
    await ok.cleanup();
    expect(budget.usage).to.deep.equal({ uploads: 0, tmpBytes: 0 });
    expect(await leftIn(work("busy"))).to.deep.equal([]);
  });

  it("still reads a real patch with the default limits and a budget", async () => {
    const budget = new UploadBudget(4, 64 * 1024 * 1024);
    const ok = await readPatch(patch.path, { trust, workDir: work("real"), budget });
    expect(ok.trusted).to.equal(true);
    await ok.cleanup();
    expect(budget.usage).to.deep.equal({ uploads: 0, tmpBytes: 0 });
  });
});
