/**
 * Leadership of a controller pair: which controller is active, decided by a lease in the shared store
 * (LeasePort). The active one renews the lease every `renewIntervalMs`; the standby one polls for it every
 * `standbyPollMs` and takes it once it is free (expired or released), which starts a new term (epoch).
 *
 * Time: the store decides expiry by its own clock; this class only measures durations on its own monotonic
 * clock. A renewal that succeeds was executed by the store no earlier than the moment we sent it (`t0`), so the
 * lease is valid at least until `t0 + ttlMs` of our clock (up to clock-rate drift): the controller stops acting
 * at `t0 + ttlMs − safetyMarginMs`, before the lease can expire, whether or not a renewal is still in flight and
 * whether or not a timer has fired (a process paused past its lease sees the deadline passed the moment it asks
 * `isActive()`). Fencing in the store (the epoch checked inside every write transaction) covers what timing
 * cannot: a write from an ended term is refused.
 */
import { DomainError, failedPrecondition, invalidArgument } from "../errors.js";
import type { Logger } from "../../lib/log.js";
import type { LeaseCandidate, LeasePort, LeaseState, RenewResult } from "./lease-port.js";

/** A controller's role: `stopped` before start() and after stop(). */
export type LeadershipRole = "active" | "standby" | "stopped";

/** What a controller knows about the pair. */
export interface LeadershipStatus {
  readonly role: LeadershipRole;
  /** This controller. */
  readonly self: LeaseCandidate;
  /** The active controller's term (ours when active); 0 when no active controller is known. */
  readonly epoch: number;
  /** The active controller (this one when active), when known. */
  readonly active?: LeaseCandidate;
}

/** A monotonic clock with timers (the real one, or a fake in unit tests). */
export interface LeadershipClock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

/** The process's monotonic clock; timers do not keep the process alive. */
export const monotonicClock: LeadershipClock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Options of {@link Leadership}. */
export interface LeadershipOptions {
  readonly port: LeasePort;
  readonly self: LeaseCandidate;
  /** Lease duration granted by each acquisition or renewal. Default 4000 ms. */
  readonly ttlMs?: number;
  /** Time between the starts of two renewals. Default 1000 ms. */
  readonly renewIntervalMs?: number;
  /** How long before the lease's earliest possible expiry the active controller stops acting. Default 1000 ms. */
  readonly safetyMarginMs?: number;
  /** Time between two acquisition attempts of a standby controller. Default 500 ms. */
  readonly standbyPollMs?: number;
  /** After a swact, how long this controller leaves the lease to its peer before it may take it back. Default 2000 ms. */
  readonly swactHoldOffMs?: number;
  readonly clock?: LeadershipClock;
  readonly log?: Logger;
}

/** Options of {@link Leadership.swact}. */
export interface SwactOptions {
  /**
   * Finishes or hands off the work in progress while this controller is still active (its lease still renewed,
   * so its writes still pass fencing). Its signal is aborted after `drainTimeoutMs`.
   */
  readonly drain?: (signal: AbortSignal) => Promise<void>;
  /** Default 1000 ms. */
  readonly drainTimeoutMs?: number;
}

type Listener = (status: LeadershipStatus) => void;

/**
 * The leadership state machine of one controller.
 *
 * INVARIANTS:
 * - `role === "active"` only while `clock.now() < deadline`, where `deadline = t0 + ttlMs − safetyMarginMs` and
 *   `t0` is the start of the last acquisition or renewal the store confirmed; `isActive()`/`term()` check the
 *   clock themselves, so no timer has to fire for the controller to stop acting.
 * - A term ends once: `stepDown` bumps `generation` and aborts the term's signal; a store answer that arrives for
 *   an older generation is ignored (a renewal confirmed after the deadline never revives the term: the next
 *   acquisition starts a new epoch).
 * - At most one store call of the loop is in flight (`inflight`); swact() and stop() wait for it before they
 *   release, so a late renewal cannot extend a released lease (the store also refuses renewing an expired one).
 * - Listeners see every change of (role, epoch, active controller) once, in order.
 */
export class Leadership {
  private readonly port: LeasePort;
  private readonly self: LeaseCandidate;
  private readonly ttlMs: number;
  private readonly renewIntervalMs: number;
  private readonly marginMs: number;
  private readonly pollMs: number;
  private readonly holdOffMs: number;
  private readonly clock: LeadershipClock;
  private readonly log: Logger | undefined;
  private readonly listeners = new Set<Listener>();

  private role: LeadershipRole = "stopped";
  private started = false;
  private epoch = 0;
  private active: LeaseCandidate | undefined;
  private deadline = 0;
  private generation = 0;
  private holdOffUntil = 0;
  private termController: AbortController | undefined;
  private loopTimer: unknown;
  private deadlineTimer: unknown;
  private inflight: Promise<void> = Promise.resolve();
  private lastEmitted = "";

  constructor(opts: LeadershipOptions) {
    this.port = opts.port;
    this.self = { controllerId: opts.self.controllerId, address: opts.self.address };
    this.ttlMs = opts.ttlMs ?? 4000;
    this.renewIntervalMs = opts.renewIntervalMs ?? 1000;
    this.marginMs = opts.safetyMarginMs ?? 1000;
    this.pollMs = opts.standbyPollMs ?? 500;
    this.holdOffMs = opts.swactHoldOffMs ?? 2000;
    this.clock = opts.clock ?? monotonicClock;
    this.log = opts.log;
    if (!this.self.controllerId) throw invalidArgument("leadership needs a controller id");
    if (!(this.marginMs >= 0 && this.marginMs < this.ttlMs))
      throw invalidArgument(`lease safety margin (${this.marginMs} ms) must be below the lease ttl (${this.ttlMs} ms)`);
    if (!(this.renewIntervalMs > 0 && this.renewIntervalMs < this.ttlMs - this.marginMs)) {
      throw invalidArgument(`lease renew interval (${this.renewIntervalMs} ms) must be below ttl − margin (${this.ttlMs - this.marginMs} ms)`);
    }
    if (!(this.pollMs > 0)) throw invalidArgument("standby poll interval must be positive");
  }

  /** Starts as standby and tries to take the lease at once. Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.role = "standby";
    this.emit();
    this.schedule(0);
  }

  /** The current status (checks the deadline first). */
  get status(): LeadershipStatus {
    this.checkDeadline();
    return this.snapshot();
  }

  /** Whether this controller may act now (checks the deadline on the clock, not a timer). */
  isActive(): boolean {
    this.checkDeadline();
    return this.role === "active";
  }

  /**
   * The current term when active: its epoch (to fence writes with) and a signal aborted when it ends.
   * Undefined when not active.
   */
  term(): { epoch: number; signal: AbortSignal } | undefined {
    if (!this.isActive() || !this.termController) return undefined;
    return { epoch: this.epoch, signal: this.termController.signal };
  }

  /** Calls `listener` on every change of role, epoch or active controller; returns the unsubscribe function. */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the status once the role is `role` (at once if it is). */
  whenRole(role: LeadershipRole): Promise<LeadershipStatus> {
    if (this.status.role === role) return Promise.resolve(this.snapshot());
    return new Promise((resolve) => {
      const off = this.onChange((s) => {
        if (s.role !== role) return;
        off();
        resolve(s);
      });
    });
  }

  /**
   * Graceful hand-over: runs `drain` while still active, then stops acting, releases the lease and leaves it to
   * the peer for `swactHoldOffMs` or until it sees the peer take over (after which it competes again, so a pair
   * without a live peer gets its active back and a swact straight back works at once). Throws failed-precondition when not active.
   */
  async swact(opts: SwactOptions = {}): Promise<void> {
    if (!this.isActive()) throw failedPrecondition(`controller ${this.self.controllerId} is not the active controller`, { reason: "NOT_ACTIVE" });
    if (opts.drain) {
      const ac = new AbortController();
      const timer = this.clock.setTimer(() => ac.abort(new DomainError("aborted", "swact drain time is up")), opts.drainTimeoutMs ?? 1000);
      try {
        await opts.drain(ac.signal);
      } catch (e) {
        this.log?.warn("swact drain failed", { error: String(e) });
      } finally {
        this.clock.clearTimer(timer);
      }
    }
    const epoch = this.epoch;
    this.holdOffUntil = this.clock.now() + this.holdOffMs;
    this.stepDown("swact", undefined);
    await this.inflight;
    try {
      await this.port.release(this.self.controllerId, epoch);
    } catch (e) {
      // The lease then expires by itself; the peer takes over after the ttl instead.
      this.log?.warn("lease release failed", { epoch, error: String(e) });
    }
  }

  /** Stops: no more store calls; an active controller steps down and releases the lease so its peer takes over at once. */
  async stop(): Promise<void> {
    if (this.role === "stopped" && !this.started) return;
    const wasActive = this.isActive();
    const epoch = this.epoch;
    this.started = false;
    this.clearTimers();
    if (wasActive) this.endTerm("stopping");
    this.role = "stopped";
    this.generation++;
    this.emit();
    await this.inflight;
    if (wasActive) await this.port.release(this.self.controllerId, epoch).catch((e: unknown) => this.log?.warn("lease release failed", { epoch, error: String(e) }));
  }

  // ---- the loop ---------------------------------------------------------------------------------------------

  private schedule(ms: number): void {
    if (this.loopTimer !== undefined) this.clock.clearTimer(this.loopTimer);
    this.loopTimer = this.clock.setTimer(
      () => {
        this.loopTimer = undefined;
        this.inflight = this.role === "active" ? this.renewOnce() : this.acquireOnce();
      },
      Math.max(0, ms),
    );
  }

  private async acquireOnce(): Promise<void> {
    if (!this.started) return;
    const t0 = this.clock.now();
    // During a swact's hold-off: only watch who is active.
    const observeOnly = t0 < this.holdOffUntil;
    const generation = this.generation;
    let row: LeaseState;
    try {
      row = observeOnly ? await this.port.current() : await this.port.tryAcquire(this.self, this.ttlMs);
    } catch (e) {
      this.log?.warn("lease acquisition failed", { error: String(e) });
      if (this.started && generation === this.generation) this.schedule(this.pollMs);
      return;
    }
    const ours = !observeOnly && row.valid && row.holder === this.self.controllerId;
    if (!this.started || generation !== this.generation) {
      // stop() came while we asked: give back what we got.
      if (ours) await this.port.release(this.self.controllerId, row.epoch).catch(() => undefined);
      return;
    }
    const deadline = t0 + this.ttlMs - this.marginMs;
    if (ours && this.clock.now() < deadline) {
      this.epoch = row.epoch;
      this.active = this.self;
      this.deadline = deadline;
      this.role = "active";
      this.termController = new AbortController();
      this.armDeadline();
      this.log?.info("became active", { epoch: row.epoch });
      this.emit();
      this.schedule(t0 + this.renewIntervalMs - this.clock.now());
      return;
    }
    // Ours but confirmed too late to act on safely: the next attempt starts a fresh term.
    const other = row.valid && row.holder !== this.self.controllerId;
    // The peer took over: the hand-over is done, so compete normally again (a swact straight back works at once).
    if (observeOnly && other) this.holdOffUntil = 0;
    this.epoch = other ? row.epoch : 0;
    this.active = other ? { controllerId: row.holder, address: row.address } : undefined;
    this.emit();
    this.schedule(ours ? 0 : observeOnly ? Math.min(this.pollMs, this.holdOffUntil - this.clock.now()) : this.pollMs);
  }

  private async renewOnce(): Promise<void> {
    if (!this.checkDeadline()) return;
    const t0 = this.clock.now();
    const generation = this.generation;
    let result: RenewResult | "error";
    try {
      result = await this.port.renew(this.self.controllerId, this.epoch, this.ttlMs);
    } catch (e) {
      this.log?.warn("lease renewal failed", { epoch: this.epoch, error: String(e) });
      result = "error";
    }
    if (!this.started || generation !== this.generation) return;
    if (result === "lost") return this.stepDown("lease lost", undefined);
    if (result === "ok") {
      const deadline = t0 + this.ttlMs - this.marginMs;
      if (deadline > this.deadline) this.deadline = deadline;
      this.armDeadline();
    }
    if (!this.checkDeadline()) return;
    this.schedule(t0 + this.renewIntervalMs - this.clock.now());
  }

  /** Steps down when active past the deadline; returns whether still active. */
  private checkDeadline(): boolean {
    if (this.role !== "active") return false;
    if (this.clock.now() < this.deadline) return true;
    this.stepDown("lease not renewed in time", undefined);
    return false;
  }

  private armDeadline(): void {
    if (this.deadlineTimer !== undefined) this.clock.clearTimer(this.deadlineTimer);
    this.deadlineTimer = this.clock.setTimer(() => {
      this.deadlineTimer = undefined;
      if (this.checkDeadline()) this.armDeadline();
    }, this.deadline - this.clock.now());
  }

  private stepDown(reason: string, next: LeaseCandidate | undefined): void {
    if (this.role !== "active") return;
    this.endTerm(reason);
    this.role = "standby";
    this.epoch = 0;
    this.active = next;
    this.generation++;
    this.emit();
    if (this.started) this.schedule(this.clock.now() < this.holdOffUntil ? this.pollMs : 0);
  }

  private endTerm(reason: string): void {
    this.log?.warn("stopped acting as the active controller", { epoch: this.epoch, reason });
    if (this.deadlineTimer !== undefined) this.clock.clearTimer(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.termController?.abort(new DomainError("unavailable", `controller ${this.self.controllerId} is no longer active (${reason})`, { reason: "NOT_ACTIVE" }));
    this.termController = undefined;
  }

  private clearTimers(): void {
    if (this.loopTimer !== undefined) this.clock.clearTimer(this.loopTimer);
    if (this.deadlineTimer !== undefined) this.clock.clearTimer(this.deadlineTimer);
    this.loopTimer = this.deadlineTimer = undefined;
  }

  private snapshot(): LeadershipStatus {
    return { role: this.role, self: this.self, epoch: this.epoch, ...(this.active ? { active: this.active } : {}) };
  }

  private emit(): void {
    const s = this.snapshot();
    const key = `${s.role}|${s.epoch}|${s.active?.controllerId ?? ""}|${s.active?.address ?? ""}`;
    if (key === this.lastEmitted) return;
    this.lastEmitted = key;
    for (const l of [...this.listeners]) {
      try {
        l(s);
      } catch (e) {
        this.log?.error("leadership listener failed", { error: String(e) });
      }
    }
  }
}
