/**
 * ROLLOUT (issue 20): the canary. Pure. The canary hosts (`--canary N`: the first N hosts in the
 * strategy's own order; `--canary-hosts a,b`) are built into the first apply stage(s), with workers
 * and storage hosts together in one stage, and the last canary stage ends with a `soak` step of
 * `--soak` seconds while the health gate must stay green. The other hosts follow as the §7 builder
 * lays them out.
 */
import { buildApplyStages, type BuildOutcome } from "./builder.js";
import { MAX_PARALLEL_WORKER_HOSTS, MIN_PARALLEL_WORKER_HOSTS, newStage, newStep, type RolloutOptions, type StrategyOptions, type StrategyStage } from "./model.js";
import type { ClusterSnapshot } from "./ports.js";

/** Seconds a soak step may run beyond its soak before it times out. */
export const SOAK_GRACE_S = 60;

/** The hosts a stage patches, in order. */
export function stageHosts(stage: StrategyStage): string[] {
  return stage.steps.filter((s) => s.name === "sw-patch-hosts").flatMap((s) => s.hosts);
}

/** Like buildApplyStages, with the canary first; `canaryStages` says how many stages it takes. */
export function buildWithCanary(
  options: StrategyOptions,
  rollout: Pick<RolloutOptions, "canary" | "canaryHosts" | "soakSeconds">,
  snapshot: ClusterSnapshot,
  extraIgnoredAlarms: readonly string[] = [],
): BuildOutcome & { canaryStages: number } {
  const full = buildApplyStages(options, snapshot, extraIgnoredAlarms);
  if (!full.ok || (rollout.canary === 0 && rollout.canaryHosts.length === 0)) return { ...full, canaryStages: 0 };
  const order = full.stages.flatMap(stageHosts);
  let canary: string[];
  if (rollout.canaryHosts.length > 0) {
    const missing = rollout.canaryHosts.filter((h) => !order.includes(h));
    if (missing.length > 0) return { ok: false, reason: `canary host(s) not in the strategy: ${missing.join(", ")}`, canaryStages: 0 };
    canary = order.filter((h) => rollout.canaryHosts.includes(h));
  } else {
    canary = order.slice(0, rollout.canary);
  }
  const only = (keep: (h: string) => boolean): ClusterSnapshot => ({
    ...snapshot,
    hosts: snapshot.hosts.map((h) => (keep(h.hostname) ? h : { ...h, patchCurrent: true })),
  });
  const together: StrategyOptions = {
    ...options,
    workerApplyType: options.workerApplyType === "ignore" ? "ignore" : "parallel",
    storageApplyType: options.storageApplyType === "ignore" ? "ignore" : "parallel",
    maxParallelWorkerHosts: Math.min(MAX_PARALLEL_WORKER_HOSTS, Math.max(MIN_PARALLEL_WORKER_HOSTS, options.maxParallelWorkerHosts, canary.length)),
  };
  const first = buildApplyStages(
    together,
    only((h) => canary.includes(h)),
    extraIgnoredAlarms,
  );
  if (!first.ok) return { ...first, canaryStages: 0 };
  const rest =
    canary.length === order.length
      ? ({ ok: true, stages: [] } as const)
      : buildApplyStages(
          options,
          only((h) => !canary.includes(h)),
          extraIgnoredAlarms,
        );
  if (!rest.ok) return { ...rest, canaryStages: 0 };
  const stages = [...first.stages];
  if (rollout.soakSeconds > 0) {
    const last = stages[stages.length - 1]!;
    stages[stages.length - 1] = newStage(last.name, [...last.steps, newStep("soak", { timeout: rollout.soakSeconds + SOAK_GRACE_S })]);
  }
  const all = [...stages, ...rest.stages];
  all.forEach((s, i) => (s.stageId = i));
  return { ok: true, stages: all, canaryStages: first.stages.length };
}
