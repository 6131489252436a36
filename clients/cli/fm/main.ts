/**
 * `fm`: the StarlingX fault-management CLI's alarm commands (alarm-list, alarm-show,
 * alarm-delete, plus alarm-raise) over the sw-patch controller, in fmclient's table style.
 * bin/fm calls {@link main}; tests call it in-process with their own streams.
 */
import type { CliIo } from "../lib/io.js";
import { runProgram, type Program } from "../system/runner.js";
import { FM_COMMANDS } from "./commands/index.js";

export const FM_PROGRAM: Program = {
  name: "fm",
  description: "StarlingX fault management: active alarms.",
  commands: FM_COMMANDS,
};

/** Runs `fm` with `argv` (without node and script) and returns the exit code. */
export function main(argv: string[], io?: Partial<CliIo>): Promise<number> {
  return runProgram(FM_PROGRAM, argv, io);
}
