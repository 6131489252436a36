/**
 * A tiny TCP proxy for network-fault tests: put it between an agent and the controller, then cut
 * every connection through it (both ends see a reset, as on a dropped link) or black-hole them
 * (bytes are swallowed, nothing is closed, as on a dead route).
 */
import * as net from "node:net";

export interface TcpProxy {
  /** "127.0.0.1:PORT" to give the client. */
  endpoint: string;
  /** Connections accepted so far. */
  accepted(): number;
  /** Open connections. */
  open(): number;
  /** Destroys every open connection (both sides). New connections are still accepted. */
  cut(): number;
  /** While true, new and existing connections forward nothing (and are not closed). */
  blackhole(on: boolean): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let accepted = 0;
  let hole = false;
  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect(target.port, target.host);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const forward = (from: net.Socket, to: net.Socket) =>
      from.on("data", (d) => {
        if (!hole && !to.destroyed) to.write(d);
      });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `127.0.0.1:${port}`,
    accepted: () => accepted,
    open: () => pairs.size,
    cut() {
      const n = pairs.size;
      for (const [a, b] of [...pairs]) {
        a.resetAndDestroy();
        b.resetAndDestroy();
      }
      pairs.clear();
      return n;
    },
    blackhole(on) {
      hole = on;
    },
    async close() {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
