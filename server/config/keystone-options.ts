/**
 * Controller flags of Keystone token validation (one block of the controller's options;
 * controller-config.ts spreads it in): `--keystone-url`, `--keystone-ca`, `--keystone-cache-seconds`.
 */
import * as path from "node:path";
import { invalidArgument } from "../domain/errors.js";
import { parseKeystoneUrl } from "../transport/keystone/keystone-verifier.js";

/** Options (ControllerOptions fields). */
export interface KeystoneOptions {
  /** Keystone's URL (`http(s)://host:port`, a trailing `/v3` accepted): the HTTP APIs also accept its v3 tokens. Off unless given. */
  keystoneUrl?: string;
  /** PEM CA file an https Keystone's certificate must chain to (default: Node's CAs). */
  keystoneCa?: string;
  /** Seconds a valid Keystone token's answer is kept at most (never past its expiry); 0..60, default 60. */
  keystoneCacheSeconds?: number;
}

/** Resolved (ControllerConfig.keystone); undefined when `--keystone-url` is not given. */
export interface KeystoneConfig {
  /** The normalised URL (no trailing `/v3`). */
  readonly url: string;
  readonly caFile: string | undefined;
  readonly cacheTtlMs: number;
}

/** The parseArgs entries of these flags. */
export const KEYSTONE_ARGS = {
  "keystone-url": { type: "string" as const },
  "keystone-ca": { type: "string" as const },
  "keystone-cache-seconds": { type: "string" as const },
};

/** The options these flags give (`values`: parseArgs' values). */
export function keystoneOptions(values: Record<string, unknown>): KeystoneOptions {
  const out: KeystoneOptions = {};
  if (typeof values["keystone-url"] === "string") out.keystoneUrl = values["keystone-url"];
  if (typeof values["keystone-ca"] === "string") out.keystoneCa = values["keystone-ca"];
  if (typeof values["keystone-cache-seconds"] === "string") out.keystoneCacheSeconds = Number(values["keystone-cache-seconds"]);
  return out;
}

/** Checks the options; undefined when Keystone is not configured. */
export function resolveKeystone(o: KeystoneOptions): KeystoneConfig | undefined {
  if (o.keystoneUrl === undefined) {
    if (o.keystoneCa !== undefined || o.keystoneCacheSeconds !== undefined) throw invalidArgument("--keystone-ca and --keystone-cache-seconds need --keystone-url");
    return undefined;
  }
  let url: URL;
  try {
    url = parseKeystoneUrl(o.keystoneUrl);
  } catch (e) {
    throw invalidArgument(`--keystone-url: ${(e as Error).message}`);
  }
  if (o.keystoneCa !== undefined && url.protocol !== "https:") throw invalidArgument("--keystone-ca needs an https:// --keystone-url");
  const seconds = o.keystoneCacheSeconds ?? 60;
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 60)
    throw invalidArgument(`--keystone-cache-seconds: expected a whole number in 0..60, got ${o.keystoneCacheSeconds}`);
  return Object.freeze({
    url: url.href.replace(/\/$/, ""),
    caFile: o.keystoneCa === undefined ? undefined : path.resolve(o.keystoneCa),
    cacheTtlMs: seconds * 1000,
  });
}

export const KEYSTONE_USAGE = `  --keystone-url URL      the HTTP APIs (patch, VIM, console sign-in) also accept Keystone v3
                          tokens, validated there (roles: admin -> admin, member/_member_ ->
                          operator, reader -> reader; docs/security.md "Keystone")
  --keystone-ca PEM       CA of an https Keystone (default: the system's CAs)
  --keystone-cache-seconds N  keep a valid token's answer at most N s, never past its expiry
                          (0..60, default 60; a revoked token is refused after at most N s)
`;
