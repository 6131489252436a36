import { randomUUID } from "node:crypto";
import { failedPrecondition, notFound } from "../errors.js";
import type { EventLog } from "../events/event-log.js";
import type { Store } from "../store.js";
import type { UnitOfWork, Work } from "../unit-of-work.js";
import { failpointAsync } from "../../lib/failpoint.js";
import { progressMessage, type InstallPhase, type InstallProgress, type InstallResultInput } from "./agent-types.js";
import { clipProgress, clipText } from "./agent-fields.js";
import type { AgentRegistry } from "./agent-registry.js";
import type { HostRecord, OperationStateName } from "./model.js";
import type { DesiredSet } from "../patches/state.js";

interface OperationState {
  id: string;
  hostname: string;
  startSeq: number;
  last: InstallProgress;
  /** Its end is claimed (being written) or written. */
  ending: boolean;
}

/** Finished operations kept in memory (the rest are read from the store). */
const RECENT_MAX = 256;
/** Why a finished WatchOperation stops its event-log watch. */
const WATCH_ENDED = new Error("operation watch ended");
/** How long a progress event may wait for the next commit. */
const PROGRESS_DELAY_MS = 25;
/** How long an operation found running at start-up waits for its host's agent to reconnect. */
export const RESUME_GRACE_MS = 5 * 60_000;

/** The end of an operation claimed: written by `write` in some transaction, `release`d if that failed. */
export interface OperationEnd {
  write(w: Work): Promise<void>;
  release(): void;
}

/** What install operations need of the host inventory. */
export interface InstallHosts {
  find(hostOrIp: string): HostRecord;
  desiredFor(h: HostRecord): DesiredSet;
  setAgentState(hostname: string, state: "install-rejected", reason: string): Promise<void>;
}

/**
 * Host install operations: start (the desired set to the agent), progress, end, and their
 * history. Running operations and a bounded number of finished ones stay in memory.
 * INVARIANTS: one running operation per host (a host is reserved in `starting`, synchronously,
 * before its start is written, so concurrent starts cannot both pass the check); an operation ends
 * once (its end is claimed before it is written, the claim released if the write fails); memory
 * adopts a start or an end only after its commit; an operation found running at start-up either
 * ends at once (its host is gone, or a newer one of its host runs) or waits RESUME_GRACE_MS for its
 * host's agent, which tells how it ended; a host that does not reconnect in time fails it.
 */
export class InstallOperations {
  private readonly running = new Map<string, OperationState>();
  private readonly byHost = new Map<string, string>();
  private readonly recent = new Map<string, OperationState>();
  /** Hosts whose start is being written, and its operation id. */
  private readonly starting = new Map<string, string>();
  private readonly resumeTimers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly o: {
      uow: UnitOfWork;
      store: Store;
      events: EventLog;
      agents: AgentRegistry;
      hosts: InstallHosts;
      log: { warn(m: string, f?: object): void };
      /** RESUME_GRACE_MS unless given. */
      resumeGraceMs?: number;
    },
  ) {}

  /**
   * Operations that were running when the controller stopped. The newest of each known host waits
   * for its agent (which tells how it ended) for the grace period; every other one ends failed now,
   * with the reason, so that none stays running (and watched) forever.
   */
  async init(): Promise<void> {
    this.deactivate();
    const read = this.o.store.read;
    const stale: OperationState[] = [];
    const ops = [...(await read.runningOperations())].sort((a, b) => a.startSeq - b.startSeq);
    for (const op of ops) {
      const last = (await read.latestProgress(op.id)) ?? op.last ?? progressMessage(op.id, op.hostname, "queued", "queued");
      const state: OperationState = { id: op.id, hostname: op.hostname, startSeq: op.startSeq, last, ending: false };
      this.running.set(op.id, state);
      const older = this.byHost.get(op.hostname);
      if (older) stale.push(this.running.get(older)!);
      this.byHost.set(op.hostname, op.id);
    }
    for (const op of stale) {
      await this.finish(
        op.id,
        "failed",
        `Installation failed: the controller restarted while it ran, and a newer install (operation ${this.byHost.get(op.hostname)}) was started`,
      );
    }
    for (const [hostname, opId] of [...this.byHost]) {
      if (!this.hostKnown(hostname)) {
        await this.finish(opId, "failed", `Installation failed: the controller restarted while it ran, and host ${hostname} is no longer known`);
        continue;
      }
      const graceMs = this.o.resumeGraceMs ?? RESUME_GRACE_MS;
      const t = setTimeout(() => {
        this.resumeTimers.delete(t);
        if (this.running.has(opId) && !this.o.agents.connected(hostname)) {
          this.finish(
            opId,
            "failed",
            `Installation failed: the controller restarted while it ran, and host ${hostname} did not reconnect within ${graceMs / 1000} s`,
          ).catch((e: unknown) => this.o.log.warn("resumed operation not ended", { error: (e as Error).message, operationId: opId }));
        }
      }, graceMs);
      t.unref();
      this.resumeTimers.add(t);
    }
  }

  private hostKnown(hostname: string): boolean {
    try {
      return this.o.hosts.find(hostname).hostname === hostname;
    } catch {
      return false;
    }
  }

  /** Stops the timers of resumed operations (shutdown). */
  close(): void {
    for (const t of this.resumeTimers) clearTimeout(t);
    this.resumeTimers.clear();
  }

  /**
   * A pair member lost its term: its timers stop and it forgets every operation (no writes; {@link init} on the
   * next takeover reads the running ones back, including those its peer started, and resumes them).
   */
  deactivate(): void {
    this.close();
    this.running.clear();
    this.byHost.clear();
    this.recent.clear();
    this.starting.clear();
  }

  /** The running operation of a host. */
  runningOn(hostname: string): string | undefined {
    return this.byHost.get(hostname);
  }

  get anyRunning(): boolean {
    return this.byHost.size > 0;
  }

  /** How many operations memory holds (running + recent finished). */
  get inMemory(): number {
    return this.running.size + this.recent.size;
  }

  /** host-install-async: sends the desired set to the agent; returns the operation id. */
  async start(h: HostRecord, force: boolean, installing: boolean): Promise<{ operationId: string; hostname: string }> {
    if (!this.o.agents.connected(h.hostname)) throw failedPrecondition(`Host ${h.hostname} is not connected`, { reason: "HOST_OFFLINE", hostname: h.hostname });
    const current = this.byHost.get(h.hostname) ?? this.starting.get(h.hostname);
    if (current) {
      throw failedPrecondition(`Host ${h.hostname} is already installing patches (operation ${current})`, { reason: "INSTALL_IN_PROGRESS", hostname: h.hostname });
    }
    if (installing) throw failedPrecondition(`Host ${h.hostname} is already installing patches`, { reason: "INSTALL_IN_PROGRESS", hostname: h.hostname });
    const desired = this.o.hosts.desiredFor(h);
    // Spec 4: with no reboot-required change pending, in-service patching forces the install.
    const effectiveForce = force || desired.rebootRequiredNames.size === 0;
    const opId = randomUUID();
    const startSeq = this.o.events.lastSequence;
    const queued = progressMessage(opId, h.hostname, "queued", "queued");
    // Reserved before the first await: a concurrent start for this host is refused above.
    this.starting.set(h.hostname, opId);
    try {
      await this.o.uow.write(async (w) => {
        await w.tx.hosts.insertOperation({ id: opId, hostname: h.hostname, state: "running", force: effectiveForce, startSeq, last: queued });
        await w.event({ kind: "install.progress", hostname: h.hostname, operationId: opId, progress: queued, message: "queued" });
        w.afterCommit(() => {
          this.running.set(opId, { id: opId, hostname: h.hostname, startSeq, last: queued, ending: false });
          this.byHost.set(h.hostname, opId);
        });
      });
    } finally {
      this.starting.delete(h.hostname);
    }
    await failpointAsync("install:queued");
    if (h.adminState !== "locked" && !effectiveForce) {
      await this.o.hosts.setAgentState(h.hostname, "install-rejected", "Node must be locked.");
      await this.finish(opId, "rejected", "Installation rejected. Node must be locked");
      return { operationId: opId, hostname: h.hostname };
    }
    this.o.agents.send(h.hostname, {
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
      securityCounter: desired.securityCounter ?? 0,
      patchIds: desired.patchIds ?? [],
    });
    return { operationId: opId, hostname: h.hostname };
  }

  /**
   * A progress message from an agent: the operation's latest progress at once; its event rides
   * the next commit (or commits after PROGRESS_DELAY_MS). The agent's own terminal message is not
   * an event: the InstallResult that follows it ends the operation.
   */
  progress(hostname: string, p: InstallProgress): void {
    const opId = this.byHost.get(hostname);
    if (!opId || p.operationId !== opId) return;
    const op = this.running.get(opId)!;
    const msg: InstallProgress = { ...clipProgress(p), hostname, operationId: opId, terminal: false, time: new Date() };
    op.last = msg;
    if (p.terminal) return;
    this.o.uow
      .later(async (w) => void (await w.event({ kind: "install.progress", hostname, operationId: opId, progress: msg, message: msg.message })), PROGRESS_DELAY_MS)
      .catch((e: unknown) => this.o.log.warn("progress event not stored", { error: (e as Error).message, operationId: opId }));
  }

  /**
   * Claims the end of an operation: its terminal message, written by `write` inside some
   * transaction (memory adopts it after that commit). Undefined when unknown or already ending.
   */
  claimEnd(opId: string, phase: InstallPhase, message: string): OperationEnd | undefined {
    const op = this.running.get(opId);
    if (!op || op.ending) return undefined;
    op.ending = true;
    const msg: InstallProgress = { ...op.last, phase, message, terminal: true, time: new Date() };
    const state: OperationStateName = phase === "done" ? "done" : phase === "rejected" ? "rejected" : "failed";
    return {
      write: async (w) => {
        await w.tx.hosts.updateOperation(opId, state, msg);
        await w.event({ kind: "install.progress", hostname: op.hostname, operationId: opId, progress: msg, message, newState: state });
        w.afterCommit(() => this.ended(op, msg));
      },
      release: () => {
        op.ending = false;
      },
    };
  }

  private ended(op: OperationState, msg: InstallProgress): void {
    op.last = msg;
    this.running.delete(op.id);
    if (this.byHost.get(op.hostname) === op.id) this.byHost.delete(op.hostname);
    this.recent.set(op.id, op);
    if (this.recent.size > RECENT_MAX) this.recent.delete(this.recent.keys().next().value!);
  }

  /** Ends an operation in a transaction of its own (no-op when unknown or already ending). */
  async finish(opId: string, phase: InstallPhase, message: string): Promise<void> {
    const end = this.claimEnd(opId, phase, message);
    if (!end) return;
    try {
      await this.o.uow.write((w) => end.write(w));
    } catch (e) {
      end.release();
      throw e;
    }
  }

  async result(hostname: string, r: InstallResultInput): Promise<void> {
    const opId = this.byHost.get(hostname);
    if (!opId || r.operationId !== opId) return;
    await failpointAsync("install:result-received");
    if (r.rejected) await this.finish(opId, "rejected", "Installation rejected. Node must be locked");
    else if (r.success) await this.finish(opId, "done", "Installation was successful.");
    else await this.finish(opId, "failed", clipText(r.reason) || "Installation failed.");
  }

  /** The latest progress of an operation. */
  async latest(opId: string): Promise<InstallProgress> {
    const op = this.running.get(opId) ?? this.recent.get(opId);
    if (op) return op.last;
    const row = await this.o.store.read.getOperation(opId);
    if (!row) throw notFound(`Operation ${opId} does not exist`, { reason: "OPERATION_NOT_FOUND" });
    return row.last ?? progressMessage(opId, row.hostname, "unspecified", "");
  }

  /** Every progress message of an operation so far, then new ones, to the terminal message. */
  async *watch(opId: string, signal: AbortSignal): AsyncGenerator<InstallProgress> {
    let startSeq = (this.running.get(opId) ?? this.recent.get(opId))?.startSeq;
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
}
