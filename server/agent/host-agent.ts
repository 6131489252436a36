/**
 * One host's agent logic, independent of gRPC: identity, persistent state, lock flag, install,
 * reboot and instance commands. The connection module feeds it controller commands and gives it a
 * sink for the messages it sends.
 *
 * INVARIANTS
 * - At most one install runs at a time (the installer's exclusive runner; a second InstallCommand is
 *   answered with a rejected InstallResult "Install already in progress").
 * - Every state change is persisted to state.json before it is reported.
 * - An InstallResult or RebootResult produced while no stream is attached is queued and sent after
 *   the next HelloAck (`flushPending`).
 * - Files under the root (state, flags, logs, scripts, downloads) are reached only through
 *   root-fs.ts, never through a symlink that leads out of the root.
 */
import * as path from "node:path";
import type {
  AgentHello,
  AgentReport,
  ConnectRequest,
  HelloAck,
  InstallCommand,
  InstanceActionCommand,
  InstalledPackage,
} from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { AgentState, InstallPhase, type Instance } from "../../clients/sdk/src/gen/swpatch/v1/types.js";
import type { Logger } from "../lib/log.js";
import { hostPaths, type HostPaths } from "./host-paths.js";
import { applyInstanceAction } from "./instance-actions.js";
import { existsInRoot, mkdirInRoot, rmInRoot, writeFileInRootAtomic } from "./root-fs.js";
import { converge, InstallInProgressError, isInstalling, recoverInterruptedInstall, runPatchScripts, type FetchPackageFn, type PlannedChange } from "./installer.js";
import { FloorError, floorRefusal, ReceiptOutbox, ReceiptSigner } from "./security-floor.js";
import { rpmInitDb, rpmProvisionFromDir, rpmQueryAll } from "./rpm.js";
import { loadAgentState, saveAgentState, stateAtStart, type AgentStateName, type PersistedAgentState } from "./state-file.js";
import { HealthChecker, UNCONFIGURED_HEALTH } from "./health-check.js";
import { DEFAULT_BOOT_ID_FILE, readBootId, systemReboot, waitOrAbort, type RebootMode, type SystemRebootMode } from "./reboot.js";

export const AGENT_VERSION = "0.1.0";
/** The reference's reject reason when the node is not locked and force is not set. */
export const NODE_MUST_BE_LOCKED = "Node must be locked.";

export interface HostAgentOptions {
  root: string;
  hostname: string;
  /** controller | worker | storage */
  personality: string;
  /** Default [personality]. */
  subfunctions?: string[];
  /** Default "19.09". */
  release?: string;
  mgmtIp?: string;
  logger: Logger;
  /** Fetches a package from the controller (FetchPackage); set by the connection. */
  fetch?: FetchPackageFn;
  /** install-rejected reverts to idle after this long. Default 60000 ms. */
  rejectRevertMs?: number;
  /** Simulated reboot downtime. Default 200 ms (used when `reboot` is not given). */
  rebootDelayMs?: number;
  /** How a reboot is done: simulated (the default) or by the system (reboot.ts). */
  reboot?: RebootMode;
  /** Virtual machines this host runs (simulation). */
  instances?: Instance[];
  /** Started with --provision: the hello says so while the root has no packages. */
  provision?: boolean;
  /** `--install`: the hello asks for one forced install; `onInstallDone` hears how it ended. */
  installRequest?: boolean;
  onInstallDone?: (result: { success: boolean; reason: string }) => void;
  /** ROLLOUT (issue 20): `--health-check CMD` run after every install and every `intervalMs`. */
  healthCheck?: { command: string; intervalMs: number };
}

export type MessageSink = (msg: ConnectRequest) => void;

const STATE_TO_PROTO: Record<AgentStateName, AgentState> = {
  idle: AgentState.AGENT_STATE_IDLE,
  installing: AgentState.AGENT_STATE_INSTALLING,
  "install-failed": AgentState.AGENT_STATE_INSTALL_FAILED,
  "install-rejected": AgentState.AGENT_STATE_INSTALL_REJECTED,
};

/** Per-host agent. Call `start()` once before anything else. */
export class HostAgent {
  readonly hostname: string;
  readonly root: string;
  readonly paths: HostPaths;
  private readonly opts: HostAgentOptions;
  private readonly log: Logger;
  private st: PersistedAgentState = { state: "idle", installReason: "", requiresReboot: false, interruptedOperationId: "" };
  private sink: MessageSink | undefined;
  private pending: ConnectRequest[] = [];
  private rejectTimer: NodeJS.Timeout | undefined;
  private installAbort = new AbortController();
  private installTask: Promise<void> | undefined;
  private instances: Instance[];
  private health: HealthChecker | undefined;
  fetch: FetchPackageFn | undefined;
  /** FLOOR (issue 21): signed install receipts (enrolled hosts only) and where they wait to be sent. */
  private signer: ReceiptSigner | undefined;
  readonly receipts: ReceiptOutbox;

  constructor(opts: HostAgentOptions) {
    this.opts = opts;
    this.hostname = opts.hostname;
    this.root = path.resolve(opts.root);
    this.paths = hostPaths(this.root);
    this.log = opts.logger.child({ hostname: opts.hostname });
    this.fetch = opts.fetch;
    this.instances = (opts.instances ?? []).map((i) => ({ ...i }));
    this.receipts = new ReceiptOutbox(this.log, (e) => [1, 4, 14].includes((e as { code?: number }).code ?? 14) /* CANCELLED, DEADLINE_EXCEEDED, UNAVAILABLE */);
  }

  /** Current state (for tests and logs). */
  get state(): Readonly<PersistedAgentState> {
    return this.st;
  }

  /**
   * Load state.json; turn a leftover patch_installing flag (or a persisted "installing") into
   * install-failed "agent restarted during install"; an expired install-rejected becomes idle.
   */
  async start(): Promise<void> {
    await mkdirInRoot(this.root, this.paths.agentDir);
    this.st = await loadAgentState(this.root, (m) => this.log.warn(m));
    const interrupted = await recoverInterruptedInstall(this.root);
    const wasInstalling = !!interrupted || this.st.state === "installing";
    this.st = stateAtStart(this.st, interrupted);
    if (wasInstalling) this.log.warn("install interrupted by agent restart", { operationId: this.st.interruptedOperationId });
    this.st.requiresReboot = this.st.requiresReboot || (await existsInRoot(this.root, this.paths.nodeIsPatchedRr));
    await saveAgentState(this.root, this.st);
    await this.finishSystemReboot();
  }

  /** At start: a real reboot this agent began before it was stopped either happened (new boot id) or not. */
  private async finishSystemReboot(): Promise<void> {
    const pending = this.st.pendingReboot;
    if (!pending) return;
    const r = this.opts.reboot;
    const now = await readBootId(r?.mode === "system" ? r.bootIdFile : DEFAULT_BOOT_ID_FILE);
    if (now !== "" && now !== pending.bootId) {
      this.log.info("host rebooted", { requestId: pending.requestId });
      await this.afterReboot(pending.requestId);
    } else {
      this.log.warn("the host did not reboot", { requestId: pending.requestId });
      await this.setState({ pendingReboot: undefined }, false);
      this.pending.push({
        message: {
          $case: "rebootResult",
          value: { requestId: pending.requestId, success: false, reason: "the host did not reboot (same boot id after the agent restarted)" },
        },
      });
    }
  }

  /** Initialize an empty rpm database in the root (no-op when one exists). */
  async initRpmDb(): Promise<void> {
    await rpmInitDb(this.root);
  }

  /**
   * If the root's rpm database is empty, install every *.rpm of `dir` in one transaction.
   * @returns the number of packages installed (0 when the root already had packages).
   */
  async provisionFromDir(dir: string): Promise<number> {
    const t0 = Date.now();
    const n = await rpmProvisionFromDir(this.root, dir);
    if (n > 0) this.log.info("provisioned from base feed", { dir, packages: n, durationMs: Date.now() - t0 });
    return n;
  }

  private async packages(): Promise<InstalledPackage[]> {
    return (await rpmQueryAll(this.root)).map((p) => ({ ...p }));
  }

  async buildHello(): Promise<AgentHello> {
    const packages = await this.packages();
    return {
      hostname: this.hostname,
      personality: this.opts.personality,
      subfunctions: this.opts.subfunctions?.length ? [...this.opts.subfunctions] : [this.opts.personality],
      release: this.opts.release ?? "19.09",
      mgmtIp: this.opts.mgmtIp ?? "",
      packages,
      requiresReboot: this.st.requiresReboot,
      state: STATE_TO_PROTO[this.st.state],
      installReason: this.st.installReason,
      instances: this.instances.map((i) => ({ ...i })),
      provision: this.opts.provision === true && packages.length === 0,
      installRequest: this.opts.installRequest === true && !this.installDone,
      interruptedOperationId: this.st.interruptedOperationId,
      agentVersion: AGENT_VERSION,
    };
  }

  async buildReport(): Promise<AgentReport> {
    return {
      packages: await this.packages(),
      requiresReboot: this.st.requiresReboot,
      state: STATE_TO_PROTO[this.st.state],
      installReason: this.st.installReason,
      instances: this.instances.map((i) => ({ ...i })),
      health: { ...(this.health?.last ?? UNCONFIGURED_HEALTH) }, // HealthResult is AgentReport.health's shape
    };
  }

  /** ROLLOUT: starts the health check (after `start()`); each result is reported. */
  startHealthCheck(): void {
    const hc = this.opts.healthCheck;
    if (!hc || this.health) return;
    this.health = new HealthChecker(hc.command, hc.intervalMs, { SWPATCH_HOST_ROOT: this.root, SWPATCH_HOSTNAME: this.hostname }, () => void this.sendReport());
    this.health.start();
  }

  /** Attach the current stream's sink (undefined detaches). */
  attach(sink: MessageSink | undefined): void {
    this.sink = sink;
  }

  private send(msg: ConnectRequest, durable = false): void {
    if (this.sink) this.sink(msg);
    else if (durable) this.pending.push(msg);
  }

  /** Sends a fresh report (the controller asks after every repository change). */
  async reportNow(): Promise<void> {
    await this.sendReport();
  }

  private async sendReport(): Promise<void> {
    try {
      this.send({ message: { $case: "report", value: await this.buildReport() } });
    } catch (e) {
      this.log.error("report failed", { error: String(e) });
    }
  }

  private async setState(patch: Partial<PersistedAgentState>, report = true): Promise<void> {
    this.st = { ...this.st, ...patch };
    await saveAgentState(this.root, this.st);
    if (report) await this.sendReport();
  }

  /** HelloAck: apply the controller's lock view, then send results queued while disconnected. */
  async onHelloAck(ack: HelloAck): Promise<void> {
    await this.setLocked(ack.locked);
    const queued = this.pending;
    this.pending = [];
    for (const m of queued) this.send(m, true);
    void this.receipts.flush();
    if (this.st.interruptedOperationId && this.st.state !== "installing") {
      // Reported once in the hello; do not repeat it on the next connection.
      await this.setState({ interruptedOperationId: "" }, false);
    }
  }

  /** LockStateCommand: write or remove /var/run/.node_locked; locking clears install-rejected. */
  async setLocked(locked: boolean, report = true): Promise<void> {
    if (locked) {
      await writeFileInRootAtomic(this.root, this.paths.nodeLocked, "");
      if (this.st.state === "install-rejected") {
        this.clearRejectTimer();
        await this.setState({ state: "idle", installReason: "" }, report);
      }
    } else {
      await rmInRoot(this.root, this.paths.nodeLocked);
    }
  }

  private clearRejectTimer(): void {
    if (this.rejectTimer) clearTimeout(this.rejectTimer);
    this.rejectTimer = undefined;
  }

  /**
   * InstallCommand: reject when not locked and not forced (state install-rejected, back to idle
   * after 60 s or a lock), refuse while another install runs, else converge in the background
   * streaming progress, then send the InstallResult and a report.
   */
  async handleInstall(cmd: InstallCommand): Promise<void> {
    const opId = cmd.operationId;
    const reject = (reason: string) => {
      this.send({
        message: {
          $case: "progress",
          value: {
            operationId: opId,
            hostname: this.hostname,
            phase: InstallPhase.INSTALL_PHASE_REJECTED,
            current: 0,
            total: 0,
            bytesDone: 0,
            bytesTotal: 0,
            item: "",
            message: reason,
            terminal: true,
            time: new Date(),
          },
        },
      });
      this.send({ message: { $case: "installResult", value: { operationId: opId, success: false, rejected: true, reason } } }, true);
    };
    if (this.installTask || isInstalling(this.root)) {
      reject("Install already in progress");
      return;
    }
    if (cmd.locked) await this.setLocked(true, false);
    if (!cmd.force && !(await existsInRoot(this.root, this.paths.nodeLocked))) {
      this.log.info("install rejected", { operationId: opId, reason: NODE_MUST_BE_LOCKED });
      reject(NODE_MUST_BE_LOCKED);
      this.clearRejectTimer();
      await this.setState({ state: "install-rejected", installReason: NODE_MUST_BE_LOCKED });
      this.rejectTimer = setTimeout(() => {
        this.rejectTimer = undefined;
        if (this.st.state === "install-rejected") void this.setState({ state: "idle", installReason: "" }).catch(() => {});
      }, this.opts.rejectRevertMs ?? 60_000);
      this.rejectTimer.unref();
      return;
    }
    this.clearRejectTimer();
    this.installTask = this.runInstall(cmd).finally(() => (this.installTask = undefined));
  }

  private async runInstall(cmd: InstallCommand): Promise<void> {
    const opId = cmd.operationId;
    const log = this.log.child({ operationId: opId });
    const fetch = this.fetch;
    await this.setState({ state: "installing", installReason: "" });
    // FLOOR: the receipt key exists once the host enrolled (after start()); an agent never enrolled has none.
    this.signer ??= await ReceiptSigner.load(this.root, this.hostname).catch(() => undefined);
    log.info("install started", { desired: cmd.desired.length, erase: cmd.erase.length, force: cmd.force });
    let reason: string | undefined;
    let requiresReboot = this.st.requiresReboot;
    let changes: PlannedChange[] = [];
    const floor = this.st.securityFloor ?? 0;
    try {
      if (!fetch) throw new Error("no package source configured");
      // FLOOR: a set below this host's floor is refused, whoever asks (security-floor.ts).
      const refused = floorRefusal(cmd.securityCounter, floor);
      if (refused) throw new FloorError(refused);
      const res = await converge(this.root, {
        desired: cmd.desired,
        erase: cmd.erase,
        fetch,
        operationId: opId,
        hostname: this.hostname,
        rebootRequired: cmd.rebootRequired,
        signal: this.installAbort.signal,
        onProgress: (p) => this.send({ message: { $case: "progress", value: p } }),
        onWarning: (m) => log.warn(m),
      });
      reason = res.failedReason;
      requiresReboot = res.requiresReboot;
      changes = res.changes;
      log.info("install finished", { changed: res.changed, requiresReboot, failedReason: reason, changes: res.changes.length });
    } catch (e) {
      reason = e instanceof InstallInProgressError || e instanceof FloorError ? e.message : `install failed: ${e instanceof Error ? e.message : String(e)}`;
      log.error("install failed", { error: reason });
    }
    const securityFloor = reason === undefined ? Math.max(floor, cmd.securityCounter) : floor;
    await this.setState(
      reason === undefined
        ? { state: "idle", installReason: "", requiresReboot, interruptedOperationId: "", ...(securityFloor ? { securityFloor } : {}) }
        : { state: "install-failed", installReason: reason, requiresReboot, interruptedOperationId: "" },
      false,
    );
    const installed = this.signer ? await rpmQueryAll(this.root).catch(() => undefined) : undefined; // for the receipt (FLOOR)
    // The report first, then the result: when the controller closes the operation, it already
    // knows the host's new packages and state (query-hosts right after agrees with the outcome).
    await this.sendReport();
    this.send({ message: { $case: "installResult", value: { operationId: opId, success: reason === undefined, rejected: false, reason: reason ?? "" } } }, true);
    this.installDone = true;
    this.opts.onInstallDone?.({ success: reason === undefined, reason: reason ?? "" });
    // ROLLOUT: a health check after every install (reported when it ends).
    void this.health?.check();
    const result = reason === undefined ? "success" : reason.startsWith("security floor:") ? "rejected" : "failed";
    if (this.signer && installed) this.receipts.record(this.signer, { cmd, changes, result, reason: reason ?? "", securityFloor, installed });
  }

  /** `--install`: set once the requested install has ended. */
  private installDone = false;

  /** Whether a reboot may start now (no install running). */
  canReboot(): boolean {
    return !this.installTask && !isInstalling(this.root);
  }

  /**
   * The "reboot" itself, run by the connection after it closed the stream: wait the simulated
   * downtime, run restart scripts still pending, clear the volatile /run flags (node_is_patched,
   * node_is_patched_rr, patch_install_failed, the patching dirs; the lock flag survives as mtce
   * restores it), state idle with requires_reboot false. Queues a RebootResult for the next stream.
   */
  async reboot(requestId: string, signal?: AbortSignal): Promise<void> {
    const mode = this.opts.reboot ?? { mode: "simulate", delayMs: this.opts.rebootDelayMs ?? 200 };
    this.log.info("rebooting", { requestId, mode: mode.mode });
    if (mode.mode === "system") return this.systemReboot(requestId, mode, signal);
    await waitOrAbort(mode.delayMs, signal);
    await this.afterReboot(requestId);
  }

  /** A real reboot (reboot.ts); a failed one is reported at once, a done one after the boot (start()). */
  private async systemReboot(requestId: string, mode: SystemRebootMode, signal?: AbortSignal): Promise<void> {
    const failed = await systemReboot(mode, (bootId) => this.setState({ pendingReboot: { requestId, bootId } }, false), signal);
    if (failed === undefined) return;
    this.log.error("reboot failed", { requestId, reason: failed });
    await this.setState({ pendingReboot: undefined }, false);
    this.pending.push({ message: { $case: "rebootResult", value: { requestId, success: false, reason: failed } } });
  }

  /**
   * What a boot does to the host's volatile state: run restart scripts still pending, clear the
   * /run flags (node_is_patched, node_is_patched_rr, patch_install_failed, the patching dirs; the
   * lock flag survives as mtce restores it), state idle with requires_reboot false. Queues a
   * RebootResult for the next stream.
   */
  private async afterReboot(requestId: string): Promise<void> {
    let reason = "";
    try {
      const { failed } = await runPatchScripts(this.root, { onWarning: (m) => this.log.warn(m) });
      if (failed.length) reason = `${failed.length} patch script(s) failed: ${failed.join(", ")}`;
    } catch (e) {
      reason = String(e);
    }
    for (const p of [this.paths.nodeIsPatched, this.paths.nodeIsPatchedRr, this.paths.patchInstallFailed, path.dirname(this.paths.patchScripts)]) {
      await rmInRoot(this.root, p, { recursive: true });
    }
    this.clearRejectTimer();
    await this.setState({ state: "idle", installReason: "", requiresReboot: false, pendingReboot: undefined }, false);
    this.pending.push({ message: { $case: "rebootResult", value: { requestId, success: reason === "", reason } } });
  }

  /** InstanceActionCommand (simulated VMs): stop/start/migrate-out/migrate-in. */
  async handleInstanceAction(cmd: InstanceActionCommand): Promise<void> {
    const r = applyInstanceAction(this.instances, cmd);
    this.instances = r.instances;
    const reason = r.reason;
    // Report first: when the controller sees the result, it already knows the new instance states.
    await this.sendReport();
    this.send({ message: { $case: "instanceActionResult", value: { requestId: cmd.requestId, success: reason === "", reason } } }, true);
  }

  /** Stop: abort a running install (it ends as failed "install aborted") and wait for it. */
  async close(): Promise<void> {
    this.health?.stop();
    this.clearRejectTimer();
    this.installAbort.abort(new Error("agent stopping"));
    await this.installTask?.catch(() => {});
    await this.receipts.idle();
  }
}
