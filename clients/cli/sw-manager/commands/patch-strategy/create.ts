import { AlarmRestrictions, AlreadyExistsError, ApplyType, InstanceAction } from "../../../../sdk/src/index.js";
import { ActionFailure, type StrategyAction } from "../../command.js";
import type { SwPatchClient } from "../../../../sdk/src/index.js";

/** Waits (at most `maxMs`) for strategy `uuid` to leave `building`; its plan hash, or "" (build failed, replaced, or no answer). */
async function builtPlanHash(client: SwPatchClient, uuid: string, maxMs = 600_000): Promise<string> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), maxMs);
  try {
    for await (const s of client.watchStrategy({ signal: ac.signal })) {
      if (s.uuid !== uuid) return "";
      if (s.state !== "building") return s.planHash;
    }
  } catch {
    // The hash is extra output: a watch that fails leaves the reference's output as it is.
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return "";
}
import { ROLLOUT_HELP, ROLLOUT_OPTIONS, ROLLOUT_USAGE, rolloutRequest, validateRollout } from "./rollout-flags.js";

const APPLY: Record<string, ApplyType> = { serial: ApplyType.APPLY_TYPE_SERIAL, parallel: ApplyType.APPLY_TYPE_PARALLEL, ignore: ApplyType.APPLY_TYPE_IGNORE };

/** Choices per option (spec orchestration §2.1); the first one is the default. */
export const CREATE_CHOICES: Record<string, readonly string[]> = {
  "controller-apply-type": ["serial", "ignore"],
  "storage-apply-type": ["serial", "parallel", "ignore"],
  "worker-apply-type": ["serial", "parallel", "ignore"],
  "instance-action": ["stop-start", "migrate"],
  "alarm-restrictions": ["strict", "relaxed"],
};

/** `sw-manager patch-strategy create`. */
export const createAction: StrategyAction = {
  name: "create",
  summary: "Create a strategy",
  usage:
    "patch-strategy create [--controller-apply-type {serial,ignore}] [--storage-apply-type {serial,parallel,ignore}] " +
    "[--worker-apply-type {serial,parallel,ignore}] [--max-parallel-worker-hosts {2..100}] " +
    "[--instance-action {stop-start,migrate}] [--alarm-restrictions {strict,relaxed}] " +
    '[--window "DAYS HH:MM-HH:MM" ...] [--window-tz ZONE] [--cutoff MINUTES]' +
    ROLLOUT_USAGE,
  help: [
    "  --controller-apply-type {serial,ignore}           defaults to serial",
    "  --storage-apply-type {serial,parallel,ignore}     defaults to serial",
    "  --worker-apply-type {serial,parallel,ignore}      defaults to serial",
    "  --max-parallel-worker-hosts {2..100}              maximum worker hosts to patch in parallel",
    "  --instance-action {stop-start,migrate}            defaults to stop-start",
    "  --alarm-restrictions {strict,relaxed}             inspect alarms for strict or relaxed restrictions",
    '  --window "DAYS HH:MM-HH:MM"                       hosts start only in these windows (repeatable; e.g. "Sat,Sun 02:00-06:00")',
    "  --window-tz ZONE                                  IANA time zone of the windows (default UTC)",
    "  --cutoff MINUTES                                  no host starts later than this before a window's end",
    ...ROLLOUT_HELP,
  ].join("\n"),
  options: {
    "controller-apply-type": { type: "string" },
    "storage-apply-type": { type: "string" },
    "worker-apply-type": { type: "string" },
    "max-parallel-worker-hosts": { type: "string" },
    "instance-action": { type: "string" },
    "alarm-restrictions": { type: "string" },
    window: { type: "string", multiple: true },
    "window-tz": { type: "string" },
    cutoff: { type: "string" },
    ...ROLLOUT_OPTIONS,
  },
  validate(values) {
    const rollout = validateRollout(values);
    if (rollout) return rollout;
    for (const [opt, choices] of Object.entries(CREATE_CHOICES)) {
      const v = values[opt];
      if (v !== undefined && !choices.includes(String(v))) {
        return `argument --${opt}: invalid choice: '${String(v)}' (choose from ${choices.map((c) => `'${c}'`).join(", ")})`;
      }
    }
    const max = values["max-parallel-worker-hosts"];
    if (max !== undefined) {
      const n = Number(max);
      if (!/^\d+$/.test(String(max)) || n < 2 || n > 100) {
        return `argument --max-parallel-worker-hosts: invalid choice: ${String(max)} (choose from 2..100)`;
      }
    }
    const cutoff = values.cutoff;
    if (cutoff !== undefined && !/^\d+$/.test(String(cutoff))) return `argument --cutoff: invalid int value: '${String(cutoff)}'`;
    if ((cutoff !== undefined || values["window-tz"] !== undefined) && !values.window) return "argument --cutoff/--window-tz: needs at least one --window";
    return undefined;
  },
  async run({ client, values, printStrategy, out, json }) {
    const get = (k: string) => String(values[k] ?? CREATE_CHOICES[k]![0]);
    try {
      const r = await client.orchestration.createStrategy({
        controllerApplyType: APPLY[get("controller-apply-type")]!,
        storageApplyType: APPLY[get("storage-apply-type")]!,
        workerApplyType: APPLY[get("worker-apply-type")]!,
        swiftApplyType: ApplyType.APPLY_TYPE_IGNORE,
        maxParallelWorkerHosts: values["max-parallel-worker-hosts"] === undefined ? 0 : Number(values["max-parallel-worker-hosts"]),
        instanceAction: get("instance-action") === "migrate" ? InstanceAction.INSTANCE_ACTION_MIGRATE : InstanceAction.INSTANCE_ACTION_STOP_START,
        alarmRestrictions: get("alarm-restrictions") === "relaxed" ? AlarmRestrictions.ALARM_RESTRICTIONS_RELAXED : AlarmRestrictions.ALARM_RESTRICTIONS_STRICT,
        windows: Array.isArray(values.window) ? values.window : [],
        windowTz: typeof values["window-tz"] === "string" ? values["window-tz"] : "",
        cutoffMinutes: values.cutoff === undefined ? 0 : Number(values.cutoff),
        ...rolloutRequest(values),
      });
      if (!r.strategy) throw new ActionFailure("Strategy creation failed");
      printStrategy(r.strategy);
      // After the reference's output: the plan hash, once the build is done (none when it failed).
      if (!json) {
        const hash = await builtPlanHash(client, r.strategy.uuid);
        if (hash) out(`plan-hash: ${hash}\n`);
      }
      return 0;
    } catch (e) {
      if (e instanceof AlreadyExistsError) throw new ActionFailure(`Operation failed: conflict detected. ${e.message || "strategy already exists."}`);
      throw e;
    }
  },
};
