/**
 * Transport security of a client connection: which endpoints mean TLS (`https://`, `grpcs://`),
 * which hosts are loopback, and the rule that plaintext goes to loopback only unless the caller
 * opts out (a bearer token in cleartext on a network can be read and replayed).
 */
import { isIP } from "node:net";

/** An endpoint split into its grpc-js target and what its scheme asks for. */
export interface EndpointParts {
  /** `host:port` (`[v6]:port`), the grpc-js target. */
  target: string;
  /** The host part, without brackets. */
  host: string;
  /** True for `https://` and `grpcs://`; false for `http://`, `grpc://` and no scheme. */
  tlsScheme: boolean;
}

/** The refusal of a plaintext connection to a host that is not loopback. */
export class InsecureTransportError extends Error {
  override readonly name = "InsecureTransportError";
}

/** Splits `endpoint` (`[scheme://]host[:port]`, `[v6]:port`, bare IPv6) into its parts; `defaultPort` fills a missing port. */
export function endpointParts(endpoint: string, defaultPort: number): EndpointParts {
  const trimmed = endpoint.trim();
  const scheme = /^(grpcs?|https?):\/\//i.exec(trimmed);
  const e = scheme ? trimmed.slice(scheme[0].length).replace(/\/+$/, "") : trimmed;
  if (e === "") throw new Error("endpoint must not be empty");
  const tlsScheme = scheme ? /^(grpcs|https)$/i.test(scheme[1]!) : false;
  if (e.startsWith("[")) {
    const target = /\]:\d+$/.test(e) ? e : `${e}:${defaultPort}`;
    return { target, host: target.slice(1, target.lastIndexOf("]")), tlsScheme };
  }
  const colons = (e.match(/:/g) ?? []).length;
  if (colons > 1) return { target: `[${e}]:${defaultPort}`, host: e, tlsScheme }; // bare IPv6 address
  if (colons === 1) return { target: e, host: e.slice(0, e.indexOf(":")), tlsScheme };
  return { target: `${e}:${defaultPort}`, host: e, tlsScheme };
}

/** True for 127.0.0.0/8, ::1, ::ffff:127.x and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (h.startsWith("::ffff:")) return isIP(h.slice(7)) === 4 && h.slice(7).startsWith("127.");
  return false;
}

/**
 * The plaintext rule: TLS, or a loopback host, or an explicit opt-out.
 * @returns undefined when the connection is fine as it is; a warning to print when plaintext to
 * a non-loopback host was allowed by `allowInsecure`.
 * @throws InsecureTransportError when plaintext to a non-loopback host was not allowed.
 */
export function checkPlaintext(parts: Pick<EndpointParts, "host" | "target">, tls: boolean, allowInsecure: boolean): string | undefined {
  if (tls || isLoopbackHost(parts.host)) return undefined;
  if (!allowInsecure) {
    throw new InsecureTransportError(
      `refusing to connect to ${parts.target} in plaintext (a token would travel in cleartext): use TLS (an https:// endpoint or a CA to trust), or allow plaintext explicitly`,
    );
  }
  return `connecting to ${parts.target} without TLS: tokens and data travel in cleartext`;
}

/** True when `pem` holds at least one PEM certificate. */
export function hasPemCertificate(pem: Uint8Array | string): boolean {
  return /-----BEGIN CERTIFICATE-----/.test(Buffer.from(pem).toString("latin1"));
}

/** True when `pem` holds a PEM private key (PKCS#8, PKCS#1 or SEC1, unencrypted). */
export function hasPemPrivateKey(pem: Uint8Array | string): boolean {
  return /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/.test(Buffer.from(pem).toString("latin1"));
}
