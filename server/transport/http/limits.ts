/**
 * Timeouts and connection caps shared by every HTTP listener of the controller (web console,
 * patching REST API, VIM API), so that slow or idle clients on one listener cannot hold sockets
 * (file descriptors) the others, the gRPC port and the agents need.
 *
 * - headers: a request's headers must arrive within `headerTimeoutMs` (node's headersTimeout);
 * - idle: a connection that sends nothing for `idleTimeoutMs` while a request is still arriving
 *   (or between requests) is closed; a request whose body is complete is never cut while its
 *   handler works or streams an answer;
 * - small bodies: `bodyTimeoutMs` for the whole body of any request that is not an upload
 *   (uploads only need to keep flowing: the idle timeout and the listener's request timeout);
 * - connections: at most `maxConnections` per listener and `pool.max` over every listener sharing
 *   the pool; a connection past either is closed at once.
 */
import type * as http from "node:http";
import type { Socket } from "node:net";

/** The limits of one HTTP listener. */
export interface HttpListenerLimits {
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  bodyTimeoutMs: number;
  maxConnections: number;
  /** Shared with the other listeners (total cap); omit for none. */
  pool?: ConnectionPool;
}

/** Defaults of the controller flags (--http-header-timeout etc.). */
export const DEFAULT_HTTP_LIMITS: Readonly<HttpListenerLimits> = Object.freeze({
  headerTimeoutMs: 20_000,
  idleTimeoutMs: 60_000,
  bodyTimeoutMs: 30_000,
  maxConnections: 256,
});

/**
 * A count of open connections over several listeners.
 * INVARIANTS: `active` is the number of accepted sockets not yet closed (each counted once,
 * released by its own "close" event); never above `max`.
 */
export class ConnectionPool {
  active = 0;
  /** Connections closed at once because the pool was full. */
  refused = 0;
  constructor(readonly max: number) {}

  /** Counts `socket` until it closes, or destroys it when the pool is full; true if kept. */
  admit(socket: Socket): boolean {
    if (this.active >= this.max) {
      this.refused++;
      socket.destroy();
      return false;
    }
    this.active++;
    socket.once("close", () => this.active--);
    return true;
  }
}

/** What a listener wired with {@link applyHttpLimits} reports (tests, logs). */
export interface HttpLimitStats {
  /** Connections closed at once because a cap was reached. */
  refused: number;
  /** Connections closed by the idle, header or body timeouts (those seen here). */
  timedOut: number;
}

/**
 * Wires `limits` into `server` (before it listens). `isUpload(req)` tells a request whose body may
 * take long (it is then bounded by the idle timeout and node's requestTimeout only).
 * Returns counters and `watch(req, isUpload)` to call at the start of every request.
 */
export function applyHttpLimits(server: http.Server, limits: HttpListenerLimits): { stats: HttpLimitStats; watch(req: http.IncomingMessage, longBody: boolean): void } {
  const stats: HttpLimitStats = { refused: 0, timedOut: 0 };
  server.headersTimeout = limits.headerTimeoutMs;
  if (server.requestTimeout && server.requestTimeout < server.headersTimeout) server.headersTimeout = server.requestTimeout;
  server.keepAliveTimeout = Math.min(5_000, limits.idleTimeoutMs);
  server.maxConnections = limits.maxConnections;
  server.timeout = limits.idleTimeoutMs;
  const current = new WeakMap<Socket, http.IncomingMessage>();
  server.on("connection", (socket: Socket) => {
    if (limits.pool && !limits.pool.admit(socket)) stats.refused++;
  });
  server.on("drop", () => stats.refused++);
  // With a listener here node no longer destroys idle sockets itself: a request whose body has
  // fully arrived is being answered (a long operation or a stream) and is left alone.
  server.on("timeout", (socket: Socket) => {
    const req = current.get(socket);
    if (req && req.complete && !(req.socket as Socket | null)?.destroyed) return;
    stats.timedOut++;
    socket.destroy();
  });
  return {
    stats,
    watch(req, longBody) {
      current.set(req.socket, req);
      const done = () => {
        if (current.get(req.socket) === req) current.delete(req.socket);
      };
      req.once("close", done);
      if (longBody || req.complete) return;
      const t = setTimeout(() => {
        const sock = req.socket as Socket | null; // null once the request is detached from its socket
        if (req.complete || !sock || sock.destroyed) return;
        stats.timedOut++;
        sock.destroy();
      }, limits.bodyTimeoutMs);
      t.unref();
      const clear = () => clearTimeout(t);
      // "close" also comes when the socket goes (no per-request listener on a keep-alive socket).
      req.once("end", clear);
      req.once("close", clear);
    },
  };
}
