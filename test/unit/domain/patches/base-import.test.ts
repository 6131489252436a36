import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isDomainError } from "../../../../server/domain/errors.js";
import { buildPayloadRpm } from "../../../lib/base-feed.js";
import { patchManager } from "./fixtures.js";

/** Base-feed import: the existing-file check and the insert happen under one lock (real rpm files, fake store). */
describe("base package import (fake store, real rpm)", function () {
  this.timeout(60_000);
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-base-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("two concurrent imports of one file: one adds it, the other finds it; memory and store agree", async () => {
    const { pm, store } = await patchManager([]);
    const rpm = await buildPayloadRpm({ name: "race", version: "1.0", release: "1", outDir: path.join(dir, "a") });
    const results = await Promise.all([pm.importBasePackage("20.06", rpm.file, rpm.fileName), pm.importBasePackage("20.06", rpm.file, rpm.fileName)]);
    expect(results.map((r) => r.added).sort()).to.deep.equal([false, true]);
    expect(pm.basePackages("20.06").map((p) => p.fileName)).to.deep.equal([rpm.fileName]);
    expect(store.t.base.get("20.06")!.map((p) => p.fileName)).to.deep.equal([rpm.fileName]);
    expect(store.eventsOf("base.package-imported").length).to.equal(1);
    expect(pm.releasesKnown()).to.include("20.06");
  });

  it("a different file under a known name is refused (FAILED_PRECONDITION), concurrently or not", async () => {
    const { pm } = await patchManager([]);
    const a = await buildPayloadRpm({ name: "twin", version: "1.0", release: "1", outDir: path.join(dir, "b1") });
    const b = await buildPayloadRpm({
      name: "twin",
      version: "1.0",
      release: "1",
      files: [{ path: "/usr/share/twin/EXTRA", content: "x\n" }],
      outDir: path.join(dir, "b2"),
    });
    expect(a.sha256).to.not.equal(b.sha256);
    const results = await Promise.allSettled([pm.importBasePackage("20.06", a.file, a.fileName), pm.importBasePackage("20.06", b.file, b.fileName)]);
    expect(results.map((r) => r.status)).to.deep.equal(["fulfilled", "rejected"]);
    const e = (results[1] as PromiseRejectedResult).reason as Error;
    expect(isDomainError(e)).to.equal(true);
    expect(e.message).to.equal(`Base feed of 20.06 already has a different ${a.fileName}`);
    expect(pm.basePackages("20.06").map((p) => p.sha256)).to.deep.equal([a.sha256]);
  });
});
