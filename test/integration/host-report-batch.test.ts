/**
 * Host reports that arrive together (every host answering after an apply) are written together:
 * one transaction and one commit for the lot, the patch states recomputed once, and each caller
 * answered only after that commit. A batch that fails rejects every caller of it and leaves the
 * hosts and interim lists as they were. In-process controller (real sqlite, real patch file);
 * the hosts speak through the domain API, as the agent service does for each agent message.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildBaseFeed, buildPayloadRpm, type BaseFeed } from "../lib/base-feed.js";
import { DEV_CERT } from "../lib/controller-harness.js";
import { devKeyPem } from "../lib/patch-fixtures.js";
import { buildPatch } from "../../server/domain/patchfile/index.js";
import { createController, type Controller } from "../../server/controller/controller.js";
import { resolveControllerConfig } from "../../server/config/controller-config.js";
import { createLogger } from "../../server/lib/log.js";
import { AgentHello, AgentReport } from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { AgentState } from "../../clients/sdk/src/gen/swpatch/v1/types.js";
import { fromProtoHello, fromProtoReport } from "../../server/transport/mappers/agent.js";

const HOSTS = Array.from({ length: 12 }, (_, i) => `batch-${i}`);

describe("host reports written together", function () {
  this.timeout(180_000);
  let work: string;
  let dataDir: string;
  let feed: BaseFeed;
  let ctl: Controller;
  let patchFile: string;
  let sysinv2: { name: string; epoch: string; version: string; release: string; arch: string };

  const base = () => feed.packages.map((p) => ({ name: p.name, epoch: p.epoch, version: p.version, release: p.release, arch: p.arch }));
  const withPatch = () =>
    base()
      .filter((p) => p.name !== "sysinv")
      .concat([sysinv2]);
  const report = (packages: ReturnType<typeof base>) => fromProtoReport(AgentReport.fromPartial({ packages, state: AgentState.AGENT_STATE_IDLE }));
  const db = () => ctl.storeStats;
  const current = (h: string) => ctl.hosts.list().find((x) => x.hostname === h)?.patchCurrent;

  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-batch-"));
    dataDir = path.join(work, "data");
    feed = await buildBaseFeed();
    const upd = await buildPayloadRpm({ name: "sysinv", version: "1.0", release: "2" });
    sysinv2 = { name: upd.name, epoch: upd.epoch, version: upd.version, release: upd.release, arch: upd.arch };
    patchFile = (
      await buildPatch({ id: "BATCH_0001", swVersion: "19.09", status: "REL", rebootRequired: false, rpms: [upd.file], signingKey: devKeyPem(), outputDir: work })
    ).path;
    const config = resolveControllerConfig({ dataDir, listen: "127.0.0.1:0", release: "19.09", trust: [`${DEV_CERT}:dev`], baseFeed: feed.dir, logLevel: "silent" });
    ctl = await createController(config, { log: createLogger({ level: "silent" }) });
    const link = { send: () => undefined, close: () => undefined };
    for (const h of HOSTS) {
      await ctl.hosts.hello(
        fromProtoHello(
          AgentHello.fromPartial({ hostname: h, personality: "worker", release: "19.09", packages: base(), state: AgentState.AGENT_STATE_IDLE, agentVersion: "test" }),
        ),
        link,
        "127.0.0.1",
      );
    }
    await ctl.patches.upload(
      path.basename(patchFile),
      (async function* () {
        yield await fsp.readFile(patchFile);
      })(),
      new AbortController().signal,
    );
    await ctl.patches.apply(["BATCH_0001"]);
  });

  after(async () => {
    await ctl?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("every host's report after an apply: few commits for all of them, each host out of interim, the patch Partial-Apply", async () => {
    for (const h of HOSTS) expect(ctl.patches.hostInInterim(h), h).to.equal(true);
    const commits = db().commitCount;
    await Promise.all(HOSTS.map((h) => ctl.hosts.report(h, report(base()))));
    // The first report commits alone; those arriving meanwhile share the next commit(s).
    expect(db().commitCount - commits).to.be.within(1, 3);
    for (const h of HOSTS) {
      expect(ctl.patches.hostInInterim(h), h).to.equal(false);
      expect(current(h), h).to.equal("No");
    }
    expect(ctl.patches.show(["BATCH_0001"]).patches[0]!.patchState).to.equal("Partial-Apply");
  });

  it("a failed batch rejects each of its callers and changes nothing; the same reports then go through", async () => {
    // The batch's transaction body fails (as a refused write would): only this one step is replaced.
    const pm = ctl.patches as unknown as { onHostReports: (...a: unknown[]) => Promise<unknown> };
    const real = pm.onHostReports;
    let calls = 0;
    pm.onHostReports = async () => {
      calls++;
      throw new Error("injected: store refused");
    };
    try {
      const results = await Promise.allSettled(HOSTS.map((h) => ctl.hosts.report(h, report(withPatch()))));
      expect(calls).to.be.greaterThan(0);
      for (const r of results) {
        expect(r.status).to.equal("rejected");
        expect(((r as PromiseRejectedResult).reason as Error).message).to.equal("injected: store refused");
      }
      // Memory as before: the hosts still show the old packages.
      for (const h of HOSTS) expect(current(h), h).to.equal("No");
      expect(ctl.patches.show(["BATCH_0001"]).patches[0]!.patchState).to.equal("Partial-Apply");
    } finally {
      pm.onHostReports = real;
    }
    // Two reports of the same host in one batch: the later one wins.
    await Promise.all([...HOSTS.map((h) => ctl.hosts.report(h, report(withPatch()))), ctl.hosts.report(HOSTS[0]!, report(base()))]);
    expect(current(HOSTS[0]!)).to.equal("No");
    for (const h of HOSTS.slice(1)) expect(current(h), h).to.equal("Yes");
    expect(ctl.patches.show(["BATCH_0001"]).patches[0]!.patchState).to.equal("Partial-Apply");
    await ctl.hosts.report(HOSTS[0]!, report(withPatch()));
    expect(current(HOSTS[0]!)).to.equal("Yes");
    expect(ctl.patches.show(["BATCH_0001"]).patches[0]!.patchState).to.equal("Applied");
  });
});
