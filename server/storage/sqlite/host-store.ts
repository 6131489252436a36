import type { Reader, Tx } from "./db.js";
import type { AlarmRecord } from "../../domain/alarms/model.js";
import type { AgentStateName, InstallProgress, InstalledPackage, Instance } from "../../domain/hosts/agent-types.js";
import type { HostRecord, OperationRecord, OperationStateName } from "../../domain/hosts/model.js";
import { decodeProgress, encodeProgress } from "./progress-record.js";

interface HostRow {
  hostname: string;
  ip: string;
  personality: string;
  subfunctions: string;
  release: string;
  admin_state: string;
  agent_state: string;
  install_reason: string;
  requires_reboot: number;
  patch_failed: number;
  installed_json: string;
  instances_json: string;
  first_seen: string;
  last_seen: string;
}

function hostToRow(h: HostRecord): HostRow {
  return {
    hostname: h.hostname,
    ip: h.ip,
    personality: h.personality,
    subfunctions: h.subfunctions.join(","),
    release: h.release,
    admin_state: h.adminState,
    agent_state: h.agentState,
    install_reason: h.installReason,
    requires_reboot: h.requiresReboot ? 1 : 0,
    patch_failed: h.patchFailed ? 1 : 0,
    installed_json: JSON.stringify(h.installed),
    instances_json: JSON.stringify(h.instances),
    first_seen: h.firstSeen.toISOString(),
    last_seen: h.lastSeen.toISOString(),
  };
}

function hostFromRow(r: HostRow): HostRecord {
  return {
    hostname: r.hostname,
    ip: r.ip,
    personality: r.personality,
    subfunctions: r.subfunctions ? r.subfunctions.split(",") : [],
    release: r.release,
    adminState: r.admin_state === "locked" ? "locked" : "unlocked",
    agentState: (r.agent_state as AgentStateName) ?? "unknown",
    installReason: r.install_reason,
    requiresReboot: r.requires_reboot === 1,
    patchFailed: r.patch_failed === 1,
    installed: JSON.parse(r.installed_json) as InstalledPackage[],
    instances: JSON.parse(r.instances_json) as Instance[],
    firstSeen: new Date(r.first_seen),
    lastSeen: new Date(r.last_seen),
    availability: "offline",
  };
}

/** Every stored host (availability "offline" until its agent says hello). */
export async function loadHosts(tx: Reader): Promise<HostRecord[]> {
  return (await tx.all<HostRow>("SELECT * FROM hosts ORDER BY hostname")).map(hostFromRow);
}

export async function upsertHost(tx: Tx, rec: HostRecord): Promise<void> {
  const h = hostToRow(rec);
  tx.write(
    `INSERT INTO hosts (hostname, ip, personality, subfunctions, release, admin_state, agent_state, install_reason, requires_reboot, patch_failed, installed_json, instances_json, first_seen, last_seen)
     VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)
     ON CONFLICT(hostname) DO UPDATE SET ip=excluded.ip, personality=excluded.personality, subfunctions=excluded.subfunctions,
       release=excluded.release, admin_state=excluded.admin_state, agent_state=excluded.agent_state, install_reason=excluded.install_reason,
       requires_reboot=excluded.requires_reboot, patch_failed=excluded.patch_failed, installed_json=excluded.installed_json,
       instances_json=excluded.instances_json, last_seen=excluded.last_seen`,
    [
      h.hostname,
      h.ip,
      h.personality,
      h.subfunctions,
      h.release,
      h.admin_state,
      h.agent_state,
      h.install_reason,
      h.requires_reboot,
      h.patch_failed,
      h.installed_json,
      h.instances_json,
      h.first_seen,
      h.last_seen,
    ],
  );
}

export async function deleteHost(tx: Tx, hostname: string): Promise<void> {
  await tx.run("DELETE FROM hosts WHERE hostname = ?", [hostname]);
}

interface OperationRow {
  id: string;
  hostname: string;
  kind: string;
  state: string;
  force: number;
  start_seq: number;
  created_at: string;
  updated_at: string;
  last_progress_json: string | null;
}

function operationFromRow(r: OperationRow): OperationRecord {
  return {
    id: r.id,
    hostname: r.hostname,
    state: r.state as OperationStateName,
    force: r.force === 1,
    startSeq: r.start_seq,
    last: r.last_progress_json ? decodeProgress(r.last_progress_json) : undefined,
  };
}

export async function insertOperation(tx: Tx, o: OperationRecord & { last: InstallProgress }): Promise<void> {
  const now = new Date().toISOString();
  tx.write("INSERT INTO operations (id, hostname, kind, state, force, start_seq, created_at, updated_at, last_progress_json) VALUES (?,?,?,?,?,?,?,?,?)", [
    o.id,
    o.hostname,
    "install",
    o.state,
    o.force ? 1 : 0,
    o.startSeq,
    now,
    now,
    encodeProgress(o.last),
  ]);
}

export async function updateOperation(tx: Tx, id: string, state: OperationStateName, last: InstallProgress): Promise<void> {
  tx.write("UPDATE operations SET state = ?, last_progress_json = ?, updated_at = ? WHERE id = ?", [state, encodeProgress(last), new Date().toISOString(), id]);
}

export async function getOperation(tx: Reader, id: string): Promise<OperationRecord | undefined> {
  const r = await tx.get<OperationRow>("SELECT * FROM operations WHERE id = ?", [id]);
  return r && operationFromRow(r);
}

/**
 * The latest progress message of an operation: its newest install.progress event (the operations
 * row holds the first and the terminal one only; the events in between carry the rest).
 */
export async function latestProgress(tx: Reader, operationId: string): Promise<InstallProgress | undefined> {
  const r = await tx.get<{ progress_json: string | null }>(
    "SELECT progress_json FROM events WHERE operation_id = ? AND kind = 'install.progress' ORDER BY seq DESC LIMIT 1",
    [operationId],
  );
  return r?.progress_json ? decodeProgress(r.progress_json) : undefined;
}

export async function runningOperations(tx: Reader): Promise<OperationRecord[]> {
  return (await tx.all<OperationRow>("SELECT * FROM operations WHERE state = 'running'")).map(operationFromRow);
}

interface AlarmRow {
  uuid: string;
  alarm_id: string;
  entity_instance_id: string;
  severity: string;
  reason_text: string;
  mgmt_affecting: number;
  proposed_repair_action: string;
  time: string;
}

export async function loadAlarms(tx: Reader): Promise<AlarmRecord[]> {
  return (await tx.all<AlarmRow>("SELECT * FROM alarms ORDER BY time, uuid")).map((a) => ({
    uuid: a.uuid,
    alarmId: a.alarm_id,
    entityInstanceId: a.entity_instance_id,
    severity: a.severity,
    reasonText: a.reason_text,
    mgmtAffecting: a.mgmt_affecting === 1,
    proposedRepairAction: a.proposed_repair_action,
    time: new Date(a.time),
  }));
}

export async function insertAlarm(tx: Tx, a: AlarmRecord): Promise<void> {
  await tx.run("INSERT INTO alarms (uuid, alarm_id, entity_instance_id, severity, reason_text, mgmt_affecting, proposed_repair_action, time) VALUES (?,?,?,?,?,?,?,?)", [
    a.uuid,
    a.alarmId,
    a.entityInstanceId,
    a.severity,
    a.reasonText,
    a.mgmtAffecting ? 1 : 0,
    a.proposedRepairAction,
    a.time.toISOString(),
  ]);
}

export async function deleteAlarm(tx: Tx, uuid: string): Promise<number> {
  return (await tx.run("DELETE FROM alarms WHERE uuid = ?", [uuid])).changes;
}
