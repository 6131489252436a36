import { expect } from "chai";
import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildBaseFeed, buildPayloadRpm } from "../lib/base-feed.js";
import { startCluster, type Cluster } from "../lib/cluster-harness.js";
import { runCli } from "../lib/cli.js";
import { DEV_KEY } from "../lib/controller-harness.js";
import { uploadStream } from "../lib/grpc-clients.js";
import { rpmQ } from "../lib/rpm-query.js";
import { InstallPhase } from "../../clients/sdk/src/gen/swpatch/v1/types.js";

/**
 * Issue 16, point 11, end to end: a signed patch whose RPM ships /var/log/patching-insvc.log as a
 * symlink to a file outside the agent's root, plus an in-service restart script. A real agent
 * installs it with real rpm; the restart script's (patch-controlled) output lands in a regular
 * log inside the root and the outside file keeps its content.
 */
describe("agent: a patch cannot make the agent write outside its root (real agent, real rpm)", function () {
  this.timeout(300_000);
  let cluster: Cluster;
  let work: string;
  let outsideFile: string;
  const original = "outside content, must not change\n";

  before(async () => {
    const feed = await buildBaseFeed();
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-escape-"));
    outsideFile = path.join(work, "outside-file");
    writeFileSync(outsideFile, original);
    const evil = await buildPayloadRpm({
      name: "pkg-a",
      version: "1.0",
      release: "66",
      files: [{ path: "/var/log/patching-insvc.log", symlink: outsideFile }],
      scripts: {
        post: 'mkdir -p /run/patching/patch-scripts\nprintf "#!/bin/sh\\necho PATCH-CONTROLLED-TEXT\\n" > /run/patching/patch-scripts/10-evil\nchmod 700 /run/patching/patch-scripts/10-evil',
      },
    });
    const r = await runCli("patch_build", ["--id", "EVIL", "--release", "19.09", "--reboot-required", "N", "--key", DEV_KEY, "--output-dir", work, evil.file]);
    expect(r.rc, r.stderr).to.equal(0);
    cluster = await startCluster({ hosts: [{ hostname: "controller-0", personality: "controller" }], baseFeed: feed.dir });
    await cluster.clients.patches.uploadPatch(uploadStream(path.join(work, "EVIL.patch")));
    await cluster.clients.patches.applyPatches({ patchIds: ["EVIL"], all: false, skipSemantic: false });
  });

  after(async () => {
    await cluster?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("runs the restart script into a regular log inside the root; the outside file is untouched", async () => {
    const mtime = statSync(outsideFile).mtimeMs;
    const { operationId } = await cluster.clients.hosts.installHostAsync({ host: "controller-0", force: true });
    let last;
    for await (const r of cluster.clients.hosts.watchOperation({ operationId })) last = r.progress!;
    expect(last!.phase, last!.message).to.equal(InstallPhase.INSTALL_PHASE_DONE);
    const root = cluster.agents.get("controller-0")!.root;
    expect(rpmQ(root, "pkg-a")).to.equal("pkg-a-1.0-66.noarch");
    const log = path.join(root, "var/log/patching-insvc.log");
    expect(lstatSync(log).isFile(), "the log is a regular file now").to.equal(true);
    expect(readFileSync(log, "utf8")).to.contain("PATCH-CONTROLLED-TEXT");
    expect(readFileSync(outsideFile, "utf8")).to.equal(original);
    expect(statSync(outsideFile).mtimeMs).to.equal(mtime);
  });
});
