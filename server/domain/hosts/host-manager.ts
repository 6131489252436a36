import { isIP } from "node:net";
import { AgentHealthBook } from "./agent-health.js";
import { alreadyExists, invalidArgument, notFound } from "../errors.js";
import type { EventLog, NewEvent } from "../events/event-log.js";
import type { PatchManager } from "../patches/patch-manager.js";
import type { HostPackageView } from "../patches/model.js";
import type { DesiredSet } from "../patches/state.js";
import type { Store } from "../store.js";
import type { UnitOfWork } from "../unit-of-work.js";
import type { Logger } from "../../lib/log.js";
import { failpointAsync } from "../../lib/failpoint.js";
import { AlarmService, type AlarmRecord } from "../alarms/alarm-service.js";
import { checkHello, checkReport } from "./agent-fields.js";
import { AgentRegistry } from "./agent-registry.js";
import type {
  ActionResultInput,
  AgentHelloInput,
  AgentLink,
  AgentReportInput,
  AgentStateName,
  InstallProgress,
  InstallResultInput,
  InstanceActionName,
} from "./agent-types.js";
import { HostAdmin } from "./host-admin.js";
import { HostWriter } from "./host-writer.js";
import { InstallOperations, type OperationEnd } from "./install-operations.js";
import type { HostRecord } from "./model.js";
import { type HostStatus } from "./host-views.js";
import { cachedStatus, computeStatus, derivedOf, hostViews, sameInventory, SortedNames } from "./host-derived.js";

export type { AdminStateName, AvailabilityName, HostRecord } from "./model.js";
export type { AgentLink, AgentStateName } from "./agent-types.js";
export type { AlarmRecord } from "../alarms/alarm-service.js";
export type { HostStatus } from "./host-views.js";

const HOSTNAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/**
 * Host inventory: hosts and their agents' hellos and reports, status, and the host writes (with
 * the patch states they change); install operations, administration, the agent registry and
 * alarms are parts it composes (and delegates to, for callers of the former single class).
 * INVARIANTS: host writes that change inventory run as one unit of work under its lock (so patch
 * states and interim lists are recomputed consistently); the in-memory record changes only after
 * its transaction commits; one install operation per host at a time.
 */
export class HostManager {
  readonly agentHealth = new AgentHealthBook(); // ROLLOUT (issue 20): the agents' health checks (agent-health.ts)
  private activeController = "controller-0";
  private readonly rejectTimers = new Map<string, NodeJS.Timeout>();
  private readonly uow: UnitOfWork;
  readonly agents = new AgentRegistry();
  readonly ops: InstallOperations;
  readonly admin: HostAdmin;
  readonly alarms: AlarmService;
  private readonly writer: HostWriter;
  /** Committed host records (the writer's). */
  private readonly hosts: ReadonlyMap<string, HostRecord>;

  /** @param o.activeController the lease holder now (a pair's live leadership), instead of what SwactHost stored. */
  constructor(
    private readonly o: {
      store: Store;
      events: EventLog;
      patches: PatchManager;
      log: Logger;
      controllerRelease: string;
      installResumeGraceMs?: number;
      activeController?: () => string | undefined;
    },
  ) {
    this.uow = o.patches.uow;
    this.alarms = new AlarmService({ store: o.store, events: o.events });
    this.ops = new InstallOperations({
      uow: this.uow,
      store: o.store,
      events: o.events,
      agents: this.agents,
      log: o.log,
      ...(o.installResumeGraceMs === undefined ? {} : { resumeGraceMs: o.installResumeGraceMs }),
      hosts: { find: (h) => this.find(h), desiredFor: (h) => this.desiredFor(h), setAgentState: (h, s, r) => this.setAgentState(h, s, r) },
    });
    this.admin = new HostAdmin({ inventory: this, agents: this.agents, uow: this.uow });
    this.writer = new HostWriter({ uow: this.uow, patches: o.patches, views: (m) => hostViews(m) });
    this.hosts = this.writer.hosts;
  }

  async init(): Promise<void> {
    const read = this.o.store.read;
    this.writer.load(await read.loadHosts());
    await this.alarms.init();
    this.activeController = (await read.getControllerState("active_controller")) ?? "controller-0";
    // Installs that were running when the controller stopped: the agent finishes them on its
    // own and tells us when it reconnects (within a grace period; see InstallOperations.init).
    await this.ops.init();
    this.o.patches.setHostsProvider({
      views: () => hostViews(this.hosts),
      anyInstalling: () => this.anyInstalling(),
      requestReports: () => this.agents.requestReports(),
    });
  }

  /** Commits the writes still riding the next commit (graceful shutdown, before the store closes). */
  async flush(): Promise<void> {
    await this.o.store.transact(async () => undefined);
  }

  close(): void {
    for (const t of this.rejectTimers.values()) clearTimeout(t);
    this.rejectTimers.clear();
    this.ops.close();
    this.agents.closeAll();
  }

  /** A pair member lost its term: timers stop, agent links close, memory is dropped (no writes; `init` re-reads). */
  deactivate(): void {
    this.close();
    this.ops.deactivate();
    this.writer.clear();
    this.alarms.forget();
  }

  // ---------------------------------------------------------------- views

  views(): HostPackageView[] {
    return [...this.hosts.values()].map((h) => derivedOf(h).view);
  }

  /** Every host record (committed). */
  records(): HostRecord[] {
    return [...this.hosts.values()];
  }

  private desiredFor(h: HostRecord): DesiredSet {
    return this.o.patches.desiredFor(derivedOf(h).view);
  }

  /** An install is running somewhere (an operation in flight, or a connected agent installing). */
  anyInstalling(): boolean {
    if (this.ops.anyRunning) return true;
    for (const h of this.hosts.values()) if (h.agentState === "installing" && this.agents.connected(h.hostname)) return true;
    return false;
  }

  /** Asks every connected agent for a fresh report; each report clears the host's interim state. */
  requestReports(): void {
    this.agents.requestReports();
  }

  status(h: HostRecord): HostStatus {
    const desired = this.o.patches.desiredFor(derivedOf(h).view);
    return computeStatus(h, desired, this.o.patches.hostInInterim(h.hostname), this.agents.connected(h.hostname), this.activeControllerName);
  }

  /** How many hosts are known (connected or not). */
  count(): number {
    return this.hosts.size;
  }

  list(): HostStatus[] {
    return this.names.of(this.hosts).map((n) => this.status(this.hosts.get(n)!));
  }

  /**
   * Every host's status as list() gives it, but frozen and shared: a host whose record, desired
   * set, interim flag, connection and the active controller did not change gets the same object
   * as last time (scale: every strategy step's snapshot reads every host).
   */
  listStatuses(): ReadonlyArray<Readonly<HostStatus>> {
    return this.names.of(this.hosts).map((n) => {
      const h = this.hosts.get(n)!;
      const d = derivedOf(h);
      const key = {
        desired: this.o.patches.desiredFor(d.view),
        interim: this.o.patches.hostInInterim(n),
        connected: this.agents.connected(n),
        active: this.activeControllerName,
      };
      return cachedStatus(d, key, () => this.status(h));
    });
  }

  private readonly names = new SortedNames();

  /** Finds a host by hostname or IP address; NOT_FOUND "Unknown host specified: X". */
  find(hostOrIp: string): HostRecord {
    if (!hostOrIp) throw invalidArgument("host: a hostname or IP address is required");
    const h = this.hosts.get(hostOrIp) ?? (isIP(hostOrIp) ? [...this.hosts.values()].find((x) => x.ip === hostOrIp) : undefined);
    if (!h) throw notFound(`Unknown host specified: ${hostOrIp}`, { reason: "HOST_NOT_FOUND", hostname: hostOrIp });
    return h;
  }

  get(hostOrIp: string): HostStatus {
    return this.status(this.find(hostOrIp));
  }

  get activeControllerName(): string {
    return this.o.activeController ? (this.o.activeController() ?? "") : this.activeController;
  }

  /** After the swact's commit. */
  setActiveController(hostname: string): void {
    this.activeController = hostname;
  }

  // ---------------------------------------------------------------- agent stream

  /**
   * An agent said hello: register or refresh the host and adopt the link. Its fields are checked
   * (agent-fields.ts); its address is the one it claims (an IP no other connected host holds:
   * ALREADY_EXISTS naming that host) or else the connection's (`peerIp`).
   */
  async hello(input: AgentHelloInput, link: AgentLink, peerIp: string): Promise<string> {
    const hostname = input.hostname;
    if (!HOSTNAME_RE.test(hostname)) throw invalidArgument(`hello.hostname: invalid hostname "${hostname.slice(0, 64)}"`);
    if (!["controller", "worker", "storage"].includes(input.personality)) {
      throw invalidArgument(`hello.personality: must be controller, worker or storage, got "${input.personality.slice(0, 64)}"`);
    }
    const hello = checkHello(input);
    // Checked and adopted with no await in between: two hellos cannot both claim one address.
    const holder = hello.mgmtIp ? this.agents.holderOf(hello.mgmtIp, hostname) : undefined;
    if (holder) {
      throw alreadyExists(`hello.mgmt_ip: ${hello.mgmtIp} is the management address of connected host ${holder}`, { reason: "MGMT_IP_IN_USE", hostname: holder });
    }
    const old = this.writer.latest(hostname);
    const now = new Date();
    const rec: HostRecord = {
      hostname,
      ip: hello.mgmtIp || (isIP(peerIp) ? peerIp : "") || "unknown",
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
    this.agents.adopt(hostname, link, rec.ip);
    await this.writeHost(rec, { kind: "host.connected", oldState: old ? (old.availability === "rebooting" ? "rebooting" : "offline") : "", newState: "available" });
    link.send({ kind: "helloAck", controllerRelease: this.o.controllerRelease, locked: rec.adminState === "locked" });
    // An install that was running: the agent's state tells how it ended.
    const opId = this.ops.runningOn(hostname);
    if (opId && rec.agentState !== "installing") {
      const reason = hello.interruptedOperationId === opId ? rec.installReason || "agent restarted during install" : rec.installReason;
      if (rec.agentState === "idle" && this.status(this.hosts.get(hostname) ?? rec).pendingChanges === 0) {
        await this.ops.finish(opId, "done", "Installation was successful.");
      } else {
        await this.ops.finish(opId, "failed", reason || "install did not complete");
      }
    }
    if (((hello.provision && hello.packages.length === 0) || hello.installRequest) && !this.ops.runningOn(hostname)) {
      await this.install(hostname, true);
    }
    return hostname;
  }

  async report(hostname: string, input: AgentReportInput): Promise<void> {
    const h = this.writer.latest(hostname);
    if (!h) return;
    const r = checkReport(input);
    if (this.agentHealth.record(h, r, !!this.ops.runningOn(hostname) || this.o.patches.hostInInterim(hostname))) return; // ROLLOUT: only a health result
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
    const opId = this.ops.runningOn(hostname);
    // A report that changes only the agent's state (e.g. "installing" as an install starts) and
    // leaves every patch state as it is: it rides the next commit (adopted after it).
    const startsInstall = !!opId && h.agentState !== "installing" && next.agentState === "installing";
    if (startsInstall && sameInventory(h, next) && !this.o.patches.hostInInterim(hostname)) {
      this.writer
        .later(next, { kind: "host.state", hostname, oldState: h.agentState, newState: next.agentState })
        .catch((e: unknown) => this.o.log.warn("host state not stored", { hostname, error: (e as Error).message }));
      return;
    }
    // The report an agent sends when an install ends (just before its InstallResult) ends the
    // operation in the same transaction; the InstallResult then finds it ended.
    let end: OperationEnd | undefined;
    if (opId && h.agentState === "installing" && (next.agentState === "idle" || next.agentState === "install-failed")) {
      await failpointAsync("install:result-received");
      end =
        next.agentState === "idle"
          ? this.ops.claimEnd(opId, "done", "Installation was successful.")
          : this.ops.claimEnd(opId, "failed", next.installReason || "Installation failed.");
    }
    await this.writeHost(next, h.agentState !== next.agentState ? { kind: "host.state", oldState: h.agentState, newState: next.agentState } : undefined, end);
  }

  /** A progress message from an agent (see InstallOperations.progress). */
  progress_(hostname: string, p: InstallProgress): void {
    this.ops.progress(hostname, p);
  }

  installResult(hostname: string, r: InstallResultInput): Promise<void> {
    return this.ops.result(hostname, r);
  }

  /**
   * The agent's word on a reboot the controller asked for (sent on its first stream after the
   * boot; at once when the reboot failed): a `host.reboot` event "rebooted" or "reboot-failed"
   * with the reason, and a host still shown "rebooting" becomes available again.
   */
  async rebootResult(hostname: string, r: ActionResultInput): Promise<void> {
    this.o.log.info("reboot result", { hostname, success: r.success, reason: r.reason });
    const h = this.writer.latest(hostname);
    if (!h) return;
    const connected = this.agents.connected(hostname);
    await this.writeHost(
      { ...h, availability: h.availability === "rebooting" && connected ? "available" : h.availability },
      { kind: "host.reboot", oldState: "rebooting", newState: r.success ? "rebooted" : "reboot-failed", message: r.reason },
    );
  }

  /** The agent answered an instance action. */
  instanceActionResult(hostname: string, r: ActionResultInput): void {
    this.agents.actionResult(hostname, r);
  }

  /** The agent's stream ended: its pending instance actions fail; a running install fails with a reason. */
  async disconnected(hostname: string, link: AgentLink): Promise<void> {
    if (!this.agents.remove(hostname, link)) return;
    const h = this.writer.latest(hostname);
    if (!h) return;
    const opId = this.ops.runningOn(hostname);
    const next: HostRecord = { ...h, availability: h.availability === "rebooting" ? "rebooting" : "offline" };
    if (opId || h.agentState === "installing") {
      next.agentState = "install-failed";
      next.patchFailed = true;
      next.installReason = "agent disconnected during install";
    }
    await this.writeHost(next, { kind: "host.disconnected", oldState: "available", newState: next.availability });
    if (opId) await this.ops.finish(opId, "failed", "agent disconnected during install");
  }

  // ---------------------------------------------------------------- installs

  /** The install operation running on a host, if any (a resumed orchestration step attaches to it). */
  runningOperation(hostOrIp: string): string | undefined {
    return this.ops.runningOn(this.find(hostOrIp).hostname);
  }

  /** host-install-async: sends the desired set to the agent; returns the operation id. */
  install(hostOrIp: string, force: boolean): Promise<{ operationId: string; hostname: string }> {
    const h = this.find(hostOrIp);
    return this.ops.start(h, force, h.agentState === "installing");
  }

  /** The latest progress of an operation. */
  operation(opId: string): Promise<InstallProgress> {
    return this.ops.latest(opId);
  }

  /** Every progress message of an operation so far, then new ones, to the terminal message. */
  watchOperation(opId: string, signal: AbortSignal): AsyncGenerator<InstallProgress> {
    return this.ops.watch(opId, signal);
  }

  async setAgentState(hostname: string, state: AgentStateName, reason: string): Promise<void> {
    const h = this.hosts.get(hostname)!;
    await this.writeHost({ ...h, agentState: state, installReason: reason }, { kind: "host.state", oldState: h.agentState, newState: state });
    if (state === "install-rejected") {
      clearTimeout(this.rejectTimers.get(hostname));
      const t = setTimeout(() => {
        this.rejectTimers.delete(hostname);
        if (this.hosts.get(hostname)?.agentState === "install-rejected") void this.setAgentState(hostname, "idle", "").catch(() => undefined);
      }, 60_000);
      t.unref();
      this.rejectTimers.set(hostname, t);
    }
  }

  // ---------------------------------------------------------------- administration (HostAdmin)

  lock(hostOrIp: string, force: boolean): Promise<HostStatus> {
    return this.admin.lock(hostOrIp, force);
  }
  unlock(hostOrIp: string): Promise<{ host: HostStatus; rebooting: boolean }> {
    return this.admin.unlock(hostOrIp);
  }
  swact(hostOrIp: string): Promise<string> {
    return this.admin.swact(hostOrIp);
  }
  reboot(hostOrIp: string): Promise<void> {
    return this.admin.reboot(hostOrIp);
  }
  instanceAction(hostOrIp: string, action: InstanceActionName, uuids: readonly string[], signal?: AbortSignal): Promise<void> {
    return this.admin.instanceAction(hostOrIp, action, uuids, signal);
  }

  /** Removes a host; its agent's stream is cut, and its reconnection (hello) re-adds it after this write. */
  async drop(hostOrIp: string): Promise<string> {
    const h = this.find(hostOrIp);
    await this.uow.exclusive(async () => {
      this.agents.cut(h.hostname);
      await this.writer.dropLocked(h.hostname);
    });
    return h.hostname;
  }

  // ---------------------------------------------------------------- alarms (AlarmService)

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

  /** Writes a host record with its event (and an install's end); see HostWriter.write. */
  writeHost(next: HostRecord, ev?: NewEvent, end?: OperationEnd): Promise<void> {
    return this.writer.write(next, ev, end);
  }
}
