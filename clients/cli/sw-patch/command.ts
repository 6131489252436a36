import type { ParseArgsConfig } from "node:util";
import type { SwPatchClient } from "../../sdk/src/index.js";
import type { CliIo } from "../lib/io.js";
import type { TransportSettings } from "../lib/transport.js";

/** Option declarations of a command, in node:util parseArgs form. */
export type CommandOptions = NonNullable<ParseArgsConfig["options"]>;

/** Values parsed for a command: its options plus its positional arguments. */
export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/** What a running command can use. */
export interface CommandContext {
  readonly io: CliIo;
  /** Normalised controller endpoint. */
  readonly endpoint: string;
  /** The bearer token in use, if any (install-local hands it to the local agent). */
  readonly token: string | undefined;
  /** TLS files and --insecure as given (install-local hands them to the local agent). */
  readonly transport: TransportSettings;
  /** The connection uses TLS (TLS files or an https:// endpoint). */
  readonly tls: boolean;
  /** `--debug`: print the response JSON instead of the formatted output. */
  readonly debug: boolean;
  /** `--format json` was given. */
  readonly json: boolean;
  /** The reference's terminal width (72, or columns - 4 past 60 columns). */
  readonly termWidth: number;
  /** The connected client (created on first use, closed when the command ends). */
  client(): SwPatchClient;
  out(text: string): void;
  err(text: string): void;
  /** Prints this command's help to stdout and returns exit code 1 (bad usage, like the reference). */
  usageError(): number;
}

/** One sw-patch subcommand: static metadata plus `run`, which returns the exit code. */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Usage line(s) after "usage: sw-patch ". */
  usage: string;
  /** Extra help text (options, semantics). */
  help?: string;
  options?: CommandOptions;
  /** Accepts `--format json`. */
  query?: boolean;
  /** Left out of the command list (init-release, del-release, completion). */
  hidden?: boolean;
  /** Refused with "--os-region-name SystemController". */
  notInSystemController?: boolean;
  run(ctx: CommandContext, args: ParsedArgs): Promise<number>;
}
