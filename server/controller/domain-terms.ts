/**
 * The controller's domain across leadership terms (issue 19): what runs when a controller starts acting (loads from
 * the store, writes its start-up rows, recovers the work of older terms, starts its timers) and what stops when it
 * stops acting (timers, runners, watchdogs, memory; no writes). A single controller activates once at start; a pair
 * member on the PostgreSQL store on every takeover and deactivates on every loss of its term.
 */
import type { AuditLog, TrustManager } from "../domain/auth/index.js";
import type { EventLog } from "../domain/events/event-log.js";
import type { HostManager } from "../domain/hosts/host-manager.js";
import type { Orchestrator } from "../domain/orchestration/orchestrator.js";
import type { PatchManager } from "../domain/patches/patch-manager.js";
import type { Logger } from "../lib/log.js";

/**
 * The audit log's upkeep: the summary rows of ended refusal windows (every minute) and the
 * retention (at start, then hourly; none when `retentionDays` is 0). Returns its stop.
 */
export function startAuditUpkeep(audit: AuditLog, retentionDays: number, log: Logger): () => void {
  const warn = (what: string) => (e: unknown) => log.warn(what, { error: (e as Error).message });
  const prune = () => {
    if (retentionDays > 0) {
      audit
        .prune(retentionDays * 86_400_000)
        .then((n) => n && log.info("audit rows pruned", { rows: n, retentionDays }))
        .catch(warn("audit prune failed"));
    }
  };
  prune();
  const flush = setInterval(() => void audit.flushWindows().catch(warn("audit summary not written")), 60_000);
  const hourly = setInterval(prune, 3600_000);
  flush.unref();
  hourly.unref();
  return () => {
    clearInterval(flush);
    clearInterval(hourly);
  };
}

/** The parts of the domain whose state and timers follow the term. */
export interface DomainParts {
  events: EventLog;
  patches: PatchManager;
  hosts: HostManager;
  orchestrator: Orchestrator;
  trust: TrustManager;
  /** The root of trust for patch signatures (issue 21): re-read on every activation. */
  trustRoot?: { init(): Promise<void> };
  audit: AuditLog;
  log: Logger;
  release: string;
  /** `--base-feed`: imported on every activation (idempotent). */
  baseFeed: string | undefined;
  auditRetentionDays: number;
  /** Drops what the store itself caches of rows a peer may change (the token cache). */
  dropStoreCaches?: () => void;
}

/** Starts and stops the domain with the terms; see the file comment. */
export class DomainTerms {
  private stopUpkeep: (() => void) | undefined;

  constructor(private readonly p: DomainParts) {}

  /**
   * Loads the domain from the store and writes its start-up rows (orphan sweep, release, base feed), recovers the
   * work of older terms (install operations and strategy steps that were running: resumed or ended with a reason),
   * then starts the periodic work (event and audit retention, audit summaries). Each part replaces what it held.
   */
  async activate(): Promise<void> {
    const { events, patches, hosts, orchestrator, trust, log } = this.p;
    this.p.dropStoreCaches?.();
    await trust.init();
    await this.p.trustRoot?.init();
    await events.init();
    events.startRetention();
    await patches.init();
    await hosts.init();
    if (this.p.baseFeed) {
      const r = await patches.importBaseFeed(this.p.release, this.p.baseFeed);
      log.info("base feed imported", { release: this.p.release, dir: this.p.baseFeed, added: r.added, total: r.total });
    }
    await orchestrator.init();
    this.stopUpkeep ??= startAuditUpkeep(this.p.audit, this.p.auditRetentionDays, log);
  }

  /**
   * Stops every timer and runner (strategy runner, install watchdogs, retention, audit upkeep), closes the agent links
   * and drops what memory held. Writes nothing: the term is over, the fence would refuse them.
   */
  async deactivate(): Promise<void> {
    this.stopUpkeep?.();
    this.stopUpkeep = undefined;
    await this.p.orchestrator.deactivate();
    this.p.hosts.deactivate();
    this.p.patches.deactivate();
    await this.p.events.deactivate();
    this.p.dropStoreCaches?.();
  }

  /** Stops the periodic work (shutdown; the parts close themselves). */
  stop(): void {
    this.stopUpkeep?.();
    this.stopUpkeep = undefined;
  }
}
