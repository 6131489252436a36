import * as path from "node:path";
import { parseArgs } from "node:util";
import { invalidArgument } from "../domain/errors.js";
import { checkHttp2Window } from "../transport/http2-tuning.js";
import { checkListenPolicy, checkTlsFlags, isLoopbackHost, type TlsFiles } from "../transport/tls.js";
import { KEYSTONE_ARGS, KEYSTONE_USAGE, keystoneOptions, resolveKeystone, type KeystoneConfig, type KeystoneOptions } from "./keystone-options.js";
import { checkHttpListenPolicy } from "../transport/http/listen-policy.js";
import { PAIR_ARGS, PAIR_USAGE, pairOptions, resolvePair, type PairConfig, type PairOptions } from "./pair-options.js";
import { STATE_LIMITS_USAGE, STATE_LIMIT_ARGS, resolveStateLimits, stateLimitOptions, type StateLimitOptions, type StateLimits } from "./state-limits.js";
import { STORE_ARGS, STORE_USAGE, resolveStore, storeOptions, type StoreConfig, type StoreOptions } from "./store-options.js";

/** Options of `sw-patch-controller`; every field optional. */
export interface ControllerOptions extends StateLimitOptions, KeystoneOptions, PairOptions, StoreOptions {
  /** Data directory (sqlite file, blobs, temp). Default `./data`. */
  dataDir?: string;
  /** gRPC listen address `host:port`; port 0 picks a free port. Default `127.0.0.1:5490`. */
  listen?: string;
  /** The running release, e.g. `19.09`. Default `19.09`. */
  release?: string;
  /** Trust store entries `PATH[:label]` (X.509 certificate or public key PEM). */
  trust?: string[];
  /**
   * Trust the local signing key (generated at first start in `<data-dir>/signing/`) and the shipped
   * StarlingX formal certificate besides `trust`. Default true; false = `--no-default-trust`.
   */
  defaultTrust?: boolean;
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
  /**
   * `--insecure` (alias `--insecure-listen-any`): allow plaintext on a non-loopback address (tokens
   * travel in cleartext; logged as a warning). Default false.
   */
  insecureListenAny?: boolean;
  /** Factor applied to every orchestration wait and timeout (e.g. 0.01 in tests). Default 1. */
  timeScale?: number;
  /** VIM REST API address (orchestration); off unless given. */
  vimListen?: string;
  /** Loopback callers of the VIM API without a token we know act as the local admin (like patchApiLocalTrust). */
  vimLocalTrust?: boolean;
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
  // ---- BOUNDS: upload and HTTP connection limits (docs/security.md "Limits")
  /** Bytes one upload may unpack (decompressed stream; temp files). Default 2 x maxPatchBytes. */
  maxUnpackedBytes?: number;
  /** Decompressed bytes per compressed byte received, at most (plus 64 MiB); 0 = off. Default 32. */
  maxInflateRatio?: number;
  /** Patch uploads read at the same time, at most (all paths together). Default 4. */
  maxConcurrentUploads?: number;
  /** Temporary disk all uploads in flight may hold together, bytes. Default 2 x maxUnpackedBytes. */
  maxUploadTmpBytes?: number;
  /** Every HTTP listener: ms to receive a request's headers. Default 20000. */
  httpHeaderTimeoutMs?: number;
  /** Every HTTP listener: ms a connection may stay silent (no byte either way). Default 60000. */
  httpIdleTimeoutMs?: number;
  /** Every HTTP listener: ms to receive a small (non-upload) request body. Default 30000. */
  httpBodyTimeoutMs?: number;
  /** Connections per HTTP listener, at most. Default 256. */
  httpMaxConnections?: number;
  /** Connections over all HTTP listeners together, at most. Default 512. */
  httpMaxConnectionsTotal?: number;
  // Watch streams and event retention (issue 16 point 4).
  /** Watch streams (WatchEvents/WatchOperation/WatchStrategy) open at once, all callers. Default 1024. */
  maxWatchStreams?: number;
  /** Watch streams open at once per caller (token). Default 128. */
  maxWatchStreamsPerCaller?: number;
  /** Messages one watch stream may have waiting before it is ended RESOURCE_EXHAUSTED. Default 1024. */
  watchBuffer?: number;
  /** Event log retention: `COUNT`, `AGE` (`90s`, `30m`, `12h`, `7d`), `COUNT,AGE` or `unlimited`. Default `100000`. */
  eventRetention?: string;
}

/** Resolved, frozen configuration of one controller process. */
export interface ControllerConfig {
  readonly dataDir: string;
  readonly listenHost: string;
  readonly listenPort: number;
  readonly release: string;
  readonly trust: readonly string[];
  /** Trust the local signing key and the StarlingX formal certificate too (default-trust.ts). */
  readonly defaultTrust: boolean;
  readonly baseFeed: string | undefined;
  readonly maxPatchBytes: number;
  readonly logLevel: "debug" | "info" | "warn" | "error" | "silent";
  readonly tls: TlsFiles | undefined;
  readonly insecureListenAny: boolean;
  readonly timeScale: number;
  readonly vimListen: { host: string; port: number } | undefined;
  /** --vim-local-trust (only with a loopback --vim-listen). */
  readonly vimLocalTrust: boolean;
  readonly patchApi: { host: string; port: number; localTrust: boolean } | undefined;
  readonly web: { host: string; port: number; staticDir: string } | undefined;
  /** undefined: HTTP/2's default window (nothing is changed). */
  readonly http2Window: number | undefined;
  // Watch streams and event retention.
  readonly maxWatchStreams: number;
  readonly maxWatchStreamsPerCaller: number;
  readonly watchBuffer: number;
  /** Empty: unlimited. */
  readonly eventRetention: { maxCount?: number; maxAgeMs?: number };
  /** Upload bounds (BOUNDS); see ControllerOptions. */
  readonly uploads: { readonly maxUnpackedBytes: number; readonly maxInflateRatio: number; readonly maxConcurrent: number; readonly maxTmpBytes: number };
  /** HTTP listener bounds (BOUNDS); see ControllerOptions. */
  readonly httpLimits: HttpLimits;
  /** Audit retention and refusal rate, console session caps (state-limits.ts). */
  readonly limits: StateLimits;
  /** Keystone token validation for the HTTP APIs (keystone-options.ts); undefined: off. */
  readonly keystone: KeystoneConfig | undefined;
  /** The controller pair (pair-options.ts); undefined: a single controller. */
  readonly pair: PairConfig | undefined;
  /** Where the state lives (store-options.ts): sqlite in dataDir, or PostgreSQL. */
  readonly store: StoreConfig;
}

/** Timeouts and connection caps of every HTTP listener (web console, patching REST API, VIM API). */
export interface HttpLimits {
  readonly headerTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsTotal: number;
}

/** The upload and HTTP limits of `options`, defaults filled in and checked (BOUNDS). */
export function resolveBounds(options: ControllerOptions, maxPatchBytes: number): { uploads: ControllerConfig["uploads"]; httpLimits: HttpLimits } {
  const whole = (v: number | undefined, def: number, flag: string, min = 1) => {
    const n = v ?? def;
    if (!Number.isSafeInteger(n) || n < min) throw invalidArgument(`${flag} must be a whole number >= ${min}, got ${v}`);
    return n;
  };
  const maxUnpackedBytes = whole(options.maxUnpackedBytes, Math.min(2 * maxPatchBytes, Number.MAX_SAFE_INTEGER), "--max-unpacked-bytes");
  const uploads = Object.freeze({
    maxUnpackedBytes,
    maxInflateRatio: whole(options.maxInflateRatio, 32, "--max-inflate-ratio", 0),
    maxConcurrent: whole(options.maxConcurrentUploads, 4, "--max-concurrent-uploads"),
    maxTmpBytes: whole(options.maxUploadTmpBytes, Math.min(2 * maxUnpackedBytes, Number.MAX_SAFE_INTEGER), "--max-upload-tmp-bytes"),
  });
  const httpLimits = Object.freeze({
    headerTimeoutMs: whole(options.httpHeaderTimeoutMs, 20_000, "--http-header-timeout"),
    idleTimeoutMs: whole(options.httpIdleTimeoutMs, 60_000, "--http-idle-timeout"),
    bodyTimeoutMs: whole(options.httpBodyTimeoutMs, 30_000, "--http-body-timeout"),
    maxConnections: whole(options.httpMaxConnections, 256, "--http-max-connections"),
    maxConnectionsTotal: whole(options.httpMaxConnectionsTotal, 512, "--http-max-connections-total"),
  });
  return { uploads, httpLimits };
}

// ---- Watch streams and event retention (issue 16 point 4) ----
/** Defaults of the watch flags. */
export const WATCH_DEFAULTS = { maxWatchStreams: 1024, maxWatchStreamsPerCaller: 128, watchBuffer: 1024, eventRetention: "100000" } as const;

const AGE_UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `--event-retention`: `COUNT`, `AGE` (`90s`, `30m`, `12h`, `7d`), `COUNT,AGE`, or `unlimited`. */
export function parseEventRetention(value: string): { maxCount?: number; maxAgeMs?: number } {
  const v = value.trim();
  if (v === "unlimited") return {};
  const out: { maxCount?: number; maxAgeMs?: number } = {};
  for (const part of v.split(",")) {
    const m = /^(\d+)([smhd])?$/.exec(part.trim());
    const n = m ? Number(m[1]) : NaN;
    if (!m || !(n >= 1) || !Number.isSafeInteger(n) || (m[2] ? out.maxAgeMs : out.maxCount) !== undefined) {
      throw invalidArgument(`--event-retention: expected a count of events (e.g. 100000), an age (e.g. 7d, 12h), both (100000,7d) or unlimited, got "${value}"`);
    }
    if (m[2]) out.maxAgeMs = n * AGE_UNIT_MS[m[2]]!;
    else out.maxCount = n;
  }
  return out;
}

function watchConfig(o: ControllerOptions) {
  const positive = (v: number | undefined, def: number, flag: string) => {
    const n = v ?? def;
    if (!Number.isSafeInteger(n) || n < 1) throw invalidArgument(`${flag} must be a whole number of at least 1, got ${v}`);
    return n;
  };
  return {
    maxWatchStreams: positive(o.maxWatchStreams, WATCH_DEFAULTS.maxWatchStreams, "--max-watch-streams"),
    maxWatchStreamsPerCaller: positive(o.maxWatchStreamsPerCaller, WATCH_DEFAULTS.maxWatchStreamsPerCaller, "--max-watch-streams-per-caller"),
    watchBuffer: positive(o.watchBuffer, WATCH_DEFAULTS.watchBuffer, "--watch-buffer"),
    eventRetention: parseEventRetention(o.eventRetention ?? WATCH_DEFAULTS.eventRetention),
  };
}
// ---- end watch streams and event retention ----

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
  // HTTP listeners serve https with the --tls-* files; plain HTTP stays on loopback unless --insecure.
  if (vimListen) checkHttpListenPolicy("--vim-listen", vimListen.host, !!tls, !!options.insecureListenAny);
  if (options.vimLocalTrust && !vimListen) throw invalidArgument("--vim-local-trust needs --vim-listen");
  if (options.vimLocalTrust && vimListen && !isLoopbackHost(vimListen.host)) {
    throw invalidArgument(`--vim-local-trust: the VIM API must listen on loopback, not ${vimListen.host}`);
  }
  const patchApiAddr = options.patchApiListen ? parseListen(options.patchApiListen, "--patch-api-listen") : undefined;
  if (options.patchApiLocalTrust && !patchApiAddr) throw invalidArgument("--patch-api-local-trust needs --patch-api-listen");
  if (patchApiAddr) {
    if (options.patchApiLocalTrust && !isLoopbackHost(patchApiAddr.host)) {
      throw invalidArgument(`--patch-api-local-trust: the patch API must listen on loopback, not ${patchApiAddr.host}`);
    }
    checkHttpListenPolicy("--patch-api-listen", patchApiAddr.host, !!tls, !!options.insecureListenAny);
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
  if (webAddr) checkHttpListenPolicy("--web-listen", webAddr.host, !!tls, !!options.insecureListenAny);
  // dist/server/config -> dist/web (built); under tsx server/config -> dist/web as well.
  const defaultStatic = path.basename(path.resolve(__dirname, "../..")) === "dist" ? path.resolve(__dirname, "../../web") : path.resolve(__dirname, "../../dist/web");
  const bounds = resolveBounds(options, maxPatchBytes);
  const limits = resolveStateLimits(options);
  return Object.freeze({
    ...bounds,
    ...watchConfig(options),
    limits,
    keystone: resolveKeystone(options),
    ...pairAndStore(options, env),
    web: webAddr ? { ...webAddr, staticDir: path.resolve(options.webStaticDir ?? defaultStatic) } : undefined,
    patchApi: patchApiAddr ? { ...patchApiAddr, localTrust: !!options.patchApiLocalTrust } : undefined,
    timeScale,
    http2Window,
    vimListen,
    vimLocalTrust: !!options.vimLocalTrust,
    tls,
    insecureListenAny: !!options.insecureListenAny,
    dataDir: path.resolve(options.dataDir ?? env.SWPATCH_DATA_DIR ?? "./data"),
    listenHost: listen.host,
    listenPort: listen.port,
    release,
    trust: Object.freeze([...(options.trust ?? [])]),
    defaultTrust: options.defaultTrust ?? true,
    baseFeed: options.baseFeed ? path.resolve(options.baseFeed) : undefined,
    maxPatchBytes,
    logLevel: options.logLevel ?? "info",
  });
}

export const CONTROLLER_USAGE = `usage: sw-patch-controller [options]
       sw-patch-controller audit-verify --data-dir DIR [--key-id ID]... [--show-key]   (offline audit check)
  --data-dir DIR          data directory (default ./data)
  --listen HOST:PORT      gRPC address (default 127.0.0.1:5490; port 0 = any free port)
  --release REL           running release (default 19.09)
  --trust PEM[:label]     trusted certificate or public key (repeatable)
  --no-default-trust      trust only the --trust keys: no local signing key (by default generated at
                          first start in DATA-DIR/signing/ and trusted as local) and no StarlingX
                          formal certificate (certs/, trusted as formal)
  --base-feed DIR         RPMs of the running release, imported at start when new
  --max-patch-bytes N     largest accepted patch file (default 4294967296)
  --log-level LEVEL       debug|info|warn|error|silent (default info)
  --tls-cert PEM          TLS certificate of the gRPC port (with --tls-key)
  --tls-key PEM           TLS private key
  --tls-client-ca PEM     require client certificates signed by this CA (mTLS)
  --insecure              allow plaintext on a non-loopback address (warned at start; old name
                          --insecure-listen-any)
  --time-scale F          scale every orchestration wait and timeout (default 1; e.g. 0.01 in tests)
  --vim-listen HOST:PORT  serve the VIM REST API (orchestration) here (npm start: 127.0.0.1:4545)
  --patch-api-listen HOST:PORT  serve the reference's patching REST API here (npm start: 127.0.0.1:5487)
  --patch-api-local-trust       loopback callers of the patching REST API are admin without a token
  --vim-local-trust       loopback callers of the VIM API without a token we know are admin (sw-manager)
  --web-listen HOST:PORT  serve the web console here (npm start: 127.0.0.1:8480)
  --web-static-dir DIR    the built console (default dist/web)
  --http2-window BYTES    HTTP/2 receive window per stream of the gRPC port, e.g. 1M (default 65535,
                          HTTP/2's; the connection window is twice it); raise it for uploads over
                          links with latency: an upload moves at most one window per round trip
  --max-unpacked-bytes N  bytes one upload may unpack, stream and temp files (default 2 x --max-patch-bytes)
  --max-inflate-ratio R   refuse a patch that inflates past R x its compressed bytes + 64 MiB (default 32; 0 = off)
  --max-concurrent-uploads N    patch uploads read at once, all APIs together (default 4)
  --max-upload-tmp-bytes N      temp disk all uploads in flight may hold (default 2 x --max-unpacked-bytes)
  --http-header-timeout MS      HTTP listeners: time to send the request headers (default 20000)
  --http-idle-timeout MS        HTTP listeners: a connection silent this long is closed (default 60000)
  --http-body-timeout MS        HTTP listeners: time to send a small (non-upload) body (default 30000)
  --http-max-connections N      connections per HTTP listener (default 256)
  --http-max-connections-total N  connections over all HTTP listeners (default 512)
  --max-watch-streams N   watch streams (WatchEvents/Operation/Strategy) open at once (default 1024)
  --max-watch-streams-per-caller N  of them per caller token (default 128)
  --watch-buffer N        messages a watch stream may have waiting before it is ended (default 1024)
  --event-retention SPEC  events kept: a count (100000), an age (7d, 12h), both (100000,7d)
                          or unlimited (default 100000); older history is OUT_OF_RANGE
${STATE_LIMITS_USAGE}${KEYSTONE_USAGE}${PAIR_USAGE}${STORE_USAGE}  -h, --help              this help
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
        "no-default-trust": { type: "boolean" },
        "base-feed": { type: "string" },
        "max-patch-bytes": { type: "string" },
        "log-level": { type: "string" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "tls-client-ca": { type: "string" },
        insecure: { type: "boolean" },
        "insecure-listen-any": { type: "boolean" },
        "time-scale": { type: "string" },
        "vim-listen": { type: "string" },
        "patch-api-listen": { type: "string" },
        "patch-api-local-trust": { type: "boolean" },
        "vim-local-trust": { type: "boolean" },
        "web-listen": { type: "string" },
        "web-static-dir": { type: "string" },
        "http2-window": { type: "string" },
        "max-unpacked-bytes": { type: "string" },
        "max-inflate-ratio": { type: "string" },
        "max-concurrent-uploads": { type: "string" },
        "max-upload-tmp-bytes": { type: "string" },
        "http-header-timeout": { type: "string" },
        "http-idle-timeout": { type: "string" },
        "http-body-timeout": { type: "string" },
        "http-max-connections": { type: "string" },
        "http-max-connections-total": { type: "string" },
        "max-watch-streams": { type: "string" },
        "max-watch-streams-per-caller": { type: "string" },
        "watch-buffer": { type: "string" },
        "event-retention": { type: "string" },
        ...STATE_LIMIT_ARGS,
        ...KEYSTONE_ARGS,
        ...PAIR_ARGS,
        ...STORE_ARGS,
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
  if (v["no-default-trust"]) out.defaultTrust = false;
  if (v["base-feed"] !== undefined) out.baseFeed = v["base-feed"];
  if (v["max-patch-bytes"] !== undefined) out.maxPatchBytes = Number(v["max-patch-bytes"]);
  if (level !== undefined) out.logLevel = level as ControllerOptions["logLevel"];
  if (v["tls-cert"] !== undefined) out.tlsCert = v["tls-cert"];
  if (v["tls-key"] !== undefined) out.tlsKey = v["tls-key"];
  if (v["tls-client-ca"] !== undefined) out.tlsClientCa = v["tls-client-ca"];
  if (v.insecure || v["insecure-listen-any"]) out.insecureListenAny = true;
  if (v["time-scale"] !== undefined) out.timeScale = Number(v["time-scale"]);
  if (v["vim-listen"] !== undefined) out.vimListen = v["vim-listen"];
  if (v["patch-api-listen"] !== undefined) out.patchApiListen = v["patch-api-listen"];
  if (v["patch-api-local-trust"]) out.patchApiLocalTrust = true;
  if (v["vim-local-trust"]) out.vimLocalTrust = true;
  if (v["web-listen"] !== undefined) out.webListen = v["web-listen"];
  if (v["web-static-dir"] !== undefined) out.webStaticDir = v["web-static-dir"];
  if (v["http2-window"] !== undefined) out.http2Window = parseByteSize(v["http2-window"], "--http2-window");
  // BOUNDS flags
  if (v["max-unpacked-bytes"] !== undefined) out.maxUnpackedBytes = parseByteSize(v["max-unpacked-bytes"], "--max-unpacked-bytes");
  if (v["max-inflate-ratio"] !== undefined) out.maxInflateRatio = Number(v["max-inflate-ratio"]);
  if (v["max-concurrent-uploads"] !== undefined) out.maxConcurrentUploads = Number(v["max-concurrent-uploads"]);
  if (v["max-upload-tmp-bytes"] !== undefined) out.maxUploadTmpBytes = parseByteSize(v["max-upload-tmp-bytes"], "--max-upload-tmp-bytes");
  if (v["http-header-timeout"] !== undefined) out.httpHeaderTimeoutMs = Number(v["http-header-timeout"]);
  if (v["http-idle-timeout"] !== undefined) out.httpIdleTimeoutMs = Number(v["http-idle-timeout"]);
  if (v["http-body-timeout"] !== undefined) out.httpBodyTimeoutMs = Number(v["http-body-timeout"]);
  if (v["http-max-connections"] !== undefined) out.httpMaxConnections = Number(v["http-max-connections"]);
  if (v["http-max-connections-total"] !== undefined) out.httpMaxConnectionsTotal = Number(v["http-max-connections-total"]);
  if (v["max-watch-streams"] !== undefined) out.maxWatchStreams = Number(v["max-watch-streams"]);
  if (v["max-watch-streams-per-caller"] !== undefined) out.maxWatchStreamsPerCaller = Number(v["max-watch-streams-per-caller"]);
  if (v["watch-buffer"] !== undefined) out.watchBuffer = Number(v["watch-buffer"]);
  if (v["event-retention"] !== undefined) out.eventRetention = v["event-retention"];
  Object.assign(out, stateLimitOptions(v));
  Object.assign(out, keystoneOptions(v));
  Object.assign(out, pairOptions(v));
  Object.assign(out, storeOptions(v));
  return out;
}

/** `--store` and the pair: with a PostgreSQL store, the pair's lease lives in the store's database. */
function pairAndStore(options: ControllerOptions, env: NodeJS.ProcessEnv): { pair: PairConfig | undefined; store: StoreConfig } {
  const store = resolveStore(options, env);
  return { store, pair: resolvePair(options, store.kind === "postgres" ? store.connectionString : undefined) };
}
