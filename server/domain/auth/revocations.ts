/**
 * Revocations as they happen, for whoever holds a long-lived call open with a credential: the
 * agent's Connect stream checks its token once, at the start, so a revocation must reach it
 * (`sw-patch host-revoke`, `token-revoke`, or an enrolment that replaces a host's credential).
 *
 * INVARIANTS
 * - `revoked(ids)` is called after the revocation committed, so a watcher that ends its call
 *   because of it cannot be let back in by a reconnect (the store refuses the token by then).
 * - A watcher is called at most once, then forgotten; `watch`'s returned function forgets it
 *   earlier (call it when the call ends). Single-threaded JS: no locking needed.
 * - Ids revoked in this process are remembered (up to {@link REMEMBERED_REVOCATIONS}), so a call
 *   whose token was verified just before its revocation committed, and that starts watching just
 *   after, still hears it (at once, in a microtask).
 */

/** How many revoked ids are remembered for watchers that come late (cleared past it). */
export const REMEMBERED_REVOCATIONS = 10_000;

/** Subscribers per token id. */
export class CredentialRevocations {
  private readonly watchers = new Map<string, Set<() => void>>();
  private readonly recent = new Set<string>();

  /** Calls `onRevoked` once when token `tokenId` is revoked; returns the function that stops watching. */
  watch(tokenId: string, onRevoked: () => void): () => void {
    if (this.recent.has(tokenId)) {
      let cancelled = false;
      queueMicrotask(() => cancelled || onRevoked());
      return () => {
        cancelled = true;
      };
    }
    let set = this.watchers.get(tokenId);
    if (!set) this.watchers.set(tokenId, (set = new Set()));
    const fn = () => onRevoked();
    set.add(fn);
    return () => {
      const s = this.watchers.get(tokenId);
      if (!s) return;
      s.delete(fn);
      if (s.size === 0) this.watchers.delete(tokenId);
    };
  }

  /** Tells the watchers of each id (after the revocation committed). */
  revoked(tokenIds: Iterable<string>): void {
    for (const id of tokenIds) {
      if (this.recent.size >= REMEMBERED_REVOCATIONS) this.recent.clear();
      this.recent.add(id);
      const set = this.watchers.get(id);
      if (!set) continue;
      this.watchers.delete(id);
      for (const fn of set) fn();
    }
  }

  /** How many calls are watched (tests, metrics). */
  get size(): number {
    let n = 0;
    for (const s of this.watchers.values()) n += s.size;
    return n;
  }
}
