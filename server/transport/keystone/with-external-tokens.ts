/**
 * Until the one HTTP front door takes an `externalTokens` verifier itself: the token check the
 * current HTTP servers (patch REST API, VIM API, web console) are given, which sends our own
 * `swp_...` tokens to the AuthManager and every other token to the external verifier (Keystone).
 */
import { DomainError } from "../../domain/errors.js";
import type { Caller } from "../../domain/auth/roles.js";
import type { ExternalTokenVerifier } from "../../domain/auth/external-token.js";

/** The `verify` the HTTP servers call. */
export interface TokenCheck {
  verify(token: string): Promise<Caller>;
}

/**
 * `auth` alone when there is no external verifier; else ours first by form (`swp_` prefix), the
 * external verifier for the rest, whose null (unknown, expired, no mapped role) becomes
 * DomainError unauthenticated "invalid token". Its DomainError unavailable passes through (503).
 */
export function withExternalTokens(auth: TokenCheck, external: ExternalTokenVerifier | undefined): TokenCheck {
  if (!external) return auth;
  return {
    async verify(token: string): Promise<Caller> {
      if (token.startsWith("swp_")) return auth.verify(token);
      const caller = await external.verify(token);
      if (!caller) throw new DomainError("unauthenticated", "invalid token", { reason: "TOKEN_INVALID" });
      return caller;
    },
  };
}
