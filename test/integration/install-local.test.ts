import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildBaseFeed } from "../lib/base-feed.js";
import { startCluster, type Cluster } from "../lib/cluster-harness.js";
import { runCli } from "../lib/cli.js";
import { rpmQ } from "../lib/rpm-query.js";

/** `sw-patch install-local`: converges a local root once, before initial configuration, and only it. */
describe("sw-patch install-local", function () {
  this.timeout(120_000);
  let cluster: Cluster;
  let work: string;

  before(async () => {
    const feed = await buildBaseFeed();
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-local-"));
    cluster = await startCluster({ hosts: [{ hostname: "controller-0", personality: "controller" }], baseFeed: feed.dir });
  });
  after(async () => {
    await cluster?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const sw = (...args: string[]) => runCli("sw-patch", args, { endpoint: cluster.controller.endpoint, token: cluster.controller.adminToken });

  it("installs the desired set into an empty root and says to reboot", async () => {
    const root = path.join(work, "local");
    mkdirSync(root);
    const r = await sw("install-local", "--root", root, "--hostname", "controller-1", "--personality", "controller");
    expect(r.rc, r.stderr).to.equal(0);
    expect(r.stdout).to.equal("Patch installation is complete.\nPlease reboot before continuing with configuration.\n");
    expect(rpmQ(root, "sysinv")).to.equal("sysinv-1.0-1.noarch");
    // Only the root was touched: nothing of it outside.
    expect(rpmQ(work, "sysinv")).to.match(/not installed|rpmdb|error/);
    // The controller agrees: the host installed what it should (its agent has gone since).
    const { hosts } = JSON.parse((await sw("query-hosts", "--format", "json")).stdout) as { hosts: Record<string, unknown>[] };
    expect(hosts.find((h) => h.hostname === "controller-1")).to.deep.include({
      agentState: "idle",
      installReason: "",
      patchFailed: false,
      pendingChanges: 0,
      connected: false,
      state: "offline",
    });
  });

  it("refuses after initial configuration", async () => {
    const root = path.join(work, "configured");
    mkdirSync(path.join(root, "etc/platform"), { recursive: true });
    writeFileSync(path.join(root, "etc/platform/.initial_config_complete"), "");
    const r = await sw("install-local", "--root", root, "--hostname", "controller-1");
    expect(r.rc).to.equal(1);
    expect(r.stderr).to.equal("Error: This function can only be used before initial system configuration.\n");
  });
});
