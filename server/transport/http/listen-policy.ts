/**
 * TLS of the HTTP listeners (patch REST, VIM, console): the same --tls-cert/--tls-key/--tls-client-ca
 * files as the gRPC port, and the rule that plain HTTP stays on loopback unless --insecure.
 */
import { invalidArgument } from "../../domain/errors.js";
import { isLoopbackHost, readTlsPem, type TlsFiles } from "../tls.js";
import type { HttpTls } from "./server.js";

/**
 * The PEM of `files` for an HTTP listener: the same read and checks as the gRPC listener's (tls.ts).
 * @throws DomainError invalid-argument naming the flag when a file is unreadable or not PEM.
 */
export function httpTlsOf(files: TlsFiles): HttpTls {
  return readTlsPem(files);
}

/**
 * The listen rule of an HTTP listener set by `flag`: without TLS it listens on loopback only,
 * unless --insecure was given.
 * @returns a warning to log when plain HTTP is allowed on a non-loopback address, else undefined.
 * @throws DomainError invalid-argument naming the flags to use.
 */
export function checkHttpListenPolicy(flag: string, host: string, tlsEnabled: boolean, allowInsecure: boolean): string | undefined {
  if (tlsEnabled || isLoopbackHost(host)) return undefined;
  if (!allowInsecure) {
    throw invalidArgument(
      `${flag} ${host}: refusing to serve plain HTTP on a non-loopback address; give --tls-cert and --tls-key, or --insecure to accept tokens in cleartext`,
    );
  }
  return `${flag} ${host} without TLS (--insecure): tokens and patches travel in cleartext`;
}
