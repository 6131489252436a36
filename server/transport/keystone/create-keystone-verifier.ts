/** Builds the controller's Keystone verifier from its resolved `--keystone-*` flags. */
import { promises as fsp } from "node:fs";
import type { KeystoneConfig } from "../../config/keystone-options.js";
import { invalidArgument } from "../../domain/errors.js";
import type { Logger } from "../../lib/log.js";
import { isLoopbackHost } from "../tls.js";
import { KeystoneTokenVerifier } from "./keystone-verifier.js";

/**
 * The verifier for `config` (its CA file read now); warns when tokens would travel in clear to a
 * Keystone that is not on this host.
 * @throws DomainError invalid-argument when the CA file cannot be read.
 */
export async function createKeystoneVerifier(config: KeystoneConfig, log: Logger): Promise<KeystoneTokenVerifier> {
  let ca: Buffer | undefined;
  if (config.caFile) {
    try {
      ca = await fsp.readFile(config.caFile);
    } catch (e) {
      throw invalidArgument(`--keystone-ca ${config.caFile}: ${(e as Error).message}`);
    }
  }
  const url = new URL(config.url);
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
    log.warn("--keystone-url is plain http to another host: every Keystone token travels in clear", { url: url.origin });
  }
  log.info("Keystone v3 tokens accepted on the HTTP APIs", { url: config.url, cacheSeconds: config.cacheTtlMs / 1000 });
  return new KeystoneTokenVerifier({ url: config.url, ...(ca ? { ca } : {}), cacheTtlMs: config.cacheTtlMs, log });
}
