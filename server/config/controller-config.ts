import * as path from "node:path";
import { parseArgs } from "node:util";
import { invalidArgument } from "../domain/errors.js";
import { checkHttp2Window } from "../transport/http2-tuning.js";
import { checkListenPolicy, checkTlsFlags, isLoopbackHost, type TlsFiles } from "../transport/tls.js";
import { STATE_LIMITS_USAGE, STATE_LIMIT_ARGS, resolveStateLimits, stateLimitOptions, type StateLimitOptions, type StateLimits } from "./state-limits.js";

/** Options of `sw-patch-controller`; every field optional. */
export interface ControllerOptions extends StateLimitOptions {
  /** Data directory (sqlite file, blobs, temp). Default `./data`. */
  dataDir?: string;
  /** gRPC listen address `host:port`; port 0 picks a free port. Default `127.0.0.1:5490`. */
  listen?: string;
  /** The running release, e.g. `19.09`. Default `19.09`. */
  release?: string;
  /** Trust store entries `PATH[:label]` (X.509 certificate or public key PEM). */
  trust?: string[];
  /** Directory of the running release's base RPMs, imported at start when new. */
  baseFeed?: string;
  /** Largest accepted patch file, bytes. Default 4 GiB. */
  maxPatchBytes?: number;
  /** Log level. Default `info`. */
  logLevel?: "debug" | "info" | "warn" | "error" | "silent";
  /** TLS server certificate and key (PEM files); with a client CA, clients must present certificates. */
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  /** Allow plaintext on a non-loopback address (tokens travel in cleartext). Default false. */
  insecureListenAny?: boolean;
  /** Factor applied to every orchestration wait and timeout (e.g. 0.01 in tests). Default 1. */
  timeScale?: number;
  /** VIM REST API address (orchestration); off unless given. */
  vimListen?: string;
  /** Reference-compatible patching REST API address; off unless given (reference: 127.0.0.1:5487). */
  patchApiListen?: string;
  /** Loopback callers of the patching REST API act as admin without a token (the reference's local API). */
  patchApiLocalTrust?: boolean;
  /** Web console address; off unless given (npm start: 127.0.0.1:8480). */
  webListen?: string;
  /** Directory of the built console (default: dist/web of this checkout). */
  webStaticDir?: string;
  /**
   * HTTP/2 receive window of the gRPC port per stream, bytes (65535..256 MiB; the connection
   * window is twice that). Default: HTTP/2's 65535. Raise it for uploads over links with latency.
   */
  http2Window?: number;
}

/** Resolved, frozen configuration of one controller process. */
export interface ControllerConfig {
  readonly dataDir: string;
  readonly listenHost: string;
  readonly listenPort: number;
  readonly release: string;
  readonly trust: readonly string[];
  readonly baseFeed: string | undefined;
  readonly maxPatchBytes: number;
  readonly logLevel: "debug" | "info" | "warn" | "error" | "silent";
  readonly tls: TlsFiles | undefined;
  readonly insecureListenAny: boolean;
  readonly timeScale: number;
  readonly vimListen: { host: string; port: number } | undefined;
  readonly patchApi: { host: string; port: number; localTrust: boolean } | undefined;
  readonly web: { host: string; port: number; staticDir: string } | undefined;
  /** undefined: HTTP/2's default window (nothing is changed). */
  readonly http2Window: number | undefined;
  /** Audit retention and refusal rate, console session caps (state-limits.ts). */
  readonly limits: StateLimits;
}

/** Splits `host:port`, `[v6]:port` or `:port`. */
export function parseListen(value: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value.trim());
  if (!m) throw invalidArgument(`${flag}: expected HOST:PORT, got "${value}"`);
  const host = m[1] ?? (m[2] || "127.0.0.1");
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalidArgument(`${flag}: bad port in "${value}"`);
  return { host, port };
}

export function resolveControllerConfig(options: ControllerOptions, env: NodeJS.ProcessEnv = process.env): ControllerConfig {
  const listen = parseListen(options.listen ?? env.SWPATCH_LISTEN ?? "127.0.0.1:5490", "--listen");
  const release = options.release ?? env.SW_VERSION ?? "19.09";
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(release)) throw invalidArgument(`--release: invalid release "${release}"`);
  const maxPatchBytes = options.maxPatchBytes ?? 4 * 1024 ** 3;
  if (!(maxPatchBytes > 0)) throw invalidArgument("--max-patch-bytes must be positive");
  const tls = checkTlsFlags({
    ...(options.tlsCert ? { certFile: path.resolve(options.tlsCert) } : {}),
    ...(options.tlsKey ? { keyFile: path.resolve(options.tlsKey) } : {}),
    ...(options.tlsClientCa ? { clientCaFile: path.resolve(options.tlsClientCa) } : {}),
  });
  checkListenPolicy(listen.host, !!tls, !!options.insecureListenAny);
  const timeScale = options.timeScale ?? 1;
  if (!(timeScale > 0 && timeScale <= 100)) throw invalidArgument(`--time-scale must be a number in (0, 100], got ${options.timeScale}`);
  const vimListen = options.vimListen ? parseListen(options.vimListen, "--vim-listen") : undefined;
  if (vimListen) checkListenPolicy(vimListen.host, false, !!options.insecureListenAny);
  const patchApiAddr = options.patchApiListen ? parseListen(options.patchApiListen, "--patch-api-listen") : undefined;
  if (options.patchApiLocalTrust && !patchApiAddr) throw invalidArgument("--patch-api-local-trust needs --patch-api-listen");
  if (patchApiAddr) {
    if (options.patchApiLocalTrust && !isLoopbackHost(patchApiAddr.host)) {
      throw invalidArgument(`--patch-api-local-trust: the patch API must listen on loopback, not ${patchApiAddr.host}`);
    }
    checkListenPolicy(patchApiAddr.host, false, !!options.insecureListenAny);
  }
  const http2Window = options.http2Window;
  if (http2Window !== undefined) {
    try {
      checkHttp2Window(http2Window);
    } catch (e) {
      throw invalidArgument(`--http2-window: ${(e as Error).message}`);
    }
  }
  const webAddr = options.webListen ? parseListen(options.webListen, "--web-listen") : undefined;
  if (webAddr) checkListenPolicy(webAddr.host, false, !!options.insecureListenAny);
  // dist/server/config -> dist/web (built); under tsx server/config -> dist/web as well.
  const defaultStatic = path.basename(path.resolve(__dirname, "../..")) === "dist" ? path.resolve(__dirname, "../../web") : path.resolve(__dirname, "../../dist/web");
  const limits = resolveStateLimits(options);
  return Object.freeze({
    limits,
    web: webAddr ? { ...webAddr, staticDir: path.resolve(options.webStaticDir ?? defaultStatic) } : undefined,
    patchApi: patchApiAddr ? { ...patchApiAddr, localTrust: !!options.patchApiLocalTrust } : undefined,
    timeScale,
    http2Window,
    vimListen,
    tls,
    insecureListenAny: !!options.insecureListenAny,
    dataDir: path.resolve(options.dataDir ?? env.SWPATCH_DATA_DIR ?? "./data"),
    listenHost: listen.host,
    listenPort: listen.port,
    release,
    trust: Object.freeze([...(options.trust ?? [])]),
    baseFeed: options.baseFeed ? path.resolve(options.baseFeed) : undefined,
    maxPatchBytes,
    logLevel: options.logLevel ?? "info",
  });
}

export const CONTROLLER_USAGE = `usage: sw-patch-controller [options]
  --data-dir DIR          data directory (default ./data)
  --listen HOST:PORT      gRPC address (default 127.0.0.1:5490; port 0 = any free port)
  --release REL           running release (default 19.09)
  --trust PEM[:label]     trusted certificate or public key (repeatable)
  --base-feed DIR         RPMs of the running release, imported at start when new
  --max-patch-bytes N     largest accepted patch file (default 4294967296)
  --log-level LEVEL       debug|info|warn|error|silent (default info)
  --tls-cert PEM          TLS certificate of the gRPC port (with --tls-key)
  --tls-key PEM           TLS private key
  --tls-client-ca PEM     require client certificates signed by this CA (mTLS)
  --insecure-listen-any   allow plaintext on a non-loopback --listen address
  --time-scale F          scale every orchestration wait and timeout (default 1; e.g. 0.01 in tests)
  --vim-listen HOST:PORT  serve the VIM REST API (orchestration) here (npm start: 127.0.0.1:4545)
  --patch-api-listen HOST:PORT  serve the reference's patching REST API here (npm start: 127.0.0.1:5487)
  --patch-api-local-trust       loopback callers of the patching REST API are admin without a token
  --web-listen HOST:PORT  serve the web console here (npm start: 127.0.0.1:8480)
  --web-static-dir DIR    the built console (default dist/web)
  --http2-window BYTES    HTTP/2 receive window per stream of the gRPC port, e.g. 1M (default 65535,
                          HTTP/2's; the connection window is twice it); raise it for uploads over
                          links with latency: an upload moves at most one window per round trip
${STATE_LIMITS_USAGE}  -h, --help              this help
`;

/** `N`, `NK`/`NKiB` (x1024) or `NM`/`NMiB` (x1048576), a whole number of bytes. */
export function parseByteSize(value: string, flag: string): number {
  const m = /^(\d+)(?:(K|M)(?:iB)?)?$/i.exec(value.trim());
  if (!m) throw invalidArgument(`${flag}: expected a number of bytes such as 1048576, 1024K or 1M, got "${value}"`);
  const unit = m[2]?.toUpperCase();
  return Number(m[1]) * (unit === "K" ? 1024 : unit === "M" ? 1048576 : 1);
}

/** Parses the command line into options; throws DomainError invalid-argument on bad flags. */
export function parseControllerArgs(argv: string[]): ControllerOptions & { help?: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        "data-dir": { type: "string" },
        listen: { type: "string" },
        release: { type: "string" },
        trust: { type: "string", multiple: true },
        "base-feed": { type: "string" },
        "max-patch-bytes": { type: "string" },
        "log-level": { type: "string" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "tls-client-ca": { type: "string" },
        "insecure-listen-any": { type: "boolean" },
        "time-scale": { type: "string" },
        "vim-listen": { type: "string" },
        "patch-api-listen": { type: "string" },
        "patch-api-local-trust": { type: "boolean" },
        "web-listen": { type: "string" },
        "web-static-dir": { type: "string" },
        "http2-window": { type: "string" },
        ...STATE_LIMIT_ARGS,
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw invalidArgument((e as Error).message);
  }
  const v = parsed.values;
  const level = v["log-level"];
  if (level !== undefined && !["debug", "info", "warn", "error", "silent"].includes(level)) {
    throw invalidArgument(`--log-level: unknown level "${level}"`);
  }
  const out: ControllerOptions & { help?: boolean } = {};
  if (v.help) out.help = true;
  if (v["data-dir"] !== undefined) out.dataDir = v["data-dir"];
  if (v.listen !== undefined) out.listen = v.listen;
  if (v.release !== undefined) out.release = v.release;
  if (v.trust !== undefined) out.trust = v.trust;
  if (v["base-feed"] !== undefined) out.baseFeed = v["base-feed"];
  if (v["max-patch-bytes"] !== undefined) out.maxPatchBytes = Number(v["max-patch-bytes"]);
  if (level !== undefined) out.logLevel = level as ControllerOptions["logLevel"];
  if (v["tls-cert"] !== undefined) out.tlsCert = v["tls-cert"];
  if (v["tls-key"] !== undefined) out.tlsKey = v["tls-key"];
  if (v["tls-client-ca"] !== undefined) out.tlsClientCa = v["tls-client-ca"];
  if (v["insecure-listen-any"]) out.insecureListenAny = true;
  if (v["time-scale"] !== undefined) out.timeScale = Number(v["time-scale"]);
  if (v["vim-listen"] !== undefined) out.vimListen = v["vim-listen"];
  if (v["patch-api-listen"] !== undefined) out.patchApiListen = v["patch-api-listen"];
  if (v["patch-api-local-trust"]) out.patchApiLocalTrust = true;
  if (v["web-listen"] !== undefined) out.webListen = v["web-listen"];
  if (v["web-static-dir"] !== undefined) out.webStaticDir = v["web-static-dir"];
  if (v["http2-window"] !== undefined) out.http2Window = parseByteSize(v["http2-window"], "--http2-window");
  Object.assign(out, stateLimitOptions(v));
  return out;
}
