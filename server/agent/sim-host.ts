/**
 * A simulated host of the fleet simulator (`--simulate N --sim-installer memory`): it speaks the
 * real agent protocol (hello, reports, progress, results, reboots, lock state, instance actions)
 * and downloads every package it installs with FetchPackage (checking its sha256 and size), but
 * keeps its package set, lock flag and state in memory: no rpm, no files, so thousands fit in one
 * process. Each install's fate (time, failure, hang, mid-install disconnect, failing health check)
 * is drawn by sim-faults.ts from the seed, the hostname and the install's number.
 *
 * INVARIANTS
 * - At most one install runs at a time; a second InstallCommand is answered with a rejected
 *   InstallResult "Install already in progress" (as the rpm host). A hung install holds it until
 *   the process stops.
 * - An InstallResult or RebootResult produced while no stream is attached is queued and sent after
 *   the next HelloAck.
 * - A failed, hung or disconnected install leaves the package set as it was; a successful one
 *   replaces it by the desired set (minus the erased names) before the report and the result.
 */
import { createHash } from "node:crypto";
import { Metadata } from "nice-grpc";
import type {
  AgentHealth,
  AgentHello,
  AgentReport,
  ConnectRequest,
  HelloAck,
  InstallCommand,
  InstanceActionCommand,
  InstalledPackage,
} from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { AgentState, InstallPhase, type Instance, type InstallProgress } from "../../clients/sdk/src/gen/swpatch/v1/types.js";
import type { Logger } from "../lib/log.js";
import type { AgentServiceClient, ConnectedHost } from "./connection.js";
import { AGENT_VERSION, NODE_MUST_BE_LOCKED } from "./host-agent.js";
import { planChanges } from "./installer.js";
import { applyInstanceAction } from "./instance-actions.js";
import { drawInstall, type SimDraw, type SimOptions } from "./sim-faults.js";
import type { AgentStateName } from "./state-file.js";

/** Fetches a package's bytes; resolves to their sha256 (hex) and length. */
export type SimFetchFn = (sha256: string, signal: AbortSignal) => Promise<{ sha256: string; size: number }>;

/** Options of one {@link SimHost}. */
export interface SimHostOptions {
  hostname: string;
  personality: string;
  subfunctions?: string[];
  release?: string;
  mgmtIp?: string;
  /** The packages the host starts with (e.g. read from --base-feed). */
  packages?: InstalledPackage[];
  /** Started with --provision: the hello says so while the host has no packages. */
  provision?: boolean;
  instances?: Instance[];
  sim: SimOptions;
  logger: Logger;
  /** install-rejected reverts to idle after this long. Default 60000 ms. */
  rejectRevertMs?: number;
  /** Package source; default: FetchPackage over the client the connection gives (`useClient`). */
  fetch?: SimFetchFn;
  /** Observability hook (tests): each install's draw, as it starts. */
  onDraw?: (draw: SimDraw, installNo: number) => void;
}

const STATE_TO_PROTO: Record<AgentStateName, AgentState> = {
  idle: AgentState.AGENT_STATE_IDLE,
  installing: AgentState.AGENT_STATE_INSTALLING,
  "install-failed": AgentState.AGENT_STATE_INSTALL_FAILED,
  "install-rejected": AgentState.AGENT_STATE_INSTALL_REJECTED,
};

/** The reason a simulated failed install reports. */
export const SIM_FAILURE_REASON = "simulated install failure";

function key(p: { name: string; arch: string }): string {
  return `${p.name}.${p.arch}`;
}

/** FetchPackage over `client`, hashing the chunks as they come (nothing is stored). */
export function grpcSimFetch(client: AgentServiceClient, token: string | undefined): SimFetchFn {
  return async (sha256, signal) => {
    const h = createHash("sha256");
    let size = 0;
    const metadata = new Metadata();
    if (token) metadata.set("authorization", `Bearer ${token}`);
    for await (const r of client.fetchPackage({ sha256 }, { signal, metadata })) {
      h.update(r.chunk);
      size += r.chunk.length;
    }
    return { sha256: h.digest("hex"), size };
  };
}

/** One simulated host (see the module comment). */
export class SimHost implements ConnectedHost {
  readonly hostname: string;
  private readonly o: SimHostOptions;
  private readonly log: Logger;
  private packages = new Map<string, InstalledPackage>();
  private state: AgentStateName = "idle";
  private installReason = "";
  private requiresReboot = false;
  private locked = false;
  private health: AgentHealth | undefined;
  private instances: Instance[];
  private sink: ((msg: ConnectRequest) => void) | undefined;
  private drop: (() => void) | undefined;
  private pending: ConnectRequest[] = [];
  private installTask: Promise<void> | undefined;
  private installs = 0;
  private rejectTimer: NodeJS.Timeout | undefined;
  private readonly stopping = new AbortController();
  private fetchFn: SimFetchFn | undefined;

  constructor(o: SimHostOptions) {
    this.o = o;
    this.hostname = o.hostname;
    this.log = o.logger.child({ hostname: o.hostname });
    for (const p of o.packages ?? []) this.packages.set(key(p), { ...p });
    this.instances = (o.instances ?? []).map((i) => ({ ...i }));
    this.fetchFn = o.fetch;
  }

  /** The installed packages, sorted by name (tests). */
  installed(): InstalledPackage[] {
    return [...this.packages.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The agent state, its reason, the reboot flag and the lock flag (tests). */
  get status(): { state: AgentStateName; installReason: string; requiresReboot: boolean; locked: boolean } {
    return { state: this.state, installReason: this.installReason, requiresReboot: this.requiresReboot, locked: this.locked };
  }

  useClient(client: AgentServiceClient, token: string | undefined): void {
    if (!this.fetchFn) this.fetchFn = grpcSimFetch(client, token);
  }

  async buildHello(): Promise<AgentHello> {
    return {
      hostname: this.hostname,
      personality: this.o.personality,
      subfunctions: this.o.subfunctions?.length ? [...this.o.subfunctions] : [this.o.personality],
      release: this.o.release ?? "19.09",
      mgmtIp: this.o.mgmtIp ?? "",
      packages: this.installed(),
      requiresReboot: this.requiresReboot,
      state: STATE_TO_PROTO[this.state],
      installReason: this.installReason,
      instances: this.instances.map((i) => ({ ...i })),
      provision: this.o.provision === true && this.packages.size === 0,
      installRequest: false,
      interruptedOperationId: "",
      agentVersion: AGENT_VERSION,
    };
  }

  private report(): AgentReport {
    return {
      packages: this.installed(),
      requiresReboot: this.requiresReboot,
      state: STATE_TO_PROTO[this.state],
      installReason: this.installReason,
      instances: this.instances.map((i) => ({ ...i })),
      health: this.health ? { ...this.health } : undefined,
    };
  }

  attach(sink: ((msg: ConnectRequest) => void) | undefined, drop?: () => void): void {
    this.sink = sink;
    this.drop = sink ? drop : undefined;
  }

  private send(msg: ConnectRequest, durable = false): void {
    if (this.sink) this.sink(msg);
    else if (durable) this.pending.push(msg);
  }

  private sendReport(): void {
    this.send({ message: { $case: "report", value: this.report() } });
  }

  private setState(state: AgentStateName, installReason: string, report = true): void {
    this.state = state;
    this.installReason = installReason;
    if (report) this.sendReport();
  }

  async onHelloAck(ack: HelloAck): Promise<void> {
    await this.setLocked(ack.locked);
    const queued = this.pending;
    this.pending = [];
    for (const m of queued) this.send(m, true);
  }

  async setLocked(locked: boolean, report = true): Promise<void> {
    this.locked = locked;
    if (locked && this.state === "install-rejected") {
      this.clearRejectTimer();
      this.setState("idle", "", report);
    }
  }

  async reportNow(): Promise<void> {
    this.sendReport();
  }

  private clearRejectTimer(): void {
    if (this.rejectTimer) clearTimeout(this.rejectTimer);
    this.rejectTimer = undefined;
  }

  private progress(opId: string, p: Partial<InstallProgress> & { phase: InstallPhase }): void {
    this.send({
      message: {
        $case: "progress",
        value: {
          operationId: opId,
          hostname: this.hostname,
          current: 0,
          total: 0,
          bytesDone: 0,
          bytesTotal: 0,
          item: "",
          message: "",
          terminal: false,
          time: new Date(),
          ...p,
        },
      },
    });
  }

  async handleInstall(cmd: InstallCommand): Promise<void> {
    const opId = cmd.operationId;
    const reject = (reason: string) => {
      this.progress(opId, { phase: InstallPhase.INSTALL_PHASE_REJECTED, message: reason, terminal: true });
      this.send({ message: { $case: "installResult", value: { operationId: opId, success: false, rejected: true, reason } } }, true);
    };
    if (this.installTask) {
      reject("Install already in progress");
      return;
    }
    if (cmd.locked) this.locked = true;
    if (!cmd.force && !this.locked) {
      reject(NODE_MUST_BE_LOCKED);
      this.clearRejectTimer();
      this.setState("install-rejected", NODE_MUST_BE_LOCKED);
      this.rejectTimer = setTimeout(() => {
        this.rejectTimer = undefined;
        if (this.state === "install-rejected") this.setState("idle", "");
      }, this.o.rejectRevertMs ?? 60_000);
      this.rejectTimer.unref();
      return;
    }
    this.clearRejectTimer();
    this.installTask = this.runInstall(cmd).finally(() => (this.installTask = undefined));
  }

  private async runInstall(cmd: InstallCommand): Promise<void> {
    const opId = cmd.operationId;
    const draw = drawInstall(this.o.sim, this.hostname, this.installs);
    this.o.onDraw?.(draw, this.installs);
    this.installs++;
    const signal = this.stopping.signal;
    this.setState("installing", "");
    this.progress(opId, { phase: InstallPhase.INSTALL_PHASE_QUEUED, message: "install started" });
    let reason: string | undefined;
    const changes = planChanges(this.installed(), cmd.desired, cmd.erase);
    try {
      const toInstall = changes.filter((c) => c.to !== undefined);
      for (const [i, c] of toInstall.entries()) {
        const pkg = c.to!;
        const item = pkg.fileName || `${pkg.name}-${pkg.version}-${pkg.release}.${pkg.arch}.rpm`;
        const base = { phase: InstallPhase.INSTALL_PHASE_DOWNLOADING, current: i + 1, total: toInstall.length, item, bytesTotal: Number(pkg.sizeBytes) || 0 };
        this.progress(opId, { ...base, message: "downloading" });
        if (!this.fetchFn) throw new Error("no package source configured");
        if (!pkg.sha256) throw new Error(`No sha256 given for ${item}`);
        const got = await this.fetchFn(pkg.sha256, signal);
        if (got.sha256 !== pkg.sha256.toLowerCase()) throw new Error(`sha256 mismatch for ${item}: expected ${pkg.sha256}, got ${got.sha256}`);
        if (base.bytesTotal > 0 && got.size !== base.bytesTotal) throw new Error(`Size mismatch for ${item}: expected ${base.bytesTotal}, got ${got.size}`);
        this.progress(opId, { ...base, bytesDone: got.size, bytesTotal: base.bytesTotal || got.size, message: "downloaded" });
      }
      if (draw.fault === "hang") {
        this.log.debug("simulated install hangs", { operationId: opId });
        await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      }
      if (draw.fault === "disconnect") {
        await sleep(draw.dropAtMs, signal);
        this.log.debug("simulated disconnect during install", { operationId: opId });
        this.drop?.();
        await sleep(draw.durationMs - draw.dropAtMs, signal);
      } else await sleep(draw.durationMs, signal);
      if (signal.aborted) throw new Error("install aborted");
      if (draw.fault === "fail") throw new Error(SIM_FAILURE_REASON);
      if (changes.length) {
        this.progress(opId, { phase: InstallPhase.INSTALL_PHASE_INSTALLING, current: 0, total: changes.length, message: "running rpm transaction" });
        for (const c of changes) {
          if (c.from) this.packages.delete(key(c.from));
          if (c.to) this.packages.set(key(c.to), { name: c.to.name, epoch: c.to.epoch || "0", version: c.to.version, release: c.to.release, arch: c.to.arch });
        }
        if (cmd.rebootRequired) this.requiresReboot = true;
      }
    } catch (e) {
      reason = signal.aborted ? "install aborted" : e instanceof Error ? e.message : String(e);
    }
    const healthy = !draw.unhealthy;
    this.health = { healthy, detail: healthy ? "simulated health check passed" : "simulated health check failed", checkedAt: new Date(), configured: true };
    if (reason === undefined) {
      const message = changes.length ? (this.requiresReboot ? "installed; reboot required" : "installed") : "no changes";
      this.progress(opId, { phase: InstallPhase.INSTALL_PHASE_DONE, terminal: true, message });
      this.setState("idle", "", false);
    } else {
      this.progress(opId, { phase: InstallPhase.INSTALL_PHASE_FAILED, terminal: true, message: reason });
      this.setState("install-failed", reason, false);
    }
    // The report first, then the result (as the rpm host).
    this.sendReport();
    this.send({ message: { $case: "installResult", value: { operationId: opId, success: reason === undefined, rejected: false, reason: reason ?? "" } } }, true);
  }

  /** Resolves once no install runs (a hung one: once the host closes). */
  async settled(): Promise<void> {
    await this.installTask?.catch(() => {});
  }

  canReboot(): boolean {
    return !this.installTask;
  }

  /** The simulated reboot: `--sim-reboot-ms` offline, then idle with requires_reboot false; the RebootResult follows the next hello. */
  async reboot(requestId: string, signal?: AbortSignal): Promise<void> {
    await sleep(this.o.sim.rebootMs, signal);
    this.clearRejectTimer();
    this.requiresReboot = false;
    this.setState("idle", "", false);
    this.pending.push({ message: { $case: "rebootResult", value: { requestId, success: true, reason: "" } } });
  }

  async handleInstanceAction(cmd: InstanceActionCommand): Promise<void> {
    const r = applyInstanceAction(this.instances, cmd);
    this.instances = r.instances;
    this.sendReport();
    this.send({ message: { $case: "instanceActionResult", value: { requestId: cmd.requestId, success: r.reason === "", reason: r.reason } } }, true);
  }

  /** Stop: a running (or hung) install ends as failed "install aborted". */
  async close(): Promise<void> {
    this.clearRejectTimer();
    this.stopping.abort();
    await this.installTask?.catch(() => {});
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
