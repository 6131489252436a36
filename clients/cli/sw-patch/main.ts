import { parseArgs } from "node:util";
import { createSwPatchClient, normalizeEndpoint, type SwPatchClient } from "../../sdk/src/index.js";
import { resolveIo, type CliIo } from "../lib/io.js";
import { terminalWidth } from "../render/text.js";
import type { Command, CommandContext, ParsedArgs } from "./command.js";
import { COMMANDS, findCommand } from "./commands/index.js";
import { errorLine } from "./errors.js";
import { GLOBAL_HELP, GLOBAL_OPTIONS, resolveConnection, UsageProblem } from "./global-options.js";

/** The top-level help (command list). */
export function mainHelp(): string {
  const visible = COMMANDS.filter((c) => !c.hidden);
  const width = Math.max(...visible.map((c) => c.name.length)) + 2;
  let out = "usage: sw-patch [--debug] [--os-region-name REGION] [--endpoint HOST:PORT] <subcommand> ...\n\n";
  out += "Subcommands:\n";
  for (const c of visible) out += `  ${c.name.padEnd(width)}${c.summary}\n`;
  out += "\n" + GLOBAL_HELP + "\nRun 'sw-patch <subcommand> --help' for the subcommand's arguments.\n";
  return out;
}

/** One command's help. */
export function commandHelp(cmd: Command): string {
  let out = `usage: sw-patch ${cmd.usage}\n\n${cmd.summary}\n`;
  if (cmd.help) out += "\n" + cmd.help.replace(/\n*$/, "\n");
  if (cmd.query) out += "\n  --format json             print the result as JSON\n";
  return out;
}

const VALUE_GLOBALS = new Set(["--endpoint", "--token", "--token-file", "--os-region-name", "--format"]);
const FLAG_GLOBALS = new Set(["--debug", "--help", "-h"]);

/** Splits argv into the global options before the subcommand, the subcommand and the rest. */
function splitGlobal(argv: string[]): { pre: string[]; name: string | undefined; rest: string[] } {
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

/**
 * Runs `sw-patch` with `argv` (without the node and script paths) and returns the exit code:
 * 0 on success, 1 on any error (one line on stderr) or bad usage (help on stdout).
 */
export async function main(argv: string[], ioOverrides?: Partial<CliIo>): Promise<number> {
  const io = resolveIo(ioOverrides);
  const out = (s: string) => void io.stdout.write(s);
  const err = (s: string) => void io.stderr.write(s);

  const { pre, name, rest } = splitGlobal(argv);
  let preValues: ParsedArgs["values"];
  try {
    preValues = parseArgs({ args: pre, options: GLOBAL_OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (e) {
    err(`Error: ${(e as Error).message}\n`);
    return 1;
  }
  if (name === undefined || name === "help") {
    out(mainHelp());
    return preValues.help || name === "help" ? 0 : 1;
  }
  const cmd = findCommand(name);
  if (!cmd) {
    err(`Error: unknown subcommand '${name}'\n`);
    out(mainHelp());
    return 1;
  }
  let parsed: ParsedArgs;
  try {
    const r = parseArgs({
      args: rest,
      options: { ...GLOBAL_OPTIONS, ...cmd.options },
      strict: true,
      allowPositionals: true,
    });
    parsed = { values: { ...preValues, ...r.values }, positionals: r.positionals };
  } catch (e) {
    err(`Error: ${(e as Error).message}\n`);
    out(commandHelp(cmd));
    return 1;
  }
  const values = parsed.values;
  if (values.help) {
    out(commandHelp(cmd));
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

  let client: SwPatchClient | undefined;
  const ctx: CommandContext = {
    token: connection.token,
    io,
    endpoint,
    debug: Boolean(values.debug),
    json,
    termWidth: terminalWidth(io.isTTY ? io.columns : undefined),
    client() {
      client ??= createSwPatchClient({ endpoint, token: connection.token });
      return client;
    },
    out,
    err,
    usageError() {
      out(commandHelp(cmd));
      return 1;
    },
  };
  try {
    return await cmd.run(ctx, parsed);
  } catch (e) {
    err(errorLine(e, endpoint) + "\n");
    return 1;
  } finally {
    client?.close();
  }
}
