/**
 * A controller on PostgreSQL (`--store postgres://...`), end to end and short: upload, apply, an
 * agent installs; a kill -9 and restart of the controller keeps everything; a PostgreSQL crash:
 * calls made while it is down fail UNAVAILABLE and succeed when retried once it is back.
 * Real processes: the controller and agent binaries, a real PostgreSQL, real rpm.
 */
import { expect } from "chai";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Status } from "nice-grpc";
import { Client } from "pg";
import { AdminState } from "../../clients/sdk/src/gen/swpatch/v1/types.js";
import { buildBaseFeed, buildPayloadRpm } from "../lib/base-feed.js";
import { startCluster, type Cluster } from "../lib/cluster-harness.js";
import { runCli } from "../lib/cli.js";
import { rpmQ } from "../lib/rpm-query.js";
import { DEV_KEY } from "../lib/controller-harness.js";
import { type PostgresServer, startPostgresOrSkip } from "../lib/postgres.js";

describe("controller on PostgreSQL (--store postgres://...)", function () {
  this.timeout(180_000);
  let pg: PostgresServer | undefined;
  let cluster: Cluster | undefined;
  let work: string | undefined;
  let patchFile: string;
  let url: string;
  const sw = (...args: string[]) => runCli("sw-patch", args, { endpoint: cluster!.controller.endpoint, token: cluster!.controller.adminToken });

  before(async function () {
    pg = await startPostgresOrSkip(this);
    url = await pg.createDatabase();
    const feed = await buildBaseFeed();
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-pgctl-"));
    const sysinv2 = await buildPayloadRpm({ name: "sysinv", version: "1.0", release: "2" });
    const b = await runCli("patch_build", ["--id", "PG_0001", "--release", "19.09", "--reboot-required", "N", "--key", DEV_KEY, "--output-dir", work, sysinv2.file]);
    expect(b.rc, b.stderr).to.equal(0);
    patchFile = path.join(work, "PG_0001.patch");
    cluster = await startCluster({
      hosts: [{ hostname: "controller-0", personality: "controller", mgmtIp: "192.178.204.2" }],
      baseFeed: feed.dir,
      controller: { extraArgs: ["--store", url] },
    });
  });

  after(async () => {
    await cluster?.close();
    await pg?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("upload, apply and an agent's install run on PostgreSQL (no sqlite file in the data dir)", async () => {
    expect(await sw("upload", patchFile)).to.deep.include({ rc: 0, stdout: "PG_0001 is now available\n\n" });
    expect(await sw("apply", "PG_0001")).to.deep.include({ rc: 0, stdout: "PG_0001 is now in the repo\n\n" });
    const r = await sw("host-install", "controller-0");
    expect(r.stdout.trimEnd().endsWith("Installation was successful."), r.stdout + r.stderr).to.equal(true);
    expect(rpmQ(cluster!.agents.get("controller-0")!.root, "sysinv")).to.equal("sysinv-1.0-2.noarch");
    expect((await sw("query")).stdout).to.include("Applied");
    expect(existsSync(path.join(cluster!.controller.dataDir, "sw-patch.sqlite"))).to.equal(false);
    // The patch file and its package live in the database (every blob the store records), none in <data-dir>/blobs.
    expect(existsSync(path.join(cluster!.controller.dataDir, "blobs"))).to.equal(false);
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      const { rows } = await c.query<{ missing: number; stored: number }>(
        "SELECT (SELECT count(*) FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM blob_contents c WHERE c.sha256 = b.sha256))::int AS missing, (SELECT count(*) FROM blob_contents)::int AS stored",
      );
      expect(rows[0]!.missing).to.equal(0);
      expect(rows[0]!.stored).to.be.at.least(2);
    } finally {
      await c.end();
    }
  });

  it("a kill -9 and restart of the controller keeps the patch, its state, the host and the admin token", async () => {
    await cluster!.restartController();
    expect((await sw("query")).stdout).to.match(/PG_0001\s+N\s+19\.09\s+Applied/);
    await cluster!.waitHosts((hs) => hs.length === 1 && hs[0]!.connected && hs[0]!.patchCurrent === 1);
    expect((await sw("is-applied", "PG_0001")).stdout.trim()).to.equal("True");
  });

  it("a PostgreSQL crash: calls while it is down fail UNAVAILABLE; retried once it is back, they succeed", async () => {
    const { hosts } = cluster!.clients;
    await pg!.restart({
      crash: true,
      whileDown: async () => {
        const e = await hosts.lockHost({ host: "controller-0", force: true }).then(
          () => undefined,
          (err: unknown) => err as { code?: number; details?: string },
        );
        expect(e?.code, JSON.stringify(e)).to.equal(Status.UNAVAILABLE);
        expect(e?.details).to.match(/the database is unavailable/);
      },
    });
    // The failed lock left nothing behind: the host is still unlocked; the retried call locks it.
    expect((await hosts.getHost({ host: "controller-0" })).host!.adminState).to.equal(AdminState.ADMIN_STATE_UNLOCKED);
    await hosts.lockHost({ host: "controller-0", force: true });
    expect((await hosts.getHost({ host: "controller-0" })).host!.adminState).to.equal(AdminState.ADMIN_STATE_LOCKED);
    expect((await sw("query")).stdout).to.match(/PG_0001\s+N\s+19\.09\s+Applied/);
  });
});
