/**
 * The console's in-memory cookie sessions: a random session id in an HttpOnly, SameSite=Strict
 * cookie maps to the token it was opened with (every request verifies that token again, through
 * the one authenticate). Cookies are parsed by @fastify/cookie.
 */
import { randomBytes } from "node:crypto";

/** The session cookie's name. */
export const CONSOLE_COOKIE = "swp_console";
const COOKIE = CONSOLE_COOKIE;
const SESSION_IDLE_MS = 12 * 3600_000;
/** Default caps: sessions in all, and per token. */
export const CONSOLE_MAX_SESSIONS = 1000;
export const CONSOLE_MAX_SESSIONS_PER_TOKEN = 20;

/** The console has as many sessions as it may hold: sign-in is refused (no one else is signed out). */
export class ConsoleSessionsFullError extends Error {
  constructor(readonly max: number) {
    super(`the console has ${max} sessions open, its limit (--console-max-sessions); try again when one is closed or has been idle for 12 h`);
    this.name = "ConsoleSessionsFullError";
  }
}

/**
 * Sessions by id, oldest first.
 *
 * INVARIANTS: at most `maxPerToken` sessions per token (a sign-in beyond it closes that token's
 * oldest session, never another token's); at most `maxSessions` in all (a sign-in beyond it is
 * refused: ConsoleSessionsFullError); a session idle for longer than SESSION_IDLE_MS is never
 * answered and is removed when seen or when a new one opens.
 */
export class ConsoleSessions {
  private readonly sessions = new Map<string, { token: string; key: string; lastUsed: number }>();
  private readonly maxSessions: number;
  private readonly maxPerToken: number;

  constructor(o: { maxSessions?: number; maxPerToken?: number } = {}) {
    this.maxSessions = o.maxSessions ?? CONSOLE_MAX_SESSIONS;
    this.maxPerToken = o.maxPerToken ?? CONSOLE_MAX_SESSIONS_PER_TOKEN;
  }

  /**
   * Opens a session for `token` (`key`: what identifies the token, its id; default the token);
   * returns the Set-Cookie header value. Throws ConsoleSessionsFullError when the console is full.
   */
  open(token: string, key: string = token): string {
    const now = Date.now();
    const own: string[] = [];
    for (const [k, s] of this.sessions) {
      if (now - s.lastUsed > SESSION_IDLE_MS) this.sessions.delete(k);
      else if (s.key === key) own.push(k);
    }
    // This token's oldest sessions make room for its new one (oldest first: Map order).
    while (own.length >= this.maxPerToken) this.sessions.delete(own.shift()!);
    if (this.sessions.size >= this.maxSessions) throw new ConsoleSessionsFullError(this.maxSessions);
    const sid = randomBytes(32).toString("hex");
    this.sessions.set(sid, { token, key, lastUsed: now });
    return `${COOKIE}=${sid}; Path=/; HttpOnly; SameSite=Strict`;
  }

  /** How many sessions are open (idle ones included until they are seen). */
  get size(): number {
    return this.sessions.size;
  }

  /** Closes the session of these (parsed) cookies, if any; returns the Set-Cookie header value that clears it. */
  close(cookies: Readonly<Record<string, string | undefined>>): string {
    const sid = cookies[COOKIE];
    if (sid) this.sessions.delete(sid);
    return `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
  }

  /** The token of the live session these (parsed) cookies name (refreshing it), else undefined. */
  tokenOf(cookies: Readonly<Record<string, string | undefined>>): string | undefined {
    const sid = cookies[COOKIE];
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
