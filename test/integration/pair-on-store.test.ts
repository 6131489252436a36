/**
 * Two controllers on ONE PostgreSQL database (`--store postgres://... --controller-id`, no `--lease`): the store,
 * the patch files and packages, and the lease are all in it. The standby loads and writes nothing; after a swact
 * the new active loads the domain from the store, lists what the old one uploaded, and an agent installs the
 * patch's package, which this controller never had on disk; a write with the old epoch is refused (FENCED).
 */
import { expect } from "chai";
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ClientError, Status } from "nice-grpc";
import { Pool } from "pg";
import { startController, DEV_KEY, type ControllerHandle } from "../lib/controller-harness.js";
import { rawClients } from "../lib/grpc-clients.js";
import { type PostgresServer, startPostgresOrSkip } from "../lib/postgres.js";
import { runCli } from "../lib/cli.js";
import { buildBaseFeed, buildPayloadRpm } from "../lib/base-feed.js";
import { startAgent, type AgentHandle } from "../lib/cluster-harness.js";
import { rpmQ } from "../lib/rpm-query.js";
import { assertEpoch, isFencedError, withFencedTransaction } from "../../server/storage/postgres/lease.js";
import { openPostgresStore } from "../../server/storage/postgres/store.js";
import type { DomainError } from "../../server/domain/errors.js";

describe("controller pair on the PostgreSQL store (one database: state, blobs, lease)", function () {
  this.timeout(120_000);
  let pg: PostgresServer | undefined;
  let work: string | undefined;
  let url = "";
  let patchFile = "";
  let feedDir = "";
  const controllers: ControllerHandle[] = [];
  const closers: Array<() => void> = [];
  let c0: ControllerHandle;
  let c1: ControllerHandle;
  let agent: AgentHandle | undefined;
  const clients = (c: ControllerHandle) => {
    const cl = rawClients(c);
    closers.push(cl.close);
    return cl;
  };
  /** Polls QueryPatches (a state, not a duration) until `c` serves: active and its domain loaded. */
  const untilServes = async (c: ControllerHandle) => {
    const cl = clients(c);
    for (;;) {
      const ok = await cl.patches.queryPatches({}).then(
        () => true,
        (e: unknown) => {
          if ((e as ClientError).code !== Status.UNAVAILABLE) throw e;
          return false;
        },
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const start = (id: string) =>
    startController({
      dataDir: path.join(work!, id),
      baseFeed: feedDir,
      extraArgs: [
        "--store",
        url,
        "--controller-id",
        id,
        "--lease-ttl",
        "1200",
        "--log-level",
        "info",
        "--vim-listen",
        "127.0.0.1:0",
        "--patch-api-listen",
        "127.0.0.1:0",
      ],
    }).then((c) => (controllers.push(c), c));

  before(async function () {
    pg = await startPostgresOrSkip(this);
    url = await pg.createDatabase();
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-pairstore-"));
    feedDir = (await buildBaseFeed()).dir;
    const sysinv2 = await buildPayloadRpm({ name: "sysinv", version: "1.0", release: "2" });
    const b = await runCli("patch_build", ["--id", "PS_0001", "--release", "19.09", "--reboot-required", "N", "--key", DEV_KEY, "--output-dir", work, sysinv2.file]);
    expect(b.rc, b.stderr).to.equal(0);
    patchFile = path.join(work, "PS_0001.patch");
    // One start as a single controller on the database writes the admin token; both members get its data dir.
    const seed = await startController({ dataDir: path.join(work, "seed"), keepDataDir: true, extraArgs: ["--store", url] });
    await seed.stop();
    cpSync(path.join(work, "seed"), path.join(work, "controller-0"), { recursive: true });
    cpSync(path.join(work, "seed"), path.join(work, "controller-1"), { recursive: true });
    c0 = await start("controller-0");
    await untilServes(c0);
    c1 = await start("controller-1");
  });

  after(async () => {
    await agent?.stop();
    for (const close of closers) close();
    for (const c of controllers) await c.stop();
    if (work) rmSync(work, { recursive: true, force: true });
    await pg?.stop();
  });

  it("the standby loads nothing and answers UNAVAILABLE naming the active; the active loaded the domain", async () => {
    expect((await clients(c1).patches.getControllerInfo({})).role).to.equal("standby");
    const err = (await clients(c1)
      .patches.queryPatches({})
      .catch((e: unknown) => e)) as ClientError;
    expect(err.code).to.equal(Status.UNAVAILABLE);
    expect(err.details).to.equal(`standby: the active controller is controller-0 at ${c0.endpoint}`);
    expect(c0.stderr()).to.include("domain loaded from the store");
    expect(c1.stderr()).to.not.include("domain loaded from the store");
    expect(c1.stderr()).to.not.include("base feed imported");
  });

  it("the standby's HTTP APIs answer 503 naming the active before authentication; the active's serve", async () => {
    const text = `standby: the active controller is controller-0 at ${c0.endpoint}`;
    const api = await fetch(`http://${c1.patchApiAddress}/patch/query`);
    expect([api.status, await api.json()]).to.deep.equal([503, { error: `Error: ${text}` }]);
    const vim = await fetch(`http://${c1.vimAddress}/api/orchestration/sw-patch/strategy`);
    expect(vim.status).to.equal(503);
    expect(await vim.text()).to.include(text);
    const live = await fetch(`http://${c0.patchApiAddress}/patch/query`, { headers: { "x-auth-token": c0.adminToken } });
    expect(live.status).to.equal(200);
    // No audit row is written for a standby's refusal: it never reached authentication (it would be refused by the fence).
    expect(c1.stderr()).to.not.match(/audit.*(FENCED|NOT_ACTIVE)/);
  });

  it("upload and apply on the active; after a swact the new active lists the patch and an agent installs the applied patch's package from the database", async () => {
    const sw0 = (...a: string[]) => runCli("sw-patch", a, { endpoint: c0.endpoint, token: c0.adminToken });
    expect(await sw0("upload", patchFile)).to.deep.include({ rc: 0, stdout: "PS_0001 is now available\n\n" });
    const applied = await sw0("apply", "PS_0001");
    expect([applied.rc, applied.stdout.startsWith("PS_0001 is now in the repo\n")], applied.stderr).to.deep.equal([0, true]);
    const r = await clients(c0).hosts.swactHost({ host: "controller-0" });
    expect(r.activeController).to.equal("controller-1");
    await untilServes(c1);
    expect(c1.stderr()).to.include("domain loaded from the store");
    // controller-0 dropped its domain on losing the term (it re-reads it from the store when next active).
    expect(c0.stderr()).to.include("domain dropped: standby");
    expect((await clients(c0).patches.getControllerInfo({})).role).to.equal("standby");
    const sw1 = (...a: string[]) => runCli("sw-patch", a, { endpoint: c1.endpoint, token: c0.adminToken });
    expect((await sw1("query")).stdout).to.match(/PS_0001\s+N\s+19\.09\s+/);
    // controller-1 never had the patch on disk (no blob directory): what it serves comes out of the database.
    expect(existsSync(path.join(c1.dataDir, "blobs"))).to.equal(false);
    agent = startAgent(`${c0.endpoint},${c1.endpoint}`, { hostname: "compute-0", personality: "worker" }, path.join(work!, "roots"), c0.adminToken);
    const hs = clients(c1).hosts;
    for (let i = 0; ; i++) {
      const { hosts } = await hs.listHosts({});
      if (i === 300) throw new Error(`compute-0 not provisioned: ${JSON.stringify(hosts)} ${agent.log().slice(-2000)}`);
      // Provisioned by controller-1 (base packages and the applied patch's package, out of the database): idle and current.
      if (hosts.some((h) => h.hostname === "compute-0" && h.connected && h.agentState === 2 && h.patchCurrent === 1)) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(rpmQ(agent.root, "sysinv")).to.equal("sysinv-1.0-2.noarch");
  });

  it("a write with controller-0's old epoch is refused (FENCED); controller-0, now standby, answers UNAVAILABLE", async () => {
    const info1 = await clients(c1).patches.getControllerInfo({});
    expect(info1).to.deep.include({ role: "active", activeControllerId: "controller-1" });
    const pool = new Pool({ connectionString: url, max: 1 });
    pool.on("error", () => undefined);
    try {
      const wrote = await withFencedTransaction(pool, { controllerId: "controller-0", epoch: info1.epoch - 1 }, (c) => c.query("DELETE FROM blob_contents")).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((wrote as DomainError).reason, String(wrote)).to.equal("FENCED");
      expect(isFencedError((wrote as Error).cause)).to.equal(true);
      const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM blob_contents");
      expect(rows[0]!.n).to.be.greaterThan(0);
    } finally {
      await pool.end();
    }
    // The store itself, fenced with the old term: its write transaction is refused and leaves nothing.
    const old = await openPostgresStore({ connectionString: url, max: 2 }, { fence: (c) => assertEpoch(c, { controllerId: "controller-0", epoch: info1.epoch - 1 }) });
    try {
      const e = await old.store
        .transact((tx) => tx.patches.insertRelease("99.99"))
        .then(
          () => undefined,
          (x: unknown) => x,
        );
      expect((e as DomainError).reason, String(e)).to.equal("FENCED");
      expect(await old.store.read.loadReleases()).to.not.include("99.99");
    } finally {
      await old.close();
    }
    const err = (await clients(c0)
      .patches.deletePatches({ patchIds: ["PS_0001"] })
      .catch((e: unknown) => e)) as ClientError;
    expect(err.code).to.equal(Status.UNAVAILABLE);
  });
});
