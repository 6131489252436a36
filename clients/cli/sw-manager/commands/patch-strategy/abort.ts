import { NotFoundError, PreconditionError } from "../../../../sdk/src/index.js";
import { renderStrategy } from "../../render/strategy-show.js";
import { ActionFailure, type StrategyAction } from "../../command.js";
import { parseStageId } from "./stage-id.js";

/** `sw-manager patch-strategy abort [--stage-id N]`. */
export const abortAction: StrategyAction = {
  name: "abort",
  summary: "Abort a strategy",
  usage: "patch-strategy abort [--stage-id STAGE_ID]",
  help: "  --stage-id STAGE_ID                               stage identifier to abort",
  options: { "stage-id": { type: "string" } },
  validate: (values) => parseStageId(values["stage-id"]).error,
  async run({ client, values, out }) {
    const { stageId } = parseStageId(values["stage-id"]);
    const failed = stageId === undefined ? "Strategy abort failed" : `Strategy stage ${stageId} abort failed`;
    try {
      const r = await client.orchestration.abortStrategy(stageId === undefined ? {} : { stageId });
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
