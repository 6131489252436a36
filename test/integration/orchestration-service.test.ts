import { expect } from "chai";
import { Readable } from "node:stream";
import { createServer, Status, type Server } from "nice-grpc";
import { ApplyType, createSwPatchClient, OrchestrationServiceDefinition, SwPatchError, type SwPatchClient } from "../../clients/sdk/src/index.js";
import { main } from "../../clients/cli/sw-manager/main.js";
import { Orchestrator } from "../../server/domain/orchestration/orchestrator.js";
import { createMemoryStrategyPersistence } from "../lib/memory-strategy-persistence.js";
import { createLogger } from "../../server/lib/log.js";
import { errorMiddleware } from "../../server/transport/errors.js";
import { createOrchestrationService } from "../../server/transport/orchestration-service.js";
import { FakeCluster } from "../unit/orchestration/fake-cluster.js";
import { standard222 } from "../unit/orchestration/fixtures.js";

async function code(p: Promise<unknown>): Promise<[string, string]> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SwPatchError) return [Status[e.code]!, e.message];
    throw e;
  }
  return ["OK", ""];
}

async function cli(endpoint: string, ...argv: string[]): Promise<{ rc: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const rc = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Readable.from([]),
    env: { SWPATCH_ENDPOINT: endpoint },
  });
  return { rc, stdout, stderr };
}

describe("OrchestrationService over gRPC, and sw-manager patch-strategy", () => {
  let server: Server;
  let orch: Orchestrator;
  let client: SwPatchClient;
  let endpoint: string;

  beforeEach(async () => {
    orch = new Orchestrator({
      port: new FakeCluster(standard222({ requiresReboot: true })),
      persistence: createMemoryStrategyPersistence(),
      timeScale: 0.0002,
      auditIntervalS: 1,
    });
    server = createServer().use(errorMiddleware(createLogger({ level: "silent" })));
    server.add(OrchestrationServiceDefinition, createOrchestrationService({ orchestrator: orch }));
    const port = await server.listen("127.0.0.1:0");
    endpoint = `127.0.0.1:${port}`;
    client = createSwPatchClient({ endpoint });
  });
  afterEach(async () => {
    client.close();
    await orch.close();
    await server.shutdown();
  });

  it("maps every outcome to its status and streams snapshots to applied", async () => {
    const o = client.orchestration;
    expect(await code(o.getStrategy({}))).to.deep.equal(["NOT_FOUND", "No strategy available"]);
    expect(await code(o.applyStrategy({}))).to.deep.equal(["NOT_FOUND", "No strategy available"]);
    expect(await code(o.deleteStrategy({ force: false }))).to.deep.equal(["NOT_FOUND", "No strategy available"]);
    expect(await code(o.createStrategy({ maxParallelWorkerHosts: 101 }))).to.deep.equal([
      "INVALID_ARGUMENT",
      "max_parallel_worker_hosts: must be between 2 and 100, got 101",
    ]);
    expect((await code(o.createStrategy({ workerApplyType: 9 as ApplyType })))[1]).to.match(/^worker_apply_type:/);
    const created = await o.createStrategy({ workerApplyType: ApplyType.APPLY_TYPE_PARALLEL });
    expect(created.strategy!.state).to.equal("building");
    expect(created.strategy!.maxParallelWorkerHosts).to.equal(2);
    expect(await code(o.createStrategy({}))).to.deep.equal(["ALREADY_EXISTS", "strategy already exists of type:sw-patch"]);
    await orch.idle();
    const got = (await o.getStrategy({})).strategy!;
    expect(got.state).to.equal("ready-to-apply");
    expect(got.applyPhase!.stages.map((s) => s.timeout)).to.deep.equal([7876, 7876, 6376, 6376, 4636]);
    expect(got.buildPhase!.startDate).to.be.instanceOf(Date);
    expect(await code(o.applyStrategy({ stageId: 2 }))).to.deep.equal(["FAILED_PRECONDITION", "stage id 2 is not the next stage to be applied, next-stage = 0"]);
    expect(await code(o.abortStrategy({}))).to.deep.equal(["FAILED_PRECONDITION", "apply not inprogress"]);

    const ac = new AbortController();
    const states: string[] = [];
    const watching = (async () => {
      for await (const s of client.watchStrategy({ signal: ac.signal })) {
        states.push(s.state);
        if (s.state === "applied") break;
      }
    })();
    const applied = await o.applyStrategy({});
    expect(applied.strategy!.applyPhase!.timeout).to.equal(33141);
    await watching;
    ac.abort();
    expect(states[0]).to.be.oneOf(["ready-to-apply", "applying"]);
    expect(states).to.include("applying");
    expect(states.at(-1)).to.equal("applied");
    expect(await code(o.applyStrategy({}))).to.deep.equal(["FAILED_PRECONDITION", "apply already completed"]);
    expect(await code(o.deleteStrategy({ force: false }))).to.deep.equal(["OK", ""]);
  });

  it("sw-manager create / show / apply / delete with the reference's output and messages", async () => {
    expect(await cli(endpoint, "patch-strategy", "show")).to.deep.equal({ rc: 0, stdout: "No strategy available\n", stderr: "" });
    const bad = await cli(endpoint, "patch-strategy", "create", "--max-parallel-worker-hosts", "1");
    expect(bad.rc).to.equal(1);
    expect(bad.stderr).to.equal("sw-manager patch-strategy create: error: argument --max-parallel-worker-hosts: invalid choice: 1 (choose from 2..100)\n");
    const created = await cli(endpoint, "patch-strategy", "create", "--worker-apply-type", "parallel");
    expect(created.rc).to.equal(0);
    const lines = created.stdout.split("\n");
    expect(lines[0]).to.equal("Strategy Patch Strategy:");
    expect(lines.slice(2, 11)).to.deep.equal([
      "  controller-apply-type:                  serial",
      "  storage-apply-type:                     serial",
      "  worker-apply-type:                      parallel",
      "  max-parallel-worker-hosts:              2",
      "  default-instance-action:                stop-start",
      "  alarm-restrictions:                     strict",
      "  current-phase:                          build",
      "  current-phase-completion:               0%",
      "  state:                                  building",
    ]);
    expect(lines[11]).to.equal("  inprogress:                             true");
    const dup = await cli(endpoint, "patch-strategy", "create");
    expect(dup).to.deep.include({ rc: 1, stderr: "Operation failed: conflict detected. strategy already exists of type:sw-patch\n" });
    await orch.idle();
    const shown = await cli(endpoint, "--endpoint", endpoint, "patch-strategy", "show");
    expect(shown.stdout.split("\n").slice(9)).to.deep.equal([
      "  current-phase-completion:               100%",
      "  state:                                  ready-to-apply",
      "  build-result:                           success",
      "  build-reason:                           ",
      "",
    ]);
    const stage9 = await cli(endpoint, "patch-strategy", "apply", "--stage-id", "9");
    expect(stage9).to.deep.include({ rc: 1, stderr: "Strategy stage 9 apply failed: invalid stage id 9 for the apply, total-stages are 5\n" });
    const apply = await cli(endpoint, "patch-strategy", "apply");
    expect(apply.rc).to.equal(0);
    expect(apply.stdout).to.include("  state:                                  applying\n  inprogress:                             true\n");
    const watched = await cli(endpoint, "patch-strategy", "show", "--watch");
    expect(watched.rc).to.equal(0);
    expect(watched.stdout.trimEnd().split("\n").slice(-3)).to.deep.equal([
      "  state:                                  applied",
      "  apply-result:                           success",
      "  apply-reason:",
    ]);
    const details = await cli(endpoint, "patch-strategy", "show", "--details");
    expect(details.stdout).to.include("  apply-phase:\n    total-stages:                         5\n");
    expect(details.stdout).to.include("            entity-names:                 ['compute-0', 'compute-1']\n");
    expect(await cli(endpoint, "patch-strategy", "delete")).to.deep.equal({ rc: 0, stdout: "Strategy deleted\n", stderr: "" });
    expect(await cli(endpoint, "patch-strategy", "delete")).to.deep.equal({ rc: 1, stdout: "", stderr: "Strategy delete failed\n" });
    expect(await cli(endpoint, "patch-strategy", "abort", "--stage-id", "1")).to.deep.equal({ rc: 1, stdout: "", stderr: "Strategy stage 1 abort failed\n" });
  });

  it("sw-manager reports an unreachable controller in one line, exit 1", async () => {
    const r = await cli("127.0.0.1:1", "patch-strategy", "show");
    expect(r.rc).to.equal(1);
    expect(r.stderr.split("\n")).to.have.length(2);
    expect(r.stderr).to.match(/^Error: cannot reach the patch controller at 127\.0\.0\.1:1/);
  });
});
