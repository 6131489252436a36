import { delay } from "abort-controller-x";
import type { ClusterPort, ClusterSnapshot, HostSnapshot, OrchestrationAlarm } from "../../../server/domain/orchestration/ports.js";
import { snapshot } from "./fixtures.js";

/** A deferred promise for synchronising tests with the engine. */
export function defer<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/**
 * A fake cluster for engine unit tests: host state changes on lock/unlock/install, every action
 * is recorded in `actions`, installs can be made to fail or to wait on a gate.
 */
export class FakeCluster implements ClusterPort {
  readonly snap: ClusterSnapshot;
  readonly actions: string[] = [];
  readonly alarmsRaised: OrchestrationAlarm[] = [];
  failInstall = new Set<string>();
  /** Install of host X waits for this promise (and tells `installStarted`). */
  gates = new Map<string, Promise<void>>();
  installStarted = new Map<string, () => void>();

  constructor(hosts: HostSnapshot[], over: Partial<ClusterSnapshot> = {}) {
    this.snap = snapshot(hosts, over);
  }

  host(name: string): HostSnapshot {
    const h = this.snap.hosts.find((x) => x.hostname === name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  }

  async snapshot(): Promise<ClusterSnapshot> {
    return structuredClone(this.snap);
  }
  async swact(host: string): Promise<void> {
    this.actions.push(`swact ${host}`);
    const peer = this.snap.hosts.find((h) => h.personality === "controller" && h.hostname !== host);
    if (peer) this.snap.activeController = peer.hostname;
  }
  async lock(host: string): Promise<void> {
    this.actions.push(`lock ${host}`);
    Object.assign(this.host(host), { adminState: "locked", operationalState: "disabled" });
  }
  async unlock(host: string): Promise<void> {
    this.actions.push(`unlock ${host}`);
    Object.assign(this.host(host), { adminState: "unlocked", operationalState: "enabled", availability: "available" });
  }
  async reboot(host: string): Promise<void> {
    this.actions.push(`reboot ${host}`);
  }
  async install(host: string, signal: AbortSignal): Promise<{ success: boolean; reason: string }> {
    this.actions.push(`install ${host}`);
    this.installStarted.get(host)?.();
    const gate = this.gates.get(host);
    if (gate) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(Object.assign(new Error("aborted"), { name: "AbortError" }));
        signal.addEventListener("abort", onAbort, { once: true });
        void gate.then(() => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        });
      });
    }
    const h = this.host(host);
    if (h.requiresReboot && h.adminState !== "locked") return { success: false, reason: "Node must be locked" };
    if (this.failInstall.has(host)) {
      h.patchFailed = true;
      return { success: false, reason: "rpm failed" };
    }
    h.patchCurrent = true;
    return { success: true, reason: "" };
  }
  async stopInstances(host: string, uuids: readonly string[]): Promise<void> {
    this.actions.push(`stop ${host} ${uuids.join(",")}`);
    for (const i of this.host(host).instances) if (uuids.includes(i.uuid)) i.state = "stopped";
  }
  async startInstances(host: string, uuids: readonly string[]): Promise<void> {
    this.actions.push(`start ${host} ${uuids.join(",")}`);
    for (const i of this.host(host).instances) if (uuids.includes(i.uuid)) i.state = "running";
  }
  async migrateInstances(host: string): Promise<void> {
    this.actions.push(`migrate ${host}`);
  }
  async disableHostServices(host: string): Promise<void> {
    this.actions.push(`disable ${host}`);
  }
  async enableHostServices(host: string): Promise<void> {
    this.actions.push(`enable ${host}`);
  }
  async setOrchestrationAlarm(alarm: OrchestrationAlarm): Promise<void> {
    this.alarmsRaised.push(alarm);
  }
  async sleep(ms: number, signal: AbortSignal): Promise<void> {
    await delay(signal, ms);
  }
}
