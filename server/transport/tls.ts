/**
 * Transport security for the controller's listener: server TLS credentials (optionally mTLS) and
 * the rule that a plaintext listener stays on loopback unless the operator explicitly opts out.
 *
 * mTLS decision: grpc-js can only request client certificates together with verifying them
 * (`checkClientCertificate` sets `requestCert`, and Node rejects unverified peers), and nice-grpc
 * does not expose the peer certificate to middleware. So `clientCaFile` turns on mandatory mTLS for
 * every client of the listener (agents and CLIs alike); host identity is still enforced by agent
 * bearer tokens, never by the certificate. Without `clientCaFile`, TLS is server-authenticated only.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { ServerCredentials } from "@grpc/grpc-js";
import { invalidArgument } from "../domain/errors.js";

/** Files of {@link serverCredentials}. */
export interface TlsFiles {
  /** PEM certificate chain of the controller (leaf first). */
  certFile: string;
  /** PEM private key of that certificate. */
  keyFile: string;
  /** PEM CA bundle; when given, every client must present a certificate it signed (mTLS). */
  clientCaFile?: string;
}

/** PEM contents of {@link serverCredentialsFromPem}. */
export interface TlsPem {
  cert: Buffer | string;
  key: Buffer | string;
  clientCa?: Buffer | string;
}

function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw invalidArgument(`${flag}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * Checks PEM text: a certificate, a private key and (optionally) a client CA.
 * @throws DomainError invalid-argument naming the flag when a value is not PEM.
 */
function checkPem(pem: TlsPem): { cert: Buffer; key: Buffer; clientCa?: Buffer } {
  const cert = Buffer.from(pem.cert);
  const key = Buffer.from(pem.key);
  if (!/-----BEGIN CERTIFICATE-----/.test(cert.toString())) throw invalidArgument("--tls-cert: no PEM certificate found");
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key.toString())) throw invalidArgument("--tls-key: no PEM private key found");
  if (pem.clientCa === undefined) return { cert, key };
  const clientCa = Buffer.from(pem.clientCa);
  if (!/-----BEGIN CERTIFICATE-----/.test(clientCa.toString())) throw invalidArgument("--tls-client-ca: no PEM certificate found");
  return { cert, key, clientCa };
}

/**
 * Server credentials from PEM text. With `clientCa`, client certificates are required and
 * verified against it.
 * @throws DomainError invalid-argument when a value is not PEM.
 */
export function serverCredentialsFromPem(pem: TlsPem): ServerCredentials {
  const { cert, key, clientCa } = checkPem(pem);
  return ServerCredentials.createSsl(clientCa ?? null, [{ cert_chain: cert, private_key: key }], clientCa !== undefined);
}

/**
 * The PEM of the --tls-* files, read (synchronously, at start-up) and checked: what the gRPC
 * listener and the HTTP listeners are both built from.
 * @throws DomainError invalid-argument naming the flag when a file is unreadable or not PEM.
 */
export function readTlsPem(files: TlsFiles): { cert: Buffer; key: Buffer; clientCa?: Buffer } {
  return checkPem({
    cert: readPem(files.certFile, "--tls-cert"),
    key: readPem(files.keyFile, "--tls-key"),
    ...(files.clientCaFile !== undefined ? { clientCa: readPem(files.clientCaFile, "--tls-client-ca") } : {}),
  });
}

/**
 * Server credentials from files (read synchronously, at start-up).
 * @throws DomainError invalid-argument naming the flag when a file is unreadable or not PEM.
 */
export function serverCredentials(files: TlsFiles): ServerCredentials {
  return serverCredentialsFromPem(readTlsPem(files));
}

/** True for 127.0.0.0/8, ::1, ::ffff:127.x and "localhost". */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (h.startsWith("::ffff:")) return isIP(h.slice(7)) === 4 && h.slice(7).startsWith("127.");
  return false;
}

/**
 * The listen rule: without TLS the controller listens on loopback only, unless
 * `--insecure` (alias `--insecure-listen-any`) was given.
 * @returns a warning to log when plaintext is allowed on a non-loopback address, else undefined.
 * @throws DomainError invalid-argument with the flags to use.
 */
export function checkListenPolicy(host: string, tlsEnabled: boolean, allowInsecure: boolean): string | undefined {
  if (tlsEnabled || isLoopbackHost(host)) return undefined;
  if (!allowInsecure) {
    throw invalidArgument(
      `--listen ${host}: refusing to serve plaintext gRPC on a non-loopback address; give --tls-cert and --tls-key, or --insecure to accept bearer tokens in cleartext`,
    );
  }
  return `listening on ${host} without TLS (--insecure): tokens and patches travel in cleartext`;
}

/**
 * Checks the TLS flags belong together: cert and key both or neither; a client CA only with them.
 * @throws DomainError invalid-argument naming the missing flag.
 */
export function checkTlsFlags(f: { certFile?: string; keyFile?: string; clientCaFile?: string }): TlsFiles | undefined {
  if (!f.certFile && !f.keyFile) {
    if (f.clientCaFile) throw invalidArgument("--tls-client-ca needs --tls-cert and --tls-key");
    return undefined;
  }
  if (!f.certFile) throw invalidArgument("--tls-key needs --tls-cert");
  if (!f.keyFile) throw invalidArgument("--tls-cert needs --tls-key");
  return { certFile: f.certFile, keyFile: f.keyFile, ...(f.clientCaFile ? { clientCaFile: f.clientCaFile } : {}) };
}
