/**
 * The console's orchestration routes: get, create (options checked with the `sw-manager` CLI's
 * argparse wording), apply, abort, delete.
 */
import type { DomainError } from "../../domain/errors.js";
import type { Orchestrator } from "../../domain/orchestration/orchestrator.js";
import type { StrategyOptions } from "../../domain/orchestration/model.js";
import { HttpError } from "../http/errors.js";
import { discardBody } from "../http/body.js";
import { type ApiFn, CONSOLE_ACTIONS, type Ctx, jsonBody, MAX_JSON } from "./console-common.js";
import { strategyView } from "./views.js";

const CHOICES: Record<string, readonly string[]> = {
  controllerApplyType: ["serial", "ignore"],
  storageApplyType: ["serial", "parallel", "ignore"],
  workerApplyType: ["serial", "parallel", "ignore"],
  defaultInstanceAction: ["stop-start", "migrate"],
  alarmRestrictions: ["strict", "relaxed"],
};
const FLAG: Record<string, string> = {
  controllerApplyType: "controller-apply-type",
  storageApplyType: "storage-apply-type",
  workerApplyType: "worker-apply-type",
  defaultInstanceAction: "instance-action",
  alarmRestrictions: "alarm-restrictions",
};

/** Strategy options from a create request; 400 with the CLI's wording for a bad choice. */
export function strategyOptionsOf(b: Record<string, unknown>): Partial<StrategyOptions> {
  const opts: Partial<StrategyOptions> = {};
  for (const [k, choices] of Object.entries(CHOICES)) {
    const v = b[k];
    if (v === undefined || v === "") continue;
    if (typeof v !== "string" || !choices.includes(v)) {
      throw new HttpError(400, "bad choice", {
        error: `argument --${FLAG[k]}: invalid choice: '${String(v).slice(0, 32)}' (choose from ${choices.map((c) => `'${c}'`).join(", ")})`,
      });
    }
    (opts as Record<string, unknown>)[k] = v;
  }
  const max = b.maxParallelWorkerHosts;
  if (max !== undefined && max !== "" && max !== null) {
    const n = Number(max);
    if (!Number.isInteger(n) || n < 2 || n > 100) {
      throw new HttpError(400, "bad max", { error: `argument --max-parallel-worker-hosts: invalid choice: ${String(max).slice(0, 16)} (choose from 2..100)` });
    }
    opts.maxParallelWorkerHosts = n;
  }
  return opts;
}

const stageOf = (b: Record<string, unknown>): number | undefined => {
  const v = b.stageId;
  if (v === undefined || v === null || v === "") return undefined;
  if (!/^\d+$/.test(String(v))) throw new HttpError(400, "bad stage", { error: `argument --stage-id: invalid value: '${String(v).slice(0, 16)}'` });
  return Number(v);
};

/** Registers the orchestration routes. */
export function registerStrategyRoutes(api: ApiFn, orchestrator: Orchestrator): void {
  /** The stage a request asked for, for the wording of its failure. */
  const stages = new WeakMap<Ctx, number>();
  const stageWording = (verb: string) => (e: DomainError, ctx: Ctx) => {
    const stage = stages.get(ctx);
    const failed = stage === undefined ? `Strategy ${verb} failed` : `Strategy stage ${stage} ${verb} failed`;
    return e.kind === "failed-precondition" ? `${failed}: ${e.message}` : failed;
  };

  api(["GET"], "/api/strategy", "/swpatch.v1.OrchestrationService/GetStrategy", async () => ({ body: { strategy: strategyView(orchestrator.current()) } }));

  api(
    ["POST"],
    "/api/strategy",
    CONSOLE_ACTIONS.createStrategy,
    async (ctx) => {
      const opts = strategyOptionsOf(await jsonBody(ctx));
      const s = await orchestrator.create(opts);
      return { body: { strategy: strategyView(s) }, target: `strategy=${s.uuid}` };
    },
    {
      wording: (e) =>
        e.kind === "already-exists"
          ? `Operation failed: conflict detected. ${e.message || "strategy already exists."}`
          : e.kind === "invalid-argument"
            ? e.message
            : "Strategy creation failed",
    },
  );

  api(
    ["POST"],
    "/api/strategy/apply",
    CONSOLE_ACTIONS.applyStrategy,
    async (ctx) => {
      const stage = stageOf(await jsonBody(ctx));
      if (stage !== undefined) stages.set(ctx, stage);
      const s = await orchestrator.apply(stage);
      return { body: { strategy: strategyView(s) }, target: stage === undefined ? "all stages" : `stage=${stage}` };
    },
    { wording: stageWording("apply") },
  );

  api(
    ["POST"],
    "/api/strategy/abort",
    CONSOLE_ACTIONS.abortStrategy,
    async (ctx) => {
      const stage = stageOf(await jsonBody(ctx));
      if (stage !== undefined) stages.set(ctx, stage);
      const s = await orchestrator.abort(stage);
      return { body: { strategy: strategyView(s) }, target: stage === undefined ? "all stages" : `stage=${stage}` };
    },
    { wording: stageWording("abort") },
  );

  api(
    ["DELETE"],
    "/api/strategy",
    CONSOLE_ACTIONS.deleteStrategy,
    async (ctx) => {
      await discardBody(ctx.req, MAX_JSON);
      await orchestrator.delete(false);
      return { body: { info: "Strategy deleted" } };
    },
    { wording: (e) => (e.kind === "failed-precondition" ? `Operation failed: conflict detected. ${e.message}` : "Strategy delete failed") },
  );
}
