import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT, STOP_GRACE_MS, startController, type ControllerHandle, type StartControllerOptions } from "./controller-harness.js";
import { rawClients } from "./grpc-clients.js";

export interface AgentSpec {
  hostname: string;
  personality: "controller" | "worker" | "storage";
  subfunctions?: string[];
  mgmtIp?: string;
  extraArgs?: string[];
}

export interface AgentHandle {
  spec: AgentSpec;
  root: string;
  proc: ChildProcess;
  log(): string;
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

/** The seed's 2+2+2 system with the seed's addresses. */
export const SEED_HOSTS: AgentSpec[] = [
  { hostname: "controller-0", personality: "controller", mgmtIp: "192.178.204.2" },
  { hostname: "controller-1", personality: "controller", mgmtIp: "192.178.204.3" },
  { hostname: "compute-0", personality: "worker", mgmtIp: "192.178.204.7" },
  { hostname: "compute-1", personality: "worker", mgmtIp: "192.178.204.8" },
  { hostname: "storage-0", personality: "storage", mgmtIp: "192.178.204.9" },
  { hostname: "storage-1", personality: "storage", mgmtIp: "192.178.204.10" },
];

/** Starts a real `bin/sw-patch-agent` process for one host with an empty root and --provision. */
export function startAgent(endpoint: string, spec: AgentSpec, rootsDir: string, token?: string): AgentHandle {
  const root = path.join(rootsDir, spec.hostname);
  const args = [
    path.join(REPO_ROOT, "bin/sw-patch-agent"),
    "--controller",
    endpoint,
    "--hostname",
    spec.hostname,
    "--personality",
    spec.personality,
    "--root",
    root,
    "--provision",
    "--reboot-delay-ms",
    "100",
    "--log-level",
    "warn",
  ];
  if (spec.subfunctions) args.push("--subfunctions", spec.subfunctions.join(","));
  if (spec.mgmtIp) args.push("--mgmt-ip", spec.mgmtIp);
  args.push(...(spec.extraArgs ?? []));
  // The token goes in the environment, never in argv (where ps shows it).
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.SWPATCH_TOKEN_FILE;
  if (token) env.SWPATCH_TOKEN = token;
  else delete env.SWPATCH_TOKEN;
  const proc = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], env });
  let log = "";
  proc.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  return {
    spec,
    root,
    proc,
    log: () => log,
    async stop() {
      if (!alive()) return;
      proc.kill("SIGTERM");
      let killed = false;
      const t = setTimeout(() => {
        killed = true;
        proc.kill("SIGKILL");
      }, STOP_GRACE_MS);
      await exited;
      clearTimeout(t);
      if (killed) throw new Error(`agent ${spec.hostname} did not exit within ${STOP_GRACE_MS} ms of SIGTERM and was killed:\n${log.slice(-3000)}`);
    },
    async kill9() {
      if (!alive()) return;
      proc.kill("SIGKILL");
      await exited;
    },
  };
}

export interface Cluster {
  controller: ControllerHandle;
  /** kill -9 the controller and start it again on the same port and data dir. */
  restartController(): Promise<void>;
  /** Starts (again) the agent of a host with its existing root. */
  restartAgent(hostname: string): Promise<AgentHandle>;
  agents: Map<string, AgentHandle>;
  rootsDir: string;
  clients: ReturnType<typeof rawClients>;
  /** Waits until every listed host is connected and reports what `pred` wants. */
  waitHosts(pred: (hosts: Awaited<ReturnType<ReturnType<typeof rawClients>["hosts"]["listHosts"]>>["hosts"]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** A controller with a base feed and one real agent process per host, all provisioned. */
export async function startCluster(opts: { hosts: AgentSpec[]; baseFeed: string; controller?: StartControllerOptions }): Promise<Cluster> {
  let controller = await startController({ ...opts.controller, baseFeed: opts.baseFeed, keepDataDir: true });
  const rootsDir = mkdtempSync(path.join(os.tmpdir(), "swpatch-roots-"));
  const clients = rawClients(controller);
  const agents = new Map<string, AgentHandle>();
  for (const h of opts.hosts) agents.set(h.hostname, startAgent(controller.endpoint, h, rootsDir, controller.adminToken));
  const waitHosts: Cluster["waitHosts"] = async (pred, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      const r = await clients.hosts.listHosts({});
      last = r.hosts;
      if (pred(r.hosts)) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`hosts did not reach the expected state in ${timeoutMs} ms: ${JSON.stringify(last, null, 1).slice(0, 3000)}`);
  };
  const cluster: Cluster = {
    controller,
    agents,
    rootsDir,
    clients,
    waitHosts,
    async restartController() {
      const port = controller.port;
      await controller.kill9();
      controller = await startController({ ...opts.controller, dataDir: controller.dataDir, keepDataDir: true, port });
      cluster.controller = controller;
    },
    async restartAgent(hostname: string) {
      const old = agents.get(hostname)!;
      await old.stop();
      const a = startAgent(controller.endpoint, old.spec, rootsDir, controller.adminToken);
      agents.set(hostname, a);
      return a;
    },
    async close() {
      clients.close();
      // Every process is stopped and every directory removed even when one had to be killed;
      // then the first such failure fails the caller.
      const stops = await Promise.allSettled([...agents.values()].map((a) => a.stop()));
      const ctl = await Promise.allSettled([controller.stop()]);
      rmSync(controller.dataDir, { recursive: true, force: true });
      rmSync(rootsDir, { recursive: true, force: true });
      const failed = [...stops, ...ctl].find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
    },
  };
  try {
    // Provisioning: every host installs the base feed, then reports idle and current.
    await waitHosts((hs) => hs.length === opts.hosts.length && hs.every((h) => h.connected && h.patchCurrent === 1 && h.agentState === 2), 120_000);
  } catch (e) {
    const logs = [...agents.values()].map((a) => `${a.spec.hostname}: ${a.log().slice(-2000)}`).join("\n");
    await cluster.close();
    throw new Error(`${(e as Error).message}\ncontroller: ${controller.stderr().slice(-3000)}\n${logs}`);
  }
  return cluster;
}
