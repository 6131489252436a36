import { stageAction } from "./stage-action.js";

/** `sw-manager patch-strategy apply [--stage-id N]`. */
export const applyAction = stageAction("apply", (client, req) => client.orchestration.applyStrategy(req));
