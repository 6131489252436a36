/**
 * The shared driver of the StarlingX-style CLIs `system` and `fm`: global options (the same
 * connection settings as sw-patch, resolved by sw-patch's resolveConnection), subcommand lookup,
 * per-command `--help`, `--format json` for query commands, and one-line errors on stderr with
 * exit code 1. Commands are sw-patch {@link Command}s, so they run with the same context.
 */
import { DEFAULT_ENDPOINT } from "../../sdk/src/index.js";
import { resolveIo, type CliIo } from "../lib/io.js";
import { parsePreGlobals, runCommand, splitGlobal } from "../lib/command-runner.js";
import type { Command } from "../sw-patch/command.js";
import { TRANSPORT_HELP } from "../lib/transport.js";

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
${TRANSPORT_HELP}  --debug                   print the response JSON
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

/**
 * Runs `program` with `argv` (without the node and script paths) and returns the exit code:
 * 0 on success; 1 on an error (one line on stderr) or bad usage (the command's help on stdout).
 */
export async function runProgram(program: Program, argv: readonly string[], ioOverrides?: Partial<CliIo>): Promise<number> {
  const io = resolveIo(ioOverrides);
  const out = (s: string) => void io.stdout.write(s);
  const err = (s: string) => void io.stderr.write(s);

  const { pre, name, rest } = splitGlobal(argv);
  const preValues = parsePreGlobals(pre, err);
  if (!preValues) return 1;
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
  return runCommand(cmd, rest, preValues, io, { help: programCommandHelp(program, cmd), oneLineErrors: true });
}
