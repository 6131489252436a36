import type { Reader, Tx } from "./db.js";
import type { DomainEvent } from "../../domain/events/event-log.js";
import { decodeProgress, encodeProgress } from "./progress-record.js";

interface EventRow {
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

function fromRow(r: EventRow): DomainEvent {
  return {
    seq: r.seq,
    time: new Date(r.time),
    kind: r.kind,
    patchId: r.patch_id,
    hostname: r.hostname,
    oldState: r.old_state,
    newState: r.new_state,
    message: r.message,
    operationId: r.operation_id,
    ...(r.progress_json ? { progress: decodeProgress(r.progress_json) } : {}),
  };
}

/** Queues the insert of one event with its sequence number (see EventLog.append). */
export function writeEvent(tx: Tx, e: DomainEvent): void {
  tx.write("INSERT INTO events (seq, time, kind, patch_id, hostname, old_state, new_state, message, operation_id, progress_json) VALUES (?,?,?,?,?,?,?,?,?,?)", [
    e.seq,
    e.time.toISOString(),
    e.kind,
    e.patchId,
    e.hostname,
    e.oldState,
    e.newState,
    e.message,
    e.operationId,
    e.progress === undefined ? null : encodeProgress(e.progress),
  ]);
}

export async function lastEventSeq(tx: Reader): Promise<number> {
  const r = await tx.get<{ m: number | null }>("SELECT MAX(seq) AS m FROM events");
  return r?.m ?? 0;
}

/** Events after `afterSeq`, in order; of one operation / patch / host when `f` names one (indexed). */
export async function listEventsAfter(
  tx: Reader,
  afterSeq: number,
  limit: number,
  f: { operationId?: string; patchId?: string; hostname?: string } = {},
): Promise<DomainEvent[]> {
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
  // The unfiltered form keeps its own statement text (one cached statement per shape).
  const sql = where.length === 1 ? "SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?" : `SELECT * FROM events WHERE ${where.join(" AND ")} ORDER BY seq LIMIT ?`;
  return (await tx.all<EventRow>(sql, params)).map(fromRow);
}

// Event retention (EventRetentionPort).

export async function firstEventSeq(r: Reader): Promise<number> {
  const row = await r.get<{ m: number | null }>("SELECT MIN(seq) AS m FROM events");
  return row?.m ?? 0;
}

/** Times are ISO-8601 UTC text, so they compare as strings. */
export async function firstEventSeqSince(r: Reader, time: Date): Promise<number> {
  const row = await r.get<{ m: number | null }>("SELECT MIN(seq) AS m FROM events WHERE time >= ?", [time.toISOString()]);
  return row?.m ?? 0;
}

export async function deleteEventsBefore(tx: Tx, seq: number, limit: number): Promise<number> {
  const r = await tx.run("DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq < ? ORDER BY seq LIMIT ?)", [seq, limit]);
  return r.changes;
}
