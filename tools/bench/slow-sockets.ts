/**
 * Bench suite "slow-sockets" (issue 16, point 5): BENCH_SOCKETS (default 5000) unauthenticated
 * `POST /api/session` requests whose body never arrives, against the web console of a real
 * controller. Reports the sockets (file descriptors) the controller holds for them and whether the
 * patch REST API and the gRPC port still answer, once with the limits as they were ("before":
 * no connection caps, 6-hour request timeout, approximated with huge flag values) and once with
 * the defaults now (then again after the body timeout has passed).
 */
import { readdirSync, promises as fsp } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { createChannel, createClient } from "nice-grpc";
import { PatchServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { startBenchController } from "./controller-proc.js";
import type { BenchSuite } from "./main.js";

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function slowSockets(port: number, n: number): Promise<net.Socket[]> {
  const out: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = await new Promise<net.Socket>((resolve) => {
      const c = net.connect(port, "127.0.0.1", () => resolve(c));
      c.on("error", () => resolve(c));
    });
    s.on("error", () => undefined);
    if (s.writable)
      s.write(`POST /api/session HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nX-SW-Patch-Console: 1\r\nContent-Length: 100\r\n\r\n{"tok`);
    out.push(s);
  }
  return out;
}

async function served(endpoint: string, auth: object, apiPort: number, token: string): Promise<string> {
  const t = performance.now();
  const api = await fetch(`http://127.0.0.1:${apiPort}/patch/query`, { headers: { "X-Auth-Token": token }, signal: AbortSignal.timeout(10_000) }).then(
    (r) => String(r.status),
    (e: Error) => e.name,
  );
  const channel = createChannel(endpoint);
  const grpc = await createClient(PatchServiceDefinition, channel, auth)
    .getControllerInfo({}, { signal: AbortSignal.timeout(10_000) })
    .then(
      () => "OK",
      (e: Error) => e.message.slice(0, 60),
    );
  channel.close();
  return `REST ${api}, gRPC ${grpc} (${(performance.now() - t).toFixed(0)} ms)`;
}

export const slowSocketsSuite: BenchSuite = {
  name: "slow-sockets",
  description: "slow-body sockets on the web console's unauthenticated sign-in: sockets held, other listeners served",
  async run({ log }) {
    const n = Number(process.env.BENCH_SOCKETS ?? 5000);
    const modes: [string, string[]][] = [
      ["before", ["--http-max-connections", "1000000", "--http-max-connections-total", "1000000", "--http-body-timeout", "21600000", "--http-idle-timeout", "21600000"]],
      ["now", []],
    ];
    for (const [name, flags] of modes) {
      const dir = await fsp.mkdtemp(path.join(process.env.BENCH_DIR ?? os.tmpdir(), "bench-slow-"));
      const [webPort, apiPort] = [await freePort(), await freePort()];
      const ctl = await startBenchController(dir, ["--web-listen", `127.0.0.1:${webPort}`, "--patch-api-listen", `127.0.0.1:${apiPort}`, ...flags]);
      const fds = () => readdirSync(`/proc/${ctl.proc.pid}/fd`).length;
      try {
        const base = fds();
        const socks = await slowSockets(webPort, n);
        // Let the controller accept (or refuse) what is queued.
        await new Promise((r) => setTimeout(r, 1000));
        log(`${name}: ${n} slow sign-ins -> controller fds ${base} -> ${fds()}; ${await served(ctl.endpoint, ctl.auth, apiPort, ctl.token)}`);
        if (name === "now") {
          await new Promise((r) => setTimeout(r, 32_000));
          log(
            `${name}, 32 s later (body timeout 30 s): controller fds ${fds()}; sockets still open at the client ${socks.filter((s) => !s.destroyed && !s.readableEnded).length}`,
          );
        }
        for (const s of socks) s.destroy();
      } finally {
        await ctl.stop();
        await fsp.rm(dir, { recursive: true, force: true });
      }
    }
  },
};
