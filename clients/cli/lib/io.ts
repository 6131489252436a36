import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { safeBlock } from "../render/safe-text.js";

/** Something text is written to. */
export interface TextSink {
  write(chunk: string): unknown;
}

/**
 * Where a CLI reads and writes; defaults to the process's streams (tests pass their own).
 * After {@link resolveIo}, `stdout` and `stderr` neutralise control characters and bidi controls
 * (see render/safe-text.ts; newlines and tabs pass), so nothing a command prints can drive the
 * terminal; `terminal` is the unfiltered stdout, only for the CLI's own control sequences (the
 * progress bar).
 */
export interface CliIo {
  stdout: TextSink;
  stderr: TextSink;
  /** Unfiltered stdout (set by resolveIo): only for control sequences the CLI itself writes. */
  terminal?: TextSink;
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

const SAFE = Symbol("terminal-safe");

/** A sink that writes every chunk through `safeBlock` (idempotent: wrapping twice changes nothing). */
export function terminalSafe(sink: TextSink): TextSink {
  if ((sink as { [SAFE]?: true })[SAFE]) return sink;
  return { [SAFE]: true, write: (chunk: string) => sink.write(typeof chunk === "string" ? safeBlock(chunk) : chunk) } as TextSink;
}

/**
 * Fills in the fields a caller left out with the process defaults, and makes stdout and stderr
 * terminal-safe (the raw stdout stays reachable as `terminal`).
 */
export function resolveIo(io: Partial<CliIo> | undefined): CliIo {
  const base = processIo();
  const merged = { ...base, ...io };
  if (io && io.isTTY === undefined && io.stdout !== undefined) merged.isTTY = false;
  if (io && io.columns === undefined && io.stdout !== undefined) merged.columns = undefined;
  merged.terminal = io?.terminal ?? merged.stdout;
  merged.stdout = terminalSafe(merged.stdout);
  merged.stderr = terminalSafe(merged.stderr);
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
