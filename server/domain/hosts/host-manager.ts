import { randomUUID } from "node:crypto";
import type { Store, StoreTx } from "../store.js";
import { AlarmService, type AlarmRecord } from "../alarms/alarm-service.js";
import { DomainError, failedPrecondition, invalidArgument, notFound } from "../errors.js";
import type { DomainEvent, EventLog, NewEvent } from "../events/event-log.js";
import type { PatchManager } from "../patches/patch-manager.js";
import type { HostPackageView } from "../patches/model.js";
import { pendingChanges } from "../patches/state.js";
import type { Logger } from "../../lib/log.js";
import { failpointAsync } from "../../lib/failpoint.js";
import {
  progressMessage,
  type AgentHelloInput,
  type AgentLink,
  type AgentReportInput,
  type AgentStateName,
  type ActionResultInput,
  type InstallPhase,
  type InstallProgress,
  type InstallResultInput,
  type InstalledPackage,
  type Instance,
} from "./agent-types.js";

export type { AgentLink, AgentStateName } from "./agent-types.js";
import type { HostRecord } from "./model.js";

export type { AdminStateName, AvailabilityName, HostRecord } from "./model.js";
export type { AlarmRecord } from "../alarms/alarm-service.js";

/** What query-hosts shows for a host, computed. */
export interface HostStatus extends HostRecord {
  connected: boolean;
  patchCurrent: "Yes" | "No" | "Pending" | "Failed";
  pendingChanges: number;
  interim: boolean;
  allowInsvcPatching: boolean;
  requiresRebootShown: boolean;
  activeController: boolean;
  operational: "enabled" | "disabled";
}

interface OperationState {
  id: string;
  hostname: string;
  startSeq: number;
  last: InstallProgress;
  done: boolean;
}

const HOSTNAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Same packages, instances and reboot flag (what patch states and orchestration read). */
function sameInventory(a: HostRecord, b: HostRecord): boolean {
  if (a.requiresReboot !== b.requiresReboot || a.installed.length !== b.installed.length || a.instances.length !== b.instances.length) return false;
  for (let i = 0; i < a.installed.length; i++) {
    const x = a.installed[i]!;
    const y = b.installed[i]!;
    if (x.name !== y.name || x.epoch !== y.epoch || x.version !== y.version || x.release !== y.release || x.arch !== y.arch) return false;
  }
  return JSON.stringify(a.instances) === JSON.stringify(b.instances);
}

/** Why a finished WatchOperation stops its event-log watch. */
const WATCH_ENDED = new Error("operation watch ended");

/** How long a progress message may wait for the next shared write of progress events. */
const PENDING_FLUSH_MS = 25;

/**
 * Hosts and their agents: inventory from hellos and reports, installs with progress, lock/unlock
 * (with the agent-performed reboot), swact, drop-host and alarms.
 * INVARIANTS: host writes run under the patch manager's mutex (so patch states and interim lists
 * are recomputed consistently); one install operation per host at a time; the in-memory record
 * is updated only after its transaction commits.
 */
export class HostManager {
  private readonly hosts = new Map<string, HostRecord>();
  private readonly links = new Map<string, AgentLink>();
  private readonly ops = new Map<string, OperationState>();
  private readonly runningByHost = new Map<string, string>();
  /** Alarms (fm); HostManager keeps its former alarm methods as delegates. */
  readonly alarms: AlarmService;
  private activeController = "controller-0";
  private readonly rejectTimers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly o: { store: Store; events: EventLog; patches: PatchManager; log: Logger; controllerRelease: string },
  ) {
    this.alarms = new AlarmService({ store: o.store, events: o.events });
  }

  async init(): Promise<void> {
    const read = this.o.store.read;
    for (const h of await read.loadHosts()) this.hosts.set(h.hostname, h);
    await this.alarms.init();
    this.activeController = (await read.getControllerState("active_controller")) ?? "controller-0";
    // Installs that were running when the controller stopped: the agent finishes them on its
    // own and tells us when it reconnects.
    for (const op of await read.runningOperations()) {
      const last = (await read.latestProgress(op.id)) ?? op.last ?? progressMessage(op.id, op.hostname, "queued", "queued");
      this.ops.set(op.id, { id: op.id, hostname: op.hostname, startSeq: op.startSeq, last, done: false });
      this.runningByHost.set(op.hostname, op.id);
    }
    this.o.patches.setHostsProvider({
      views: () => this.views(),
      view: (hostname) => {
        const h = this.hosts.get(hostname);
        return h && this.viewOf(h);
      },
      count: () => this.hosts.size,
      anyInstalling: () => this.anyInstalling(), requestReports: () => this.requestReports() });
  }

  /** Writes the progress events still waiting (graceful shutdown, before the store closes). */
  async flush(): Promise<void> {
    if (this.pendingWrites.length) await this.flushPending();
  }

  close(): void {
    clearTimeout(this.pendingTimer);
    this.pendingTimer = undefined;
    for (const t of this.rejectTimers.values()) clearTimeout(t);
    for (const l of this.links.values()) l.close();
    this.links.clear();
  }

  // ---------------------------------------------------------------- views

  views(): HostPackageView[] {
    return [...this.hosts.values()].map((h) => this.viewOf(h));
  }

  private viewOf(h: HostRecord): HostPackageView {
    const installed = new Map<string, { epoch: string; version: string; release: string; arch: string }>();
    for (const p of h.installed) if (!installed.has(p.name)) installed.set(p.name, { epoch: p.epoch, version: p.version, release: p.release, arch: p.arch });
    return { hostname: h.hostname, release: h.release, personalityKey: h.subfunctions.join("-") || h.personality, installed };
  }

  private reportCounter = 0;

  /** Asks every connected agent for a fresh report; each report clears the host's interim state. */
  requestReports(): void {
    this.reportCounter++;
    for (const link of this.links.values()) link.send({ kind: "reportRequest", patchOpCounter: this.reportCounter });
  }

  /** An install is running somewhere (an operation in flight, or a connected agent installing). */
  anyInstalling(): boolean {
    if (this.runningByHost.size > 0) return true;
    for (const h of this.hosts.values()) if (h.agentState === "installing" && this.links.has(h.hostname)) return true;
    return false;
  }

  status(h: HostRecord): HostStatus {
    const view = this.viewOf(h);
    const desired = this.o.patches.desiredFor(view);
    const pending = pendingChanges(view, desired);
    const interim = this.o.patches.hostInInterim(h.hostname);
    const allowInsvc = desired.rebootRequiredNames.size === 0;
    let patchCurrent: HostStatus["patchCurrent"] = pending === 0 ? "Yes" : "No";
    if (interim) patchCurrent = "Pending";
    if (h.patchFailed) patchCurrent = "Failed";
    const connected = this.links.has(h.hostname);
    return {
      ...h,
      connected,
      // "rebooting" from the reboot request until the agent's next hello, connected or not.
      availability: h.availability === "rebooting" ? "rebooting" : connected ? "available" : "offline",
      patchCurrent,
      pendingChanges: pending,
      interim,
      allowInsvcPatching: allowInsvc,
      requiresRebootShown: h.requiresReboot || (!allowInsvc && pending > 0),
      activeController: h.personality === "controller" && h.hostname === this.activeController,
      operational: connected ? "enabled" : "disabled",
    };
  }

  /** How many hosts are known (connected or not). */
  count(): number {
    return this.hosts.size;
  }

  list(): HostStatus[] {
    return [...this.hosts.values()].sort((a, b) => (a.hostname < b.hostname ? -1 : 1)).map((h) => this.status(h));
  }

  /** Finds a host by hostname or IP; NOT_FOUND "Unknown host specified: X". */
  find(hostOrIp: string): HostRecord {
    if (!hostOrIp) throw invalidArgument("host: a hostname or IP address is required");
    const h = this.hosts.get(hostOrIp) ?? [...this.hosts.values()].find((x) => x.ip === hostOrIp);
    if (!h) throw notFound(`Unknown host specified: ${hostOrIp}`, { reason: "HOST_NOT_FOUND", hostname: hostOrIp });
    return h;
  }

  get(hostOrIp: string): HostStatus {
    return this.status(this.find(hostOrIp));
  }

  // ---------------------------------------------------------------- agent stream

  /** An agent said hello: register or refresh the host and adopt the link. */
  async hello(hello: AgentHelloInput, link: AgentLink, peerIp: string): Promise<string> {
    const hostname = hello.hostname;
    if (!HOSTNAME_RE.test(hostname)) throw invalidArgument(`hello.hostname: invalid hostname "${hostname}"`);
    if (!["controller", "worker", "storage"].includes(hello.personality)) {
      throw invalidArgument(`hello.personality: must be controller, worker or storage, got "${hello.personality}"`);
    }
    const prev = this.links.get(hostname);
    if (prev && prev !== link) prev.close();
    const old = this.hosts.get(hostname);
    const now = new Date();
    const rec: HostRecord = {
      hostname,
      ip: hello.mgmtIp || peerIp || "unknown",
      personality: hello.personality,
      subfunctions: hello.subfunctions.length ? [...hello.subfunctions] : [hello.personality],
      release: hello.release || this.o.controllerRelease,
      adminState: old?.adminState ?? "unlocked",
      agentState: hello.state === "unknown" ? "idle" : hello.state,
      installReason: hello.installReason,
      requiresReboot: hello.requiresReboot,
      patchFailed: hello.state === "install-failed",
      installed: hello.packages,
      instances: hello.instances,
      firstSeen: old?.firstSeen ?? now,
      lastSeen: now,
      availability: "available",
    };
    this.links.set(hostname, link);
    await this.writeHost(rec, { kind: "host.connected", oldState: old ? (old.availability === "rebooting" ? "rebooting" : "offline") : "", newState: "available" });
    link.send({ kind: "helloAck", controllerRelease: this.o.controllerRelease, locked: rec.adminState === "locked" });
    // An install that was running: the agent's state tells how it ended.
    const opId = this.runningByHost.get(hostname);
    if (opId && rec.agentState !== "installing") {
      const reason = hello.interruptedOperationId === opId ? rec.installReason || "agent restarted during install" : rec.installReason;
      if (rec.agentState === "idle" && this.status(rec).pendingChanges === 0) {
        await this.finishOperation(opId, "done", "Installation was successful.");
      } else {
        await this.finishOperation(opId, "failed", reason || "install did not complete");
      }
    }
    if (((hello.provision && hello.packages.length === 0) || hello.installRequest) && !this.runningByHost.has(hostname)) {
      await this.install(hostname, true);
    }
    return hostname;
  }

  async report(hostname: string, r: AgentReportInput): Promise<void> {
    const h = this.hosts.get(hostname);
    if (!h) return;
    const next: HostRecord = {
      ...h,
      installed: r.packages,
      instances: r.instances,
      requiresReboot: r.requiresReboot,
      agentState: r.state === "unknown" ? h.agentState : r.state,
      installReason: r.installReason,
      patchFailed: r.state === "install-failed",
      lastSeen: new Date(),
    };
    // A report that changes only the agent's state (e.g. "installing" as an install starts) and
    // leaves every patch state as it is: taken at once, written with the next shared write.
    const startsInstall = !!this.runningByHost.get(hostname) && h.agentState !== "installing" && next.agentState === "installing";
    if (startsInstall && sameInventory(h, next) && !this.o.patches.hostInInterim(hostname)) {
      this.hosts.set(hostname, next);
      this.pendingWrites.push({ host: next }, { event: { kind: "host.state", hostname, oldState: h.agentState, newState: next.agentState } });
      this.pendingTimer ??= setTimeout(() => void this.flushPending(), PENDING_FLUSH_MS);
      return;
    }
    // The report an agent sends when an install ends (just before its InstallResult) ends the
    // operation in the same transaction; the InstallResult then finds it ended.
    const opId = this.runningByHost.get(hostname);
    let finish: ReturnType<HostManager["finishing"]>;
    if (opId && h.agentState === "installing" && (next.agentState === "idle" || next.agentState === "install-failed")) {
      await failpointAsync("install:result-received");
      finish =
        next.agentState === "idle"
          ? this.finishing(opId, "done", "Installation was successful.")
          : this.finishing(opId, "failed", next.installReason || "Installation failed.");
    }
    await this.writeHost(next, h.agentState !== next.agentState ? { kind: "host.state", oldState: h.agentState, newState: next.agentState } : undefined, finish);
  }

  /**
   * A progress message from an agent. It is the operation's latest progress at once; its event is
   * written with the other progress messages that arrive within PENDING_FLUSH_MS (one
   * transaction for many installs), or earlier by the next write of this manager, which always
   * writes waiting progress events first so a host's events keep their order. The agent's own
   * terminal message is not an event: the InstallResult that follows it ends the operation.
   */
  async progress_(hostname: string, p: InstallProgress): Promise<void> {
    const opId = this.runningByHost.get(hostname);
    if (!opId || p.operationId !== opId) return;
    const op = this.ops.get(opId)!;
    const msg = { ...p, hostname, operationId: opId, terminal: false, time: new Date() };
    op.last = msg;
    if (p.terminal) return;
    this.pendingWrites.push({ event: { kind: "install.progress", hostname, operationId: opId, progress: msg, message: msg.message } });
    this.pendingTimer ??= setTimeout(() => void this.flushPending(), PENDING_FLUSH_MS);
  }

  /** Writes waiting for the next shared transaction: progress events, and host rows of reports that changed only the agent's state. */
  private pendingWrites: ({ event: NewEvent } | { host: HostRecord })[] = [];
  private pendingTimer: NodeJS.Timeout | undefined;

  /**
   * Runs `body` in a transaction that first appends the waiting progress events; they are
   * published before the body's own events. If the transaction fails they wait again.
   */
  private async txWithPending(body: (tx: StoreTx) => Promise<DomainEvent[]>): Promise<DomainEvent[]> {
    let taken: typeof this.pendingWrites = [];
    try {
      return await this.o.store.transact(async (tx) => {
        taken = this.pendingWrites;
        this.pendingWrites = [];
        const out: DomainEvent[] = [];
        try {
          for (const w of taken) {
            if ("event" in w) out.push(await this.o.events.append(tx, w.event));
            else await tx.hosts.upsertHost(w.host);
          }
        } catch (e) {
          this.requeuePending(taken);
          taken = [];
          throw e;
        }
        return out.concat(await body(tx));
      });
    } catch (e) {
      this.requeuePending(taken);
      throw e;
    }
  }

  private requeuePending(taken: typeof this.pendingWrites): void {
    if (taken.length === 0) return;
    this.pendingWrites = taken.concat(this.pendingWrites);
    this.pendingTimer ??= setTimeout(() => void this.flushPending(), PENDING_FLUSH_MS);
  }

  private async flushPending(): Promise<void> {
    clearTimeout(this.pendingTimer);
    this.pendingTimer = undefined;
    if (this.pendingWrites.length === 0) return;
    try {
      this.o.events.publish(await this.txWithPending(async () => []));
    } catch (e) {
      this.o.log.warn("progress writes not stored yet", { error: (e as Error).message, waiting: this.pendingWrites.length });
    }
  }

  async installResult(hostname: string, r: InstallResultInput): Promise<void> {
    const opId = this.runningByHost.get(hostname);
    if (!opId || r.operationId !== opId) return;
    await failpointAsync("install:result-received");
    if (r.rejected) await this.finishOperation(opId, "rejected", "Installation rejected. Node must be locked");
    else if (r.success) await this.finishOperation(opId, "done", "Installation was successful.");
    else await this.finishOperation(opId, "failed", r.reason || "Installation failed.");
  }

  async rebootResult(hostname: string, r: ActionResultInput): Promise<void> {
    this.o.log.info("reboot result", { hostname, success: r.success, reason: r.reason });
  }

  private readonly pendingActions = new Map<string, { hostname: string; resolve: (r: { success: boolean; reason: string }) => void }>();

  /** The agent answered an instance action. */
  instanceActionResult(hostname: string, r: ActionResultInput): void {
    const p = this.pendingActions.get(r.requestId);
    if (!p || p.hostname !== hostname) return;
    this.pendingActions.delete(r.requestId);
    p.resolve({ success: r.success, reason: r.reason });
  }

  /**
   * Asks a host's agent to stop, start, migrate out or take in instances; resolves with the
   * agent's answer (the agent reports its new instance list right after).
   */
  async instanceAction(hostOrIp: string, action: "stop" | "start" | "migrate-out" | "migrate-in", uuids: readonly string[], signal?: AbortSignal): Promise<void> {
    const h = this.find(hostOrIp);
    const link = this.links.get(h.hostname);
    if (!link) throw failedPrecondition(`Host ${h.hostname} is not connected`, { reason: "HOST_OFFLINE", hostname: h.hostname });
    const requestId = randomUUID();
    const answer = new Promise<{ success: boolean; reason: string }>((resolve, reject) => {
      this.pendingActions.set(requestId, { hostname: h.hostname, resolve });
      signal?.addEventListener("abort", () => {
        this.pendingActions.delete(requestId);
        reject(signal.reason ?? new Error("aborted"));
      }, { once: true });
    });
    link.send({ kind: "instanceAction", requestId, action, instanceUuids: [...uuids] });
    const r = await answer;
    if (!r.success) throw failedPrecondition(`Instance action ${action} on ${h.hostname} failed: ${r.reason}`, { reason: "INSTANCE_ACTION_FAILED", hostname: h.hostname });
  }

  /** Reboots a locked host through its agent (the agent goes offline and comes back). */
  async reboot(hostOrIp: string): Promise<void> {
    const h = this.find(hostOrIp);
    if (h.adminState !== "locked") throw failedPrecondition(`Rejected: Host ${h.hostname} must be locked to reboot`, { reason: "NOT_LOCKED", hostname: h.hostname });
    const link = this.links.get(h.hostname);
    if (!link) throw failedPrecondition(`Host ${h.hostname} is not connected`, { reason: "HOST_OFFLINE", hostname: h.hostname });
    await this.writeHost({ ...h, availability: "rebooting" }, { kind: "host.reboot", oldState: "available", newState: "rebooting" });
    link.send({ kind: "reboot", requestId: randomUUID() });
  }

  /** The agent's stream ended. A running install there fails with a reason. */
  async disconnected(hostname: string, link: AgentLink): Promise<void> {
    if (this.links.get(hostname) !== link) return;
    this.links.delete(hostname);
    const h = this.hosts.get(hostname);
    if (!h) return;
    const opId = this.runningByHost.get(hostname);
    const next: HostRecord = { ...h, availability: h.availability === "rebooting" ? "rebooting" : "offline" };
    if (opId || h.agentState === "installing") {
      next.agentState = "install-failed";
      next.patchFailed = true;
      next.installReason = "agent disconnected during install";
    }
    await this.writeHost(next, { kind: "host.disconnected", oldState: "available", newState: next.availability });
    if (opId) await this.finishOperation(opId, "failed", "agent disconnected during install");
  }

  // ---------------------------------------------------------------- install

  /** The install operation running on a host, if any (a resumed orchestration step attaches to it). */
  runningOperation(hostOrIp: string): string | undefined {
    return this.runningByHost.get(this.find(hostOrIp).hostname);
  }

  /** host-install-async: sends the desired set to the agent; returns the operation id. */
  async install(hostOrIp: string, force: boolean): Promise<{ operationId: string; hostname: string }> {
    const h = this.find(hostOrIp);
    const link = this.links.get(h.hostname);
    if (!link) throw failedPrecondition(`Host ${h.hostname} is not connected`, { reason: "HOST_OFFLINE", hostname: h.hostname });
    if (this.runningByHost.has(h.hostname) || h.agentState === "installing") {
      throw failedPrecondition(`Host ${h.hostname} is already installing patches`, { reason: "INSTALL_IN_PROGRESS", hostname: h.hostname });
    }
    const view = this.viewOf(h);
    const desired = this.o.patches.desiredFor(view);
    // Spec 4: with no reboot-required change pending, in-service patching forces the install.
    const effectiveForce = force || desired.rebootRequiredNames.size === 0;
    const opId = randomUUID();
    const startSeq = this.o.events.lastSequence;
    const queued = progressMessage(opId, h.hostname, "queued", "queued");
    const op: OperationState = { id: opId, hostname: h.hostname, startSeq, last: queued, done: false };
    const events = await this.o.store.transact(async (tx) => {
      await tx.hosts.insertOperation({ id: opId, hostname: h.hostname, state: "running", force: effectiveForce, startSeq, last: queued });
      return [await this.o.events.append(tx, { kind: "install.progress", hostname: h.hostname, operationId: opId, progress: queued, message: "queued" })];
    });
    this.ops.set(opId, op);
    this.runningByHost.set(h.hostname, opId);
    this.o.events.publish(events);
    await failpointAsync("install:queued");
    if (h.adminState !== "locked" && !effectiveForce) {
      await this.setAgentState(h.hostname, "install-rejected", "Node must be locked.");
      await this.finishOperation(opId, "rejected", "Installation rejected. Node must be locked");
      return { operationId: opId, hostname: h.hostname };
    }
    link.send({
      kind: "install",
      operationId: opId,
      force: effectiveForce,
      locked: h.adminState === "locked",
      rebootRequired: desired.rebootRequiredNames.size > 0,
      erase: desired.erase,
      desired: [...desired.packages.values()].map((k) => ({
        name: k.name,
        epoch: k.epoch,
        version: k.version,
        release: k.release,
        arch: k.arch,
        fileName: k.fileName,
        sha256: k.sha256,
        sizeBytes: k.size,
      })),
    });
    return { operationId: opId, hostname: h.hostname };
  }

  /**
   * Claims the end of an operation: its terminal message, written by `write` inside some
   * transaction, adopted by `done` after the commit (`undo` if it failed). Undefined when the
   * operation is unknown or already ended.
   */
  private finishing(opId: string, phase: InstallPhase, message: string): { write(tx: StoreTx): Promise<DomainEvent[]>; done(): void; undo(): void } | undefined {
    const op = this.ops.get(opId);
    if (!op || op.done) return undefined;
    op.done = true;
    const before = op.last;
    const msg = { ...op.last, phase, message, terminal: true, time: new Date() };
    op.last = msg;
    const state = phase === "done" ? "done" : phase === "rejected" ? "rejected" : "failed";
    return {
      write: async (tx) => {
        await tx.hosts.updateOperation(opId, state, msg);
        return [await this.o.events.append(tx, { kind: "install.progress", hostname: op.hostname, operationId: opId, progress: msg, message, newState: state })];
      },
      done: () => {
        if (this.runningByHost.get(op.hostname) === opId) this.runningByHost.delete(op.hostname);
      },
      undo: () => {
        op.done = false;
        op.last = before;
      },
    };
  }

  private async finishOperation(opId: string, phase: InstallPhase, message: string): Promise<void> {
    const f = this.finishing(opId, phase, message);
    if (!f) return;
    const events = await this.txWithPending((tx) => f.write(tx));
    f.done();
    this.o.events.publish(events);
  }

  private async setAgentState(hostname: string, state: AgentStateName, reason: string): Promise<void> {
    const h = this.hosts.get(hostname)!;
    await this.writeHost({ ...h, agentState: state, installReason: reason }, { kind: "host.state", oldState: h.agentState, newState: state });
    if (state === "install-rejected") {
      clearTimeout(this.rejectTimers.get(hostname));
      const t = setTimeout(() => {
        this.rejectTimers.delete(hostname);
        const cur = this.hosts.get(hostname);
        if (cur?.agentState === "install-rejected") void this.setAgentState(hostname, "idle", "").catch(() => undefined);
      }, 60_000);
      t.unref();
      this.rejectTimers.set(hostname, t);
    }
  }

  /** The latest progress of an operation. */
  async operation(opId: string): Promise<InstallProgress> {
    const op = this.ops.get(opId);
    if (op) return op.last;
    const row = await this.o.store.read.getOperation(opId);
    if (!row) throw notFound(`Operation ${opId} does not exist`, { reason: "OPERATION_NOT_FOUND" });
    return row.last ?? progressMessage(opId, row.hostname, "unspecified", "");
  }

  /** Every progress message of an operation so far, then new ones, to the terminal message. */
  async *watchOperation(opId: string, signal: AbortSignal): AsyncGenerator<InstallProgress> {
    let startSeq = this.ops.get(opId)?.startSeq;
    if (startSeq === undefined) {
      const row = await this.o.store.read.getOperation(opId);
      if (!row) throw notFound(`Operation ${opId} does not exist`, { reason: "OPERATION_NOT_FOUND" });
      startSeq = row.startSeq;
    }
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    signal.addEventListener("abort", onAbort);
    try {
      for await (const e of this.o.events.watch(startSeq, { kinds: ["install.progress"], operationId: opId }, ac.signal)) {
        const p = e.progress;
        if (!p) continue;
        yield p;
        if (p.terminal) return;
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      // A fixed reason: abort() without one builds a DOMException (with its stack) per watch.
      ac.abort(WATCH_ENDED);
    }
  }

  // ---------------------------------------------------------------- lock / unlock / swact / drop

  async lock(hostOrIp: string, force: boolean): Promise<HostStatus> {
    const h = this.find(hostOrIp);
    if (h.adminState === "locked") return this.status(h);
    if (h.personality === "controller" && !force) {
      const others = [...this.hosts.values()].filter((x) => x.personality === "controller" && x.hostname !== h.hostname && x.adminState === "unlocked");
      if (others.length === 0) throw failedPrecondition(`Rejected: Can not lock the only unlocked controller ${h.hostname}`, { reason: "LAST_CONTROLLER", hostname: h.hostname });
      if (h.hostname === this.activeController) {
        throw failedPrecondition(`Rejected: Can not lock an active controller. Swact ${h.hostname} first`, { reason: "ACTIVE_CONTROLLER", hostname: h.hostname });
      }
    }
    await this.writeHost({ ...h, adminState: "locked" }, { kind: "host.admin", oldState: "unlocked", newState: "locked" });
    this.links.get(h.hostname)?.send({ kind: "lockState", locked: true });
    if (h.agentState === "install-rejected") await this.setAgentState(h.hostname, "idle", "");
    return this.status(this.hosts.get(h.hostname)!);
  }

  async unlock(hostOrIp: string): Promise<{ host: HostStatus; rebooting: boolean }> {
    const h = this.find(hostOrIp);
    if (h.adminState === "unlocked") throw failedPrecondition(`Host ${h.hostname} is already unlocked`, { reason: "ALREADY_UNLOCKED", hostname: h.hostname });
    if (this.runningByHost.has(h.hostname)) throw failedPrecondition(`Rejected: Host ${h.hostname} is installing patches`, { reason: "INSTALL_IN_PROGRESS", hostname: h.hostname });
    const link = this.links.get(h.hostname);
    const rebooting = h.requiresReboot && !!link;
    await this.writeHost({ ...h, adminState: "unlocked", availability: rebooting ? "rebooting" : h.availability }, { kind: "host.admin", oldState: "locked", newState: "unlocked" });
    link?.send({ kind: "lockState", locked: false });
    if (rebooting) link!.send({ kind: "reboot", requestId: randomUUID() });
    return { host: this.status(this.hosts.get(h.hostname)!), rebooting };
  }

  async swact(hostOrIp: string): Promise<string> {
    const h = this.find(hostOrIp);
    if (h.personality !== "controller") throw failedPrecondition(`Rejected: ${h.hostname} is not a controller`, { reason: "NOT_CONTROLLER" });
    if (h.hostname !== this.activeController) throw failedPrecondition(`Rejected: ${h.hostname} is not the active controller`, { reason: "NOT_ACTIVE" });
    const peer = [...this.hosts.values()].find((x) => x.personality === "controller" && x.hostname !== h.hostname && x.adminState === "unlocked" && this.links.has(x.hostname));
    if (!peer) throw failedPrecondition("Rejected: no standby controller is unlocked and available to take over", { reason: "NO_STANDBY" });
    const events = await this.o.store.transact(async (tx) => {
      await tx.setControllerState("active_controller", peer.hostname);
      return [await this.o.events.append(tx, { kind: "host.swact", hostname: peer.hostname, oldState: h.hostname, newState: peer.hostname })];
    });
    this.activeController = peer.hostname;
    this.o.events.publish(events);
    return peer.hostname;
  }

  get activeControllerName(): string {
    return this.activeController;
  }

  async drop(hostOrIp: string): Promise<string> {
    const h = this.find(hostOrIp);
    await this.o.patches.exclusive(async () => {
      // Cut the agent's stream; it reconnects and says hello again, which re-adds the host
      // after this transaction (hello's write waits for this section). Only the old link goes.
      const old = this.links.get(h.hostname);
      old?.close();
      if (old && this.links.get(h.hostname) === old) this.links.delete(h.hostname);
      const events = await this.o.store.transact(async (tx) => {
        await tx.hosts.deleteHost(h.hostname);
        const ev = [await this.o.events.append(tx, { kind: "host.dropped", hostname: h.hostname })];
        this.hosts.delete(h.hostname);
        try {
          return ev.concat(await this.o.patches.onHostReport(tx, h.hostname));
        } catch (e) {
          this.hosts.set(h.hostname, h);
          throw e;
        }
      });
      this.o.patches.afterHostCommit(events);
    });
    return h.hostname;
  }

  // ---------------------------------------------------------------- alarms

  listAlarms(): AlarmRecord[] {
    return this.alarms.list();
  }

  getAlarm(uuid: string): AlarmRecord {
    return this.alarms.get(uuid);
  }

  raiseAlarm(a: Omit<AlarmRecord, "uuid" | "time">): Promise<AlarmRecord> {
    return this.alarms.raise(a);
  }

  clearAlarm(uuid: string): Promise<void> {
    return this.alarms.clear(uuid);
  }

  // ---------------------------------------------------------------- internals

  /**
   * Writes a host record (with its event and the patch states it changes) and, with `finish`,
   * the end of its install operation in the same transaction, after the host's events. Resolves
   * once committed.
   *
   * Reports that arrive while a batch is being written (many hosts answering at once, e.g. after
   * an apply) are written together in the next transaction: one commit, one recomputation of the
   * patch states. A batch that fails rejects each of its callers and leaves memory as before it.
   */
  private writeHost(
    next: HostRecord,
    ev?: { kind: string; oldState?: string; newState?: string },
    finish?: ReturnType<HostManager["finishing"]>,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.hostWrites.push({ next, ev, finish, resolve, reject });
      if (!this.writingHosts) void this.drainHostWrites();
    });
  }

  private readonly hostWrites: {
    next: HostRecord;
    ev: { kind: string; oldState?: string; newState?: string } | undefined;
    finish: ReturnType<HostManager["finishing"]> | undefined;
    resolve: () => void;
    reject: (e: unknown) => void;
  }[] = [];
  private writingHosts = false;

  private async drainHostWrites(): Promise<void> {
    this.writingHosts = true;
    try {
      while (this.hostWrites.length) {
        const batch = this.hostWrites.splice(0, 256);
        try {
          await this.writeHosts(batch);
        } catch (e) {
          for (const w of batch) w.reject(e);
          continue;
        }
        for (const w of batch) w.resolve();
      }
    } finally {
      this.writingHosts = false;
    }
  }

  private async writeHosts(batch: HostManager["hostWrites"]): Promise<void> {
    await this.o.patches.exclusive(async () => {
      // What each host was before the batch (a host may report twice in one batch).
      const before = new Map<string, HostRecord | undefined>();
      for (const w of batch) {
        if (!before.has(w.next.hostname)) before.set(w.next.hostname, this.hosts.get(w.next.hostname));
        this.hosts.set(w.next.hostname, w.next);
      }
      const names = [...before.keys()];
      let events: DomainEvent[];
      try {
        events = await this.txWithPending(async (tx) => {
          const out: DomainEvent[] = [];
          for (const w of batch) {
            await tx.hosts.upsertHost(w.next);
            if (w.ev) out.push(await this.o.events.append(tx, { ...w.ev, hostname: w.next.hostname }));
          }
          out.push(...(await this.o.patches.onHostReports(tx, names)));
          for (const w of batch) if (w.finish) out.push(...(await w.finish.write(tx)));
          return out;
        });
      } catch (e) {
        for (const [name, prev] of before) {
          if (prev) this.hosts.set(name, prev);
          else this.hosts.delete(name);
        }
        for (let i = batch.length - 1; i >= 0; i--) batch[i]!.finish?.undo();
        throw e;
      }
      for (const w of batch) w.finish?.done();
      this.o.patches.afterHostCommit(events, names);
    });
  }
}

export { DomainError };
