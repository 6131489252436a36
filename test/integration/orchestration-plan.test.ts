import { expect } from "chai";
import { Readable } from "node:stream";
import { createServer, Status, type Server } from "nice-grpc";
import { createSwPatchClient, OrchestrationServiceDefinition, SwPatchError, type SwPatchClient } from "../../clients/sdk/src/index.js";
import { main } from "../../clients/cli/sw-manager/main.js";
import { DomainError } from "../../server/domain/errors.js";
import { Orchestrator } from "../../server/domain/orchestration/orchestrator.js";
import { createLogger } from "../../server/lib/log.js";
import { errorMiddleware } from "../../server/transport/errors.js";
import { createOrchestrationService } from "../../server/transport/orchestration-service.js";
import { createVimRestServer, type VimRestServer } from "../../server/transport/vim-rest.js";
import { createMemoryStrategyPersistence } from "../lib/memory-strategy-persistence.js";
import { FakeCluster } from "../unit/orchestration/fake-cluster.js";
import { host, standard222 } from "../unit/orchestration/fixtures.js";

/**
 * Plan hash, windows and rehearsal (issue 20) through OrchestrationService, sw-manager and the VIM
 * REST API, over one engine on a fake cluster (the real-controller window run is in
 * orchestration-windows.test.ts).
 */
describe("plan hash, windows and rehearsal over gRPC, sw-manager and VIM REST", () => {
  let server: Server;
  let orch: Orchestrator;
  let cluster: FakeCluster;
  let client: SwPatchClient;
  let rest: VimRestServer;
  let endpoint: string;

  const cli = async (...argv: string[]) => {
    let stdout = "";
    let stderr = "";
    const rc = await main(argv, {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      stdin: Readable.from([]),
      env: { SWPATCH_ENDPOINT: endpoint },
    });
    return { rc, stdout, stderr };
  };
  const vim = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`http://127.0.0.1:${rest.port}/api/orchestration/sw-patch${path}`, {
      method,
      headers: { "content-type": "application/json", "x-auth-token": "admin" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await r.text();
    return { status: r.status, body: text ? (JSON.parse(text) as Record<string, any>) : undefined }; // eslint-disable-line @typescript-eslint/no-explicit-any -- untyped JSON
  };

  /** Every host needs the patch again (the previous test applied it). */
  const unpatch = () => {
    for (const h of cluster.snap.hosts) h.patchCurrent = false;
  };

  before(async () => {
    cluster = new FakeCluster(standard222());
    orch = new Orchestrator({ port: cluster, persistence: createMemoryStrategyPersistence(), timeScale: 0.0002, auditIntervalS: 1 });
    server = createServer().use(errorMiddleware(createLogger({ level: "silent" })));
    server.add(OrchestrationServiceDefinition, createOrchestrationService({ orchestrator: orch }));
    endpoint = `127.0.0.1:${await server.listen("127.0.0.1:0")}`;
    client = createSwPatchClient({ endpoint });
    rest = await createVimRestServer({
      orchestrator: orch,
      listen: "127.0.0.1:0",
      localTrust: true,
      auth: {
        verify: async () => {
          throw new DomainError("unauthenticated", "unknown token");
        },
      },
    });
  });
  after(async () => {
    client.close();
    await rest.close();
    await orch.close();
    await server.shutdown();
  });

  it("create prints plan-hash after the reference's output; apply --plan-hash refuses drift naming it, and applies when none", async () => {
    const created = await cli("patch-strategy", "create", "--worker-apply-type", "parallel");
    expect(created.rc, created.stderr).to.equal(0);
    const lines = created.stdout.trimEnd().split("\n");
    expect(lines[0]).to.equal("Strategy Patch Strategy:");
    expect(lines.at(-2)).to.equal("  inprogress:                             true");
    const hash = /^plan-hash: ([0-9a-f]{64})$/.exec(lines.at(-1)!)?.[1];
    expect(hash, lines.at(-1)).to.be.a("string");
    const shown = JSON.parse((await cli("--format", "json", "patch-strategy", "show")).stdout) as { strategy: { planHash: string } };
    expect(shown.strategy.planHash).to.equal(hash);
    expect((await vim("GET", "/strategy")).body!.strategy.plan_hash).to.equal(hash);

    cluster.snap.hosts.push(host("compute-2"));
    cluster.host("compute-0").adminState = "locked";
    const refused = await cli("patch-strategy", "apply", "--plan-hash", hash!);
    expect(refused).to.deep.equal({
      rc: 1,
      stdout: "",
      stderr:
        "Strategy apply failed: cluster drifted since the plan was built: host compute-0 changed state unlocked-enabled-available -> locked-enabled-available; host compute-2 added\n",
    });
    try {
      await client.orchestration.applyStrategy({ planHash: hash! });
      expect.fail("expected FAILED_PRECONDITION");
    } catch (e) {
      expect((e as SwPatchError).code).to.equal(Status.FAILED_PRECONDITION);
    }
    const viaRest = await vim("POST", "/strategy/actions", { action: "apply-all", plan_hash: hash });
    expect(viaRest.status).to.equal(500);
    expect(viaRest.body!.faultstring).to.contain("host compute-2 added");
    expect(orch.get().state).to.equal("ready-to-apply");

    cluster.snap.hosts.pop();
    cluster.host("compute-0").adminState = "unlocked";
    const applied = await cli("patch-strategy", "apply", "--plan-hash", hash!);
    expect(applied.rc, applied.stderr).to.equal(0);
    expect(applied.stdout).to.contain("state:                                  applying");
    await orch.idle();
    expect(orch.get().state).to.equal("applied");
    await orch.delete();
  });

  it("rehearse prints the expected duration, failures and where the budget runs out; nothing real is touched", async () => {
    unpatch();
    const none = await cli("patch-strategy", "rehearse");
    expect(none).to.deep.include({ rc: 1, stderr: "Strategy rehearse failed\n" });
    await orch.create();
    await orch.idle();
    const actions = cluster.actions.length;
    const r = await cli("patch-strategy", "rehearse", "--fail-rate", "0.3", "--runs", "10", "--seed", "5");
    expect(r.rc, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^Rehearsal of the Patch Strategy \(simulated; no real host touched\):\n/);
    expect(r.stdout).to.contain("  runs:                                   10\n");
    expect(r.stdout).to.contain("  seed:                                   5\n");
    expect(r.stdout).to.match(/ {2}expected-duration: +(\d+h )?\d+m \d\ds \(min /);
    expect(r.stdout).to.match(/ {2}budget-exhausted: +\d+ of 10 runs\n/);
    expect(r.stdout).to.match(/ {2}on-failure: +abort\n/);
    const grpc = await client.orchestration.rehearseStrategy({ failRate: 0.3, runs: 10, seed: 5 });
    expect(r.stdout).to.contain(`  budget-exhausted:                       ${grpc.budgetExhaustedRuns} of 10 runs\n`);
    const viaRest = await vim("POST", "/strategy/rehearse", { fail_rate: 0.3, runs: 10, seed: 5 });
    expect(viaRest.status).to.equal(200);
    expect(viaRest.body!.rehearsal).to.deep.include({ runs: 10, seed: 5, budget_exhausted_runs: grpc.budgetExhaustedRuns, on_failure: "abort" });
    expect((await vim("POST", "/strategy/rehearse", { fail_rate: 2 })).status).to.equal(400);
    expect(cluster.actions.length).to.equal(actions);
    expect(orch.get().state).to.equal("ready-to-apply");
    await orch.delete();
  });

  it("windows through every front end: create keys, window_state while waiting, bad windows refused", async () => {
    unpatch();
    const bad = await cli("patch-strategy", "create", "--window", "Caturday 02:00-06:00");
    expect(bad).to.deep.include({ rc: 1 });
    expect(bad.stderr).to.contain('unknown day "Caturday"');
    // A window that is never now: one minute, a day from now.
    const later = new Date(Date.now() + 86_400_000);
    const day = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][later.getUTCDay()]!;
    const hhmm = (d: Date) => `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;
    const spec = `${day} ${hhmm(later)}-${hhmm(new Date(later.getTime() + 120_000))}`;
    const created = await vim("POST", "/strategy", {
      "controller-apply-type": "serial",
      "storage-apply-type": "serial",
      "worker-apply-type": "serial",
      "default-instance-action": "stop-start",
      windows: [spec],
      window_tz: "UTC",
      cutoff_minutes: 1,
    });
    expect(created.status).to.equal(200);
    expect(created.body!.strategy).to.deep.include({ windows: [spec], window_tz: "UTC", cutoff_minutes: 1 });
    await orch.idle();
    const actionsBefore = cluster.actions.length;
    await orch.apply();
    const ac = new AbortController();
    let s = (await client.orchestration.getStrategy({})).strategy!;
    for await (const x of client.watchStrategy({ signal: ac.signal })) {
      s = x;
      if (x.windowState) break;
    }
    ac.abort();
    expect(s.windowState).to.equal(`waiting for window ${spec.split(" ")[0]} ${hhmm(later)} UTC`);
    expect(s.nextWindowStart!.getTime()).to.equal(Math.floor(later.getTime() / 60_000) * 60_000);
    expect((await vim("GET", "/strategy")).body!.strategy.window_state).to.equal(s.windowState);
    expect(cluster.actions.slice(actionsBefore)).to.deep.equal([]);
    await orch.abort();
    await orch.idle();
    expect(orch.get().state).to.equal("aborted");
    await orch.delete();
  });
});
