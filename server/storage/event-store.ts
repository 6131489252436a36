import type { Reader, Tx } from "./db.js";

export interface EventRow {
  seq: number;
  time: string;
  kind: string;
  patch_id: string;
  hostname: string;
  old_state: string;
  new_state: string;
  message: string;
  operation_id: string;
  progress_json: string | null;
}

/** Queues the insert of one event with its sequence number (see EventLog.append). */
export function writeEvent(tx: Tx, e: EventRow): void {
  tx.write(
    "INSERT INTO events (seq, time, kind, patch_id, hostname, old_state, new_state, message, operation_id, progress_json) VALUES (?,?,?,?,?,?,?,?,?,?)",
    [e.seq, e.time, e.kind, e.patch_id, e.hostname, e.old_state, e.new_state, e.message, e.operation_id, e.progress_json],
  );
}

export function listEventsAfter(tx: Reader, afterSeq: number, limit: number): Promise<EventRow[]> {
  return tx.all<EventRow>("SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", [afterSeq, limit]);
}

export async function lastEventSeq(tx: Reader): Promise<number> {
  const r = await tx.get<{ m: number | null }>("SELECT MAX(seq) AS m FROM events");
  return r?.m ?? 0;
}

/** Events after `afterSeq` of one operation / patch / host (indexed), for filtered watchers. */
export function listEventsAfterFiltered(
  tx: Reader,
  afterSeq: number,
  limit: number,
  f: { operationId?: string; patchId?: string; hostname?: string },
): Promise<EventRow[]> {
  const where: string[] = ["seq > ?"];
  const params: unknown[] = [afterSeq];
  if (f.operationId) {
    where.push("operation_id = ?");
    params.push(f.operationId);
  }
  if (f.patchId) {
    where.push("patch_id = ?");
    params.push(f.patchId);
  }
  if (f.hostname) {
    where.push("hostname = ?");
    params.push(f.hostname);
  }
  params.push(limit);
  return tx.all<EventRow>(`SELECT * FROM events WHERE ${where.join(" AND ")} ORDER BY seq LIMIT ?`, params);
}
