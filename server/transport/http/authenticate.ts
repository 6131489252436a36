/**
 * The one `authenticate` of every HTTP API (patch REST, VIM, console): who calls, from the
 * request's headers only (it runs before any body is read).
 *
 * Credentials, first found wins: `Authorization: Bearer <token>`, then `X-Auth-Token: <token>`,
 * then (APIs that allow it: the console) the console session cookie. A token is one of ours
 * (`swp_...`, verified by the AuthManager) or, when an {@link ExternalTokenVerifier} is configured,
 * any other token is asked to it: a null answer or a throw refuses the call (never ignored); a DomainError
 * `unavailable` from it (the identity service cannot be asked) is refused as `unavailable` (503).
 *
 * Local trust (an API's `localTrust`, only on a loopback listener with a loopback peer): a call
 * without a token, or with a token we do not know, is the local admin — the reference's
 * unauthenticated 127.0.0.1 endpoints. A token the external verifier refuses is still refused, and
 * a token store of ours that cannot answer is never trust (503, reason `unavailable`).
 */
import type * as http from "node:http";
import { isDomainError } from "../../domain/errors.js";
import { LOCAL_CALLER, type Caller } from "../../domain/auth/roles.js";
import type { ExternalTokenVerifier } from "../../domain/auth/external-token.js";
import { parseToken } from "../../domain/auth/token.js";
import { isLoopbackHost } from "../tls.js";
import type { Logger } from "../../lib/log.js";

/** Where the token came from. */
export type CredentialKind = "bearer" | "x-auth-token" | "cookie" | "local" | "none";

/** Why a call is refused: `missing` (no credential), `invalid` (a token no one knows), `unavailable` (the verifier could not answer). */
export type AuthRefusalReason = "missing" | "invalid" | "unavailable";

/** A refused credential; each API words it (see the API's refusal shapes). */
export class AuthRefusal extends Error {
  constructor(
    readonly reason: AuthRefusalReason,
    message: string,
    /** Non-secret label of the token for the audit row ("anonymous" when none). */
    readonly actor: string,
    readonly credential: CredentialKind,
  ) {
    super(message);
    this.name = "AuthRefusal";
  }
}

/** Options of {@link createAuthenticate}. */
export interface AuthenticateOptions {
  /** Our tokens (AuthManager); throws DomainError unauthenticated for a token it refuses. */
  auth: { verify(token: string): Promise<Caller> };
  /** Tokens that are not `swp_` tokens (e.g. Keystone); omit to treat them as unknown tokens of ours. */
  externalTokens?: ExternalTokenVerifier | undefined;
  log: Logger;
}

/** Per-API choices of {@link Authenticate}. */
export interface AuthenticatePolicy {
  /** Accept the console session cookie: the session's token, or undefined (unknown or idle session). */
  sessionToken?: (req: http.IncomingMessage) => string | undefined;
  /** Local trust is on for this listener (the caller still checks the addresses). */
  localTrust?: boolean;
}

/** The caller and how it was found. */
export interface Authenticated {
  caller: Caller;
  credential: CredentialKind;
}

/** Resolves the caller of `req` or throws {@link AuthRefusal}. */
export type Authenticate = (req: http.IncomingMessage, policy: AuthenticatePolicy, signal?: AbortSignal) => Promise<Authenticated>;

/** True for a loopback peer or listen address (tls.ts isLoopbackHost); false when there is none. */
export function isLoopbackAddress(addr: string | undefined): boolean {
  return addr !== undefined && isLoopbackHost(addr);
}

/** The token of `req` and where it came from (Bearer, then X-Auth-Token, then the session cookie). */
export function credentialOf(req: http.IncomingMessage, policy: AuthenticatePolicy): { token: string; kind: CredentialKind } | undefined {
  const authz = req.headers.authorization;
  if (typeof authz === "string" && /^Bearer\s+\S/i.test(authz)) return { token: authz.replace(/^Bearer\s+/i, "").trim(), kind: "bearer" };
  const raw = req.headers["x-auth-token"];
  const x = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (x) return { token: x, kind: "x-auth-token" };
  const s = policy.sessionToken?.(req);
  if (s) return { token: s, kind: "cookie" };
  return undefined;
}

/** Creates the one authenticate; see the module comment. */
export function createAuthenticate(o: AuthenticateOptions): Authenticate {
  const { log, externalTokens } = o;
  return async (req, policy, signal) => {
    const local = !!policy.localTrust && isLoopbackAddress(req.socket.localAddress) && isLoopbackAddress(req.socket.remoteAddress);
    const cred = credentialOf(req, policy);
    if (!cred) {
      if (local) return { caller: LOCAL_CALLER, credential: "local" };
      throw new AuthRefusal("missing", "missing token", "anonymous", "none");
    }
    const ours = cred.token.startsWith("swp_");
    if (!ours && externalTokens) {
      let caller: Caller | null;
      try {
        caller = await externalTokens.verify(cred.token, signal);
      } catch (e) {
        // Refused, not ignored (and not local trust): the identity service could not vouch for it.
        log.warn("external token verification failed", { verifier: externalTokens.name, error: (e as Error)?.message });
        // The identity service could not be asked (down, 5xx, timeout): 503, so that clients retry; still refused.
        if (isDomainError(e) && e.kind === "unavailable") throw new AuthRefusal("unavailable", e.message, externalTokens.name, cred.kind);
        throw new AuthRefusal("invalid", `${externalTokens.name}: ${(e as Error)?.message ?? "verification failed"}`, externalTokens.name, cred.kind);
      }
      if (!caller) throw new AuthRefusal("invalid", `token refused by ${externalTokens.name}`, externalTokens.name, cred.kind);
      return { caller, credential: cred.kind };
    }
    try {
      return { caller: await o.auth.verify(cred.token), credential: cred.kind };
    } catch (e) {
      const actor = parseToken(cred.token)?.id ?? "anonymous";
      if (!isDomainError(e)) {
        log.error("token verification failed", { error: (e as Error)?.message });
        throw new AuthRefusal("unavailable", "token verification unavailable", actor, cred.kind);
      }
      // Local trust: a token we do not know (e.g. a Keystone one without a verifier) is ignored.
      if (local) return { caller: LOCAL_CALLER, credential: "local" };
      throw new AuthRefusal("invalid", e.kind === "unauthenticated" ? e.message : "invalid token", actor, cred.kind);
    }
  };
}
