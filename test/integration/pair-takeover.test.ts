/**
 * Takeover and recovery on the PostgreSQL store (issue 19): two controllers on one database swact
 * 0 → 1 → 0 → 1. Each active changes something (upload, apply and install, remove, an install the swact
 * interrupts) and the next active shows it: a controller that was active before re-reads the domain instead of
 * retiring. A watcher following the active sees every event once, in order, across the four terms. An install
 * the old active started completes on the new one (the agent reports there). The agent enrols through the
 * standby (listed first) and `sw-patch upload` goes through it too; `system host-show` names the lease holder.
 */
import { expect } from "chai";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
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
import { InstallPhase, PatchCurrent } from "../../clients/sdk/src/gen/swpatch/v1/types.js";
import { createSwPatchClient } from "../../clients/sdk/src/index.js";

describe("controller pair: takeover re-reads the domain, recovers the old term's install, follows the active", function () {
  this.timeout(180_000);
  let pg: PostgresServer | undefined;
  let work = "";
  let url = "";
  let feedDir = "";
  const controllers: ControllerHandle[] = [];
  const closers: Array<() => void> = [];
  const agents: AgentHandle[] = [];
  let c0: ControllerHandle;
  let c1: ControllerHandle;
  let token = "";
  let compute: AgentHandle;
  const watchAc = new AbortController();
  /** Sequence numbers the following watcher received, in order. */
  const seen: number[] = [];
  let watcher: Promise<void> | undefined;
  let operationId = "";
  /** A reader token used on controller-0 (so that it caches it), revoked on controller-1. */
  let reader = "";

  const clients = (c: ControllerHandle) => {
    const cl = rawClients(c.endpoint, token);
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
  const swact = async (from: ControllerHandle, to: ControllerHandle) => {
    const r = await clients(from).hosts.swactHost({ host: path.basename(from.dataDir) });
    expect(r.activeController).to.equal(path.basename(to.dataDir));
    await untilServes(to);
  };
  const sw = (c: ControllerHandle, ...a: string[]) => runCli("sw-patch", a, { endpoint: c.endpoint, token });
  const system = (c: ControllerHandle, ...a: string[]) => runCli("system", a, { endpoint: c.endpoint, token });
  const until = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
    for (let i = 0; ; i++) {
      const v = await probe();
      if (v !== undefined) return v;
      if (i === 600) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const host = (c: ControllerHandle, hostname: string) =>
    clients(c)
      .hosts.listHosts({})
      .then((r) => r.hosts.find((h) => h.hostname === hostname));
  const activeInfo = async (c: ControllerHandle) => (await host(c, "controller-0"))?.activeController;
  const queryRow = async (c: ControllerHandle, id: string) => (await sw(c, "query")).stdout.split("\n").find((l) => l.startsWith(`${id} `)) ?? "";

  /** Follows the active controller's event log from sequence 0, resuming after the last sequence received. */
  const follow = async () => {
    let after = 0;
    while (!watchAc.signal.aborted) {
      for (const c of [c0, c1]) {
        try {
          for await (const r of clients(c).patches.watchEvents({ afterSequence: after }, { signal: watchAc.signal })) {
            seen.push(r.event!.sequence);
            after = r.event!.sequence;
          }
        } catch (e) {
          if (watchAc.signal.aborted) return;
          if ((e as ClientError).code !== Status.UNAVAILABLE) throw e;
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async function () {
    pg = await startPostgresOrSkip(this);
    url = await pg.createDatabase();
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-takeover-"));
    feedDir = (await buildBaseFeed()).dir;
    const sysinv2 = await buildPayloadRpm({ name: "sysinv", version: "1.0", release: "2" });
    // pkg-a 1.0-2 waits in %pre until the test opens its gate (a file in the host's root): the install is under
    // way for as long as the test needs to swact.
    const gated = await buildPayloadRpm({
      name: "pkg-a",
      version: "1.0",
      release: "2",
      scripts: { pre: "while [ ! -e /takeover-gate ]; do sleep 0.1; done" },
    });
    for (const [id, file] of [
      ["PT_0001", sysinv2.file],
      ["PT_0002", gated.file],
    ]) {
      const b = await runCli("patch_build", ["--id", id!, "--release", "19.09", "--reboot-required", "N", "--key", DEV_KEY, "--output-dir", work, file!]);
      expect(b.rc, b.stderr).to.equal(0);
    }
    const seed = await startController({ dataDir: path.join(work, "seed"), keepDataDir: true, extraArgs: ["--store", url] });
    await seed.stop();
    const start = (id: string) => {
      cpSync(path.join(work, "seed"), path.join(work, id), { recursive: true });
      return startController({
        dataDir: path.join(work, id),
        baseFeed: feedDir,
        extraArgs: ["--store", url, "--controller-id", id, "--lease-ttl", "1200", "--log-level", "info"],
      }).then((c) => (controllers.push(c), c));
    };
    c0 = await start("controller-0");
    token = c0.adminToken;
    await untilServes(c0);
    c1 = await start("controller-1");
    watcher = follow();
  });

  after(async () => {
    watchAc.abort();
    await watcher?.catch(() => undefined);
    for (const a of agents) await a.stop();
    for (const close of closers) close();
    for (const c of controllers) await c.stop();
    if (work) rmSync(work, { recursive: true, force: true });
    await pg?.stop();
  });

  it("term 1 (controller-0): an agent enrols through the standby listed first; upload through the standby; host-show names controller-0 active", async () => {
    const enrol = await sw(c0, "host-enroll", "compute-0", "--personality", "worker");
    expect(enrol.rc, enrol.stderr).to.equal(0);
    const tokenFile = path.join(work, "compute-0.enroll");
    writeFileSync(tokenFile, enrol.stdout.trimEnd().split("\n").at(-1)! + "\n");
    chmodSync(tokenFile, 0o600);
    compute = startAgent(
      `${c1.endpoint},${c0.endpoint}`,
      { hostname: "compute-0", personality: "worker", extraArgs: ["--enroll-token-file", tokenFile] },
      path.join(work, "roots"),
    );
    agents.push(compute);
    agents.push(startAgent(`${c0.endpoint},${c1.endpoint}`, { hostname: "controller-0", personality: "controller" }, path.join(work, "roots"), token));
    await until("both hosts connected and provisioned", async () => {
      const hs = (await clients(c0).hosts.listHosts({})).hosts;
      return hs.filter((h) => h.connected && h.patchCurrent === PatchCurrent.PATCH_CURRENT_YES).length === 2 || undefined;
    });
    // The standby first in SWPATCH_ENDPOINT: the upload is refused before it ran and sent again to the active.
    const up = await runCli("sw-patch", ["upload", path.join(work, "PT_0001.patch")], { token, env: { SWPATCH_ENDPOINT: `${c1.endpoint},${c0.endpoint}` } });
    expect([up.rc, up.stdout], up.stderr).to.deep.equal([0, "PT_0001 is now available\n\n"]);
    // The SDK's raw client-streaming call, standby first: the messages the standby's call pulled are sent again.
    const sdk = createSwPatchClient({ endpoint: `${c1.endpoint},${c0.endpoint}`, token });
    try {
      const bytes = readFileSync(path.join(work, "PT_0002.patch"));
      async function* stream() {
        yield { payload: { $case: "header" as const, value: { fileName: "PT_0002.patch", sizeBytes: bytes.length } } };
        for (let o = 0; o < bytes.length; o += 4096) yield { payload: { $case: "chunk" as const, value: bytes.subarray(o, o + 4096) } };
      }
      expect((await sdk.patches.uploadPatch(stream())).patchId).to.equal("PT_0002");
      expect(sdk.endpoint).to.equal(c0.endpoint);
    } finally {
      sdk.close();
    }
    reader = (await sw(c0, "token-create", "--role", "reader")).stdout.trimEnd().split("\n").at(-1)!;
    expect((await runCli("sw-patch", ["query"], { endpoint: c0.endpoint, token: reader })).rc).to.equal(0);
    const shown = await system(c0, "host-show", "controller-0", "--format", "json");
    expect((JSON.parse(shown.stdout) as { host: object }).host).to.deep.include({ active_controller: true, capabilities: "{'Personality': 'Controller-Active'}" });
  });

  it("term 2 (controller-1): lists both uploads; apply PT_0001 and install compute-0; host-show follows the lease", async () => {
    await swact(c0, c1);
    expect(await queryRow(c1, "PT_0001")).to.match(/^PT_0001\s+N\s+19\.09\s+Available/);
    expect(await queryRow(c1, "PT_0002")).to.match(/^PT_0002\s+N\s+19\.09\s+Available/);
    expect((await sw(c1, "apply", "PT_0001")).rc).to.equal(0);
    const inst = await sw(c1, "host-install", "compute-0");
    expect(inst.rc, inst.stdout + inst.stderr).to.equal(0);
    expect(rpmQ(compute.root, "sysinv")).to.equal("sysinv-1.0-2.noarch");
    const readerId = /^swp_([0-9a-f]{16})_/.exec(reader)![1]!;
    expect((await sw(c1, "token-revoke", readerId)).stdout).to.equal(`Token ${readerId} has been revoked\n`);
    expect(await activeInfo(c1)).to.equal(false);
    const shown = await system(c1, "host-show", "controller-0", "--format", "json");
    expect((JSON.parse(shown.stdout) as { host: object }).host).to.deep.include({ active_controller: false, capabilities: "{'Personality': 'Controller-Standby'}" });
  });

  it("term 3 (controller-0 again): re-read what controller-1 did (apply, install); remove PT_0001, apply PT_0002, start an install", async () => {
    await swact(c1, c0);
    expect(c0.stderr()).to.include("domain dropped: standby");
    // Applied on controller-1 and installed on compute-0 only (not on the controller-0 host): it was Available here.
    expect(await queryRow(c0, "PT_0001")).to.match(/^PT_0001\s+N\s+19\.09\s+Partial-Apply/);
    // compute-0's agent follows the lease to controller-0 (it reconnects after the swact): wait for that, a state.
    const h = await until("compute-0 to reconnect to controller-0", async () => ((await host(c0, "compute-0"))?.connected ? host(c0, "compute-0") : undefined));
    expect([h?.connected, h?.patchCurrent]).to.deep.equal([true, PatchCurrent.PATCH_CURRENT_YES]);
    expect(await activeInfo(c0)).to.equal(true);
    // The token controller-0 had cached as valid was revoked by controller-1: refused here too.
    const refused = await runCli("sw-patch", ["query"], { endpoint: c0.endpoint, token: reader });
    expect([refused.rc, refused.stderr]).to.deep.equal([1, "Error: token revoked (use --token, --token-file or SWPATCH_TOKEN)\n"]);
    expect((await sw(c0, "remove", "PT_0001")).rc).to.equal(0);
    expect((await sw(c0, "apply", "PT_0002")).rc).to.equal(0);
    operationId = (await clients(c0).hosts.installHostAsync({ host: "compute-0" })).operationId;
    // The agent is in pkg-a's %pre (waiting for the gate): the install runs.
    await until("the install to run on the agent", async () => ((await host(c0, "compute-0"))?.agentState === 3 ? true : undefined));
  });

  it("term 4 (controller-1): the install controller-0 started completes here, is reported to a watcher, and the host is patch current", async () => {
    // A watcher of the operation on controller-0 is ended by the swact (UNAVAILABLE) and watches again on controller-1.
    const first = clients(c0).hosts.watchOperation({ operationId });
    const firstEnd = (async () => {
      try {
        for await (const m of first) void m;
        return "ended";
      } catch (e) {
        return Status[(e as ClientError).code];
      }
    })();
    await swact(c0, c1);
    expect(await firstEnd).to.equal("UNAVAILABLE");
    // Removed and applied on controller-0; compute-0 still has PT_0001's package.
    expect(await queryRow(c1, "PT_0001")).to.match(/^PT_0001\s+N\s+19\.09\s+Partial-Remove/);
    expect(await queryRow(c1, "PT_0002")).to.match(/^PT_0002\s+N\s+19\.09\s+Partial-Apply/);
    writeFileSync(path.join(compute.root, "takeover-gate"), "");
    let last: { phase: InstallPhase; terminal: boolean; message: string } | undefined;
    for await (const m of clients(c1).hosts.watchOperation({ operationId })) last = m.progress!;
    expect(last, JSON.stringify(last)).to.deep.include({ phase: InstallPhase.INSTALL_PHASE_DONE, terminal: true, message: "Installation was successful." });
    const q = await sw(c1, "query-hosts");
    expect(q.stdout).to.match(/compute-0\s+\S+\s+Yes\s/);
    expect(rpmQ(compute.root, "pkg-a")).to.equal("pkg-a-1.0-2.noarch");
    expect(rpmQ(compute.root, "sysinv")).to.equal("sysinv-1.0-1.noarch");
    expect(await queryRow(c1, "PT_0001")).to.match(/^PT_0001\s+N\s+19\.09\s+Available/);
    expect(c1.stderr()).to.not.include("did not reconnect");
  });

  it("the watcher that followed the active saw every event of the four terms once, in order", async () => {
    const pool = new Pool({ connectionString: url, max: 1 });
    pool.on("error", () => undefined);
    let top = 0;
    try {
      top = (await pool.query<{ n: number }>("SELECT max(seq)::int AS n FROM events")).rows[0]!.n;
    } finally {
      await pool.end();
    }
    await until("the watcher to catch up", async () => (seen.at(-1) === top ? true : undefined));
    expect(seen.length).to.equal(top);
    expect(
      seen.every((s, i) => s === i + 1),
      "contiguous, no repeat",
    ).to.equal(true);
  });
});
