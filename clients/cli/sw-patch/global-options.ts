import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_ENDPOINT } from "../../sdk/src/index.js";
import type { CommandOptions } from "./command.js";
import { TRANSPORT_HELP, TRANSPORT_OPTIONS, transportSettings, type TransportSettings } from "../lib/transport.js";

/** Options accepted before or after the subcommand. */
export const GLOBAL_OPTIONS: CommandOptions = {
  endpoint: { type: "string" },
  token: { type: "string" },
  "token-file": { type: "string" },
  "os-region-name": { type: "string" },
  ...TRANSPORT_OPTIONS,
  debug: { type: "boolean" },
  format: { type: "string" },
  help: { type: "boolean", short: "h" },
};

export const GLOBAL_HELP = `Global options:
  --endpoint HOST:PORT      controller address (env SWPATCH_ENDPOINT, default ${DEFAULT_ENDPOINT})
  --token TOKEN             bearer token (env SWPATCH_TOKEN)
  --token-file PATH         read the bearer token from a file (env SWPATCH_TOKEN_FILE); with neither,
                            the controller's ./data/admin.token when readable (on the controller host)
  --os-region-name NAME     SystemController, or a region from ~/.config/sw-patch/regions.json
${TRANSPORT_HELP}  --debug                   print the response JSON
  --format json             machine-readable output (query commands)
  -h, --help                show help
`;

/** The connection a command uses, resolved from options and the environment. */
export interface Connection {
  endpoint: string;
  token: string | undefined;
  systemController: boolean;
  /** TLS files and --insecure (flags, then SWPATCH_TLS_*); read by resolveTransport. */
  transport: TransportSettings;
}

/** A problem with the global options, reported as one "Error:"-less line (reference wording). */
export class UsageProblem extends Error {}

function regionsFile(env: Record<string, string | undefined>): string | undefined {
  const base = env.XDG_CONFIG_HOME || (env.HOME ? join(env.HOME, ".config") : undefined);
  return base ? join(base, "sw-patch", "regions.json") : undefined;
}

function lookupRegion(region: string, env: Record<string, string | undefined>): string | undefined {
  const file = regionsFile(env);
  if (!file || !existsSync(file)) return undefined;
  let table: unknown;
  try {
    table = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new UsageProblem(`Error: cannot read ${file}: ${(e as Error).message}`);
  }
  const value = (table as Record<string, unknown>)[region];
  return typeof value === "string" ? value : undefined;
}

/**
 * Resolves the endpoint and token: --endpoint, then the region table, then SWPATCH_ENDPOINT,
 * then the default; --token, then --token-file, then SWPATCH_TOKEN, then SWPATCH_TOKEN_FILE, then
 * (as the operator on the controller host) the admin token the controller wrote to
 * ./data/admin.token, when that file is readable. TLS: --tls-ca/--tls-cert/--tls-key, then
 * SWPATCH_TLS_CA/SWPATCH_TLS_CERT/SWPATCH_TLS_KEY.
 */
export function resolveConnection(values: Record<string, unknown>, env: Record<string, string | undefined>): Connection {
  const region = values["os-region-name"] as string | undefined;
  let regionEndpoint: string | undefined;
  let systemController = false;
  if (region !== undefined) {
    regionEndpoint = lookupRegion(region, env);
    if (region === "SystemController") systemController = true;
    else if (regionEndpoint === undefined) throw new UsageProblem(`Unsupported region name: ${region}`);
  }
  const endpoint = (values.endpoint as string | undefined) || regionEndpoint || env.SWPATCH_ENDPOINT || DEFAULT_ENDPOINT;
  let token = values.token as string | undefined;
  const tokenFile = values["token-file"] as string | undefined;
  if (!token && tokenFile) {
    try {
      token = readFileSync(tokenFile, "utf8").trim();
    } catch (e) {
      throw new UsageProblem(`Error: cannot read token file ${tokenFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  if (!token) token = env.SWPATCH_TOKEN || undefined;
  if (!token) {
    for (const f of [env.SWPATCH_TOKEN_FILE, "data/admin.token"]) {
      if (!f) continue;
      try {
        token = readFileSync(f, "utf8").trim() || undefined;
      } catch {
        continue;
      }
      if (token) break;
    }
  }
  return { endpoint, token, systemController, transport: transportSettings(values, env) };
}
