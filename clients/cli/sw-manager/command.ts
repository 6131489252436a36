import type { ParseArgsConfig } from "node:util";
import type { SwPatchClient } from "../../sdk/src/index.js";
import type { CliIo } from "../lib/io.js";

/** Option definitions in node:util parseArgs form. */
export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** What a `patch-strategy` action gets to run with. */
export interface ActionContext {
  client: SwPatchClient;
  values: Record<string, string | boolean | undefined>;
  io: CliIo;
  out(text: string): void;
  err(text: string): void;
}

/** One `sw-manager patch-strategy <action>`: static metadata plus `run()` over the SDK. */
export interface StrategyAction {
  name: "create" | "delete" | "apply" | "abort" | "show";
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
