/**
 * A cluster for the chaos tests: a real controller (fixed port, kept data dir) and real agents,
 * where the controller can be killed, left down (to check its store), and started again, with a
 * failpoint armed or not.
 */
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startAgent, type AgentHandle, type AgentSpec } from "./cluster-harness.js";
import { startController, type ControllerHandle, type StartControllerOptions } from "./controller-harness.js";
import { rawClients } from "./grpc-clients.js";
import { startTcpProxy, type TcpProxy } from "./chaos-proxy.js";

type Clients = ReturnType<typeof rawClients>;
type Hosts = Awaited<ReturnType<Clients["hosts"]["listHosts"]>>["hosts"];

export interface ChaosCluster {
  controller: ControllerHandle;
  clients: Clients;
  agents: Map<string, AgentHandle>;
  /** TCP proxies between the controller and the agents listed in `proxied`. */
  proxies: Map<string, TcpProxy>;
  rootsDir: string;
  dataDir: string;
  /** SIGKILL the controller and wait for its exit. */
  kill(): Promise<void>;
  /** Start the controller again on its port and data dir (optionally with a failpoint armed). */
  start(failpoint?: string): Promise<void>;
  /** Resolves when the controller process exits (by itself, e.g. at a failpoint). */
  exited(): Promise<void>;
  waitHosts(pred: (hs: Hosts) => boolean, timeoutMs?: number): Promise<Hosts>;
  restartAgent(hostname: string, kill?: boolean): Promise<AgentHandle>;
  close(): Promise<void>;
}

export async function startChaosCluster(o: {
  hosts: AgentSpec[];
  baseFeed: string;
  controller?: StartControllerOptions;
  agentArgs?: string[];
  proxied?: string[];
}): Promise<ChaosCluster> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "swpatch-chaos-data-"));
  const rootsDir = mkdtempSync(path.join(os.tmpdir(), "swpatch-chaos-roots-"));
  let controller = await startController({ ...o.controller, dataDir, keepDataDir: true, baseFeed: o.baseFeed });
  const port = controller.port;
  const agents = new Map<string, AgentHandle>();
  const proxies = new Map<string, TcpProxy>();
  for (const h of o.proxied ?? []) proxies.set(h, await startTcpProxy({ host: "127.0.0.1", port }));
  const endpointOf = (hostname: string) => proxies.get(hostname)?.endpoint ?? `127.0.0.1:${port}`;
  const c: ChaosCluster = {
    controller,
    clients: rawClients(controller),
    agents,
    proxies,
    rootsDir,
    dataDir,
    async kill() {
      await controller.kill9();
      c.clients.close();
    },
    async start(failpoint) {
      c.clients.close();
      const env = failpoint ? { ...o.controller?.env, SWPATCH_FAILPOINT: failpoint } : o.controller?.env;
      // The port may still be in TIME_WAIT-free reuse; retry a few times if the bind races.
      for (let attempt = 0; ; attempt++) {
        try {
          controller = await startController({ ...o.controller, ...(env ? { env } : {}), dataDir, keepDataDir: true, baseFeed: o.baseFeed, port });
          break;
        } catch (e) {
          if (attempt >= 5) throw e;
          await new Promise((r) => setTimeout(r, 300));
        }
      }
      c.controller = controller;
      c.clients = rawClients(controller);
    },
    exited() {
      const p = controller.proc;
      if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
      return new Promise((r) => p.once("exit", () => r()));
    },
    async waitHosts(pred, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let last: Hosts = [];
      while (Date.now() < deadline) {
        try {
          last = (await c.clients.hosts.listHosts({})).hosts;
          if (pred(last)) return last;
        } catch {
          /* controller restarting */
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(
        `hosts did not reach the expected state in ${timeoutMs} ms: ${JSON.stringify(last.map((h) => ({ n: h.hostname, c: h.connected, cur: h.patchCurrent, st: h.agentState, r: h.installReason })))}`,
      );
    },
    async restartAgent(hostname, kill = false) {
      const old = agents.get(hostname)!;
      if (kill) await old.kill9();
      else await old.stop();
      const a = startAgent(endpointOf(hostname), old.spec, rootsDir, controller.adminToken);
      agents.set(hostname, a);
      return a;
    },
    async close() {
      c.clients.close();
      // Everything is stopped and removed even when a process had to be killed; then that fails.
      const stops = await Promise.allSettled([...agents.values()].map((a) => a.stop()));
      const ctl = await Promise.allSettled([controller.stop()]);
      for (const p of proxies.values()) await p.close();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(rootsDir, { recursive: true, force: true });
      const failed = [...stops, ...ctl].find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
    },
  };
  for (const h of o.hosts) {
    const spec = o.agentArgs ? { ...h, extraArgs: [...(h.extraArgs ?? []), ...o.agentArgs] } : h;
    agents.set(h.hostname, startAgent(endpointOf(h.hostname), spec, rootsDir, controller.adminToken));
  }
  try {
    await c.waitHosts((hs) => hs.length === o.hosts.length && hs.every((h) => h.connected && h.patchCurrent === 1 && h.agentState === 2), 120_000);
  } catch (e) {
    const logs = [...agents.values()].map((a) => `${a.spec.hostname}: ${a.log().slice(-2000)}`).join("\n");
    await c.close();
    throw new Error(`${(e as Error).message}\ncontroller: ${controller.stderr().slice(-3000)}\n${logs}`);
  }
  return c;
}
