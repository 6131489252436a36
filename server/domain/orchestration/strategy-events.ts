import type { NewEvent } from "../events/event-log.js";
import type { Strategy, StrategyStage, StrategyStep } from "./model.js";

/** The `strategy.state` event of a state change. */
export function stateEvent(oldState: string, newState: string, uuid: string, message = ""): NewEvent {
  return { kind: "strategy.state", oldState, newState, operationId: uuid, message };
}

/** The `strategy.step` event of a step's progress. */
export function stepEvent(s: Strategy, phase: string, stage: StrategyStage, step: StrategyStep): NewEvent {
  return {
    kind: "strategy.step",
    operationId: s.uuid,
    hostname: step.hosts.join(","),
    newState: step.result,
    message: `${phase} stage ${stage.stageId} step ${step.stepId} ${step.name}${step.reason ? `: ${step.reason}` : ""}`,
  };
}
