import { resolveIo, type CliIo } from "../lib/io.js";
import { parsePreGlobals, runCommand, splitGlobal } from "../lib/command-runner.js";
import type { Command } from "./command.js";
import { COMMANDS, findCommand } from "./commands/index.js";
import { GLOBAL_HELP } from "./global-options.js";

/** The top-level help (command list). */
export function mainHelp(): string {
  const visible = COMMANDS.filter((c) => !c.hidden);
  const width = Math.max(...visible.map((c) => c.name.length)) + 2;
  let out = "usage: sw-patch [--debug] [--os-region-name REGION] [--endpoint HOST:PORT] [--token TOKEN | --token-file PATH] <subcommand> ...\n\n";
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

/**
 * Runs `sw-patch` with `argv` (without the node and script paths) and returns the exit code:
 * 0 on success, 1 on any error (one line on stderr) or bad usage (help on stdout).
 */
export async function main(argv: string[], ioOverrides?: Partial<CliIo>): Promise<number> {
  const io = resolveIo(ioOverrides);
  const out = (s: string) => void io.stdout.write(s);
  const err = (s: string) => void io.stderr.write(s);

  const { pre, name, rest } = splitGlobal(argv);
  const preValues = parsePreGlobals(pre, err);
  if (!preValues) return 1;
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
  return runCommand(cmd, rest, preValues, io, { help: commandHelp(cmd) });
}
