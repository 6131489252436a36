/**
 * The health gate of a safer rollout (issue 20). Pure: a verdict from a cluster snapshot.
 *
 * - `alarms`: fails on a management-affecting alarm raised since the strategy started applying
 *   (the `--alarm-restrictions` ignore list and the VIM `ignore_alarms` apply; orchestration's own
 *   alarms never count).
 * - `agents`: fails when a patched host's agent reports its health check failing; a patched host
 *   that is gone or offline makes the verdict inconclusive; hosts without `--health-check` pass.
 * - `both`: fails if either fails, else inconclusive if either is.
 */
import { blockingAlarms, describeAlarms } from "./alarms.js";
import type { AlarmRestrictionName, HealthGateName } from "./model.js";
import type { ClusterSnapshot } from "./ports.js";

/** A gate's verdict with its evidence (what made it so). */
export interface GateResult {
  verdict: "pass" | "fail" | "inconclusive";
  evidence: string;
}

/** What the gate looks at besides the snapshot. */
export interface GateContext {
  /** Alarms raised at or after this time count. */
  since: Date;
  /** Hosts already patched by the strategy (the agents gate looks at these). */
  patchedHosts: readonly string[];
  restriction: AlarmRestrictionName;
  extraIgnoredAlarms?: readonly string[];
}

const ORCHESTRATION_ENTITY = "orchestration=sw-patch";
const MAX_EVIDENCE_HOSTS = 5;

function alarmsGate(snap: ClusterSnapshot, c: GateContext): GateResult {
  const since = c.since.getTime();
  const raised = blockingAlarms(snap.alarms, { restriction: c.restriction, context: "query-alarms", extraIgnored: c.extraIgnoredAlarms ?? [] }).filter(
    (a) => a.mgmtAffecting && a.entityInstanceId !== ORCHESTRATION_ENTITY && a.raisedAt.getTime() >= since,
  );
  if (raised.length > 0) return { verdict: "fail", evidence: `management-affecting alarm(s) raised since the strategy started: ${describeAlarms(raised)}` };
  return { verdict: "pass", evidence: "no management-affecting alarm raised since the strategy started" };
}

function list(items: string[]): string {
  return items.length > MAX_EVIDENCE_HOSTS ? `${items.slice(0, MAX_EVIDENCE_HOSTS).join("; ")} and ${items.length - MAX_EVIDENCE_HOSTS} more` : items.join("; ");
}

function agentsGate(snap: ClusterSnapshot, c: GateContext): GateResult {
  const failing: string[] = [];
  const unknown: string[] = [];
  let checked = 0;
  for (const name of c.patchedHosts) {
    const h = snap.hosts.find((x) => x.hostname === name);
    if (!h) {
      unknown.push(`${name}: host no longer exists`);
      continue;
    }
    if (h.availability === "offline") {
      unknown.push(`${name}: agent not connected`);
      continue;
    }
    if (!h.health || !h.health.configured) continue;
    checked++;
    if (!h.health.healthy) failing.push(`${name}: health check failing${h.health.detail ? `: ${h.health.detail}` : ""}`);
  }
  if (failing.length > 0) return { verdict: "fail", evidence: list(failing) };
  if (unknown.length > 0) return { verdict: "inconclusive", evidence: list(unknown) };
  return { verdict: "pass", evidence: `${checked} patched host(s) report healthy` };
}

/** The gate's verdict now. */
export function evaluateGate(gate: HealthGateName, snap: ClusterSnapshot, c: GateContext): GateResult {
  if (gate === "alarms") return alarmsGate(snap, c);
  if (gate === "agents") return agentsGate(snap, c);
  const a = alarmsGate(snap, c);
  const b = agentsGate(snap, c);
  for (const v of ["fail", "inconclusive"] as const) {
    const hits = [a, b].filter((r) => r.verdict === v);
    if (hits.length > 0) return { verdict: v, evidence: hits.map((r) => r.evidence).join("; ") };
  }
  return { verdict: "pass", evidence: `${a.evidence}; ${b.evidence}` };
}
