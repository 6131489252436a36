import { NotFoundError, type Strategy } from "../../../../sdk/src/index.js";
import { renderStrategy } from "../../render/strategy-show.js";
import type { StrategyAction } from "../../command.js";

const SETTLED = new Set(["ready-to-apply", "applied", "aborted", "build-failed", "build-timeout", "abort-failed", "abort-timeout"]);

/** True when nothing will change without an operator action. */
function settled(s: Strategy): boolean {
  if (SETTLED.has(s.state)) return true;
  const p = s.applyPhase;
  // Paused after `apply --stage-id N`.
  return s.state === "applying" && !!p && p.inprogress && p.currentStage >= p.stopAtStage && !p.stages.some((x) => x.inprogress);
}

/** `sw-manager patch-strategy show [--details] [--active] [--error-details] [--watch]`. */
export const showAction: StrategyAction = {
  name: "show",
  summary: "Show a strategy",
  usage: "patch-strategy show [--details] [--active] [--error-details] [--watch]",
  help: [
    "  --details                                         show strategy details",
    "  --active                                          show currently active strategy step",
    "  --error-details                                   show error details of failed strategy",
    "  --watch                                           print the strategy again after every change until it settles",
  ].join("\n"),
  options: { details: { type: "boolean" }, active: { type: "boolean" }, "error-details": { type: "boolean" }, watch: { type: "boolean" } },
  async run({ client, values, out }) {
    const opts = { details: values.details === true, active: values.active === true, errorDetails: values["error-details"] === true };
    if (values.watch === true) {
      const ac = new AbortController();
      let first = true;
      try {
        for await (const s of client.orchestration.watchStrategy({}, { signal: ac.signal })) {
          if (!first) out("\n");
          first = false;
          if (!s.strategy) {
            out("No strategy available\n");
            break;
          }
          out(renderStrategy(s.strategy, opts));
          if (settled(s.strategy)) break;
        }
      } finally {
        ac.abort();
      }
      return 0;
    }
    try {
      const r = await client.orchestration.getStrategy({});
      if (!r.strategy) {
        out("No strategy available\n");
        return 0;
      }
      out(renderStrategy(r.strategy, opts));
    } catch (e) {
      if (e instanceof NotFoundError) {
        out("No strategy available\n");
        return 0;
      }
      throw e;
    }
    return 0;
  },
};
