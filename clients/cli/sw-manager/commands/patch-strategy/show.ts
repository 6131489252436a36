import { NotFoundError, Strategy } from "../../../../sdk/src/index.js";
import type { CliIo } from "../../../lib/io.js";
import { jsonLine } from "../../../render/json.js";
import { renderStrategy } from "../../render/strategy-show.js";
import type { StrategyAction } from "../../command.js";

const SETTLED = new Set(["ready-to-apply", "applied", "aborted", "build-failed", "build-timeout", "abort-failed", "abort-timeout"]);

/** True when nothing will change without an operator action. */
function settled(s: Strategy): boolean {
  if (SETTLED.has(s.state)) return true;
  const p = s.applyPhase;
  // Paused after `apply --stage-id N`.
  return s.state === "applying" && !!p && p.inprogress && p.currentStage >= p.stopAtStage && !p.stages.some((x) => x.inprogress);
}

/**
 * Shows successive texts: on a terminal each one replaces the previous in place (cursor moved up
 * over the rows it took, then cleared to the end of the screen); elsewhere each is printed after a
 * blank line, so a log keeps every version.
 */
export class Redraw {
  private rows = 0;
  private first = true;

  constructor(private readonly io: Pick<CliIo, "stdout" | "terminal" | "isTTY" | "columns">) {}

  show(text: string): void {
    if (!this.io.isTTY) {
      this.io.stdout.write(this.first ? text : "\n" + text);
      this.first = false;
      return;
    }
    if (this.rows > 0) (this.io.terminal ?? this.io.stdout).write(`\x1b[${this.rows}F\x1b[J`);
    this.io.stdout.write(text);
    this.rows = rowsOf(text, this.io.columns);
    this.first = false;
  }
}

/** Terminal rows `text` takes (long lines wrap at `columns`); a final newline starts no row. */
export function rowsOf(text: string, columns: number | undefined): number {
  const lines = text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");
  const width = columns && columns > 0 ? columns : Infinity;
  return lines.reduce((n, l) => n + Math.max(1, Math.ceil(l.length / width)), 0);
}

/** `sw-manager patch-strategy show [--details] [--active] [--error-details] [--watch]`. */
export const showAction: StrategyAction = {
  name: "show",
  summary: "Show a strategy",
  usage: "patch-strategy show [--details] [--active] [--error-details] [--watch]",
  help: [
    "  --details                                         show strategy details",
    "  --active                                          show currently active strategy step",
    "  --error-details                                   show error details of failed strategy",
    "  --watch                                           show the strategy after every change until it settles (redrawn in place on a terminal)",
  ].join("\n"),
  options: { details: { type: "boolean" }, active: { type: "boolean" }, "error-details": { type: "boolean" }, watch: { type: "boolean" } },
  async run({ client, values, io, out, json, printStrategy }) {
    const opts = { details: values.details === true, active: values.active === true, errorDetails: values["error-details"] === true };
    if (values.watch === true) {
      const ac = new AbortController();
      const screen = new Redraw(io);
      try {
        for await (const s of client.orchestration.watchStrategy({}, { signal: ac.signal })) {
          if (json) out(jsonLine({ strategy: s.strategy ? Strategy.toJSON(s.strategy) : null }));
          else screen.show(s.strategy ? renderStrategy(s.strategy, opts) : "No strategy available\n");
          if (!s.strategy || settled(s.strategy)) break;
        }
      } finally {
        ac.abort();
      }
      return 0;
    }
    try {
      printStrategy((await client.orchestration.getStrategy({})).strategy, opts);
    } catch (e) {
      if (e instanceof NotFoundError) {
        printStrategy(undefined);
        return 0;
      }
      throw e;
    }
    return 0;
  },
};
