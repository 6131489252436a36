/**
 * Tokens issued by someone else (Keystone): the port the HTTP front door asks when a bearer token
 * is not one of ours. The adapter (server/transport/keystone/) validates it against the identity
 * service and maps that service's roles onto ours.
 */
import type { Caller } from "./roles.js";

/**
 * Verifies tokens that are not `swp_...` tokens. Implementations cache answers (at most until the
 * token expires) and bound their cache.
 */
export interface ExternalTokenVerifier {
  /** What the verifier is called in audit rows and logs, e.g. "keystone". */
  readonly name: string;
  /**
   * The caller a token stands for, or null when the identity service does not know it, it expired,
   * or it carries no role we map (all refused by the caller of this method: never ignored).
   * `Caller.tokenId` is a short non-secret label (e.g. `keystone:<user name>`), never the token.
   * @throws DomainError unavailable when the identity service cannot be asked (the call is refused).
   */
  verify(token: string, signal?: AbortSignal): Promise<Caller | null>;
}
