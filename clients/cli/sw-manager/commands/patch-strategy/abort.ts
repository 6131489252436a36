import { stageAction } from "./stage-action.js";

/** `sw-manager patch-strategy abort [--stage-id N]`. */
export const abortAction = stageAction("abort", (client, req) => client.orchestration.abortStrategy(req));
