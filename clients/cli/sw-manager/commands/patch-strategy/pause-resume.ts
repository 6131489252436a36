/** ROLLOUT (issue 20): `sw-manager patch-strategy pause` and `resume`. */
import { NotFoundError, PreconditionError, type Strategy, type SwPatchClient } from "../../../../sdk/src/index.js";
import { ActionFailure, type StrategyAction } from "../../command.js";

function simpleAction(verb: "pause" | "resume", summary: string, call: (client: SwPatchClient) => Promise<{ strategy?: Strategy | undefined }>): StrategyAction {
  return {
    name: verb,
    summary,
    usage: `patch-strategy ${verb}`,
    help: "",
    options: {},
    async run({ client, printStrategy }) {
      const failed = `Strategy ${verb} failed`;
      try {
        const r = await call(client);
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

/** `patch-strategy pause`: the strategy stops at the next stage boundary. */
export const pauseAction = simpleAction("pause", "Pause a strategy", (c) => c.orchestration.pauseStrategy({}));

/** `patch-strategy resume`: a paused strategy carries on. */
export const resumeAction = simpleAction("resume", "Resume a strategy", (c) => c.orchestration.resumeStrategy({}));
