import { formatJson } from "../../../render/json.js";
import { NotFoundError, PreconditionError } from "../../../../sdk/src/index.js";
import { ActionFailure, type StrategyAction } from "../../command.js";

/** `sw-manager patch-strategy delete [--force]` (`--force` is hidden, as in the reference). */
export const deleteAction: StrategyAction = {
  name: "delete",
  summary: "Delete a strategy",
  usage: "patch-strategy delete",
  help: "",
  options: { force: { type: "boolean" } },
  async run({ client, values, out, json }) {
    try {
      await client.orchestration.deleteStrategy({ force: values.force === true });
    } catch (e) {
      if (e instanceof NotFoundError) throw new ActionFailure("Strategy delete failed");
      if (e instanceof PreconditionError) throw new ActionFailure(`Operation failed: conflict detected. ${e.message}`);
      throw e;
    }
    out(json ? formatJson({ deleted: true }) : "Strategy deleted\n");
    return 0;
  },
};
