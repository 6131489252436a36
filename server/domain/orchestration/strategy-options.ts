import { invalidArgument } from "../errors.js";
import { DEFAULT_OPTIONS, MAX_PARALLEL_WORKER_HOSTS, MIN_PARALLEL_WORKER_HOSTS, type StrategyOptions } from "./model.js";

/**
 * Applies the reference defaults and the VIM's normalisation (§3.1) to create options.
 * INVALID_ARGUMENT "Invalid value for max-parallel-worker-hosts" outside 2..100.
 */
export function normalizeOptions(o: Partial<StrategyOptions>): StrategyOptions {
  const applyType = (v: string | undefined, d: StrategyOptions["controllerApplyType"]) => (v === undefined ? d : v === "serial" || v === "parallel" ? v : "ignore");
  const max = o.maxParallelWorkerHosts ?? DEFAULT_OPTIONS.maxParallelWorkerHosts;
  if (!Number.isInteger(max) || max < MIN_PARALLEL_WORKER_HOSTS || max > MAX_PARALLEL_WORKER_HOSTS) {
    throw invalidArgument("Invalid value for max-parallel-worker-hosts", { reason: "INVALID_MAX_PARALLEL" });
  }
  return {
    controllerApplyType: applyType(o.controllerApplyType, DEFAULT_OPTIONS.controllerApplyType),
    storageApplyType: applyType(o.storageApplyType, DEFAULT_OPTIONS.storageApplyType),
    workerApplyType: applyType(o.workerApplyType, DEFAULT_OPTIONS.workerApplyType),
    swiftApplyType: applyType(o.swiftApplyType, DEFAULT_OPTIONS.swiftApplyType),
    maxParallelWorkerHosts: max,
    defaultInstanceAction:
      o.defaultInstanceAction === undefined ? DEFAULT_OPTIONS.defaultInstanceAction : o.defaultInstanceAction === "migrate" ? "migrate" : "stop-start",
    alarmRestrictions: o.alarmRestrictions === undefined ? DEFAULT_OPTIONS.alarmRestrictions : o.alarmRestrictions === "strict" ? "strict" : "relaxed",
  };
}
