/**
 * Keystone v3 tokens for the HTTP APIs: the {@link ExternalTokenVerifier} that asks Keystone
 * (`GET /v3/auth/tokens`, the token as `X-Subject-Token` and as `X-Auth-Token`: Keystone's default
 * policy lets a token validate itself, so no service credentials are needed) and maps its roles
 * onto ours. Answers are cached by sha256(token) (docs/security.md "Keystone").
 */
import * as http from "node:http";
import * as https from "node:https";
import { DomainError } from "../../domain/errors.js";
import type { Caller, Role } from "../../domain/auth/roles.js";
import type { ExternalTokenVerifier } from "../../domain/auth/external-token.js";
import type { Logger } from "../../lib/log.js";
import { TokenCache, tokenKey } from "./token-cache.js";

/** Keystone role name → our role; a token gets the highest role it carries. */
export const KEYSTONE_ROLE_MAP: Readonly<Record<string, Exclude<Role, "agent">>> = Object.freeze({
  admin: "admin",
  member: "operator",
  _member_: "operator",
  reader: "reader",
});

const RANK: Record<string, number> = { reader: 1, operator: 2, admin: 3 };

/** The highest of our roles the Keystone role names map to, or undefined when none maps. */
export function mapKeystoneRoles(names: readonly string[]): Exclude<Role, "agent"> | undefined {
  let best: Exclude<Role, "agent"> | undefined;
  for (const n of names) {
    const r = Object.prototype.hasOwnProperty.call(KEYSTONE_ROLE_MAP, n.toLowerCase()) ? KEYSTONE_ROLE_MAP[n.toLowerCase()] : undefined;
    if (r && (!best || RANK[r]! > RANK[best]!)) best = r;
  }
  return best;
}

/** Defaults of {@link KeystoneVerifierOptions}. */
export const KEYSTONE_DEFAULTS = Object.freeze({
  timeoutMs: 5000,
  cacheTtlMs: 60_000,
  negativeTtlMs: 5000,
  maxEntries: 10_000,
  maxInFlight: 64,
});

/** Options of {@link KeystoneTokenVerifier}. */
export interface KeystoneVerifierOptions {
  /** Keystone's base URL, `http(s)://host:port[/prefix]`; a trailing `/v3` is accepted and dropped. */
  url: string;
  /** PEM CA certificate(s) an https Keystone's certificate must chain to (default: Node's CAs). */
  ca?: string | Buffer;
  /** One validation request may take this long before the call is refused (503). Default 5000. */
  timeoutMs?: number;
  /** A valid token's answer is kept this long at most (and never past its `expires_at`); 0..60000, default 60000. */
  cacheTtlMs?: number;
  /** An unknown/expired token's answer is kept this long. Default 5000. */
  negativeTtlMs?: number;
  /** Answers kept at most (the oldest goes first). Default 10000. */
  maxEntries?: number;
  /** Validation requests to Keystone at once, at most; beyond it a call is refused (503). Default 64. */
  maxInFlight?: number;
  /** Clock, ms since the epoch (tests). Default Date.now. */
  now?: () => number;
  log?: Logger;
}

/** Longest token we send to Keystone (Fernet tokens are about 200 characters; PKI ones were a few KiB). */
const MAX_TOKEN_CHARS = 8192;
/** Largest validation answer read (asked without the catalog: about 1 KiB). */
const MAX_ANSWER_BYTES = 1024 * 1024;
/** Longest user name put in `Caller.tokenId`. */
const MAX_NAME_CHARS = 64;

type Answer = { status: number; body: Buffer };

/** A kept-alive connection was closed by Keystone before our request reached it: send again. */
class StaleSocket extends Error {}

const unavailable = (message: string, cause?: unknown) =>
  new DomainError("unavailable", `token verification unavailable: ${message}`, { reason: "KEYSTONE_UNAVAILABLE", ...(cause ? { cause } : {}) });

/**
 * Validates Keystone v3 tokens (see the file comment).
 *
 * INVARIANTS:
 * - The token never leaves this object except in the two headers of the request to Keystone; the
 *   cache holds sha256(token) → answer; `Caller.tokenId` is `keystone:<user name>`.
 * - A positive answer is kept until min(now + cacheTtlMs, token expires_at); a negative one for
 *   negativeTtlMs; an unavailable one (timeout, 5xx, connection refused) is not kept.
 * - At most maxInFlight requests to Keystone run at once (concurrent calls for one token share one).
 */
export class KeystoneTokenVerifier implements ExternalTokenVerifier {
  readonly name = "keystone";
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly cache: TokenCache<Caller | null>;
  private readonly o: Required<Omit<KeystoneVerifierOptions, "ca" | "log" | "url">>;
  private readonly log: Logger | undefined;
  /** Requests sent to Keystone so far (diagnostics, tests). */
  requests = 0;

  constructor(opts: KeystoneVerifierOptions) {
    this.base = parseKeystoneUrl(opts.url);
    this.o = {
      timeoutMs: opts.timeoutMs ?? KEYSTONE_DEFAULTS.timeoutMs,
      cacheTtlMs: opts.cacheTtlMs ?? KEYSTONE_DEFAULTS.cacheTtlMs,
      negativeTtlMs: opts.negativeTtlMs ?? KEYSTONE_DEFAULTS.negativeTtlMs,
      maxEntries: opts.maxEntries ?? KEYSTONE_DEFAULTS.maxEntries,
      maxInFlight: opts.maxInFlight ?? KEYSTONE_DEFAULTS.maxInFlight,
      now: opts.now ?? Date.now,
    };
    if (!(this.o.cacheTtlMs >= 0 && this.o.cacheTtlMs <= 60_000)) throw new Error(`cacheTtlMs must be in 0..60000, got ${this.o.cacheTtlMs}`);
    this.log = opts.log;
    this.cache = new TokenCache(this.o.maxEntries, this.o.now);
    const agentOptions = { keepAlive: true, maxSockets: this.o.maxInFlight };
    this.agent = this.base.protocol === "https:" ? new https.Agent({ ...agentOptions, ...(opts.ca ? { ca: opts.ca } : {}) }) : new http.Agent(agentOptions);
  }

  /** Answers kept now (expired ones included until looked up or pushed out). */
  get cached(): number {
    return this.cache.size;
  }

  async verify(token: string, signal?: AbortSignal): Promise<Caller | null> {
    // A token that cannot be a header value or is absurdly long is garbage: refused without asking.
    if (token.length === 0 || token.length > MAX_TOKEN_CHARS || !/^[\x21-\x7e]+$/.test(token)) return null;
    const key = tokenKey(token);
    const hit = this.cache.get(key);
    if (hit) return hit.value;
    signal?.throwIfAborted();
    if (!this.cache.running(key) && this.cache.pending >= this.o.maxInFlight) throw unavailable(`${this.o.maxInFlight} validations already in flight`);
    const answer = this.cache.getOrLookup(key, () => this.lookup(key, token));
    if (!signal) return answer;
    return new Promise<Caller | null>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      answer.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  /** Closes the kept-alive connections to Keystone. */
  close(): void {
    this.agent.destroy();
  }

  /** Asks Keystone about one token and keeps the answer (not an unavailable one). */
  private async lookup(key: string, token: string): Promise<Caller | null> {
    const a = await this.ask(token);
    const now = this.o.now();
    if (a.status === 404 || a.status === 401) {
      this.cache.set(key, null, now + this.o.negativeTtlMs);
      return null;
    }
    if (a.status === 403) {
      this.log?.error("Keystone refused to validate a token (403): its policy identity:validate_token must let a token validate itself", {});
      throw unavailable("Keystone refused the validation (403)");
    }
    if (a.status !== 200) {
      this.log?.warn("Keystone token validation failed", { status: a.status });
      throw unavailable(`Keystone answered ${a.status}`);
    }
    const parsed = parseValidation(a.body);
    if (typeof parsed === "string") {
      this.log?.warn("Keystone token validation answer not understood", { detail: parsed });
      throw unavailable(`Keystone's answer not understood: ${parsed}`);
    }
    if (!(parsed.expiresAt > now)) {
      this.cache.set(key, null, now + this.o.negativeTtlMs);
      return null;
    }
    const role = mapKeystoneRoles(parsed.roles);
    const caller: Caller | null = role ? Object.freeze({ tokenId: `keystone:${parsed.user}`, role }) : null;
    this.cache.set(key, caller, caller ? Math.min(parsed.expiresAt, now + this.o.cacheTtlMs) : now + this.o.negativeTtlMs);
    return caller;
  }

  /**
   * One `GET /v3/auth/tokens?nocatalog`, bounded by timeoutMs and MAX_ANSWER_BYTES; sent again
   * once on a fresh connection when a kept-alive one turns out closed by Keystone (Node's
   * `reusedSocket` case: uwsgi's --http-socket closes every connection after its answer).
   */
  private async ask(token: string): Promise<Answer> {
    try {
      return await this.askOnce(token);
    } catch (e) {
      if (!(e instanceof StaleSocket)) throw e;
      return this.askOnce(token, false);
    }
  }

  private askOnce(token: string, reuse = true): Promise<Answer> {
    this.requests++;
    const target = new URL(`${this.base.pathname.replace(/\/$/, "")}/v3/auth/tokens?nocatalog`, this.base);
    const lib = target.protocol === "https:" ? https : http;
    return new Promise<Answer>((resolve, reject) => {
      let done = false;
      const finish = (err: Error | undefined, answer?: Answer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(answer!);
      };
      const req = lib.request(
        target,
        { method: "GET", agent: reuse ? this.agent : false, headers: { "x-auth-token": token, "x-subject-token": token, accept: "application/json" } },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (c: Buffer) => {
            size += c.length;
            if (size > MAX_ANSWER_BYTES) {
              req.destroy();
              finish(unavailable(`Keystone's answer is larger than ${MAX_ANSWER_BYTES} bytes`));
            } else chunks.push(c);
          });
          res.on("end", () => finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on("error", (e) => finish(unavailable(e.message, e)));
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        finish(unavailable(`Keystone did not answer within ${this.o.timeoutMs} ms`));
      }, this.o.timeoutMs);
      req.on("error", (e) => {
        const code = (e as NodeJS.ErrnoException).code;
        if (req.reusedSocket && (code === "ECONNRESET" || code === "EPIPE")) return finish(new StaleSocket());
        if (!done) this.log?.warn("Keystone unreachable", { url: this.base.origin, error: e.message });
        finish(unavailable(`Keystone unreachable (${(e as NodeJS.ErrnoException).code ?? e.message})`, e));
      });
      req.end();
    });
  }
}

/** Checks `--keystone-url`: http(s), no credentials, no query; a trailing `/v3` is dropped. */
export function parseKeystoneUrl(value: string): URL {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new Error(`not a URL: "${value}"`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`expected an http:// or https:// URL, got "${value}"`);
  if (u.username || u.password || u.search || u.hash) throw new Error(`expected scheme://host:port[/path] without credentials, query or fragment, got "${value}"`);
  u.pathname = u.pathname.replace(/\/+$/, "").replace(/\/v3$/, "") || "/";
  return u;
}

/** What a validation answer says, or why it cannot be read. */
function parseValidation(body: Buffer): { user: string; roles: string[]; expiresAt: number } | string {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString("utf8"));
  } catch {
    return "not JSON";
  }
  const t = (doc as { token?: unknown })?.token as { expires_at?: unknown; user?: { name?: unknown }; roles?: unknown } | undefined;
  if (!t || typeof t !== "object") return "no token object";
  const expiresAt = typeof t.expires_at === "string" ? Date.parse(t.expires_at) : NaN;
  if (!Number.isFinite(expiresAt)) return "no expires_at";
  const name = typeof t.user?.name === "string" ? t.user.name : "";
  // Control characters and over-long names stay out of audit rows and logs.
  const user = name.replace(/[^\x20-\x7e]/g, "?").slice(0, MAX_NAME_CHARS) || "?";
  const roles = Array.isArray(t.roles) ? t.roles.map((r) => (r as { name?: unknown })?.name).filter((n): n is string => typeof n === "string") : [];
  return { user, roles, expiresAt };
}
