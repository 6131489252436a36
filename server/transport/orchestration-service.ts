import type { CallContext } from "nice-grpc";
import { WatchStrategyResponse, type OrchestrationServiceImplementation } from "../../clients/sdk/src/gen/swpatch/v1/orchestration_service.js";
import type { Strategy } from "../domain/orchestration/model.js";
import type { Orchestrator } from "../domain/orchestration/orchestrator.js";
import { SharedResponses } from "./shared-encoding.js";
import { createOptionsFromRequest, rehearsalToProto, rolloutOptionsFromRequest, stageIdFromRequest, strategyToProto } from "./mappers/strategy.js";

/**
 * OrchestrationService over the engine: `sw-manager patch-strategy` semantics. Errors are
 * DomainErrors mapped by the error middleware: NOT_FOUND "No strategy available",
 * ALREADY_EXISTS "strategy already exists of type:sw-patch", FAILED_PRECONDITION with the
 * reference's rejection reason for apply/abort/delete in the wrong state, INVALID_ARGUMENT
 * naming the field (e.g. max_parallel_worker_hosts outside 2..100).
 */
export function createOrchestrationService(o: { orchestrator: Orchestrator }): OrchestrationServiceImplementation {
  const orch = o.orchestrator;
  // One response (and one encoding) per snapshot, shared by every watcher.
  const snapshots = new SharedResponses<Strategy, WatchStrategyResponse>(WatchStrategyResponse, (s) => ({ strategy: strategyToProto(s) }));
  const none: WatchStrategyResponse = { strategy: undefined };
  return {
    async createStrategy(req) {
      const options = createOptionsFromRequest(req);
      return { strategy: strategyToProto(await orch.create(options, rolloutOptionsFromRequest(req))) };
    },
    async getStrategy() {
      return { strategy: strategyToProto(orch.get()) };
    },
    async applyStrategy(req) {
      return { strategy: strategyToProto(await orch.apply(stageIdFromRequest(req.stageId), req.planHash)) };
    },
    async abortStrategy(req) {
      return { strategy: strategyToProto(await orch.abort(stageIdFromRequest(req.stageId))) };
    },
    async deleteStrategy(req) {
      await orch.delete(req.force);
      return {};
    },
    async rehearseStrategy(req, context: CallContext) {
      const seed = req.seed === undefined ? undefined : Number(BigInt.asUintN(32, BigInt(req.seed)));
      return rehearsalToProto(await orch.rehearse({ failRate: req.failRate, runs: req.runs, signal: context.signal, ...(seed === undefined ? {} : { seed }) }));
    },
    // ROLLOUT (issue 20)
    async pauseStrategy() {
      return { strategy: strategyToProto(await orch.pause()) };
    },
    async resumeStrategy() {
      return { strategy: strategyToProto(await orch.resume()) };
    },
    async *watchStrategy(_req, context: CallContext): AsyncIterable<WatchStrategyResponse> {
      for await (const s of orch.watch(context.signal)) yield s ? snapshots.get(s) : none;
    },
  };
}
