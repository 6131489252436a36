import type { Reader, Tx } from "./db.js";

/** The stored strategy row (migration 0003); at most one exists. */
export interface StrategyRow {
  uuid: string;
  name: string;
  state: string;
  json: string;
  updated_at: string;
}

/** The current strategy document, if any. */
export function loadStrategyRow(tx: Reader): Promise<StrategyRow | undefined> {
  return tx.get<StrategyRow>("SELECT uuid, name, state, json, updated_at FROM strategy WHERE id = 1");
}

/** Inserts or replaces the single strategy document. */
export async function saveStrategyRow(tx: Tx, row: Omit<StrategyRow, "updated_at">): Promise<void> {
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
