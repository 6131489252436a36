/**
 * The agent's side of transport security: its token (`--token-file`, SWPATCH_TOKEN,
 * SWPATCH_TOKEN_FILE; `--token` in argv still works but warns), TLS to the controller (`--tls-ca`,
 * `--tls-cert`/`--tls-key` for mutual TLS, `--tls-server-name`, `--tls` or an `https://` address
 * for the system CAs), the plaintext rule (`--insecure`), and TLS failures as readable reasons.
 */
import { readFileSync } from "node:fs";
import { ChannelCredentials, type ChannelOptions } from "@grpc/grpc-js";
import { isLoopbackHost } from "../transport/tls.js";

/** The agent's transport flags (each one is described in the agent's help). */
export const AGENT_TRANSPORT_OPTIONS = {
  token: { type: "string" },
  "token-file": { type: "string" },
  tls: { type: "boolean" },
  "tls-ca": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-server-name": { type: "string" },
  insecure: { type: "boolean" },
} as const;

/** How the agent reaches the controller. */
export interface AgentTransport {
  /** grpc-js target, `host:port` (the scheme stripped); the first of `targets`. */
  target: string;
  /** Every controller given (`--controller a,b`: a pair, the agent follows the active one). */
  targets: string[];
  /** TLS material; undefined = plaintext. */
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; serverName?: string } | undefined;
  token: string | undefined;
  /** Lines to log as warnings at start (token in argv, plaintext allowed by --insecure). */
  warnings: string[];
}

type Values = { [K in keyof typeof AGENT_TRANSPORT_OPTIONS]?: (typeof AGENT_TRANSPORT_OPTIONS)[K]["type"] extends "boolean" ? boolean : string };

function readFile(file: string, flag: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`${flag}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function readPem(file: string, flag: string, what: "certificate" | "key"): Buffer {
  const text = readFile(file, flag);
  const ok = what === "certificate" ? /-----BEGIN CERTIFICATE-----/.test(text) : /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/.test(text);
  if (!ok) throw new Error(`${flag}: ${file} holds no PEM ${what === "certificate" ? "certificate" : "private key"}`);
  return Buffer.from(text);
}

function tokenFrom(file: string, flag: string): string {
  const token = readFile(file, flag).trim();
  if (!token) throw new Error(`${flag}: ${file} is empty`);
  return token;
}

/** `[scheme://]host:port` → target, host and whether the scheme asks for TLS. */
export function controllerAddress(value: string): { target: string; host: string; tlsScheme: boolean } {
  const scheme = /^(grpcs?|https?):\/\//i.exec(value.trim());
  const target = (scheme ? value.trim().slice(scheme[0].length) : value.trim()).replace(/\/+$/, "");
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(target);
  if (!m) throw new Error(`--controller: expected HOST:PORT (or https://HOST:PORT), got "${value}"`);
  return { target, host: m[1] ?? m[2]!, tlsScheme: scheme ? /^(grpcs|https)$/i.test(scheme[1]!) : false };
}

/**
 * Resolves the token and the TLS settings from the flags and the environment; reads every file.
 * Token: --token (warned: ps shows it), --token-file, SWPATCH_TOKEN, SWPATCH_TOKEN_FILE.
 * @throws Error with a one-line message naming the flag.
 */
export function resolveAgentTransport(controller: string, v: Values, env: NodeJS.ProcessEnv): AgentTransport {
  const warnings: string[] = [];
  let token: string | undefined;
  if (v.token) {
    token = v.token;
    warnings.push("--token puts the token on the command line, where every local user sees it with ps: use --token-file FILE or SWPATCH_TOKEN");
  } else if (v["token-file"]) token = tokenFrom(v["token-file"], "--token-file");
  else if (env.SWPATCH_TOKEN) token = env.SWPATCH_TOKEN.trim();
  else if (env.SWPATCH_TOKEN_FILE) token = tokenFrom(env.SWPATCH_TOKEN_FILE, "SWPATCH_TOKEN_FILE");

  if (v["tls-cert"] && !v["tls-key"]) throw new Error("--tls-cert needs --tls-key");
  if (v["tls-key"] && !v["tls-cert"]) throw new Error("--tls-key needs --tls-cert");
  // A pair is `a,b`: every rule holds for each (the first remote one is named).
  const all = controller
    .split(",")
    .filter((c) => c.trim() !== "")
    .map(controllerAddress);
  if (all.length === 0) throw new Error(`--controller: expected HOST:PORT (or https://HOST:PORT), got "${controller}"`);
  const addr = all.find((a) => !isLoopbackHost(a.host)) ?? all[0]!;
  let tls: AgentTransport["tls"];
  if (v.tls || v["tls-ca"] || v["tls-cert"] || v["tls-server-name"] || all.some((a) => a.tlsScheme)) {
    tls = {};
    if (v["tls-ca"]) tls.ca = readPem(v["tls-ca"], "--tls-ca", "certificate");
    if (v["tls-cert"] && v["tls-key"]) {
      tls.cert = readPem(v["tls-cert"], "--tls-cert", "certificate");
      tls.key = readPem(v["tls-key"], "--tls-key", "key");
    }
    if (v["tls-server-name"]) tls.serverName = v["tls-server-name"];
  } else if (!isLoopbackHost(addr.host)) {
    if (!v.insecure) {
      throw new Error(
        `--controller ${addr.target}: refusing to connect in plaintext to an address that is not loopback (the token would travel in cleartext); give --tls-ca FILE (or --tls for the system CAs), or --insecure`,
      );
    }
    warnings.push(`connecting to ${addr.target} without TLS (--insecure): the token and packages travel in cleartext`);
  }
  return { target: all[0]!.target, targets: all.map((a) => a.target), tls, token, warnings };
}

/** grpc-js credentials and channel options for `t`. */
export function channelSecurity(t: AgentTransport): { credentials: ChannelCredentials; options: ChannelOptions } {
  if (!t.tls) return { credentials: ChannelCredentials.createInsecure(), options: {} };
  const credentials = ChannelCredentials.createSsl(t.tls.ca ?? null, t.tls.key ?? null, t.tls.cert ?? null);
  const options: ChannelOptions = t.tls.serverName ? { "grpc.ssl_target_name_override": t.tls.serverName, "grpc.default_authority": t.tls.serverName } : {};
  return { credentials, options };
}

/** What went wrong in a TLS handshake, from grpc-js's status text, naming the flag; undefined when it is not about TLS. */
export function describeTlsFailure(details: string): string | undefined {
  if (/ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames/i.test(details)) {
    return "the controller's certificate does not carry the address dialled (use a name it carries, or --tls-server-name NAME)";
  }
  if (/unable to verify the first certificate|unable to get local issuer certificate|self[- ]signed certificate/i.test(details)) {
    return "the controller's certificate is not signed by a CA the agent trusts (give that CA with --tls-ca)";
  }
  if (/certificate has expired/i.test(details)) return "the controller's certificate has expired";
  if (/certificate is not yet valid/i.test(details)) return "the controller's certificate is not valid yet (check the clocks)";
  if (/alert certificate required/i.test(details)) return "the controller requires a client certificate (give --tls-cert and --tls-key)";
  if (/alert (?:unknown ca|bad certificate|certificate unknown|decrypt error)/i.test(details)) {
    return "the controller refused the agent's client certificate (--tls-cert is not signed by the controller's --tls-client-ca)";
  }
  if (/alert handshake failure/i.test(details)) return "the TLS handshake failed (does the controller require a client certificate, --tls-cert/--tls-key?)";
  if (/wrong version number|packet length too long/i.test(details)) return "the controller does not speak TLS on this port (drop --tls-ca/--tls, or use its TLS port)";
  return undefined;
}
