import { NotFoundError, PreconditionError } from "../../../../sdk/src/index.js";
import { renderStrategy } from "../../render/strategy-show.js";
import { ActionFailure, type StrategyAction } from "../../command.js";
import { parseStageId } from "./stage-id.js";

/** `sw-manager patch-strategy apply [--stage-id N]`. */
export const applyAction: StrategyAction = {
  name: "apply",
  summary: "Apply a strategy",
  usage: "patch-strategy apply [--stage-id STAGE_ID]",
  help: "  --stage-id STAGE_ID                               stage identifier to apply",
  options: { "stage-id": { type: "string" } },
  validate: (values) => parseStageId(values["stage-id"]).error,
  async run({ client, values, out }) {
    const { stageId } = parseStageId(values["stage-id"]);
    const failed = stageId === undefined ? "Strategy apply failed" : `Strategy stage ${stageId} apply failed`;
    try {
      const r = await client.orchestration.applyStrategy(stageId === undefined ? {} : { stageId });
      if (!r.strategy) throw new ActionFailure(failed);
      out(renderStrategy(r.strategy));
      return 0;
    } catch (e) {
      if (e instanceof NotFoundError) throw new ActionFailure(failed);
      if (e instanceof PreconditionError) throw new ActionFailure(`${failed}: ${e.message}`);
      throw e;
    }
  },
};
