import { NotFoundError, PreconditionError, type SwPatchClient, type Strategy } from "../../../../sdk/src/index.js";
import { ActionFailure, type StrategyAction } from "../../command.js";
import { parseStageId } from "./stage-id.js";

/**
 * `sw-manager patch-strategy apply|abort [--stage-id N]`: one action over the whole strategy or
 * one stage, with the reference's failure wording ("Strategy [stage N ]<verb> failed[: reason]").
 */
export function stageAction(
  verb: "apply" | "abort",
  call: (client: SwPatchClient, req: { stageId?: number }, values: Record<string, unknown>) => Promise<{ strategy?: Strategy | undefined }>,
): StrategyAction {
  return {
    name: verb,
    summary: `${verb[0]!.toUpperCase()}${verb.slice(1)} a strategy`,
    usage: `patch-strategy ${verb} [--stage-id STAGE_ID]`,
    help: `  --stage-id STAGE_ID                               stage identifier to ${verb}`,
    options: { "stage-id": { type: "string" } },
    validate: (values) => parseStageId(values["stage-id"]).error,
    async run({ client, values, printStrategy }) {
      const { stageId } = parseStageId(values["stage-id"]);
      const failed = stageId === undefined ? `Strategy ${verb} failed` : `Strategy stage ${stageId} ${verb} failed`;
      try {
        const r = await call(client, stageId === undefined ? {} : { stageId }, values);
        if (!r.strategy) throw new ActionFailure(failed);
        printStrategy(r.strategy);
        return 0;
      } catch (e) {
        if (e instanceof NotFoundError) throw new ActionFailure(failed);
        if (e instanceof PreconditionError) throw new ActionFailure(`${failed}: ${e.message}`);
        throw e;
      }
    },
  };
}
