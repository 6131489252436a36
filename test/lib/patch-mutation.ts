import { expect } from "chai";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readPatch, type TrustStore, type VerifiedPatch } from "../../server/domain/patchfile/index.js";
import { DomainError } from "../../server/domain/errors.js";
import { prng } from "./chaos-prng.js";
import { buildTestPatch, starlingxTrust } from "./patch-fixtures.js";

/**
 * Declares the seeded byte-flip suite for the patch reader: `cases` mutations of one valid patch (1-3 flipped
 * bytes each, every fourth read as a chunked stream), each of which must either read back exactly the original
 * content or reject with a DomainError, leave no temp directory behind and raise no unhandled rejection.
 * The unit suite runs 200 cases (the edit loop); test:chaos runs 2,000. The seed is fixed, so case i is the
 * same mutation in both runs.
 */
export function describePatchMutations(cases: number): void {
  describe(`patch reader under random byte flips (${cases} cases)`, function () {
    this.timeout(Math.max(30_000, cases * 90));
    let dir: string;
    let work: string;
    let trust: TrustStore;
    let original: Buffer;
    let ref: VerifiedPatch;
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);

    before(async () => {
      dir = await fsp.mkdtemp(path.join(os.tmpdir(), "mutation-"));
      work = path.join(dir, "work");
      trust = await starlingxTrust();
      const p = await buildTestPatch({
        dir,
        id: "MUT_0001",
        preApply: "/bin/true",
        rpms: [
          { name: "m-one", version: "1.0", release: "1", files: [{ path: "/etc/m1", content: "one\n".repeat(200) }], personalities: ["worker"] },
          { name: "m-two", version: "2.0", release: "1", arch: "noarch" },
        ],
      });
      original = await fsp.readFile(p.path);
      ref = await readPatch(original, { trust, workDir: work });
      process.on("unhandledRejection", onUnhandled);
    });
    after(async () => {
      process.off("unhandledRejection", onUnhandled);
      await ref?.cleanup();
      await fsp.rm(dir, { recursive: true, force: true });
    });

    it(`keeps content identical or rejects with DomainError for ${cases} seeded mutations`, async () => {
      expect(original.length).to.be.within(10_000, 40_000);
      const rand = prng(0x5eed);
      const refRpms = ref.rpms.map((r) => `${r.fileName}:${r.sha256}`);
      let accepted = 0;
      const reasons = new Map<string, number>();
      for (let i = 0; i < cases; i++) {
        const b = Buffer.from(original);
        const flips = 1 + Math.floor(rand() * 3);
        for (let k = 0; k < flips; k++) {
          const pos = Math.floor(rand() * b.length);
          b[pos] ^= 1 + Math.floor(rand() * 255);
        }
        // Mostly whole-buffer reads, sometimes chunked streams, to vary the code paths.
        const src =
          i % 4 === 0
            ? (async function* () {
                for (let o = 0; o < b.length; o += 997) yield b.subarray(o, o + 997);
              })()
            : b;
        try {
          const r = await readPatch(src, { trust, workDir: work });
          accepted++;
          expect(r.metadata, `case ${i}`).to.deep.equal(ref.metadata);
          expect(r.metadataXml).to.equal(ref.metadataXml);
          expect(
            r.rpms.map((x) => `${x.fileName}:${x.sha256}`),
            `case ${i}`,
          ).to.deep.equal(refRpms);
          await r.cleanup();
        } catch (e) {
          if (!(e instanceof DomainError)) throw new Error(`case ${i}: non-domain error ${(e as Error)?.stack ?? e}`);
          reasons.set(e.reason, (reasons.get(e.reason) ?? 0) + 1);
        }
        const left = await fsp.readdir(work);
        expect(left.length, `case ${i} left temp dirs`).to.equal(1); // only ref's dir
      }
      await new Promise((r) => setImmediate(r));
      expect(unhandled).to.deep.equal([]);
      expect(accepted).to.be.lessThan(cases);
    });
  });
}
