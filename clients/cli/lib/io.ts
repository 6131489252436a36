import { createInterface } from "node:readline";
import type { Readable } from "node:stream";

/** Where a CLI reads and writes; defaults to the process's streams (tests pass their own). */
export interface CliIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  stdin: Readable;
  env: Record<string, string | undefined>;
  /** True when stdout is a terminal (progress bars instead of dots). */
  isTTY: boolean;
  /** Terminal width in columns, when known. */
  columns: number | undefined;
}

/** The process's streams and environment. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    isTTY: Boolean(process.stdout.isTTY),
    columns: process.stdout.isTTY ? process.stdout.columns : undefined,
  };
}

/** Fills in the fields a caller left out with the process defaults. */
export function resolveIo(io: Partial<CliIo> | undefined): CliIo {
  const base = processIo();
  const merged = { ...base, ...io };
  if (io && io.isTTY === undefined && io.stdout !== undefined) merged.isTTY = false;
  if (io && io.columns === undefined && io.stdout !== undefined) merged.columns = undefined;
  return merged;
}

/** Reads one line from `input`; null at end of input. */
export function readLine(input: Readable): Promise<string | null> {
  return new Promise((resolve) => {
    const rl = createInterface({ input, terminal: false });
    let done = false;
    rl.once("line", (line) => {
      done = true;
      rl.close();
      resolve(line);
    });
    rl.once("close", () => {
      if (!done) resolve(null);
    });
  });
}
