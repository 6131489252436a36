import { randomUUID } from "node:crypto";
import { invalidArgument, notFound } from "../errors.js";
import type { EventLog } from "../events/event-log.js";
import type { Store } from "../store.js";
import { TEXT_LIMITS, checkTextSize, storeFull } from "../text-limits.js";
import type { AlarmRecord } from "./model.js";

export type { AlarmRecord } from "./model.js";

const SEVERITIES = ["critical", "major", "minor", "warning"];

/**
 * Fault-management alarms (fm alarm-list / alarm-show, raised by orchestration and by clients).
 * INVARIANTS: the in-memory list changes only after the transaction that stores the change commits;
 * active alarms plus raises in flight never exceed the cap (TEXT_LIMITS.alarms).
 */
export class AlarmService {
  private readonly alarms = new Map<string, AlarmRecord>();
  /** Raises being written (counted against the cap before their commit). */
  private raising = 0;

  /** `maxAlarms`: TEXT_LIMITS.alarms unless given. */
  constructor(private readonly o: { store: Store; events: EventLog; maxAlarms?: number }) {}

  /** Loads the active alarms, replacing what memory held (a pair member re-reads them on each takeover). */
  async init(): Promise<void> {
    const rows = await this.o.store.read.loadAlarms();
    this.alarms.clear();
    for (const a of rows) this.alarms.set(a.uuid, a);
  }

  /** Forgets every alarm (a pair member that lost its term). */
  forget(): void {
    this.alarms.clear();
  }

  /** Every active alarm, oldest first. */
  list(): AlarmRecord[] {
    return [...this.alarms.values()].sort((a, b) => a.time.getTime() - b.time.getTime());
  }

  /** NOT_FOUND "Alarm not found: X". */
  get(uuid: string): AlarmRecord {
    const a = this.alarms.get(uuid);
    if (!a) throw notFound(`Alarm not found: ${uuid}`, { reason: "ALARM_NOT_FOUND" });
    return a;
  }

  async raise(a: Omit<AlarmRecord, "uuid" | "time">): Promise<AlarmRecord> {
    if (!/^\d{3}\.\d{3}$/.test(a.alarmId)) throw invalidArgument(`alarm_id: expected NNN.NNN, got ${JSON.stringify(a.alarmId.slice(0, 64))}`);
    if (!SEVERITIES.includes(a.severity)) throw invalidArgument(`severity: must be one of ${SEVERITIES.join(", ")}`);
    if (!a.entityInstanceId) throw invalidArgument("entity_instance_id: required");
    checkTextSize("entity_instance_id", a.entityInstanceId, TEXT_LIMITS.alarmEntityInstanceId);
    checkTextSize("reason_text", a.reasonText, TEXT_LIMITS.alarmReasonText);
    checkTextSize("proposed_repair_action", a.proposedRepairAction, TEXT_LIMITS.alarmProposedRepairAction);
    const max = this.o.maxAlarms ?? TEXT_LIMITS.alarms;
    if (this.alarms.size + this.raising >= max) throw storeFull("active alarms", max);
    const rec: AlarmRecord = { ...a, uuid: randomUUID(), time: new Date() };
    this.raising++;
    let events;
    try {
      events = await this.o.store.transact(async (tx) => {
        await tx.hosts.insertAlarm(rec);
        return [await this.o.events.append(tx, { kind: "alarm.raised", message: `${rec.alarmId} ${rec.entityInstanceId}`, newState: rec.uuid })];
      });
    } finally {
      this.raising--;
    }
    this.alarms.set(rec.uuid, rec);
    this.o.events.publish(events);
    return rec;
  }

  async clear(uuid: string): Promise<void> {
    this.get(uuid);
    const events = await this.o.store.transact(async (tx) => {
      await tx.hosts.deleteAlarm(uuid);
      return [await this.o.events.append(tx, { kind: "alarm.cleared", oldState: uuid })];
    });
    this.alarms.delete(uuid);
    this.o.events.publish(events);
  }
}
