/**
 * The controller pair end to end (issue 19): PostgreSQL, two controllers (`--store postgres://... --controller-id`),
 * six real rpm agents (2+2+2) given both endpoints. The seed's walk-through through the CLIs given both endpoints,
 * a `system host-swact` in the middle of a host-install, then a kill -9 of the active controller in the middle of a
 * `sw-manager patch-strategy apply`: the strategy ends applied, every host is patch current (`rpm -q --root`), and a
 * watcher (the SDK with both endpoints) that followed throughout saw every event once, in order.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildBaseFeed, buildPayloadRpm } from "../lib/base-feed.js";
import { SEED_HOSTS } from "../lib/cluster-harness.js";
import { runCli } from "../lib/cli.js";
import { DEV_KEY } from "../lib/controller-harness.js";
import { rpmQ } from "../lib/rpm-query.js";
import { type PostgresServer, startPostgresOrSkip } from "../lib/postgres.js";
import { startPairCluster, type PairCluster } from "../lib/pair-cluster.js";
import { AgentState, PatchCurrent, type Event, type Strategy } from "../../clients/sdk/src/index.js";

describe("controller pair end to end: walk-through, swact mid-install, kill -9 mid-strategy (PostgreSQL, 2+2+2)", function () {
  this.timeout(180_000);
  let pg: PostgresServer | undefined;
  let pair: PairCluster | undefined;
  let work: string | undefined;
  const files: Record<string, string> = {};
  const seen: Event[] = [];
  const watchAbort = new AbortController();
  let watcher: Promise<unknown> | undefined;
  /** Wakes a test waiting for an event. */
  let onEvent: (e: Event) => void = () => undefined;

  const cli = (cmd: string, ...args: string[]) => runCli(cmd, args, { endpoint: pair!.endpoints, token: pair!.token });
  const build = async (id: string, args: string[]) => {
    const r = await runCli("patch_build", ["--id", id, "--release", "19.09", "--status", "REL", "--key", DEV_KEY, "--output-dir", work!, ...args]);
    expect(r.rc, r.stderr).to.equal(0);
    files[id] = path.join(work!, `${id}.patch`);
  };
  const strategy = async (): Promise<Strategy> => (await pair!.sdk.orchestration.getStrategy({})).strategy!;
  const untilEvent = (pred: (e: Event) => boolean) => new Promise<Event>((resolve) => (onEvent = (e) => pred(e) && resolve(e)));

  before(async function () {
    pg = await startPostgresOrSkip(this);
    const url = await pg.createDatabase();
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-paire2e-"));
    const feed = await buildBaseFeed();
    // 001: sysinv for every host, and a controller-only package whose %pre takes a second (a host-install of a
    // controller lasts long enough to swact in its middle).
    const helper = await buildPayloadRpm({ name: "sysinv-helper", version: "1.0", release: "1", scripts: { pre: "sleep 1" } });
    const sysinv2 = await buildPayloadRpm({ name: "sysinv", version: "1.0", release: "2" });
    await build("001", ["--reboot-required", "N", "--controller", helper.file, sysinv2.file]);
    // 002: in service, for the strategy.
    await build("002", ["--reboot-required", "N", (await buildPayloadRpm({ name: "pkg-a", version: "1.0", release: "3" })).file]);
    pair = await startPairCluster({ url, hosts: SEED_HOSTS, baseFeed: feed.dir, leaseTtlMs: 2000, controllerArgs: ["--time-scale", "0.01"] });
    watcher = (async () => {
      for await (const e of pair!.sdk.watchEvents({ afterSequence: 0, signal: watchAbort.signal, initialBackoffMs: 50, maxBackoffMs: 500 })) {
        seen.push(e);
        onEvent(e);
      }
    })().catch((e: unknown) => e);
  });

  after(async () => {
    watchAbort.abort();
    await watcher;
    await pair?.close();
    if (work) rmSync(work, { recursive: true, force: true });
    await pg?.stop();
  });

  it("the walk-through through both endpoints: upload, apply, host-install of every host; a swact in the middle of one", async () => {
    expect(await cli("sw-patch", "upload", files["001"]!)).to.deep.include({ rc: 0, stdout: "001 is now available\n\n" });
    expect(await cli("sw-patch", "apply", "001")).to.deep.include({ rc: 0, stdout: "001 is now in the repo\n\n" });
    await pair!.waitHosts((hs) => hs.every((h) => h.patchCurrent === PatchCurrent.PATCH_CURRENT_NO));
    for (const host of ["controller-0", "storage-0", "storage-1", "compute-0", "compute-1"]) {
      const r = await cli("sw-patch", "host-install", host);
      expect(r.stdout.trimEnd().endsWith("Installation was successful."), `${host}: ${r.stdout}${r.stderr}`).to.equal(true);
    }
    // controller-1's install runs its second-long %pre: swact while the agent reports it installing.
    const from = (await pair!.waitOneActive()).member;
    const installing = untilEvent((e) => e.kind === "host.state" && e.hostname === "controller-1" && e.newState === "installing");
    const install = cli("sw-patch", "host-install", "controller-1");
    await installing;
    const epoch = (await pair!.info(from)).epoch;
    const swact = await cli("system", "host-swact", from.id);
    const to = from.id === "controller-0" ? "controller-1" : "controller-0";
    // (What it prints, `system host-show` of the host it moved away from, is the inventory's view: TAKEOVER's item.)
    expect([swact.rc, swact.stderr]).to.deep.equal([0, ""]);
    const r = await install;
    expect(r.stdout.trimEnd().endsWith("Installation was successful."), `${r.rc} ${r.stdout}${r.stderr}\n${pair!.logs()}`).to.equal(true);
    const now = (await pair!.waitOneActive()).member;
    expect(now.id).to.equal(to);
    expect((await pair!.info(now)).epoch).to.be.greaterThan(epoch);
    await pair!.waitHosts((hs) => hs.every((h) => h.patchCurrent === PatchCurrent.PATCH_CURRENT_YES && h.agentState === AgentState.AGENT_STATE_IDLE && h.connected));
    expect((await cli("sw-patch", "query")).stdout).to.equal(
      "Patch ID  RR  Release  Patch State\n========  ==  =======  ===========\n001       N    19.09     Applied  \n\n",
    );
    for (const a of pair!.agents.values()) {
      expect(rpmQ(a.root, "sysinv")).to.equal("sysinv-1.0-2.noarch");
      expect(rpmQ(a.root, "sysinv-helper")).to.equal(a.spec.personality === "controller" ? "sysinv-helper-1.0-1.noarch" : "package sysinv-helper is not installed");
    }
  });

  it("a kill -9 of the active controller in the middle of sw-manager patch-strategy apply: the strategy ends applied on the new active", async () => {
    expect((await cli("sw-patch", "upload", files["002"]!)).rc).to.equal(0);
    expect((await cli("sw-patch", "apply", "002")).rc).to.equal(0);
    await pair!.waitHosts((hs) => hs.every((h) => h.patchCurrent === PatchCurrent.PATCH_CURRENT_NO));
    const c = await cli("sw-manager", "patch-strategy", "create");
    expect(c.rc, c.stderr).to.equal(0);
    for (let s = await strategy(); s.state !== "ready-to-apply"; s = await strategy()) {
      expect(s.state, s.buildPhase?.reason).to.equal("building");
      await new Promise((res) => setTimeout(res, 100));
    }
    // In the middle: the first host patched by the strategy, the others not yet.
    const stepped = untilEvent((e) => e.kind === "strategy.step" && e.message.includes("sw-patch-hosts") && e.newState === "success");
    const a = await cli("sw-manager", "patch-strategy", "apply");
    expect(a.rc, a.stderr).to.equal(0);
    await stepped;
    const victim = (await pair!.waitOneActive()).member;
    const epoch = (await pair!.info(victim)).epoch;
    await pair!.kill(victim);
    // The peer takes over at lease expiry, or the victim's restart (its unit restarts it) renews its own lease first.
    const { member } = await pair!.waitOneActive();
    expect((await pair!.info(member)).epoch).to.be.greaterThan(epoch);
    let s = await strategy();
    for (; !["applied", "apply-failed", "aborted"].includes(s.state); s = await strategy()) await new Promise((res) => setTimeout(res, 200));
    expect(s.state, `${s.applyPhase?.reason}\n${pair!.logs()}`).to.equal("applied");
    const show = await cli("sw-manager", "patch-strategy", "show");
    expect(show.stdout).to.match(/state:\s+applied/);
    await pair!.waitHosts((hs) => hs.every((h) => h.patchCurrent === PatchCurrent.PATCH_CURRENT_YES && h.connected));
    for (const ag of pair!.agents.values()) expect(rpmQ(ag.root, "pkg-a"), ag.spec.hostname).to.equal("pkg-a-1.0-3.noarch");
    expect((await cli("sw-patch", "query")).stdout).to.match(/002\s+N\s+19\.09\s+Applied/);
  });

  it("the watcher that followed throughout saw every event once, in order (no gap, no duplicate)", async () => {
    // The log as the active controller has it now, read from the start by a fresh watch.
    const last = seen[seen.length - 1]!.sequence;
    const fresh: Event[] = [];
    const ac = new AbortController();
    for await (const e of pair!.sdk.watchEvents({ afterSequence: 0, signal: ac.signal })) {
      fresh.push(e);
      if (e.sequence >= last) break;
    }
    const seqs = seen.map((e) => e.sequence);
    expect(seqs[0]).to.equal(1);
    const gaps = seqs.flatMap((q, i) => (i > 0 && q !== seqs[i - 1]! + 1 ? [`${seqs[i - 1]}->${q}`] : []));
    expect(gaps, "gaps or duplicates in the watcher's sequence numbers").to.deep.equal([]);
    expect(fresh.map((e) => [e.sequence, e.kind, e.hostname, e.patchId, e.newState])).to.deep.equal(
      seen.map((e) => [e.sequence, e.kind, e.hostname, e.patchId, e.newState]),
    );
    // It followed across both hand-overs: controller-1's install reported after the swact, the strategy applied after the kill.
    expect(seen.some((e) => e.kind === "host.state" && e.hostname === "controller-1" && e.oldState === "installing" && e.newState === "idle")).to.equal(true);
    expect(seen.some((e) => e.kind === "strategy.state" && e.newState === "applied")).to.equal(true);
  });
});
