import { randomUUID } from "node:crypto";
import { failedPrecondition } from "../errors.js";
import type { ActionResultInput, AgentCommand, AgentLink, InstanceActionName } from "./agent-types.js";

interface PendingAction {
  hostname: string;
  resolve: (r: { success: boolean; reason: string }) => void;
  reject: (e: unknown) => void;
}

/**
 * The live agent links by hostname, the commands sent through them, and instance actions waiting
 * for their agent's answer.
 * INVARIANTS: at most one link per host (a new hello closes the old one), and an address per
 * link, set and removed with it (so a hello's address check and its adoption, both synchronous,
 * see every earlier hello); a pending instance
 * action ends exactly once: answered, aborted by its caller, or rejected when its host's link goes.
 */
export class AgentRegistry {
  private readonly links = new Map<string, AgentLink>();
  /** The management address of each connected host (as its hello gave it, or its connection). */
  private readonly addresses = new Map<string, string>();
  private readonly pending = new Map<string, PendingAction>();
  private reportCounter = 0;

  /** Adopts the link of a host that said hello (and its address); an older link of that host is closed. */
  adopt(hostname: string, link: AgentLink, address = ""): void {
    const prev = this.links.get(hostname);
    if (prev && prev !== link) prev.close();
    this.links.set(hostname, link);
    this.addresses.set(hostname, address);
  }

  /** The connected host, other than `hostname`, whose address is `address`. */
  holderOf(address: string, hostname: string): string | undefined {
    for (const [h, a] of this.addresses) if (a === address && h !== hostname) return h;
    return undefined;
  }

  /**
   * Forgets `link` if it is the host's current one (false otherwise). Instance actions waiting on
   * that host fail: FAILED_PRECONDITION naming the host.
   */
  remove(hostname: string, link: AgentLink): boolean {
    if (this.links.get(hostname) !== link) return false;
    this.links.delete(hostname);
    this.addresses.delete(hostname);
    for (const [id, p] of this.pending) {
      if (p.hostname !== hostname) continue;
      this.pending.delete(id);
      p.reject(failedPrecondition(`Host ${hostname} disconnected before answering the instance action`, { reason: "HOST_OFFLINE", hostname }));
    }
    return true;
  }

  /** Cuts a host's stream (drop-host); it reconnects and says hello again. */
  cut(hostname: string): void {
    const old = this.links.get(hostname);
    if (!old) return;
    old.close();
    this.remove(hostname, old);
  }

  connected(hostname: string): boolean {
    return this.links.has(hostname);
  }

  get(hostname: string): AgentLink | undefined {
    return this.links.get(hostname);
  }

  /** Sends `cmd` to a host's agent if it is connected; whether it was. */
  send(hostname: string, cmd: AgentCommand): boolean {
    const link = this.links.get(hostname);
    link?.send(cmd);
    return !!link;
  }

  /** Asks every connected agent for a fresh report; each report clears the host's interim state. */
  requestReports(): void {
    this.reportCounter++;
    for (const link of this.links.values()) link.send({ kind: "reportRequest", patchOpCounter: this.reportCounter });
  }

  /** The agent answered an instance action. */
  actionResult(hostname: string, r: ActionResultInput): void {
    const p = this.pending.get(r.requestId);
    if (!p || p.hostname !== hostname) return;
    this.pending.delete(r.requestId);
    p.resolve({ success: r.success, reason: r.reason });
  }

  /**
   * Sends an instance action and waits for the agent's answer, its caller's abort, or the host's
   * disconnection (rejected FAILED_PRECONDITION). The abort listener is removed when it ends.
   */
  async instanceAction(hostname: string, action: InstanceActionName, uuids: readonly string[], signal?: AbortSignal): Promise<{ success: boolean; reason: string }> {
    const link = this.links.get(hostname);
    if (!link) throw failedPrecondition(`Host ${hostname} is not connected`, { reason: "HOST_OFFLINE", hostname });
    signal?.throwIfAborted();
    const requestId = randomUUID();
    let onAbort: (() => void) | undefined;
    const answer = new Promise<{ success: boolean; reason: string }>((resolve, reject) => {
      this.pending.set(requestId, { hostname, resolve, reject });
      if (signal) {
        onAbort = () => {
          this.pending.delete(requestId);
          reject(signal.reason ?? new Error("aborted"));
        };
        signal.addEventListener("abort", onAbort, { once: true });
      }
    });
    link.send({ kind: "instanceAction", requestId, action, instanceUuids: [...uuids] });
    try {
      return await answer;
    } finally {
      if (onAbort) signal!.removeEventListener("abort", onAbort);
    }
  }

  /** Closes every link (shutdown). */
  closeAll(): void {
    for (const l of this.links.values()) l.close();
    this.links.clear();
    this.addresses.clear();
  }
}
