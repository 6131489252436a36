/**
 * Transport security of every CLI (`sw-patch`, `sw-manager`, `system`, `fm`): `--tls-ca`,
 * `--tls-cert`/`--tls-key` (mutual TLS) and their SWPATCH_TLS_* variables, `https://` endpoints,
 * `--insecure`, and the TLS failures of grpc-js turned into lines a person understands.
 */
import { readFileSync } from "node:fs";
import { DEFAULT_PORT, endpointParts, isLoopbackHost, splitEndpoints, type SwPatchTlsOptions } from "../../sdk/src/index.js";

/** The transport options as given (flag or environment), before any file is read. */
export interface TransportSettings {
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** `--insecure`: plaintext to a non-loopback controller is allowed (with a warning). */
  insecure: boolean;
}

/** What the client is built with: TLS material (undefined = plaintext) and the opt-out. */
export interface ResolvedTransport {
  tls: SwPatchTlsOptions | undefined;
  allowInsecure: boolean;
  /** A line to print on stderr before connecting (plaintext allowed by --insecure). */
  warning: string | undefined;
}

/** A transport problem found before dialling: the one line to print. */
export class TransportProblem extends Error {}

/** The flags of the transport options, for `parseArgs` (shared by every CLI). */
export const TRANSPORT_OPTIONS = {
  "tls-ca": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  insecure: { type: "boolean" },
} as const;

/** Help lines of the transport options (indented like the other global options). */
export const TRANSPORT_HELP = `  --tls-ca FILE             verify the controller with this CA (PEM; env SWPATCH_TLS_CA); an
                            https://HOST:PORT endpoint means TLS with the system CAs
  --tls-cert FILE           client certificate for mutual TLS (PEM; env SWPATCH_TLS_CERT)
  --tls-key FILE            its private key (PEM; env SWPATCH_TLS_KEY)
  --insecure                allow plaintext to a controller that is not on loopback
`;

/** Flag values first, then SWPATCH_TLS_CA / SWPATCH_TLS_CERT / SWPATCH_TLS_KEY. */
export function transportSettings(values: Record<string, unknown>, env: Record<string, string | undefined>): TransportSettings {
  const pick = (flag: string, name: string) => (values[flag] as string | undefined) || env[name] || undefined;
  const s: TransportSettings = { insecure: values.insecure === true };
  const ca = pick("tls-ca", "SWPATCH_TLS_CA");
  const cert = pick("tls-cert", "SWPATCH_TLS_CERT");
  const key = pick("tls-key", "SWPATCH_TLS_KEY");
  if (ca) s.tlsCa = ca;
  if (cert) s.tlsCert = cert;
  if (key) s.tlsKey = key;
  return s;
}

function readPemFile(file: string, flag: string, what: "certificate" | "key"): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (e) {
    throw new TransportProblem(`Error: ${flag}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const text = pem.toString("latin1");
  const ok = what === "certificate" ? /-----BEGIN CERTIFICATE-----/.test(text) : /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/.test(text);
  if (!ok) throw new TransportProblem(`Error: ${flag}: ${file} holds no PEM ${what === "certificate" ? "certificate" : "private key"}`);
  return pem;
}

/**
 * Reads the PEM files and applies the plaintext rule for `endpoint`.
 * @throws TransportProblem naming the flag (unreadable or non-PEM file, a certificate without its
 * key, plaintext to a non-loopback address without --insecure).
 */
export function resolveTransport(endpoint: string, s: TransportSettings): ResolvedTransport {
  if (s.tlsCert && !s.tlsKey) throw new TransportProblem("Error: --tls-cert needs --tls-key (SWPATCH_TLS_KEY)");
  if (s.tlsKey && !s.tlsCert) throw new TransportProblem("Error: --tls-key needs --tls-cert (SWPATCH_TLS_CERT)");
  // A controller pair is `a,b`: the rule holds for each (the first remote one is named).
  const all = splitEndpoints(endpoint).map((e) => endpointParts(e, DEFAULT_PORT));
  const parts = all.find((p) => !isLoopbackHost(p.host)) ?? all[0]!;
  let tls: SwPatchTlsOptions | undefined;
  if (s.tlsCa || s.tlsCert || all.some((p) => p.tlsScheme)) {
    tls = {};
    if (s.tlsCa) tls.ca = readPemFile(s.tlsCa, "--tls-ca", "certificate");
    if (s.tlsCert && s.tlsKey) {
      tls.cert = readPemFile(s.tlsCert, "--tls-cert", "certificate");
      tls.key = readPemFile(s.tlsKey, "--tls-key", "key");
    }
  }
  let warning: string | undefined;
  if (!tls && !isLoopbackHost(parts.host)) {
    if (!s.insecure) {
      throw new TransportProblem(
        `Error: refusing to talk to the patch controller at ${parts.target} in plaintext (the token would travel in cleartext): give --tls-ca FILE (or an https:// endpoint), or --insecure`,
      );
    }
    warning = `Warning: talking to the patch controller at ${parts.target} without TLS (--insecure): the token and all data travel in cleartext`;
  }
  return { tls, allowInsecure: s.insecure, warning };
}

/**
 * What went wrong in a TLS handshake, from grpc-js's status text, naming the flag that fixes it;
 * undefined when the text is not about TLS.
 */
export function describeTlsFailure(details: string): string | undefined {
  if (/ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames/i.test(details)) {
    const host = /Host: (\S+?)\.? is not/.exec(details)?.[1] ?? /IP: (\S+?) is not/.exec(details)?.[1];
    return `the controller's certificate is not issued for ${host ?? "the address dialled"} (dial a name the certificate carries)`;
  }
  if (
    /unable to verify the first certificate|unable to get local issuer certificate|self[- ]signed certificate|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT/i.test(
      details,
    )
  ) {
    return "the controller's certificate is not signed by a CA we trust (give the CA that signed it with --tls-ca or SWPATCH_TLS_CA)";
  }
  if (/certificate has expired|CERT_HAS_EXPIRED/i.test(details)) return "the controller's certificate has expired";
  if (/certificate is not yet valid|CERT_NOT_YET_VALID/i.test(details)) return "the controller's certificate is not valid yet (check the clocks)";
  if (/alert certificate required|peer did not return a certificate/i.test(details)) {
    return "the controller requires a client certificate (give --tls-cert and --tls-key, or SWPATCH_TLS_CERT and SWPATCH_TLS_KEY)";
  }
  if (/alert (?:unknown ca|bad certificate|certificate unknown|decrypt error)/i.test(details)) {
    return "the controller refused our client certificate (--tls-cert): it is not signed by the CA the controller trusts for clients";
  }
  if (/alert handshake failure/i.test(details)) return "the TLS handshake failed (does the controller require a client certificate, --tls-cert/--tls-key?)";
  if (/wrong version number|packet length too long|http request/i.test(details)) {
    return "the controller does not speak TLS on this port (drop --tls-ca/https://, or ask for its TLS port)";
  }
  return undefined;
}
