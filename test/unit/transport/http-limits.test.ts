/**
 * Timeouts and connection caps of the controller's HTTP listeners (http/limits.ts through
 * createHttpServer): slow and idle clients are cut, uploads that keep flowing are not, and one
 * listener full of held sockets leaves another listener served.
 */
import { expect } from "chai";
import * as net from "node:net";
import { createLogger } from "../../../server/lib/log.js";
import { ConnectionPool, type HttpListenerLimits } from "../../../server/transport/http/limits.js";
import { createHttpServer, type HttpServer } from "../../../server/transport/http/server.js";
import { Routes } from "../../../server/transport/http/target.js";
import { readBody } from "../../../server/transport/http/body.js";
import { sendJson } from "../../../server/transport/http/answer.js";

type Meta = { long: boolean };

function makeServer(limits: HttpListenerLimits, slowHandler?: Promise<void>): HttpServer {
  const router = new Routes<undefined, Meta>();
  router.add(["POST"], "/small", { long: false }, async (ctx) => {
    const b = await readBody(ctx.req, 1 << 20);
    sendJson(ctx.res, 200, { bytes: b.length });
  });
  router.add(["POST"], "/upload", { long: true }, async (ctx) => {
    const b = await readBody(ctx.req, 1 << 20);
    sendJson(ctx.res, 200, { bytes: b.length });
  });
  router.add(["GET"], "/slow", { long: false }, async (ctx) => {
    await slowHandler;
    sendJson(ctx.res, 200, { ok: true });
  });
  router.add(["GET"], "/", { long: false }, async (ctx) => sendJson(ctx.res, 200, { ok: true }));
  return createHttpServer<undefined, Meta>({ routes: router, log: createLogger({ level: "silent" }), limits, longBody: (ctx) => ctx.route.meta.long });
}

/** A raw socket to `port`; resolves once connected. */
function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

/** Resolves with everything the server sent once it closes the socket. */
function closed(s: net.Socket): Promise<string> {
  const got: Buffer[] = [];
  s.on("data", (d: Buffer) => got.push(d));
  s.on("error", () => undefined);
  return new Promise((resolve) => s.once("close", () => resolve(Buffer.concat(got).toString("latin1"))));
}

/** One request on a fresh connection (Connection: close); the status code, or 0 when cut. */
async function status(port: number, path = "/"): Promise<number> {
  try {
    const s = await connect(port);
    const done = closed(s);
    s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const text = await done;
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

describe("HTTP listener limits: timeouts and connection caps", function () {
  this.timeout(20_000);
  const servers: HttpServer[] = [];
  const sockets: net.Socket[] = [];
  after(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => s.close()));
  });
  async function start(limits: HttpListenerLimits, slow?: Promise<void>): Promise<{ server: HttpServer; port: number }> {
    const server = makeServer(limits, slow);
    servers.push(server);
    const { port } = await server.listen("127.0.0.1", 0);
    return { server, port };
  }

  it("cuts a small body that trickles past the body timeout, though bytes keep coming", async () => {
    const { server, port } = await start({ headerTimeoutMs: 5_000, idleTimeoutMs: 5_000, bodyTimeoutMs: 300, maxConnections: 10 });
    const s = await connect(port);
    sockets.push(s);
    const done = closed(s);
    s.write("POST /small HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{");
    const trickle = setInterval(() => s.writable && s.write(" "), 50);
    const answer = await done;
    clearInterval(trickle);
    expect(answer).to.equal("");
    expect(server.limitStats.timedOut).to.equal(1);
  });

  it("lets an upload body that keeps flowing outlive the body timeout, and cuts one that stops (idle timeout)", async () => {
    const { server, port } = await start({ headerTimeoutMs: 5_000, idleTimeoutMs: 400, bodyTimeoutMs: 100, maxConnections: 10 });
    const s = await connect(port);
    sockets.push(s);
    const done = closed(s);
    s.write("POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 20\r\n\r\n");
    let sent = 0;
    // 20 bytes, one per 50 ms: a second of flowing body, ten body timeouts long.
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        s.write("x");
        if (++sent === 20) {
          clearInterval(t);
          resolve();
        }
      }, 50);
    });
    expect(await done).to.match(/^HTTP\/1\.1 200[\s\S]*\{"bytes":20\}$/);

    const idle = await connect(port);
    sockets.push(idle);
    const cut = closed(idle);
    idle.write("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\nxx");
    expect(await cut).to.equal("");
    expect(server.limitStats.timedOut).to.equal(1);
  });

  it("cuts a client that never finishes its headers", async () => {
    const { port } = await start({ headerTimeoutMs: 300, idleTimeoutMs: 5_000, bodyTimeoutMs: 5_000, maxConnections: 10 });
    const s = await connect(port);
    sockets.push(s);
    const done = closed(s);
    s.write("GET / HTTP/1.1\r\nHost: x\r\n");
    const trickle = setInterval(() => s.writable && s.write("X-A: b\r\n"), 50);
    const answer = await done;
    clearInterval(trickle);
    expect(answer).to.match(/^HTTP\/1\.1 408 /);
  });

  it("never cuts a complete request while its handler works past the idle timeout", async () => {
    let finish!: () => void;
    const slow = new Promise<void>((r) => (finish = r));
    const { server, port } = await start({ headerTimeoutMs: 5_000, idleTimeoutMs: 200, bodyTimeoutMs: 200, maxConnections: 10 }, slow);
    const answer = status(port, "/slow");
    // Three idle periods with the request complete and nothing sent either way.
    setTimeout(finish, 700);
    expect(await answer).to.equal(200);
    expect(server.limitStats.timedOut).to.equal(0);
  });

  it("caps connections per listener and in total: a listener full of held sockets leaves the other one served", async () => {
    const pool = new ConnectionPool(8);
    const base = { headerTimeoutMs: 10_000, idleTimeoutMs: 10_000, bodyTimeoutMs: 10_000 };
    const a = await start({ ...base, maxConnections: 5, pool });
    const b = await start({ ...base, maxConnections: 5, pool });
    // 20 slow-body sockets against A: 5 are held, the rest are closed at once.
    const held: Promise<string>[] = [];
    for (let i = 0; i < 20; i++) {
      const s = await connect(a.port);
      sockets.push(s);
      held.push(closed(s));
      s.write("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nx");
    }
    const outcomes = await Promise.race([Promise.all(held.slice(5)), new Promise<null>((r) => setTimeout(() => r(null), 5_000))]);
    expect(outcomes, "the 15 sockets past the cap were closed").to.not.equal(null);
    expect(a.server.limitStats.refused).to.equal(15);
    expect(await status(a.port)).to.equal(0);
    expect(await status(b.port)).to.equal(200);
    // B fills the rest of the shared pool (3 more); then B refuses too, and serves again once A's go.
    const more: net.Socket[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await connect(b.port);
      sockets.push(s);
      more.push(s);
      s.write("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nx");
    }
    expect(await status(b.port)).to.equal(0);
    expect(pool.refused).to.equal(1);
    for (const s of sockets.slice(-23, -3)) s.destroy();
    // Wait (a condition, not a delay) until the server has seen A's sockets close.
    for (let i = 0; i < 500 && pool.active > 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(pool.active).to.equal(3);
    const after = await status(b.port);
    expect(after).to.equal(200);
  });
});
