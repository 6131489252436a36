/**
 * The console's in-memory cookie sessions: a random session id in an HttpOnly, SameSite=Strict
 * cookie maps to the token it was opened with (every request verifies that token again).
 */
import { randomBytes } from "node:crypto";
import type * as http from "node:http";

const COOKIE = "swp_console";
const SESSION_IDLE_MS = 12 * 3600_000;
const MAX_SESSIONS = 1000;

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i <= 0) continue;
    const k = part.slice(0, i).trim();
    if (!(k in out)) out[k] = part.slice(i + 1).trim();
  }
  return out;
}

/**
 * Sessions by id, oldest first.
 *
 * INVARIANTS: at most MAX_SESSIONS entries (the oldest go first); a session idle for longer than
 * SESSION_IDLE_MS is never answered and is removed when seen or when a new one opens.
 */
export class ConsoleSessions {
  private readonly sessions = new Map<string, { token: string; lastUsed: number }>();

  /** Opens a session for `token`; returns the Set-Cookie header value. */
  open(token: string): string {
    const now = Date.now();
    for (const [k, s] of this.sessions) if (now - s.lastUsed > SESSION_IDLE_MS) this.sessions.delete(k);
    while (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const sid = randomBytes(32).toString("hex");
    this.sessions.set(sid, { token, lastUsed: now });
    return `${COOKIE}=${sid}; Path=/; HttpOnly; SameSite=Strict`;
  }

  /** Closes the request's session, if any; returns the Set-Cookie header value that clears it. */
  close(r: http.IncomingMessage): string {
    const sid = parseCookies(r.headers.cookie)[COOKIE];
    if (sid) this.sessions.delete(sid);
    return `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
  }

  /** The request's token: `Authorization: Bearer`, else the live session's (refreshing it). */
  tokenOf(r: http.IncomingMessage): string | undefined {
    const authz = r.headers.authorization;
    if (typeof authz === "string" && /^Bearer\s+/i.test(authz)) return authz.replace(/^Bearer\s+/i, "").trim();
    const sid = parseCookies(r.headers.cookie)[COOKIE];
    if (!sid) return undefined;
    const s = this.sessions.get(sid);
    if (!s || Date.now() - s.lastUsed > SESSION_IDLE_MS) {
      this.sessions.delete(sid);
      return undefined;
    }
    s.lastUsed = Date.now();
    return s.token;
  }

  clear(): void {
    this.sessions.clear();
  }
}
