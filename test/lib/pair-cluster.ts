/**
 * A controller pair on one PostgreSQL database for the end-to-end, chaos and failover tests: two real
 * `sw-patch-controller --store postgres://... --controller-id controller-N` processes on fixed ports, and real agents
 * given both endpoints (`--controller a,b`).
 *
 * Each member is supervised as its systemd unit would be (`Restart=always`): a member that exits (a kill -9, a
 * crash) is started again on its port and data dir, and so is a member that reports itself retired (a controller
 * that lost its term to its peer "stays standby until restarted" while its state in memory is stale): it is stopped
 * with SIGTERM and started again as a fresh standby. `supervise = false` pauses that (a member left down).
 *
 *   const pair = await startPairCluster({ url, hosts: SEED_HOSTS, baseFeed });
 *   const { member, ms } = await pair.waitOneActive();   // exactly one active and serving
 *   await pair.kill(member);                               // kill -9; the supervisor restarts it
 */
import { mkdtempSync, cpSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Status, type ClientError } from "nice-grpc";
import { startAgent, type AgentHandle, type AgentSpec } from "./cluster-harness.js";
import { startController, type ControllerHandle } from "./controller-harness.js";
import { rawClients } from "./grpc-clients.js";
import { createSwPatchClient, type SwPatchClient } from "../../clients/sdk/src/index.js";

type Clients = ReturnType<typeof rawClients>;
type Hosts = Awaited<ReturnType<Clients["hosts"]["listHosts"]>>["hosts"];

/** What a retired member logs (server/controller/pair.ts): it stays standby until restarted. */
export const RETIRED_LOG = "stays standby until restarted";

/** One supervised controller of the pair. */
export interface PairMember {
  readonly id: "controller-0" | "controller-1";
  readonly port: number;
  readonly endpoint: string;
  readonly dataDir: string;
  /** The current process (replaced on every restart). */
  handle: ControllerHandle;
  /** How many times the supervisor started it again. */
  restarts: number;
  /** stderr of every earlier process of this member (the current one's is `handle.stderr()`). */
  pastLogs: string;
}

export interface PairCluster {
  readonly url: string;
  readonly members: readonly [PairMember, PairMember];
  /** Both endpoints, `a,b` (for SWPATCH_ENDPOINT, `--controller`, the SDK). */
  readonly endpoints: string;
  readonly token: string;
  readonly agents: Map<string, AgentHandle>;
  readonly rootsDir: string;
  /** An SDK client given both endpoints: it follows the active controller. */
  readonly sdk: SwPatchClient;
  /** Restart members that exit or retire (default true). */
  supervise: boolean;
  /** The member whose GetControllerInfo says active and that serves (QueryPatches answers), if exactly one does. */
  activeMember(): Promise<PairMember | undefined>;
  /**
   * Polls until exactly one member is active and serving; `ms` is how long that took. Throws after `timeoutMs`
   * (default 30 s) with both members' roles.
   */
  waitOneActive(timeoutMs?: number): Promise<{ member: PairMember; ms: number }>;
  /** GetControllerInfo of a member (role, epoch, the active controller). */
  info(m: PairMember): ReturnType<Clients["patches"]["getControllerInfo"]>;
  /** kill -9 of a member, waiting for its exit (the supervisor then starts it again unless `supervise` is off). */
  kill(m: PairMember): Promise<void>;
  /** Resolves once the supervisor has started `m` again and its process is listening. */
  running(m: PairMember): Promise<void>;
  /** Both members up (restarted if needed) and every agent connected to the active one, idle and current. */
  waitHosts(pred: (hs: Hosts) => boolean, timeoutMs?: number): Promise<Hosts>;
  /** Recent logs of both members and the agents, for failure messages. */
  logs(): string;
  close(): Promise<void>;
}

/** Options of {@link startPairCluster}. */
export interface PairClusterOptions {
  /** The database (test/lib/postgres.ts createDatabase). */
  url: string;
  hosts: AgentSpec[];
  baseFeed: string;
  /** `--lease-ttl` in ms (default: the controller's own default, 4000). */
  leaseTtlMs?: number;
  /** More controller flags (e.g. `--time-scale 0.01`). */
  controllerArgs?: string[];
  agentArgs?: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the pair (controller-0 first, so it is the first active) and the agents, and waits until every host is provisioned. */
export async function startPairCluster(o: PairClusterOptions): Promise<PairCluster> {
  const work = mkdtempSync(path.join(os.tmpdir(), "swpatch-paircluster-"));
  const rootsDir = path.join(work, "roots");
  // One start as a single controller on the database writes the admin token; both members get its data dir.
  const seed = await startController({ dataDir: path.join(work, "seed"), keepDataDir: true, extraArgs: ["--store", o.url] });
  await seed.stop();
  const args = (id: string) => [
    "--store",
    o.url,
    "--controller-id",
    id,
    ...(o.leaseTtlMs !== undefined ? ["--lease-ttl", String(o.leaseTtlMs)] : []),
    ...(o.controllerArgs ?? []),
  ];
  const launch = async (id: string, dataDir: string, port: number): Promise<ControllerHandle> => {
    // A port just freed by a killed process can race a new bind: retry a few times.
    for (let attempt = 0; ; attempt++) {
      try {
        return await startController({ dataDir, keepDataDir: true, baseFeed: o.baseFeed, port, extraArgs: args(id) });
      } catch (e) {
        if (attempt >= 10 || closing) throw e;
        await sleep(200);
      }
    }
  };
  let closing = false;
  const members: PairMember[] = [];
  const restarting = new Map<PairMember, Promise<void>>();
  const clientsOf = new Map<PairMember, Clients>();
  const client = (m: PairMember) => {
    let c = clientsOf.get(m);
    if (!c) clientsOf.set(m, (c = rawClients(m.endpoint, token)));
    return c;
  };
  let token = "";

  /** Watches one process of `m`: restarts it when it exits or reports itself retired. */
  const supervise = (m: PairMember) => {
    const h = m.handle;
    let retiredSeen = false;
    const onData = (d: Buffer) => {
      if (retiredSeen || !d.toString().includes(RETIRED_LOG)) return;
      retiredSeen = true;
      if (closing) return;
      // A retired member exits cleanly on SIGTERM, as `systemctl restart` would ask it to (started again once
      // `supervise` is on).
      void h.stop().catch(() => h.kill9());
    };
    h.proc.stderr!.on("data", onData);
    h.proc.once("exit", () => {
      h.proc.stderr!.off("data", onData);
      if (closing) return;
      const again = (async () => {
        while (!cluster.supervise && !closing) await sleep(50);
        if (closing) return;
        await sleep(100); // systemd's default RestartSec
        m.pastLogs += h.stderr();
        m.handle = await launch(m.id, m.dataDir, m.port);
        m.restarts++;
        restarting.delete(m);
        supervise(m);
      })();
      restarting.set(m, again);
      again.catch((e: unknown) => {
        if (!closing) console.error(`pair-cluster: restarting ${m.id} failed: ${(e as Error).message}`);
      });
    });
  };

  for (const id of ["controller-0", "controller-1"] as const) {
    const dataDir = path.join(work, id);
    cpSync(path.join(work, "seed"), dataDir, { recursive: true });
    const handle = await startController({ dataDir, keepDataDir: true, baseFeed: o.baseFeed, extraArgs: args(id) });
    token = handle.adminToken;
    const m: PairMember = { id, port: handle.port, endpoint: handle.endpoint, dataDir, handle, restarts: 0, pastLogs: "" };
    members.push(m);
    if (id === "controller-0") {
      // controller-0 takes the lease first: wait until it serves before starting its peer.
      for (let i = 0; ; i++) {
        const ok = await client(m)
          .patches.queryPatches({})
          .then(
            () => true,
            () => false,
          );
        if (ok) break;
        if (i > 600) throw new Error(`controller-0 did not become active: ${handle.stderr().slice(-3000)}`);
        await sleep(50);
      }
    }
  }
  const endpoints = members.map((m) => m.endpoint).join(",");
  const sdk = createSwPatchClient({ endpoint: endpoints, token });
  const agents = new Map<string, AgentHandle>();

  const roleOf = async (m: PairMember): Promise<string> => {
    try {
      // A stopped (SIGSTOP) member never answers: give up on it after a second.
      const i = await client(m).patches.getControllerInfo({}, { signal: AbortSignal.timeout(1000) });
      if (i.role !== "active") return i.role;
      await client(m).patches.queryPatches({}, { signal: AbortSignal.timeout(2000) });
      return "active";
    } catch (e) {
      const code = (e as ClientError).code;
      return code === Status.UNAVAILABLE ? "unavailable" : `error ${(e as Error).message}`;
    }
  };

  const cluster: PairCluster = {
    url: o.url,
    members: members as [PairMember, PairMember],
    endpoints,
    token,
    agents,
    rootsDir,
    sdk,
    supervise: true,
    async activeMember() {
      const roles = await Promise.all(members.map(roleOf));
      const active = members.filter((_, i) => roles[i] === "active");
      return active.length === 1 ? active[0] : undefined;
    },
    async waitOneActive(timeoutMs = 30_000) {
      const t0 = Date.now();
      let roles: string[] = [];
      while (Date.now() - t0 < timeoutMs) {
        roles = await Promise.all(members.map(roleOf));
        const active = members.filter((_, i) => roles[i] === "active");
        if (active.length === 1) return { member: active[0]!, ms: Date.now() - t0 };
        if (active.length > 1) throw new Error(`two active controllers: ${roles.join(", ")}`);
        await sleep(25);
      }
      throw new Error(`no single active controller within ${timeoutMs} ms: ${members.map((m, i) => `${m.id} ${roles[i]}`).join(", ")}\n${cluster.logs()}`);
    },
    info(m) {
      return client(m).patches.getControllerInfo({});
    },
    async kill(m) {
      await m.handle.kill9();
    },
    async running(m) {
      for (;;) {
        const r = restarting.get(m);
        if (r) await r;
        else if (m.handle.proc.exitCode === null && m.handle.proc.signalCode === null) return;
        else await sleep(20);
      }
    },
    async waitHosts(pred, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let last: Hosts = [];
      while (Date.now() < deadline) {
        try {
          last = (await sdk.hosts.listHosts({})).hosts;
          if (pred(last)) return last;
        } catch {
          /* failing over */
        }
        await sleep(100);
      }
      throw new Error(
        `hosts did not reach the expected state in ${timeoutMs} ms: ${JSON.stringify(last.map((h) => ({ n: h.hostname, c: h.connected, cur: h.patchCurrent, st: h.agentState, r: h.installReason })))}\n${cluster.logs()}`,
      );
    },
    logs() {
      const ms = members.map((m) => `${m.id} (restarts ${m.restarts}):\n${(m.pastLogs + m.handle.stderr()).slice(-4000)}`);
      const as = [...agents.values()].map((a) => `${a.spec.hostname}: ${a.log().slice(-1000)}`);
      return [...ms, ...as].join("\n");
    },
    async close() {
      closing = true;
      sdk.close();
      for (const c of clientsOf.values()) c.close();
      const stops = await Promise.allSettled([...agents.values()].map((a) => a.stop()));
      await Promise.allSettled([...restarting.values()]);
      // A member a test left stopped (SIGSTOP) must run to answer SIGTERM.
      for (const m of members) if (m.handle.proc.exitCode === null && m.handle.proc.signalCode === null) m.handle.proc.kill("SIGCONT");
      const ctl = await Promise.allSettled(members.map((m) => m.handle.stop()));
      rmSync(work, { recursive: true, force: true });
      const failed = [...stops, ...ctl].find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
    },
  };
  for (const m of members) supervise(m);
  for (const h of o.hosts) {
    const spec = o.agentArgs ? { ...h, extraArgs: [...(h.extraArgs ?? []), ...o.agentArgs] } : h;
    agents.set(h.hostname, startAgent(endpoints, spec, rootsDir, token));
  }
  try {
    await cluster.waitHosts((hs) => hs.length === o.hosts.length && hs.every((h) => h.connected && h.patchCurrent === 1 && h.agentState === 2), 120_000);
  } catch (e) {
    const logs = cluster.logs();
    await cluster.close().catch(() => undefined);
    throw new Error(`${(e as Error).message}\n${logs}`);
  }
  return cluster;
}
