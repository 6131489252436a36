import type { ParseArgsConfig } from "node:util";
import type { Strategy, SwPatchClient } from "../../sdk/src/index.js";
import type { ShowOptions } from "./render/strategy-show.js";
import type { CliIo } from "../lib/io.js";

/** Option definitions in node:util parseArgs form. */
export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** What a `patch-strategy` action gets to run with. */
export interface ActionContext {
  client: SwPatchClient;
  values: Record<string, string | boolean | string[] | undefined>;
  io: CliIo;
  out(text: string): void;
  err(text: string): void;
  /** `--format json`: actions print JSON objects instead of the reference's text. */
  json: boolean;
  /** Prints a strategy (undefined: none) as text or, with `--format json`, as `{"strategy": …}`. */
  printStrategy(s: Strategy | undefined, opts?: ShowOptions): void;
}

/** One `sw-manager patch-strategy <action>`: static metadata plus `run()` over the SDK. */
export interface StrategyAction {
  name: "create" | "delete" | "apply" | "abort" | "show" | "rehearse" | "pause" | "resume";
  summary: string;
  usage: string;
  /** Help text for the options (one per line). */
  help: string;
  options: OptionSpec;
  /** Validates the options before connecting; returns an error message or undefined. */
  validate?(values: ActionContext["values"]): string | undefined;
  run(ctx: ActionContext): Promise<number>;
}

/** Thrown by actions for a reference failure line (printed to stderr, exit 1). */
export class ActionFailure extends Error {}
