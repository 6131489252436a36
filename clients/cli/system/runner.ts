/**
 * The shared driver of the StarlingX-style CLIs `system` and `fm`: global options (the same
 * connection settings as sw-patch, resolved by sw-patch's resolveConnection), subcommand lookup,
 * per-command `--help`, `--format json` for query commands, and one-line errors on stderr with
 * exit code 1. Commands are sw-patch {@link Command}s, so they run with the same context.
 */
import { parseArgs } from "node:util";
import { createSwPatchClient, DEFAULT_ENDPOINT, normalizeEndpoint, type SwPatchClient } from "../../sdk/src/index.js";
import { resolveIo, type CliIo } from "../lib/io.js";
import { terminalWidth } from "../render/text.js";
import type { Command, CommandContext, ParsedArgs } from "../sw-patch/command.js";
import { errorLine } from "../sw-patch/errors.js";
import { GLOBAL_OPTIONS, resolveConnection, UsageProblem } from "../sw-patch/global-options.js";

/** A program: its name, one line about it and its commands in help order. */
export interface Program {
  name: string;
  description: string;
  commands: readonly Command[];
}

/** The global options of `system` and `fm` (the connection options of sw-patch). */
export const PROGRAM_GLOBAL_HELP = `Global options:
  --endpoint HOST:PORT      controller address (env SWPATCH_ENDPOINT, default ${DEFAULT_ENDPOINT})
  --token TOKEN             bearer token (env SWPATCH_TOKEN; default ./data/admin.token)
  --token-file PATH         read the bearer token from a file (env SWPATCH_TOKEN_FILE)
  --debug                   print the response JSON
  --format json             machine-readable output (list and show commands)
  -h, --help                show help
`;

/** The top-level help of a program. */
export function programHelp(p: Program): string {
  const visible = p.commands.filter((c) => !c.hidden);
  const width = Math.max(...visible.map((c) => c.name.length)) + 2;
  let out = `usage: ${p.name} [--endpoint HOST:PORT] [--token TOKEN] <subcommand> ...\n\n${p.description}\n\n`;
  out += "Subcommands:\n";
  for (const c of visible) out += `  ${c.name.padEnd(width)}${c.summary}\n`;
  out += "\n" + PROGRAM_GLOBAL_HELP + `\nRun '${p.name} <subcommand> --help' for the subcommand's arguments.\n`;
  return out;
}

/** One command's help. */
export function programCommandHelp(p: Program, cmd: Command): string {
  let out = `usage: ${p.name} ${cmd.usage}\n\n${cmd.summary}\n`;
  if (cmd.help) out += "\n" + cmd.help.replace(/\n*$/, "\n");
  if (cmd.query) out += "\n  --format json             print the result as JSON\n";
  return out;
}

const VALUE_GLOBALS = new Set(["--endpoint", "--token", "--token-file", "--os-region-name", "--format"]);
const FLAG_GLOBALS = new Set(["--debug", "--help", "-h"]);

/** Splits argv into the global options before the subcommand, the subcommand and the rest. */
function splitGlobal(argv: readonly string[]): { pre: string[]; name: string | undefined; rest: string[] } {
  const pre: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    if (!arg.startsWith("-")) break;
    const flag = arg.includes("=") ? arg.slice(0, arg.indexOf("=")) : arg;
    if (!VALUE_GLOBALS.has(flag) && !FLAG_GLOBALS.has(flag)) {
      pre.push(arg);
      i += 1;
      break;
    }
    if (VALUE_GLOBALS.has(flag) && !arg.includes("=")) {
      pre.push(arg, argv[i + 1] ?? "");
      i += 2;
    } else {
      pre.push(arg);
      i += 1;
    }
  }
  return { pre, name: argv[i], rest: argv.slice(i + 1) };
}

/**
 * Runs `program` with `argv` (without the node and script paths) and returns the exit code:
 * 0 on success; 1 on an error (one line on stderr) or bad usage (the command's help on stdout).
 */
export async function runProgram(program: Program, argv: readonly string[], ioOverrides?: Partial<CliIo>): Promise<number> {
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
    if (name === "help" && rest.length > 0) {
      const cmd = program.commands.find((c) => c.name === rest[0]);
      if (cmd) {
        out(programCommandHelp(program, cmd));
        return 0;
      }
    }
    out(programHelp(program));
    return preValues.help || name === "help" ? 0 : 1;
  }
  const cmd = program.commands.find((c) => c.name === name);
  if (!cmd) {
    err(`Error: unknown subcommand '${name}'\n`);
    out(programHelp(program));
    return 1;
  }
  let parsed: ParsedArgs;
  try {
    const r = parseArgs({ args: rest, options: { ...GLOBAL_OPTIONS, ...cmd.options }, strict: true, allowPositionals: true });
    parsed = { values: { ...preValues, ...r.values }, positionals: r.positionals };
  } catch (e) {
    err(`Error: ${(e as Error).message}\n`);
    out(programCommandHelp(program, cmd));
    return 1;
  }
  const values = parsed.values;
  if (values.help) {
    out(programCommandHelp(program, cmd));
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
  let endpoint: string;
  try {
    endpoint = normalizeEndpoint(connection.endpoint);
  } catch (e) {
    err(`Error: invalid endpoint '${connection.endpoint}': ${(e as Error).message}\n`);
    return 1;
  }

  let client: SwPatchClient | undefined;
  const ctx: CommandContext = {
    io,
    token: connection.token,
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
      out(programCommandHelp(program, cmd));
      return 1;
    },
  };
  try {
    return await cmd.run(ctx, parsed);
  } catch (e) {
    err(errorLine(e, endpoint).split("\n")[0] + "\n");
    return 1;
  } finally {
    client?.close();
  }
}
