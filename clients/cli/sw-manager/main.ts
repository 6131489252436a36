import { parseArgs } from "node:util";
import { createSwPatchClient, DEFAULT_ENDPOINT, PermissionDeniedError, Strategy, UnauthenticatedError } from "../../sdk/src/index.js";
import { resolveIo, type CliIo } from "../lib/io.js";
import { formatJson } from "../render/json.js";
import { errorLine } from "../sw-patch/errors.js";
import { resolveConnection, UsageProblem } from "../sw-patch/global-options.js";
import { resolveTransport, TRANSPORT_OPTIONS, TransportProblem, type ResolvedTransport } from "../lib/transport.js";
import { ActionFailure, type ActionContext, type OptionSpec, type StrategyAction } from "./command.js";
import { renderStrategy } from "./render/strategy-show.js";
import { abortAction } from "./commands/patch-strategy/abort.js";
import { pauseAction, resumeAction } from "./commands/patch-strategy/pause-resume.js";
import { applyAction } from "./commands/patch-strategy/apply.js";
import { createAction } from "./commands/patch-strategy/create.js";
import { deleteAction } from "./commands/patch-strategy/delete.js";
import { showAction } from "./commands/patch-strategy/show.js";
import { rehearseAction } from "./commands/patch-strategy/rehearse.js";

/** The `patch-strategy` actions, in the reference's order. */
export const ACTIONS: readonly StrategyAction[] = [
  createAction,
  deleteAction,
  applyAction,
  abortAction,
  showAction,
  // PLAN (issue 20)
  rehearseAction,
  // ROLLOUT (issue 20)
  pauseAction,
  resumeAction,
];

/**
 * Global options. The controller and token are found as sw-patch finds them (`--endpoint`/
 * SWPATCH_ENDPOINT; `--token`, `--token-file`, SWPATCH_TOKEN, SWPATCH_TOKEN_FILE, then
 * ./data/admin.token); the reference's OpenStack options are accepted for compatibility and
 * ignored (the controller is reached directly, not through Keystone).
 */
const GLOBAL_OPTIONS: OptionSpec = {
  endpoint: { type: "string" },
  token: { type: "string" },
  "token-file": { type: "string" },
  ...TRANSPORT_OPTIONS,
  format: { type: "string" },
  debug: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  "os-auth-url": { type: "string" },
  "os-project-name": { type: "string" },
  "os-project-domain-name": { type: "string" },
  "os-username": { type: "string" },
  "os-password": { type: "string" },
  "os-user-domain-name": { type: "string" },
  "os-region-name": { type: "string" },
  "os-interface": { type: "string" },
};

export function mainHelp(): string {
  return (
    "usage: sw-manager [--endpoint HOST:PORT] [--token TOKEN | --token-file PATH] [--format json] [--debug] patch-strategy {create,delete,apply,abort,show,pause,resume} ...\n\n" +
    "Subcommands:\n  patch-strategy    Patch Strategy\n\n" +
    `  --endpoint HOST:PORT   controller gRPC endpoint (SWPATCH_ENDPOINT, default ${DEFAULT_ENDPOINT})\n` +
    "  --token TOKEN          bearer token (SWPATCH_TOKEN)\n" +
    "  --token-file PATH      read the bearer token from a file (SWPATCH_TOKEN_FILE); with neither,\n" +
    "                         ./data/admin.token when readable (on the controller host)\n" +
    "  --tls-ca FILE          verify the controller with this CA (PEM; SWPATCH_TLS_CA); an https://\n" +
    "                         endpoint means TLS with the system CAs\n" +
    "  --tls-cert FILE        client certificate for mutual TLS (PEM; SWPATCH_TLS_CERT)\n" +
    "  --tls-key FILE         its private key (PEM; SWPATCH_TLS_KEY)\n" +
    "  --insecure             allow plaintext to a controller that is not on loopback\n" +
    '  --format json          print results as JSON objects ({"strategy": ...}; one line per change with show --watch)\n'
  );
}

function groupHelp(): string {
  let out = "usage: sw-manager patch-strategy {create,delete,apply,abort,show,pause,resume} ...\n\nPatch Strategy\n\n";
  for (const a of ACTIONS) out += `  ${a.name.padEnd(8)}${a.summary}\n`;
  return out;
}

function actionHelp(a: StrategyAction): string {
  return `usage: sw-manager ${a.usage}\n\n${a.summary}\n${a.help ? `\n${a.help}\n` : ""}`;
}

/**
 * `sw-manager` entry point: `sw-manager patch-strategy create|delete|apply|abort|show`.
 * Returns the exit code: 0 on success, 1 on any error (one line on stderr, never a stack).
 */
export async function main(argv: string[], ioOverrides?: Partial<CliIo>): Promise<number> {
  const io = resolveIo(ioOverrides);
  const out = (s: string) => void io.stdout.write(s);
  const err = (s: string) => void io.stderr.write(s);

  const allOptions: OptionSpec = { ...GLOBAL_OPTIONS };
  for (const a of ACTIONS) Object.assign(allOptions, a.options);
  let loose;
  try {
    loose = parseArgs({ args: argv, options: allOptions, strict: false, allowPositionals: true });
  } catch (e) {
    err(`sw-manager: error: ${(e as Error).message}\n`);
    return 1;
  }
  const [group, actionName, ...extra] = loose.positionals;
  if (group === undefined) {
    out(mainHelp());
    return loose.values.help ? 0 : 1;
  }
  if (group !== "patch-strategy") {
    err(`sw-manager: error: argument: invalid choice: '${group}' (choose from 'patch-strategy')\n`);
    return 1;
  }
  const action = ACTIONS.find((a) => a.name === actionName);
  if (!action) {
    if (actionName === undefined && loose.values.help) {
      out(groupHelp());
      return 0;
    }
    if (actionName === undefined) {
      out(groupHelp());
      return 1;
    }
    err(`sw-manager patch-strategy: error: invalid choice: '${actionName}' (choose from ${ACTIONS.map((a) => `'${a.name}'`).join(", ")})\n`);
    return 1;
  }
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    const strict = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...action.options }, strict: true, allowPositionals: true });
    values = strict.values as Record<string, string | boolean | string[] | undefined>;
  } catch (e) {
    err(`sw-manager patch-strategy ${action.name}: error: ${(e as Error).message}\n`);
    return 1;
  }
  if (extra.length > 0) {
    err(`sw-manager patch-strategy ${action.name}: error: unrecognized arguments: ${extra.join(" ")}\n`);
    return 1;
  }
  if (values.help) {
    out(actionHelp(action));
    return 0;
  }
  const problem = action.validate?.(values);
  if (problem) {
    err(`sw-manager patch-strategy ${action.name}: error: ${problem}\n`);
    return 1;
  }

  if (values.format !== undefined && values.format !== "json" && values.format !== "text") {
    err(`sw-manager: error: argument --format: invalid choice: '${String(values.format)}' (choose from 'json', 'text')\n`);
    return 1;
  }
  const json = values.format === "json";
  let endpoint: string;
  let token: string | undefined;
  let transport: ResolvedTransport;
  try {
    // The OpenStack region option is accepted and ignored here (no region table for sw-manager).
    const picked = ["endpoint", "token", "token-file", ...Object.keys(TRANSPORT_OPTIONS)].map((k) => [k, values[k]]);
    const connection = resolveConnection(Object.fromEntries(picked), io.env);
    ({ endpoint, token } = connection);
    transport = resolveTransport(endpoint, connection.transport);
  } catch (e) {
    err(`${e instanceof UsageProblem || e instanceof TransportProblem ? e.message : String(e)}\n`);
    return 1;
  }
  if (transport.warning) err(`${transport.warning}\n`);
  const printStrategy: ActionContext["printStrategy"] = (s, opts) => {
    if (json) out(formatJson({ strategy: s ? Strategy.toJSON(s) : null }));
    else out(s ? renderStrategy(s, opts) : "No strategy available\n");
  };
  let client;
  try {
    client = createSwPatchClient({ endpoint, allowInsecure: transport.allowInsecure, ...(token ? { token } : {}), ...(transport.tls ? { tls: transport.tls } : {}) });
  } catch (e) {
    err(`Error: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    return await action.run({ client, values, io, out, err, json, printStrategy });
  } catch (e) {
    if (e instanceof ActionFailure) err(`${e.message}\n`);
    else if (e instanceof PermissionDeniedError || e instanceof UnauthenticatedError) err("Authorization failed\n");
    else err(`${errorLine(e, endpoint).split("\n")[0]}\n`);
    return 1;
  } finally {
    client.close();
  }
}
