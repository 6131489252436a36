import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { buildBaseFeed, buildPayloadRpm, makeTempRoot } from "../../lib/base-feed.js";
import { cleanRpmStderr, rpmApply, rpmDbDir, rpmErase, rpmInitDb, rpmQuery, rpmQueryAll, rpmUpgrade, RpmError } from "../../../server/agent/rpm.js";
import { rpmQ } from "../../lib/rpm-query.js";

/** `rpm -q --root DIR NAME` as a user would type it (HOME=/root so the db is the root's). */
describe("agent rpm backend", function () {
  this.timeout(120000);

  it("initializes an empty database inside the root and lists nothing", async () => {
    const root = makeTempRoot();
    await rpmInitDb(root);
    expect(existsSync(rpmDbDir(root))).to.equal(true);
    expect(await rpmQueryAll(root)).to.deep.equal([]);
  });

  it("provisions the busybox base feed into an empty root in one transaction", async () => {
    const feed = await buildBaseFeed();
    const root = makeTempRoot();
    await rpmInitDb(root);
    const t0 = process.hrtime.bigint();
    await rpmUpgrade(
      root,
      feed.packages.map((p) => p.file),
    );
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log(`      provision base feed (${feed.packages.length} packages): ${ms.toFixed(0)} ms`);
    const all = await rpmQueryAll(root);
    expect(all.map((p) => `${p.name}-${p.version}-${p.release}`)).to.deep.equal(["busybox-base-1.0-1", "pkg-a-1.0-1", "pkg-b-1.0-1", "sysinv-1.0-1"]);
    expect(all[0]).to.deep.equal({ name: "busybox-base", epoch: "0", version: "1.0", release: "1", arch: "x86_64" });
    expect(rpmQ(root, "sysinv")).to.equal("sysinv-1.0-1.noarch");
    expect(readFileSync(path.join(root, "usr/share/pkg-a/VERSION"), "utf8")).to.equal("1.0-1\n");
    // The root's shell works chrooted.
    expect(execFileSync("chroot", [root, "/bin/sh", "-c", "echo ok"]).toString()).to.equal("ok\n");
  });

  it("upgrades, downgrades and erases", async () => {
    const feed = await buildBaseFeed();
    const root = makeTempRoot();
    await rpmUpgrade(
      root,
      feed.packages.map((p) => p.file),
    );
    const a2 = await buildPayloadRpm({ name: "pkg-a", version: "2.0" });
    const t0 = process.hrtime.bigint();
    await rpmApply(root, { install: [a2.file], erase: ["pkg-b"] });
    console.log(`      upgrade+erase transaction: ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0)} ms`);
    expect(rpmQ(root, "pkg-a")).to.equal("pkg-a-2.0-1.noarch");
    expect(rpmQ(root, "pkg-b")).to.equal("package pkg-b is not installed");
    expect(existsSync(path.join(root, "usr/share/pkg-b/VERSION"))).to.equal(false);
    const a1 = feed.packages.find((p) => p.name === "pkg-a")!;
    await rpmUpgrade(root, [a1.file]);
    expect(rpmQ(root, "pkg-a")).to.equal("pkg-a-1.0-1.noarch");
    expect(await rpmQuery(root, "pkg-a")).to.deep.equal([{ name: "pkg-a", epoch: "0", version: "1.0", release: "1", arch: "noarch" }]);
    expect(readFileSync(path.join(root, "usr/share/pkg-a/VERSION"), "utf8")).to.equal("1.0-1\n");
  });

  it("fails with rpm's error text when a %pre scriptlet fails", async () => {
    const feed = await buildBaseFeed();
    const root = makeTempRoot();
    await rpmUpgrade(
      root,
      feed.packages.map((p) => p.file),
    );
    const bad = await buildPayloadRpm({ name: "pkg-bad", version: "1.0", scripts: { pre: 'echo "disk on fire" >&2\nexit 3' } });
    const err = await rpmUpgrade(root, [bad.file]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(RpmError);
    expect((err as RpmError).message).to.contain("%prein(pkg-bad-1.0-1.noarch) scriptlet failed, exit status 3");
    expect((err as RpmError).message).to.contain("disk on fire");
    expect((err as RpmError).message).not.to.contain("Alien");
    expect(rpmQ(root, "pkg-bad")).to.equal("package pkg-bad is not installed");
  });

  it("fails to erase a package that is not installed", async () => {
    const root = makeTempRoot();
    await rpmInitDb(root);
    const err = await rpmErase(root, ["nosuch"]).then(
      () => null,
      (e: unknown) => e,
    );
    expect((err as Error).message).to.equal("rpm erase failed: error: package nosuch is not installed");
  });

  it("drops Debian's Alien banner from stderr", () => {
    expect(
      cleanRpmStderr("rpm: RPM should not be used directly install RPM packages, use Alien instead!\nrpm: However assuming you know what you are doing...\nerror: x\n"),
    ).to.equal("error: x");
  });
});
