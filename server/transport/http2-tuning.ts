/**
 * HTTP/2 receive windows of the gRPC listener (`--http2-window`). grpc-js serves with HTTP/2's
 * defaults, a 64 KiB receive window per stream and per connection, and has no server option to
 * change them (its client has `grpc-node.flow_control_window`; C-core and grpc-go grow windows by
 * BDP probing). A client streaming a patch must then stop every 64 KiB until the controller's
 * WINDOW_UPDATE comes back: one round trip per 64 KiB caps an upload at 64 KiB / RTT (about 3 MB/s
 * at 20 ms), and even on loopback it costs both ends a wake-up per window.
 *
 * A larger window lets a client send that much ahead. Memory stays bounded: a handler that stops
 * reading (backpressure) stops the window updates, so a connection holds at most its connection
 * window (twice the stream window) of unread request data.
 */
// The module object itself (not an interop copy): grpc-js creates its servers through it.
import http2 = require("node:http2");

/** HTTP/2's initial window (RFC 9113 6.9.2): what grpc-js uses when nothing is set. */
export const HTTP2_DEFAULT_WINDOW = 65535;
/** Largest --http2-window accepted: 256 MiB (HTTP/2 allows up to 2^31-1). */
export const HTTP2_MAX_WINDOW = 256 * 1024 * 1024;

/** Throws RangeError unless `bytes` is a whole number in HTTP2_DEFAULT_WINDOW..HTTP2_MAX_WINDOW. */
export function checkHttp2Window(bytes: number): void {
  if (!Number.isInteger(bytes) || bytes < HTTP2_DEFAULT_WINDOW || bytes > HTTP2_MAX_WINDOW) {
    throw new RangeError(`HTTP/2 window must be a whole number of bytes from ${HTTP2_DEFAULT_WINDOW} to ${HTTP2_MAX_WINDOW}, got ${bytes}`);
  }
}

type Create = (...args: unknown[]) => http2.Http2Server;
let hooking: Promise<void> = Promise.resolve();

/**
 * Runs `fn` (which starts a grpc-js server listening) so that every HTTP/2 server created
 * meanwhile advertises `streamWindow` as SETTINGS_INITIAL_WINDOW_SIZE and opens each connection's
 * window to twice that as the session starts. Calls are serialised: a second waits for the first.
 */
export async function withHttp2Window<T>(streamWindow: number, fn: () => Promise<T>): Promise<T> {
  checkHttp2Window(streamWindow);
  const prev = hooking;
  let release!: () => void;
  hooking = new Promise<void>((r) => (release = r));
  await prev;
  const mod = http2 as unknown as Record<"createServer" | "createSecureServer", Create>;
  const orig = { createServer: mod.createServer, createSecureServer: mod.createSecureServer };
  const wrap = (create: Create): Create =>
    function (this: unknown, ...args: unknown[]) {
      const server = create.apply(this, args);
      tune(server, streamWindow);
      return server;
    };
  mod.createServer = wrap(orig.createServer);
  mod.createSecureServer = wrap(orig.createSecureServer);
  try {
    return await fn();
  } finally {
    mod.createServer = orig.createServer;
    mod.createSecureServer = orig.createSecureServer;
    release();
  }
}

function tune(server: http2.Http2Server | http2.Http2SecureServer, streamWindow: number): void {
  server.updateSettings({ initialWindowSize: streamWindow });
  const connectionWindow = Math.min(2 * streamWindow, 2 ** 31 - 1);
  server.on("session", (session: http2.ServerHttp2Session) => {
    try {
      session.setLocalWindowSize(connectionWindow);
    } catch {
      // A session already destroyed: nothing to open.
    }
  });
}
