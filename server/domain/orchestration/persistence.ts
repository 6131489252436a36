import type { Db } from "../../storage/db.js";
import { deleteStrategyRow, loadStrategyRow, saveStrategyRow } from "../../storage/strategy-store.js";
import type { DomainEvent, EventLog, NewEvent } from "../events/event-log.js";
import type { Strategy } from "./model.js";

/**
 * Where the engine keeps its strategy: `save` writes the whole document (or removes it when
 * `strategy` is undefined) together with the events describing the change, atomically.
 */
export interface StrategyPersistence {
  load(): Promise<Strategy | undefined>;
  save(strategy: Strategy | undefined, events: readonly NewEvent[]): Promise<void>;
}

/** sqlite-backed persistence: one row (migration 0003) plus EventLog entries in one transaction. */
export function createDbStrategyPersistence(o: { db: Db; events?: EventLog }): StrategyPersistence {
  return {
    async load() {
      const row = await loadStrategyRow(o.db.read);
      return row ? (JSON.parse(row.json) as Strategy) : undefined;
    },
    async save(strategy, events) {
      const written = await o.db.tx(async (tx) => {
        if (strategy) await saveStrategyRow(tx, { uuid: strategy.uuid, name: strategy.name, state: strategy.state, json: JSON.stringify(strategy) });
        else await deleteStrategyRow(tx);
        const out: DomainEvent[] = [];
        if (o.events) for (const e of events) out.push(await o.events.append(tx, e));
        return out;
      });
      o.events?.publish(written);
    },
  };
}

/** @internal In-memory persistence for unit tests. */
export function createMemoryStrategyPersistence(): StrategyPersistence & { json: string | undefined; events: NewEvent[] } {
  const p = {
    json: undefined as string | undefined,
    events: [] as NewEvent[],
    async load() {
      return p.json ? (JSON.parse(p.json) as Strategy) : undefined;
    },
    async save(strategy: Strategy | undefined, events: readonly NewEvent[]) {
      p.json = strategy ? JSON.stringify(strategy) : undefined;
      p.events.push(...events);
    },
  };
  return p;
}
