/**
 * The part of every CLI program (`sw-patch`, `system`, `fm`) after the subcommand is known:
 * its options, `--help`, `--format json`, the connection, the command context, one-line errors.
 */
import { parseArgs } from "node:util";
import { createSwPatchClient, normalizeEndpoint, type SwPatchClient } from "../../sdk/src/index.js";
import type { CliIo } from "./io.js";
import { terminalWidth } from "../render/text.js";
import type { Command, CommandContext, ParsedArgs } from "../sw-patch/command.js";
import { errorLine } from "../sw-patch/errors.js";
import { GLOBAL_OPTIONS, resolveConnection, UsageProblem } from "../sw-patch/global-options.js";
import { resolveTransport, TransportProblem, type ResolvedTransport } from "./transport.js";

const VALUE_GLOBALS = new Set(["--endpoint", "--token", "--token-file", "--os-region-name", "--format", "--tls-ca", "--tls-cert", "--tls-key"]);
const FLAG_GLOBALS = new Set(["--debug", "--help", "-h", "--insecure"]);

/** Splits argv into the global options before the subcommand, the subcommand and the rest. */
export function splitGlobal(argv: readonly string[]): { pre: string[]; name: string | undefined; rest: string[] } {
  const pre: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    if (!arg.startsWith("-")) break;
    const flag = arg.includes("=") ? arg.slice(0, arg.indexOf("=")) : arg;
    if (VALUE_GLOBALS.has(flag) && !arg.includes("=")) {
      pre.push(arg, argv[i + 1] ?? "");
      i += 2;
    } else {
      pre.push(arg);
      i += 1;
    }
    if (!VALUE_GLOBALS.has(flag) && !FLAG_GLOBALS.has(flag)) break;
  }
  return { pre, name: argv[i], rest: argv.slice(i + 1) };
}

/** Parses the global options given before the subcommand; undefined (after an error line) if bad. */
export function parsePreGlobals(pre: string[], err: (s: string) => void): ParsedArgs["values"] | undefined {
  try {
    return parseArgs({ args: pre, options: GLOBAL_OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (e) {
    err(`Error: ${(e as Error).message}\n`);
    return undefined;
  }
}

/**
 * Runs one subcommand: parses its arguments (globals may follow it), answers `--help`, checks
 * `--format`, resolves the connection, builds the context and runs it. Returns the exit code.
 * `help` is the command's help text; `oneLineErrors` keeps only the first line of an error.
 */
export async function runCommand(
  cmd: Command,
  rest: string[],
  preValues: ParsedArgs["values"],
  io: CliIo,
  opts: { help: string; oneLineErrors?: boolean },
): Promise<number> {
  const out = (s: string) => void io.stdout.write(s);
  const err = (s: string) => void io.stderr.write(s);
  let parsed: ParsedArgs;
  try {
    const r = parseArgs({ args: rest, options: { ...GLOBAL_OPTIONS, ...cmd.options }, strict: true, allowPositionals: true });
    parsed = { values: { ...preValues, ...r.values }, positionals: r.positionals };
  } catch (e) {
    err(`Error: ${(e as Error).message}\n`);
    out(opts.help);
    return 1;
  }
  const values = parsed.values;
  if (values.help) {
    out(opts.help);
    return 0;
  }
  const format = values.format as string | undefined;
  if (format !== undefined && format !== "json" && format !== "table") {
    err(`Error: unsupported --format '${format}' (use json)\n`);
    return 1;
  }
  const json = format === "json";
  if (json && !cmd.query) {
    err(`Error: --format json is not supported by ${cmd.name}\n`);
    return 1;
  }
  let connection;
  try {
    connection = resolveConnection(values, io.env);
  } catch (e) {
    if (e instanceof UsageProblem) {
      err(e.message + "\n");
      return 1;
    }
    throw e;
  }
  if (connection.systemController && cmd.notInSystemController) {
    err(`\n${cmd.name} command is not allowed in SystemController region\n`);
    return 1;
  }
  let endpoint: string;
  try {
    endpoint = normalizeEndpoint(connection.endpoint);
  } catch (e) {
    err(`Error: invalid endpoint '${connection.endpoint}': ${(e as Error).message}\n`);
    return 1;
  }
  let transport: ResolvedTransport;
  try {
    transport = resolveTransport(connection.endpoint, connection.transport);
  } catch (e) {
    if (!(e instanceof TransportProblem)) throw e;
    err(`${e.message}\n`);
    return 1;
  }
  if (transport.warning) err(`${transport.warning}\n`);
  let client: SwPatchClient | undefined;
  const ctx: CommandContext = {
    io,
    token: connection.token,
    transport: connection.transport,
    tls: transport.tls !== undefined,
    endpoint,
    debug: Boolean(values.debug),
    json,
    termWidth: terminalWidth(io.isTTY ? io.columns : undefined),
    client() {
      client ??= createSwPatchClient({ endpoint, token: connection.token, allowInsecure: transport.allowInsecure, ...(transport.tls ? { tls: transport.tls } : {}) });
      return client;
    },
    out,
    err,
    usageError() {
      out(opts.help);
      return 1;
    },
  };
  try {
    return await cmd.run(ctx, parsed);
  } catch (e) {
    const line = errorLine(e, endpoint);
    err((opts.oneLineErrors ? line.split("\n")[0] : line) + "\n");
    return 1;
  } finally {
    client?.close();
  }
}
