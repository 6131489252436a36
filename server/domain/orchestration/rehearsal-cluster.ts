import type { ClusterPort, ClusterSnapshot, HostSnapshot } from "./ports.js";

/** A seeded generator of numbers in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Simulated durations, reference seconds (mean, standard deviation). */
export const SIM_DURATIONS_S = {
  install: [60, 15],
  lock: [30, 10],
  unlock: [60, 15],
  /** Unlock of a host whose patch needs a reboot: the reboot and the host coming back. */
  unlockReboot: [300, 60],
  reboot: [240, 60],
  swact: [30, 10],
  instances: [20, 5],
  migrate: [90, 30],
} as const satisfies Record<string, readonly [number, number]>;

/** One host install as the rehearsal saw it. */
export interface RehearsalInstall {
  host: string;
  success: boolean;
  /** Virtual ms since the run started. */
  at: number;
}

const abortError = () => Object.assign(new Error("The operation has been aborted"), { name: "AbortError" });

/**
 * A simulated cluster behind the engine's {@link ClusterPort} for rehearsals (rehearse.ts): an
 * in-memory copy of the inventory, actions that change it, installs that fail with `failRate`,
 * durations drawn from a seeded generator. Time is virtual: every action and wait resolves on the
 * next turn of the event loop and moves this run's clock on by its duration (actions started
 * together, e.g. one install per host of a parallel stage, overlap: the clock moves to the latest
 * end). So a run takes milliseconds whatever its simulated length, and no real host is touched.
 *
 * INVARIANTS: one run per instance; `now` only grows; actions started in the same turn share a start.
 */
export class RehearsalCluster implements ClusterPort {
  private readonly snap: ClusterSnapshot;
  private now = 0;
  private horizon = 0;
  readonly installs: RehearsalInstall[] = [];

  constructor(
    snap: ClusterSnapshot,
    private readonly random: () => number,
    private readonly failRate: number,
  ) {
    this.snap = structuredClone(snap);
  }

  /** Simulated ms since the run started (the latest end of anything done so far). */
  elapsedMs(): number {
    return Math.max(this.now, this.horizon);
  }

  private host(name: string): HostSnapshot {
    const h = this.snap.hosts.find((x) => x.hostname === name);
    if (!h) throw new Error(`host ${name} not found`);
    return h;
  }

  private draw([mean, sd]: readonly [number, number]): number {
    // Box-Muller; never below a fifth of the mean.
    const u = Math.max(this.random(), 1e-12);
    const v = this.random();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return Math.max(mean / 5, mean + z * sd) * 1000;
  }

  /** Takes `ms` of virtual time from now (overlapping with anything started in the same turn). */
  private async take(ms: number, signal: AbortSignal): Promise<void> {
    this.now = Math.max(this.now, this.horizon);
    const start = this.now;
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (signal.aborted) throw abortError();
    this.horizon = Math.max(this.horizon, start + ms);
  }

  async snapshot(signal: AbortSignal): Promise<ClusterSnapshot> {
    await this.take(0, signal);
    return structuredClone(this.snap);
  }
  async swact(host: string, signal: AbortSignal): Promise<void> {
    await this.take(this.draw(SIM_DURATIONS_S.swact), signal);
    const peer = this.snap.hosts.find((h) => h.personality === "controller" && h.hostname !== host);
    if (peer) this.snap.activeController = peer.hostname;
  }
  async lock(host: string, signal: AbortSignal): Promise<void> {
    await this.take(this.draw(SIM_DURATIONS_S.lock), signal);
    Object.assign(this.host(host), { adminState: "locked", operationalState: "disabled", availability: "online" });
  }
  async unlock(host: string, signal: AbortSignal): Promise<void> {
    const h = this.host(host);
    if (h.adminState === "unlocked") return;
    await this.take(this.draw(h.requiresReboot ? SIM_DURATIONS_S.unlockReboot : SIM_DURATIONS_S.unlock), signal);
    Object.assign(h, { adminState: "unlocked", operationalState: "enabled", availability: "available" });
  }
  async reboot(_host: string, signal: AbortSignal): Promise<void> {
    await this.take(this.draw(SIM_DURATIONS_S.reboot), signal);
  }
  async install(host: string, signal: AbortSignal): Promise<{ success: boolean; reason: string }> {
    const h = this.host(host);
    const fails = this.random() < this.failRate;
    await this.take(this.draw(SIM_DURATIONS_S.install), signal);
    const at = this.horizon;
    if (h.requiresReboot && h.adminState !== "locked") return { success: false, reason: "Node must be locked" };
    this.installs.push({ host, success: !fails, at });
    if (fails) {
      h.patchFailed = true;
      return { success: false, reason: "simulated install failure" };
    }
    Object.assign(h, { patchCurrent: true, patchFailed: false });
    return { success: true, reason: "" };
  }
  private setInstances(host: string, uuids: readonly string[], state: string): void {
    for (const i of this.host(host).instances) if (uuids.includes(i.uuid)) i.state = state;
  }
  async stopInstances(host: string, uuids: readonly string[], signal: AbortSignal): Promise<void> {
    await this.take(this.draw(SIM_DURATIONS_S.instances), signal);
    this.setInstances(host, uuids, "stopped");
  }
  async startInstances(host: string, uuids: readonly string[], signal: AbortSignal): Promise<void> {
    await this.take(this.draw(SIM_DURATIONS_S.instances), signal);
    this.setInstances(host, uuids, "running");
  }
  async migrateInstances(host: string, signal: AbortSignal): Promise<void> {
    await this.take(this.draw(SIM_DURATIONS_S.migrate), signal);
    const src = this.host(host);
    const dst = this.snap.hosts.find((x) => x.hostname !== host && x.adminState === "unlocked" && x.personality !== "storage");
    if (!dst) throw new Error(`no unlocked worker can take the instances of ${host}`);
    dst.instances.push(...src.instances.map((i) => ({ ...i, host: dst.hostname })));
    src.instances = [];
  }
  async disableHostServices(_host: string, signal: AbortSignal): Promise<void> {
    await this.take(0, signal);
  }
  async enableHostServices(_host: string, signal: AbortSignal): Promise<void> {
    await this.take(0, signal);
  }
  async sleep(ms: number, signal: AbortSignal): Promise<void> {
    await this.take(ms, signal);
  }
}
