import { stageAction } from "./stage-action.js";

const base = stageAction("apply", (client, req, values) =>
  client.orchestration.applyStrategy({ ...req, ...(typeof values["plan-hash"] === "string" ? { planHash: values["plan-hash"] } : {}) }),
);

/** `sw-manager patch-strategy apply [--stage-id N] [--plan-hash HASH]` (plan hash: issue 20). */
export const applyAction = {
  ...base,
  usage: `${base.usage} [--plan-hash HASH]`,
  help: `${base.help}\n  --plan-hash HASH                                 refuse when the plan or the cluster changed since create printed HASH`,
  options: { ...base.options, "plan-hash": { type: "string" as const } },
};
