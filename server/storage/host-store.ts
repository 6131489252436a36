import type { Reader, Tx } from "./db.js";

export interface HostRow {
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

export function loadHosts(tx: Reader): Promise<HostRow[]> {
  return tx.all<HostRow>("SELECT * FROM hosts ORDER BY hostname");
}

export async function upsertHost(tx: Tx, h: HostRow): Promise<void> {
  tx.write(
    `INSERT INTO hosts (hostname, ip, personality, subfunctions, release, admin_state, agent_state, install_reason, requires_reboot, patch_failed, installed_json, instances_json, first_seen, last_seen)
     VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)
     ON CONFLICT(hostname) DO UPDATE SET ip=excluded.ip, personality=excluded.personality, subfunctions=excluded.subfunctions,
       release=excluded.release, admin_state=excluded.admin_state, agent_state=excluded.agent_state, install_reason=excluded.install_reason,
       requires_reboot=excluded.requires_reboot, patch_failed=excluded.patch_failed, installed_json=excluded.installed_json,
       instances_json=excluded.instances_json, last_seen=excluded.last_seen`,
    [h.hostname, h.ip, h.personality, h.subfunctions, h.release, h.admin_state, h.agent_state, h.install_reason, h.requires_reboot, h.patch_failed, h.installed_json, h.instances_json, h.first_seen, h.last_seen],
  );
}

export async function deleteHost(tx: Tx, hostname: string): Promise<void> {
  await tx.run("DELETE FROM hosts WHERE hostname = ?", [hostname]);
}

export interface OperationRow {
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

export async function insertOperation(tx: Tx, o: OperationRow): Promise<void> {
  tx.write(
    "INSERT INTO operations (id, hostname, kind, state, force, start_seq, created_at, updated_at, last_progress_json) VALUES (?,?,?,?,?,?,?,?,?)",
    [o.id, o.hostname, o.kind, o.state, o.force, o.start_seq, o.created_at, o.updated_at, o.last_progress_json],
  );
}

export async function updateOperation(tx: Tx, id: string, state: string, progressJson: string): Promise<void> {
  tx.write("UPDATE operations SET state = ?, last_progress_json = ?, updated_at = ? WHERE id = ?", [state, progressJson, new Date().toISOString(), id]);
}

export function getOperation(tx: Reader, id: string): Promise<OperationRow | undefined> {
  return tx.get<OperationRow>("SELECT * FROM operations WHERE id = ?", [id]);
}

/**
 * The latest progress message of an operation: its newest install.progress event (the operations
 * row holds the first and the terminal one only; the events in between carry the rest).
 */
export async function latestProgressJson(tx: Reader, operationId: string): Promise<string | undefined> {
  const r = await tx.get<{ progress_json: string | null }>(
    "SELECT progress_json FROM events WHERE operation_id = ? AND kind = 'install.progress' ORDER BY seq DESC LIMIT 1",
    [operationId],
  );
  return r?.progress_json ?? undefined;
}

export function runningOperations(tx: Reader): Promise<OperationRow[]> {
  return tx.all<OperationRow>("SELECT * FROM operations WHERE state = 'running'");
}

export interface AlarmRow {
  uuid: string;
  alarm_id: string;
  entity_instance_id: string;
  severity: string;
  reason_text: string;
  mgmt_affecting: number;
  proposed_repair_action: string;
  time: string;
}

export function loadAlarms(tx: Reader): Promise<AlarmRow[]> {
  return tx.all<AlarmRow>("SELECT * FROM alarms ORDER BY time, uuid");
}

export async function insertAlarm(tx: Tx, a: AlarmRow): Promise<void> {
  await tx.run(
    "INSERT INTO alarms (uuid, alarm_id, entity_instance_id, severity, reason_text, mgmt_affecting, proposed_repair_action, time) VALUES (?,?,?,?,?,?,?,?)",
    [a.uuid, a.alarm_id, a.entity_instance_id, a.severity, a.reason_text, a.mgmt_affecting, a.proposed_repair_action, a.time],
  );
}

export async function deleteAlarm(tx: Tx, uuid: string): Promise<number> {
  return (await tx.run("DELETE FROM alarms WHERE uuid = ?", [uuid])).changes;
}
