/**
 * ROLLOUT (issue 20): the reverse strategy `--on-failure rollback` runs. Pure.
 *
 * Stage 0 (`sw-patch-rollback`) removes the strategy's patches from the repository; then, for the
 * apply stages that patched hosts (in reverse order, their hosts reversed), the same host actions
 * again: swact, lock, stop instances, host-install (which now takes the hosts back to the
 * repository without the patches), unlock / reboot, start instances. The alarm checks and waits
 * (query-alarms, wait-alarms-clear, wait-data-sync, soak) are left out: a rollback runs because the
 * cluster is unhealthy.
 */
import { newPhase, newStage, newStep, phaseTimeout, type Strategy, type StrategyPhase, type StrategyStage, type StrategyStep } from "./model.js";
import { stageHosts } from "./canary.js";

const DROPPED = new Set(["query-alarms", "wait-alarms-clear", "wait-data-sync", "soak"]);

/** Hosts the apply phase has patched (or started to), in apply order. */
export function patchedHosts(s: Strategy): string[] {
  const out: string[] = [];
  for (const stage of s.applyPhase.stages) {
    const started = stage.steps.some((st) => st.name === "sw-patch-hosts" && st.result !== "initial");
    if (started) for (const h of stageHosts(stage)) if (!out.includes(h)) out.push(h);
  }
  return out;
}

function restrict(step: StrategyStep, hosts: ReadonlySet<string>): StrategyStep | undefined {
  if (step.entityType === "instances") {
    const instances = (step.instances ?? []).filter((i) => hosts.has(i.host));
    return instances.length ? newStep(step.name, { instances, timeout: step.timeout }) : undefined;
  }
  const keep = step.entityNames.map((n, i) => ({ hostname: n, uuid: step.entityUuids[i] ?? "" })).filter((h) => hosts.has(h.hostname));
  if (step.entityType === "hosts" && keep.length === 0) return undefined;
  const copy = newStep(step.name, step.entityType === "hosts" ? { hosts: keep.reverse(), timeout: step.timeout } : { timeout: step.timeout });
  if (step.waitDisabled !== undefined) copy.waitDisabled = step.waitDisabled;
  return copy;
}

/** The rollback phase for `s` (ready to run: in progress from stage 0). */
export function buildRollbackPhase(s: Strategy): StrategyPhase {
  const patched = new Set(patchedHosts(s));
  const stages: StrategyStage[] = [newStage("sw-patch-rollback", [newStep("remove-sw-patches")])];
  for (const stage of [...s.applyPhase.stages].reverse()) {
    const hosts = stageHosts(stage).filter((h) => patched.has(h));
    if (hosts.length === 0) continue;
    const set = new Set(hosts);
    const steps = stage.steps.filter((st) => !DROPPED.has(st.name)).flatMap((st) => restrict(st, set) ?? []);
    stages.push(newStage(stage.name, steps));
  }
  const phase = newPhase("rollback", stages);
  phase.stopAtStage = phase.totalStages;
  phase.timeout = phaseTimeout(phase, 0, phase.totalStages);
  phase.inprogress = true;
  phase.result = "inprogress";
  phase.startDate = new Date().toISOString();
  return phase;
}
