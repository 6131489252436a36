import { expect } from "chai";
import { DomainError } from "../../../server/domain/errors.js";
import { Orchestrator } from "../../../server/domain/orchestration/orchestrator.js";
import { canonicalJson, loadBasis, planBasis, planDrift, planHash } from "../../../server/domain/orchestration/plan-hash.js";
import type { Strategy } from "../../../server/domain/orchestration/model.js";
import { createMemoryStrategyPersistence } from "../../lib/memory-strategy-persistence.js";
import { FakeCluster } from "./fake-cluster.js";
import { host, snapshot, standard222 } from "./fixtures.js";

async function builtStrategy(cluster: FakeCluster, opts: Parameters<Orchestrator["create"]>[0] = {}): Promise<{ orch: Orchestrator; s: Strategy }> {
  const orch = new Orchestrator({ port: cluster, persistence: createMemoryStrategyPersistence(), timeScale: 0.0002, auditIntervalS: 1 });
  await orch.create(opts);
  await orch.idle();
  return { orch, s: orch.get() };
}

/** apply (all stages) with --plan-hash. */
const applyAll = (orch: Orchestrator, hash: string) => {
  const allStages: number | undefined = undefined;
  return orch.apply(allStages, hash);
};

async function refusal(p: Promise<unknown>): Promise<DomainError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(DomainError);
    return e as DomainError;
  }
  return expect.fail("expected a refusal");
}

describe("plan hash (issue 20)", () => {
  it("canonical JSON sorts keys at every level and keeps array order", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: "x" } })).to.equal('{"a":{"c":"x","d":[2,1]},"b":1}');
    expect(canonicalJson({ a: 1, b: 2 })).to.equal(canonicalJson({ b: 2, a: 1 }));
  });

  it("is stable across key order and inventory order, and is sealed at build", async () => {
    const { orch, s } = await builtStrategy(new FakeCluster(standard222()));
    expect(s.planHash).to.match(/^[0-9a-f]{64}$/);
    // The stored (compact) basis is the one the hash was taken over.
    expect(loadBasis(s.planBasis!)).to.deep.equal(planBasis(snapshot(standard222())));
    // The same strategy with its keys inserted in reverse order, and the inventory listed backwards.
    const reversed = Object.fromEntries(Object.entries(s).reverse()) as unknown as Strategy;
    const snapBackwards = snapshot(standard222().reverse());
    expect(planHash(reversed, planBasis(snapBackwards))).to.equal(s.planHash);
    await orch.close();
  });

  it("changes with each kind of drift and with the options", async () => {
    const base = snapshot(standard222());
    const { orch, s } = await builtStrategy(new FakeCluster(standard222()));
    const h0 = planHash(s, planBasis(base));
    expect(h0).to.equal(s.planHash);
    const variants: [string, ReturnType<typeof snapshot>][] = [
      ["host added", snapshot([...standard222(), host("compute-2")])],
      [
        "host state",
        snapshot(standard222().map((h) => (h.hostname === "compute-1" ? { ...h, adminState: "locked" as const, operationalState: "disabled" as const } : h))),
      ],
      ["patch state", snapshot(standard222(), { patches: [{ id: "PATCH_0001", patchState: "Applied" }] })],
      [
        "alarm",
        snapshot(standard222(), {
          alarms: [{ uuid: "a", alarmId: "100.101", entityInstanceId: "host=compute-0", severity: "major", mgmtAffecting: true, raisedAt: new Date() }],
        }),
      ],
    ];
    const seen = new Set([h0]);
    for (const [what, snap] of variants) {
      const h = planHash(s, planBasis(snap));
      expect(seen.has(h), what).to.equal(false);
      seen.add(h);
    }
    // The orchestration's own alarm is not drift.
    const own = snapshot(standard222(), {
      alarms: [{ uuid: "o", alarmId: "900.101", entityInstanceId: "orchestration=sw-patch", severity: "major", mgmtAffecting: false, raisedAt: new Date() }],
    });
    expect(planHash(s, planBasis(own))).to.equal(h0);
    expect(planHash({ ...s, maxParallelWorkerHosts: 3 }, planBasis(base))).to.not.equal(h0);
    await orch.close();
  });

  it("names each drift", () => {
    const before = planBasis(snapshot(standard222()));
    const after = planBasis(
      snapshot(
        [...standard222().filter((h) => h.hostname !== "storage-1"), host("compute-2")].map((h) =>
          h.hostname === "compute-0" ? { ...h, adminState: "locked" as const, operationalState: "disabled" as const, availability: "online" } : h,
        ),
        {
          patches: [{ id: "PATCH_0001", patchState: "Applied" }],
          alarms: [{ uuid: "a", alarmId: "100.101", entityInstanceId: "host=compute-1", severity: "major", mgmtAffecting: true, raisedAt: new Date() }],
        },
      ),
    );
    expect(planDrift(before, after)).to.deep.equal([
      "host compute-0 changed state unlocked-enabled-available -> locked-disabled-online",
      "host compute-2 added",
      "host storage-1 removed",
      "patch PATCH_0001 state Partial-Apply -> Applied",
      "new alarm 100.101 (host=compute-1)",
    ]);
    expect(planDrift(before, before)).to.deep.equal([]);
  });

  it("apply --plan-hash: applies when nothing drifted, refuses a wrong hash and a drifted cluster naming the change", async () => {
    const cluster = new FakeCluster(standard222());
    const { orch, s } = await builtStrategy(cluster);
    const wrong = await refusal(applyAll(orch, "0".repeat(64)));
    expect(wrong.kind).to.equal("failed-precondition");
    expect(wrong.message).to.contain("does not match the strategy's plan hash");
    cluster.snap.hosts.push(host("compute-2"));
    cluster.snap.alarms.push({ uuid: "a", alarmId: "100.101", entityInstanceId: "host=compute-0", severity: "major", mgmtAffecting: true, raisedAt: new Date() });
    const drift = await refusal(applyAll(orch, s.planHash!));
    expect(drift.kind).to.equal("failed-precondition");
    expect(drift.message).to.equal("cluster drifted since the plan was built: host compute-2 added; new alarm 100.101 (host=compute-0)");
    expect(orch.get().state).to.equal("ready-to-apply");
    cluster.snap.hosts.pop();
    cluster.snap.alarms.pop();
    const applying = await orch.apply(0, s.planHash!.toUpperCase());
    expect(applying.state).to.equal("applying");
    await orch.idle();
    // The stage the strategy applied itself changed its hosts: not drift for the next stage.
    expect(orch.get().applyPhase.currentStage).to.equal(1);
    const next = await orch.apply(1, s.planHash!);
    expect(next.state).to.equal("applying");
    await orch.abort();
    await orch.idle();
    await orch.close();
  });

  it("apply without --plan-hash behaves as the reference even when the cluster drifted", async () => {
    const cluster = new FakeCluster(standard222());
    const { orch } = await builtStrategy(cluster);
    cluster.snap.patches[0]!.patchState = "Applied";
    expect((await orch.apply()).state).to.equal("applying");
    await orch.idle();
    expect(orch.get().state).to.equal("applied");
    await orch.close();
  });
});
