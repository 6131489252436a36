/**
 * `system`: the StarlingX system CLI's host commands (host-list, host-show, host-lock,
 * host-unlock, host-swact) over the sw-patch controller, in cgts-client's table style.
 * bin/system calls {@link main}; tests call it in-process with their own streams.
 */
import type { CliIo } from "../lib/io.js";
import { SYSTEM_COMMANDS } from "./commands/index.js";
import { runProgram, type Program } from "./runner.js";

export const SYSTEM_PROGRAM: Program = {
  name: "system",
  description: "StarlingX system: host inventory and administrative state.",
  commands: SYSTEM_COMMANDS,
};

/** Runs `system` with `argv` (without node and script) and returns the exit code. */
export function main(argv: string[], io?: Partial<CliIo>): Promise<number> {
  return runProgram(SYSTEM_PROGRAM, argv, io);
}
