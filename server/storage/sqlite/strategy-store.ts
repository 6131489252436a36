import type { Reader, Tx } from "./db.js";
import type { Store, StrategyDocument } from "../../domain/store.js";
import type { DomainEvent, EventLog } from "../../domain/events/event-log.js";
import type { StrategyPersistence } from "../../domain/orchestration/persistence.js";
import type { Strategy } from "../../domain/orchestration/model.js";

/** The current strategy document, if any (migration 0003: at most one row). */
export function loadStrategyRow(tx: Reader): Promise<StrategyDocument | undefined> {
  return tx.get<StrategyDocument>("SELECT uuid, name, state, json FROM strategy WHERE id = 1");
}

/** Inserts or replaces the single strategy document. */
export async function saveStrategyRow(tx: Tx, row: StrategyDocument): Promise<void> {
  await tx.run(
    "INSERT INTO strategy (id, uuid, name, state, json, updated_at) VALUES (1, ?, ?, ?, ?, ?) " +
      "ON CONFLICT(id) DO UPDATE SET uuid = excluded.uuid, name = excluded.name, state = excluded.state, json = excluded.json, updated_at = excluded.updated_at",
    [row.uuid, row.name, row.state, row.json, new Date().toISOString()],
  );
}

/** Removes the strategy document; returns whether one existed. */
export async function deleteStrategyRow(tx: Tx): Promise<boolean> {
  const r = await tx.run("DELETE FROM strategy WHERE id = 1");
  return r.changes > 0;
}

/** Store-backed strategy persistence: the one document plus its EventLog entries, in one transaction. */
export function createStoreStrategyPersistence(o: { store: Store; events?: EventLog }): StrategyPersistence {
  return {
    async load() {
      const doc = await o.store.read.loadStrategy();
      return doc ? (JSON.parse(doc.json) as Strategy) : undefined;
    },
    async save(strategy, events) {
      const written = await o.store.transact(async (tx) => {
        if (strategy) await tx.saveStrategy({ uuid: strategy.uuid, name: strategy.name, state: strategy.state, json: JSON.stringify(strategy) });
        else await tx.deleteStrategy();
        const out: DomainEvent[] = [];
        if (o.events) for (const e of events) out.push(await o.events.append(tx, e));
        return out;
      });
      o.events?.publish(written);
    },
  };
}
